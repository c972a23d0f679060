package audit

import (
	"context"
	"encoding/json"
	"errors"
	"strings"
	"testing"
	"time"
)

func TestAnchorsPeriodicAndFinal(t *testing.T) {
	t.Parallel()
	store := &memAnchors{}
	aud := New(Options{ServerID: "srv-a", Warn: &syncBuffer{}}, NewJSONSink(&syncBuffer{}))
	aud.StartAnchors(AnchorOptions{Store: store, Interval: 10 * time.Millisecond})
	aud.StartAnchors(AnchorOptions{Store: &memAnchors{err: errors.New("second store")}}) // ignored: already started
	seg, _, _ := aud.Head()

	ctx := testCtx(t, 10*time.Second)
	aud.Record(Event{ToolName: "a"})
	aud.Record(Event{ToolName: "b"})
	waitFor(t, ctx, "an anchor of seq 2", func() bool {
		for _, a := range store.anchors(t) {
			if a.Seq == 2 {
				return true
			}
		}
		return false
	})
	time.Sleep(50 * time.Millisecond) // several more ticks, nothing new chained
	if got := len(store.anchors(t)); got != 1 {
		t.Errorf("%d anchors after idle ticks, want 1 (only a new head is anchored)", got)
	}
	aud.Record(Event{ToolName: "c"})
	if err := aud.Close(ctx); err != nil {
		t.Fatalf("Close: %v", err)
	}
	anchors := store.anchors(t)
	last := anchors[len(anchors)-1]
	_, seq, head := aud.Head()
	if !last.Final || last.Seq != 3 || last.Head != head || seq != 3 || last.Segment != seg || last.ServerID != "srv-a" {
		t.Errorf("final anchor %+v, want seq 3, head %s, segment %s, final", last, head, seg)
	}
	for _, a := range anchors[:len(anchors)-1] {
		if a.Final {
			t.Errorf("periodic anchor marked final: %+v", a)
		}
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	for name := range store.blobs {
		if want := AnchorBlobName(seg, last.Time); name != want {
			t.Errorf("blob %q, want %q", name, want)
		}
	}
}

func TestAnchorLineFormat(t *testing.T) {
	t.Parallel()
	a := Anchor{Segment: "s", Seq: 7, Head: strings.Repeat("ab", 32), Time: time.Date(2026, 12, 2, 9, 0, 0, 123456789, time.UTC), ServerID: "srv", Final: true}
	b, err := json.Marshal(a)
	if err != nil {
		t.Fatal(err)
	}
	want := `{"time":"2026-12-02T09:00:00.123Z","chain_segment":"s","chain_seq":7,"chain_head":"` + a.Head + `","server_id":"srv","final":true}`
	if string(b) != want {
		t.Errorf("got  %s\nwant %s", b, want)
	}
	var back Anchor
	if err := json.Unmarshal(b, &back); err != nil || !back.Time.Equal(a.Time.Truncate(time.Millisecond)) || back.Seq != 7 || !back.Final {
		t.Errorf("round trip: %+v, %v", back, err)
	}
	if got := AnchorBlobName("seg", time.Date(2026, 12, 2, 23, 59, 0, 0, time.FixedZone("X", -3600))); got != "2026-12-03/seg.jsonl" {
		t.Errorf("blob name %q, want the UTC day", got)
	}
}

// A store that fails, or hangs, never delays Record; failures are counted
// and warned about without the error's text (which carries URLs), and
// Close reports the missing final anchor by its deadline.
func TestAnchorFailuresNeverBlock(t *testing.T) {
	t.Parallel()
	const secretURL = "https://acct.blob.core.windows.net/audit-anchors/x?sig=SECRET-SAS"
	tests := []struct {
		name  string
		store *memAnchors
	}{
		{"failing", &memAnchors{err: errors.New("PUT " + secretURL + ": 403")}},
		{"hanging", &memAnchors{block: make(chan struct{})}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			var stderr syncBuffer
			aud := New(Options{ServerID: "srv", Warn: &stderr}, NewJSONSink(&syncBuffer{}))
			aud.StartAnchors(AnchorOptions{Store: tt.store, Interval: time.Millisecond, Timeout: 20 * time.Millisecond,
				Explain: func(err error) string { return "storage answered 403" }})
			done := make(chan struct{})
			go func() {
				defer close(done)
				for range 200 {
					aud.Record(Event{ToolName: "x"})
					time.Sleep(100 * time.Microsecond)
				}
			}()
			select {
			case <-done:
			case <-time.After(30 * time.Second):
				t.Fatal("Record blocked behind the anchor store")
			}
			ctx, cancel := context.WithTimeout(t.Context(), 200*time.Millisecond)
			defer cancel()
			err := aud.Close(ctx)
			if err == nil || !strings.Contains(err.Error(), "final chain anchor") {
				t.Errorf("Close error %v, want the final anchor reported", err)
			}
			if aud.AnchorFailures() == 0 {
				t.Error("no anchor failure counted")
			}
			if tt.name == "failing" {
				if out := stderr.String(); !strings.Contains(out, "audit: chain anchor not written (storage answered 403)") || strings.Contains(out, "SECRET") || strings.Contains(out, "acct.blob") {
					t.Errorf("stderr = %q, want the explained reason and no URL", out)
				}
			}
			close(tt.store.blockOnce())
		})
	}
}

// blockOnce returns a channel that may be closed to release the store.
func (m *memAnchors) blockOnce() chan struct{} {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.block == nil {
		m.block = make(chan struct{})
	}
	return m.block
}

func TestStartAnchorsAfterCloseOrWithoutStore(t *testing.T) {
	t.Parallel()
	aud := New(Options{Warn: &syncBuffer{}})
	aud.StartAnchors(AnchorOptions{}) // no store: nothing
	if aud.anchors != nil {
		t.Fatal("anchors started without a store")
	}
	if err := aud.Close(testCtx(t, time.Second)); err != nil {
		t.Fatal(err)
	}
	store := &memAnchors{}
	aud.StartAnchors(AnchorOptions{Store: store})
	if aud.anchors != nil || store.calls != 0 {
		t.Error("anchors started after Close")
	}
}

// An Auditor with no events writes no anchor at all, not even at Close:
// an instance that served nothing leaves no blob.
func TestNoEventsNoAnchor(t *testing.T) {
	t.Parallel()
	store := &memAnchors{}
	aud := New(Options{Warn: &syncBuffer{}})
	aud.StartAnchors(AnchorOptions{Store: store, Interval: time.Hour})
	if err := aud.Close(testCtx(t, time.Second)); err != nil {
		t.Fatal(err)
	}
	store.mu.Lock()
	defer store.mu.Unlock()
	if store.calls != 0 {
		t.Errorf("%d anchor writes, want 0", store.calls)
	}
}
