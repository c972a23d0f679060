package audit

import (
	"context"
	"encoding/json"
	"fmt"
	"sync"
	"sync/atomic"
	"time"
)

// Anchors. The chain shows a gap or an edit between two events that are
// both present, but not the loss of the newest events, nor of a whole
// segment. So the chain head (segment, seq, digest, time) is written every
// AnchorOptions.Interval and at Close to an append blob in a container
// under a time-based immutability policy (infra/modules/storage.bicep):
// once written, an anchor cannot be changed or deleted for the retention
// period, and every event up to its seq must be present and unchanged.

// Anchor is one line of an anchors blob.
type Anchor struct {
	Segment  string    `json:"chain_segment"`
	Seq      uint64    `json:"chain_seq"`  // the last event chained when the anchor was taken; 0 before the first
	Head     string    `json:"chain_head"` // that event's digest (Genesis(segment) for seq 0)
	Time     time.Time `json:"time"`
	ServerID string    `json:"server_id"`
	Final    bool      `json:"final"` // written by Close: the segment ends here (later events outlived the shutdown)
}

// AnchorStore keeps anchor lines. Append adds line (one JSON object and a
// newline) to the append blob name, creating the blob when it is missing
// and never replacing one that exists.
type AnchorStore interface {
	Append(ctx context.Context, name string, line []byte) error
}

// AnchorOptions configures StartAnchors. Zero values give the defaults.
type AnchorOptions struct {
	Store    AnchorStore
	Interval time.Duration // between periodic anchors; default 60 s
	Timeout  time.Duration // bound of one periodic write; default the interval, at most 30 s
	// Explain turns a store error into words for the warning line; store
	// errors carry request URLs, which a log must not. Default: "write failed".
	Explain func(error) string
}

// DefaultAnchorInterval is the default time between two anchors.
const DefaultAnchorInterval = 60 * time.Second

// AnchorBlobName is the blob that holds the anchors of segment taken on
// t's UTC day: one blob per segment and day, so that no append blob nears
// its 50,000-block limit (at one anchor a second, a day is 86,400; at the
// default interval 1,440).
func AnchorBlobName(segment string, t time.Time) string {
	return t.UTC().Format("2006-01-02") + "/" + segment + ".jsonl"
}

// anchorer writes anchors on its own goroutine: a slow or failing store
// never delays a tool call, it is warned about and counted.
type anchorer struct {
	a    *Auditor
	opts AnchorOptions
	stop chan struct{}
	done chan struct{}

	mu      sync.Mutex
	written uint64 // anchors written
	lastSeq uint64 // seq of the last anchor written
	any     bool   // an anchor was written

	failures atomic.Uint64
}

// StartAnchors starts writing anchors of this Auditor's chain to
// opts.Store: every opts.Interval when events were chained since the last
// anchor, and once more, final, in Close. It does nothing when called
// again, after Close, or without a store.
func (a *Auditor) StartAnchors(opts AnchorOptions) {
	if opts.Store == nil {
		return
	}
	if opts.Interval <= 0 {
		opts.Interval = DefaultAnchorInterval
	}
	if opts.Timeout <= 0 {
		opts.Timeout = min(opts.Interval, 30*time.Second)
	}
	if opts.Explain == nil {
		opts.Explain = func(error) string { return "write failed" }
	}
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.closed || a.anchors != nil {
		return
	}
	an := &anchorer{a: a, opts: opts, stop: make(chan struct{}), done: make(chan struct{})}
	a.anchors = an
	go an.run()
}

// Head returns the chain head: the segment, the seq of the last event
// chained (0 before the first) and its digest (Genesis before the first).
func (a *Auditor) Head() (segment string, seq uint64, digest string) {
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	return a.chain.segment, a.chain.seq, a.chain.head
}

// AnchorFailures counts anchor writes that failed so far.
func (a *Auditor) AnchorFailures() uint64 {
	a.mu.RLock()
	an := a.anchors
	a.mu.RUnlock()
	if an == nil {
		return 0
	}
	return an.failures.Load()
}

func (an *anchorer) run() {
	defer close(an.done)
	t := time.NewTicker(an.opts.Interval)
	defer t.Stop()
	for {
		select {
		case <-an.stop:
			return
		case <-t.C:
			ctx, cancel := context.WithTimeout(context.Background(), an.opts.Timeout)
			_ = an.write(ctx, false) // warned and counted inside
			cancel()
		}
	}
}

// write appends the current head, unless it is already anchored (a final
// anchor is written whenever the segment has events or anchors).
func (an *anchorer) write(ctx context.Context, final bool) error {
	seg, seq, head := an.a.Head()
	an.mu.Lock()
	skip := (an.any && seq == an.lastSeq && !final) || (seq == 0 && !an.any)
	an.mu.Unlock()
	if skip {
		return nil
	}
	anc := Anchor{Segment: seg, Seq: seq, Head: head, Time: an.a.now().UTC(), ServerID: an.a.serverID, Final: final}
	line, err := json.Marshal(anc)
	if err != nil {
		return fmt.Errorf("encode anchor: %w", err)
	}
	line = append(line, '\n')
	if err := an.opts.Store.Append(ctx, AnchorBlobName(seg, anc.Time), line); err != nil {
		n := an.failures.Add(1)
		why := an.opts.Explain(err)
		an.a.warn.warn("anchor", "chain anchor not written (%s); %d anchor writes failed so far", why, n)
		return fmt.Errorf("write anchor at seq %d: %s", seq, why)
	}
	an.mu.Lock()
	if !an.any || seq > an.lastSeq {
		an.lastSeq = seq
	}
	an.any = true
	an.written++
	an.mu.Unlock()
	return nil
}

// close stops the periodic writes and writes the final anchor within ctx
// (beside a periodic write that may still be under way: appends do not
// conflict, and the verifier orders anchors by seq).
func (an *anchorer) close(ctx context.Context) error {
	close(an.stop)
	err := an.write(ctx, true)
	select {
	case <-an.done:
	case <-ctx.Done():
	}
	if err != nil {
		return fmt.Errorf("audit: final chain anchor: %w", err)
	}
	return nil
}

// MarshalJSON writes the time as the events do: RFC 3339 UTC, milliseconds.
func (x Anchor) MarshalJSON() ([]byte, error) {
	type plain Anchor
	return json.Marshal(struct {
		Time string `json:"time"`
		plain
	}{x.Time.UTC().Format(timeLayout), plain(x)})
}

// UnmarshalJSON reads what MarshalJSON writes.
func (x *Anchor) UnmarshalJSON(b []byte) error {
	type plain Anchor
	var v struct {
		Time string `json:"time"`
		plain
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*x = Anchor(v.plain)
	if v.Time == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, v.Time)
	if err != nil {
		return fmt.Errorf("anchor time: %w", err)
	}
	x.Time = t
	return nil
}
