package storage

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/storage/blobtest"
)

func lists(f *blobtest.Fake) int {
	n := 0
	for _, r := range f.Requests() {
		if strings.HasPrefix(r, http.MethodGet+" ") {
			n++
		}
	}
	return n
}

// Every container is checked, the first failing one is named, and a
// check is bounded by its timeout.
func TestReadinessCheck(t *testing.T) {
	t.Parallel()
	listOf := func(container string) func(*http.Request) bool {
		return func(r *http.Request) bool {
			return r.Method == http.MethodGet && strings.HasSuffix(r.URL.Path, "/"+container) && r.URL.Query().Get("comp") == "list"
		}
	}
	cases := []struct {
		name      string
		missing   string // a container not created
		rule      blobtest.Rule
		wantErr   string // in the error; "" means ready
		wantIs    error
		wantLists int
	}{
		{"all there", "", nil, "", nil, 2},
		{"second missing", "b", nil, `container "b"`, nil, 2},
		{"first missing: the second is not asked", "a", nil, `container "a"`, nil, 1},
		{"hung storage is not ready within the timeout", "",
			func(r *http.Request) blobtest.Fault {
				if listOf("b")(r) {
					return blobtest.Fault{Delay: time.Hour}
				}
				return blobtest.Fault{}
			}, `container "b"`, context.DeadlineExceeded, 2},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := blobtest.New(t)
			for _, n := range []string{"a", "b"} {
				if n != c.missing {
					f.CreateContainer(n)
				}
			}
			f.SetRule(c.rule)
			timeout := time.Minute
			if c.wantIs != nil {
				timeout = 50 * time.Millisecond
			}
			r := NewReadiness(testClient(t, f.ConnString()), time.Minute, timeout, "a", "b")
			err := r.Check(context.Background())
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("Check = %v, want nil", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("Check = %v, want an error containing %q", err, c.wantErr)
			}
			if c.wantIs != nil && !errors.Is(err, c.wantIs) {
				t.Errorf("Check = %v, want it to be %v", err, c.wantIs)
			}
			if got := lists(f); got < c.wantLists || c.wantIs == nil && got != c.wantLists {
				t.Errorf("listings = %d, want %d (%q)", got, c.wantLists, f.Requests())
			}
		})
	}
}

// Concurrent probes within the ttl share one check: storage sees one
// listing per container, and all get the same answer.
func TestReadinessSharesOneCheck(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		setup   func(*blobtest.Fake)
		wantErr bool
	}{
		{"ready", func(f *blobtest.Fake) { f.CreateContainer("a"); f.CreateContainer("b") }, false},
		{"not ready", func(f *blobtest.Fake) { f.CreateContainer("a") }, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := blobtest.New(t)
			c.setup(f)
			r := NewReadiness(testClient(t, f.ConnString()), time.Hour, time.Minute, "a", "b")
			const probes = 8
			errs := make([]error, probes)
			var wg sync.WaitGroup
			for i := range probes {
				wg.Go(func() { errs[i] = r.Check(context.Background()) })
			}
			wg.Wait()
			for i, err := range errs {
				if (err != nil) != c.wantErr {
					t.Errorf("probe %d: %v, want error: %v", i, err, c.wantErr)
				}
				if err != errs[0] {
					t.Errorf("probe %d: %v, want the shared answer %v", i, err, errs[0])
				}
			}
			// One listing of each container ("b" is the one missing when not ready).
			if got, want := lists(f), 2; got != want {
				t.Errorf("listings for %d probes = %d, want %d", probes, got, want)
			}
		})
	}
}

// The cache holds for ttl after each check, failed or not, and a new
// check runs once it has passed.
func TestReadinessTTL(t *testing.T) {
	t.Parallel()
	f := blobtest.New(t)
	r := NewReadiness(testClient(t, f.ConnString()), 10*time.Second, time.Minute, "a")
	now := time.Unix(1000, 0)
	r.now = func() time.Time { return now }
	steps := []struct {
		name      string
		advance   time.Duration
		create    bool
		wantReady bool
		wantLists int
	}{
		{"first check: no container", 0, false, false, 1},
		{"created, but within the ttl", 9 * time.Second, true, false, 1},
		{"ttl passed", time.Second, false, true, 2},
		{"cached ready", 5 * time.Second, false, true, 2},
	}
	for _, s := range steps { // in order: each step builds on the last
		t.Run(s.name, func(t *testing.T) {
			now = now.Add(s.advance)
			if s.create {
				f.CreateContainer("a")
			}
			err := r.Check(context.Background())
			if got := err == nil; got != s.wantReady {
				t.Errorf("ready = %v (%v), want %v", got, err, s.wantReady)
			}
			if got := lists(f); got != s.wantLists {
				t.Errorf("listings = %d, want %d", got, s.wantLists)
			}
		})
	}
}
