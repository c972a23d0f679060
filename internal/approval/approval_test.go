package approval

import (
	"testing"
	"time"
)

// The Blob-backed store is exercised end to end (three server processes,
// one Azurite) in e2e/approval_test.go; these are its pure rules.

func TestStatusAt(t *testing.T) {
	now := time.Now()
	r := Request{Status: Pending, ExpiresAt: now.Add(time.Minute)}
	if r.StatusAt(now) != Pending || r.StatusAt(now.Add(time.Minute)) != Expired {
		t.Fatal("pending expiry")
	}
	r.Status = Approved
	if r.StatusAt(now.Add(2*time.Minute)) != Expired {
		t.Fatal("an approved request must expire too")
	}
	for _, st := range []Status{Denied, Used} {
		r.Status = st
		if r.StatusAt(now.Add(time.Hour)) != st {
			t.Fatalf("%s changed with time", st)
		}
	}
}

func TestIDs(t *testing.T) {
	seen := map[string]bool{}
	prev := ""
	start := time.Now()
	for i := range 1000 {
		id := newID(start.Add(time.Duration(i) * time.Millisecond))
		if !ValidID(id) || seen[id] {
			t.Fatalf("bad or repeated id %q", id)
		}
		if id <= prev {
			t.Fatalf("id %q made later sorts before %q", id, prev)
		}
		seen[id], prev = true, id
	}
	for _, bad := range []string{"", "../etc", "0123456789abcdef0123456789abcdeg", "0123456789abcdef0123456789abcdef0", "0123456789ABCDEF0123456789ABCDEF", "t-x/0123456789abcdef0123456789ab"} {
		if ValidID(bad) {
			t.Errorf("%q accepted", bad)
		}
	}
}

func TestBlobNameStaysInTenant(t *testing.T) {
	if got := blobName("a/b", "0123456789abcdef0123456789abcdef"); got != "t-a_2fb/0123456789abcdef0123456789abcdef.json" {
		t.Fatal(got)
	}
}
