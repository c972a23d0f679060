package audit

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"
)

// memSink records what it is given.
type memSink struct {
	name string
	err  error // returned by every Write

	mu     sync.Mutex
	events []Event
	closed int
}

func (s *memSink) Name() string { return s.name }

func (s *memSink) Write(e Event) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.err != nil {
		return s.err
	}
	s.events = append(s.events, e)
	return nil
}

func (s *memSink) Close(context.Context) error {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.closed++
	return nil
}

func (s *memSink) got() ([]Event, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Event(nil), s.events...), s.closed
}

// stuckSink blocks in Write until released; entered gets a value each time
// a Write starts.
type stuckSink struct {
	entered chan struct{}
	release chan struct{}
}

func newStuckSink() *stuckSink {
	return &stuckSink{entered: make(chan struct{}, 1), release: make(chan struct{})}
}

func (s *stuckSink) Name() string { return "stuck" }

func (s *stuckSink) Write(Event) error {
	select {
	case s.entered <- struct{}{}:
	default:
	}
	<-s.release
	return nil
}

func (s *stuckSink) Close(context.Context) error { return nil }

func testCtx(t *testing.T, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	t.Cleanup(cancel)
	return ctx
}

func TestAuditorFansOutInOrder(t *testing.T) {
	t.Parallel()
	a1, a2 := &memSink{name: "a"}, &memSink{name: "b"}
	var stderr syncBuffer
	aud := New(Options{ServerID: "srv", Warn: &stderr}, a1, a2)
	for i := range 50 {
		aud.Record(Event{ToolName: fmt.Sprint("tool", i)})
	}
	if err := aud.Close(testCtx(t, 10*time.Second)); err != nil {
		t.Fatalf("Close: %v", err)
	}
	for _, s := range []*memSink{a1, a2} {
		evs, closed := s.got()
		if len(evs) != 50 || closed != 1 {
			t.Fatalf("sink %s got %d events, closed %d times", s.name, len(evs), closed)
		}
		for i, e := range evs {
			if e.ToolName != fmt.Sprint("tool", i) || e.ServerID != "srv" || e.Event != EventName || e.Timestamp.IsZero() || e.OperationID == "" {
				t.Fatalf("sink %s event %d: %+v", s.name, i, e)
			}
		}
	}
	if aud.Dropped() != 0 || stderr.String() != "" {
		t.Errorf("dropped %d, stderr %q", aud.Dropped(), stderr.String())
	}
	// Close is idempotent, and Record after Close is a counted drop.
	if err := aud.Close(testCtx(t, time.Second)); err != nil {
		t.Errorf("second Close: %v", err)
	}
	aud.Record(Event{})
	if aud.Dropped() != 2 { // one per sink
		t.Errorf("Record after Close: dropped %d, want 2", aud.Dropped())
	}
}

func TestAuditorNeverBlocksAndCountsDrops(t *testing.T) {
	t.Parallel()
	const queue = 8
	stuck := newStuckSink()
	var stderr syncBuffer
	aud := New(Options{QueueSize: queue, Warn: &stderr, WarnEvery: time.Hour}, stuck)

	aud.Record(Event{ToolName: "first"})
	<-stuck.entered // the stuck sink's goroutine now holds "first"
	for range queue {
		aud.Record(Event{}) // fills the stuck sink's queue
	}
	const extra = 25
	for range extra {
		aud.Record(Event{}) // must return at once: dropped for the stuck sink
	}
	if got := aud.Dropped(); got != extra {
		t.Fatalf("Dropped() = %d, want %d", got, extra)
	}

	close(stuck.release)
	err := aud.Close(testCtx(t, 10*time.Second))
	if err == nil || !strings.Contains(err.Error(), fmt.Sprintf("stuck sink: %d events dropped", extra)) {
		t.Fatalf("Close error = %v, want the stuck sink's drops reported", err)
	}
	// One warning line for the whole burst (rate-limited), naming the sink.
	lines := strings.Split(strings.TrimSpace(stderr.String()), "\n")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "audit: stuck sink dropped an event: queue full") {
		t.Errorf("warnings = %q, want one queue-full line", lines)
	}
}

func TestAuditorCloseHonoursDeadline(t *testing.T) {
	t.Parallel()
	stuck := newStuckSink()
	t.Cleanup(func() { close(stuck.release) })
	aud := New(Options{Warn: &syncBuffer{}}, stuck)
	aud.Record(Event{})
	aud.Record(Event{})
	<-stuck.entered
	ctx, cancel := context.WithTimeout(t.Context(), 50*time.Millisecond)
	defer cancel()
	err := aud.Close(ctx) // returns because of the deadline: the sink never finishes
	if err == nil || !strings.Contains(err.Error(), "stuck sink: 1 events still queued at the deadline") {
		t.Fatalf("Close error = %v, want the queued event reported", err)
	}
}

func TestAuditorCountsWriteErrors(t *testing.T) {
	t.Parallel()
	bad := &memSink{name: "bad", err: errors.New("disk full\nsecond line")}
	var stderr syncBuffer
	aud := New(Options{Warn: &stderr}, bad)
	for range 3 {
		aud.Record(Event{})
	}
	err := aud.Close(testCtx(t, 10*time.Second))
	if err == nil || !strings.Contains(err.Error(), "bad sink: 3 events dropped") || aud.Dropped() != 3 {
		t.Fatalf("Close error = %v, dropped %d", err, aud.Dropped())
	}
	if got := stderr.String(); got != "audit: bad sink dropped an event: disk full; 1 dropped by this sink so far\n" {
		t.Errorf("stderr = %q", got)
	}
}

func TestJSONSinkWritesOneLinePerEvent(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	aud := New(Options{ServerID: "srv", Warn: &syncBuffer{}}, NewJSONSink(&out))
	want := fullEvent()
	aud.Record(want)
	aud.Record(Event{ToolName: "second", Message: "line\nbreak"})
	if err := aud.Close(testCtx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimSuffix(out.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("got %d lines: %q", len(lines), out.String())
	}
	var got Event
	if err := json.Unmarshal([]byte(lines[0]), &got); err != nil {
		t.Fatal(err)
	}
	want.Timestamp = want.Timestamp.UTC().Truncate(time.Millisecond)
	seg, _, _ := aud.Head()
	want.ChainSegment, want.ChainSeq, want.ChainPrev = seg, 1, Genesis(seg)
	if got != want {
		t.Errorf("line 1\n got %+v\nwant %+v", got, want)
	}
	if err := json.Unmarshal([]byte(lines[1]), &got); err != nil || got.Message != "line\nbreak" {
		t.Errorf("line 2: %v %+v", err, got)
	}
}

// The stdout sink is written before Record returns, and a burst from many
// goroutines loses nothing: evidence must not depend on a queue keeping up.
func TestStdoutSinkIsSynchronous(t *testing.T) {
	var out syncBuffer
	a := New(Options{ServerID: "s", QueueSize: 1}, NewJSONSink(&out))
	a.Record(Event{ToolName: "first"})
	if !strings.Contains(out.String(), `"tool_name":"first"`) {
		t.Fatal("event not on stdout when Record returned")
	}
	var wg sync.WaitGroup
	for range 200 {
		wg.Go(func() {
			for range 10 {
				a.Record(Event{ToolName: "burst"})
			}
		})
	}
	wg.Wait()
	if n := strings.Count(out.String(), "\n"); n != 2001 || a.Dropped() != 0 {
		t.Fatalf("%d lines, %d dropped; want 2001 and 0", n, a.Dropped())
	}
	if err := a.Close(context.Background()); err != nil {
		t.Fatal(err)
	}
}
