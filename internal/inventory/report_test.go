package inventory

import (
	"testing"
	"time"
)

func TestReport(t *testing.T) {
	inv, err := Parse([]byte(doc), Options{Now: func() time.Time { return day }})
	if err != nil {
		t.Fatal(err)
	}
	seen := NewLastSeen(0)
	t1, t2 := day.Add(-time.Hour), day.Add(-time.Minute)
	seen.Touch("AAA", t1)
	seen.Touch("aaa", t2)
	seen.Touch("aaa", t1) // older: ignored
	seen.Touch("stranger", t1)
	seen.Touch("", t2) // no client: not recorded
	rows := inv.Report(seen)
	want := []struct {
		client string
		state  State
		seen   time.Time
	}{
		{"AAA", Registered, t2}, {"bbb", Expired, time.Time{}}, {"ccc", Expired, time.Time{}}, {"stranger", Unregistered, t1},
	}
	if len(rows) != len(want) {
		t.Fatalf("rows %+v", rows)
	}
	for i, w := range want {
		t.Run(w.client, func(t *testing.T) {
			got := rows[i]
			if got.Agent.ClientID != w.client || got.State != w.state || !got.LastSeen.Equal(w.seen) {
				t.Errorf("row %d = %s %s %v, want %s %s %v", i, got.Agent.ClientID, got.State, got.LastSeen, w.client, w.state, w.seen)
			}
		})
	}
}

func TestLastSeenIsBounded(t *testing.T) {
	s := NewLastSeen(2)
	s.Touch("a", day)
	s.Touch("b", day.Add(time.Second))
	s.Touch("c", day.Add(2*time.Second))
	got := s.snapshot()
	if len(got) != 2 || !got["a"].IsZero() {
		t.Errorf("kept %v, want b and c", got)
	}
}
