package audit

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"sync"
	"sync/atomic"
	"time"
)

// Sink receives audit events. The Auditor calls Write from one goroutine
// per sink, so a Sink need not be safe for concurrent Writes; Write may
// block (the Auditor's queue absorbs it). Close flushes whatever the sink
// holds within ctx and reports what it could not deliver; the Auditor calls
// it once, after the last Write has returned.
type Sink interface {
	Name() string
	Write(Event) error
	Close(ctx context.Context) error
}

// Synchronous is implemented by sinks that are written in the caller's
// goroutine instead of through a queue. The stdout sink is one: it is the
// evidence that always exists, and a queue drained by one goroutine among
// a thousand busy request goroutines falls behind and drops events under
// load. A local stream write costs microseconds; only a stdout that nobody
// reads could block, and then the host has failed already.
type Synchronous interface {
	Synchronous() bool
}

// Loser is implemented by sinks that lose events after Write accepted them
// (an ingestion endpoint that rejects a batch). Lost counts such events so
// far; the Auditor adds it to Dropped.
type Loser interface {
	Lost() uint64
}

// Options tunes an Auditor. Zero values give the defaults.
type Options struct {
	ServerID  string        // server_id for events that do not set it
	QueueSize int           // events buffered per sink; default 1024
	Warn      io.Writer     // where drop warnings go; default os.Stderr
	WarnEvery time.Duration // at most one warning line per sink and kind per interval; default 1m
}

// Auditor fans events out to its sinks without ever blocking the caller:
// each sink has a bounded queue drained by its own goroutine, and an event
// that finds a queue full is dropped and counted.
type Auditor struct {
	serverID string
	warn     *warner
	now      func() time.Time
	sinks    []*queue

	mu     sync.RWMutex // guards closed against Record's sends
	closed bool

	// writeMu serializes chaining and writing: an event takes its place in
	// the chain and is written to the synchronous sinks (and queued for
	// the others) under it, so the order of the stdout lines is the order
	// of chain_seq, whatever the concurrency.
	writeMu sync.Mutex
	chain   *chain

	anchors *anchorer // nil until StartAnchors

	closeOnce sync.Once
	closeErr  error
}

// queue is one sink with its buffer and drain goroutine; a synchronous
// sink has neither, and the Auditor's writeMu serializes its writes.
type queue struct {
	sink    Sink
	sync    bool
	events  chan Event
	done    chan struct{} // closed when the drain goroutine has returned
	dropped atomic.Uint64
}

// New starts an Auditor writing to sinks. Close must be called to flush.
func New(opts Options, sinks ...Sink) *Auditor {
	if opts.QueueSize <= 0 {
		opts.QueueSize = 1024
	}
	if opts.Warn == nil {
		opts.Warn = os.Stderr
	}
	a := &Auditor{serverID: opts.ServerID, warn: newWarner(opts.Warn, opts.WarnEvery), now: time.Now, chain: newChain()}
	for _, s := range sinks {
		q := &queue{sink: s, done: make(chan struct{})}
		a.sinks = append(a.sinks, q)
		if sy, ok := s.(Synchronous); ok && sy.Synchronous() {
			q.sync = true
			close(q.done)
			continue
		}
		q.events = make(chan Event, opts.QueueSize)
		go a.drain(q)
	}
	return a
}

// Record queues e for every sink and returns at once. It fills Event,
// Timestamp (now), OperationID (a fresh trace id) and ServerID when they
// are empty, and always sets the chain fields: the next sequence number of
// this Auditor's segment and the previous event's digest. After Close,
// events for queued sinks are dropped and counted.
func (a *Auditor) Record(e Event) {
	e.normalize(a.serverID, a.now())
	content := e.contentDigest() // outside the lock: calls hash in parallel
	a.mu.RLock()
	defer a.mu.RUnlock()
	a.writeMu.Lock()
	defer a.writeMu.Unlock()
	a.chain.next(&e, content)
	for _, q := range a.sinks {
		if q.sync {
			// Written even after Close: a call that outlived the shutdown
			// deadline still leaves its line (and its place in the chain).
			if err := q.sink.Write(e); err != nil {
				a.dropped(q, "write", firstLine(err))
			}
			continue
		}
		if a.closed {
			a.dropped(q, "closed", "event recorded after Close")
			continue
		}
		select {
		case q.events <- e:
		default:
			a.dropped(q, "full", "queue full (the sink is slow or down)")
		}
	}
}

func (a *Auditor) dropped(q *queue, kind, why string) {
	n := q.dropped.Add(1)
	a.warn.warn(q.sink.Name()+"/"+kind, "%s sink dropped an event: %s; %d dropped by this sink so far", q.sink.Name(), why, n)
}

func (a *Auditor) drain(q *queue) {
	defer close(q.done)
	for e := range q.events {
		if err := q.sink.Write(e); err != nil {
			n := q.dropped.Add(1)
			a.warn.warn(q.sink.Name()+"/write", "%s sink dropped an event: %s; %d dropped by this sink so far", q.sink.Name(), firstLine(err), n)
		}
	}
}

// Dropped counts event deliveries lost so far, summed over sinks: events
// that found a queue full, that a sink failed to write, that a sink lost
// after accepting them, or that arrived after Close. An event lost by two
// sinks counts twice.
func (a *Auditor) Dropped() uint64 {
	var n uint64
	for _, q := range a.sinks {
		n += q.dropped.Load()
		if l, ok := q.sink.(Loser); ok {
			n += l.Lost()
		}
	}
	return n
}

// Close stops accepting events, drains every queue into its sink and closes
// the sinks, and writes the final chain anchor (StartAnchors), all within ctx. It returns nil when every recorded event was
// delivered (for Application Insights: accepted by the ingestion endpoint);
// otherwise an error that says, per sink, how many events were dropped,
// left in the queue, or not confirmed. Close is idempotent; later calls
// return the first result.
//
// Call it once the server has stopped taking tool calls (after
// http.Server.Shutdown), with a deadline inside the platform's shutdown
// grace period.
func (a *Auditor) Close(ctx context.Context) error {
	a.closeOnce.Do(func() {
		a.mu.Lock()
		a.closed = true
		for _, q := range a.sinks {
			if !q.sync {
				close(q.events)
			}
		}
		a.mu.Unlock()

		errs := make([]error, len(a.sinks)+1)
		var wg sync.WaitGroup
		for i, q := range a.sinks {
			wg.Go(func() { errs[i] = a.closeSink(ctx, q) })
		}
		if an := a.anchors; an != nil {
			wg.Go(func() { errs[len(a.sinks)] = an.close(ctx) })
		}
		wg.Wait()
		a.warn.close(ctx)
		a.closeErr = errors.Join(errs...)
	})
	return a.closeErr
}

// closeSink waits for q's queue to drain, then closes its sink. A sink
// whose queue does not drain in time is not closed (its Write may still be
// running); the events left behind are reported.
func (a *Auditor) closeSink(ctx context.Context, q *queue) error {
	name := q.sink.Name()
	select {
	case <-q.done:
	case <-ctx.Done():
		return fmt.Errorf("audit: %s sink: %d events still queued at the deadline, %d dropped before", name, len(q.events), q.dropped.Load())
	}
	var errs []error
	if err := q.sink.Close(ctx); err != nil {
		errs = append(errs, fmt.Errorf("audit: %s sink: %w", name, err))
	}
	if n := q.dropped.Load(); n > 0 {
		errs = append(errs, fmt.Errorf("audit: %s sink: %d events dropped", name, n))
	}
	return errors.Join(errs...)
}
