package storage

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/snippets-mcp/server/internal/storage/blobtest"
)

func TestIsMisconfigured(t *testing.T) {
	cases := []struct {
		name string
		err  error
		want bool
	}{
		{"bad key", &azcore.ResponseError{StatusCode: 403, ErrorCode: "AuthorizationFailure"}, true},
		{"no role", &azcore.ResponseError{StatusCode: 403, ErrorCode: "AuthorizationPermissionMismatch"}, true},
		{"missing account", &net.DNSError{Err: "no such host", Name: "nope.blob.core.windows.net", IsNotFound: true}, true},
		{"busy", &azcore.ResponseError{StatusCode: 503, ErrorCode: "ServerBusy"}, false},
		{"DNS timeout", &net.DNSError{Err: "timeout", IsTimeout: true}, false},
		{"deadline", context.DeadlineExceeded, false},
		{"nil", nil, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.err
			if err != nil {
				err = fmt.Errorf("list: %w", err) // as the stores wrap it
			}
			if got := IsMisconfigured(err); got != c.want {
				t.Errorf("got %v, want %v", got, c.want)
			}
		})
	}
}

// readyz asks r once and returns the status and the decoded answer.
func readyz(t *testing.T, r *Readiness) (int, map[string]any) {
	t.Helper()
	rec := httptest.NewRecorder()
	r.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/readyz", nil))
	var body map[string]any
	if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
		t.Fatalf("%v: %s", err, rec.Body)
	}
	return rec.Code, body
}

// Readiness tells a bad key (permanent, for an operator) from an outage,
// and caches its answer so that probes do not load storage.
func TestReadiness(t *testing.T) {
	f := blobtest.New(t)
	c, err := Connect(Options{ConnectionString: f.ConnString()})
	if err != nil {
		t.Fatal(err)
	}
	if err := EnsureContainer(context.Background(), c, "snippets"); err != nil {
		t.Fatal(err)
	}
	now := time.Unix(0, 0)
	newR := func() *Readiness {
		r := NewReadiness(c, 10*time.Second, time.Second, "snippets")
		r.now = func() time.Time { return now }
		return r
	}
	all := func(*http.Request) bool { return true }

	if status, body := readyz(t, newR()); status != 200 || body["status"] != "ready" {
		t.Errorf("healthy storage: %d %v", status, body)
	}

	r := newR()
	f.SetRule(blobtest.Answer(all, 1, http.StatusForbidden, "AuthorizationFailure"))
	status, body := readyz(t, r)
	if status != 503 || body["storage"] != Misconfigured || body["permanent"] != true {
		t.Errorf("bad key: %d %v", status, body)
	}
	// Cached: storage recovered, but within the ttl the answer stands.
	if status, _ := readyz(t, r); status != 503 {
		t.Errorf("within the ttl: %d, want the cached 503", status)
	}
	now = now.Add(11 * time.Second)
	if status, _ := readyz(t, r); status != 200 {
		t.Errorf("after the ttl: %d, want 200", status)
	}

	f.SetRule(blobtest.Answer(all, 10, http.StatusServiceUnavailable, "ServerBusy"))
	status, body = readyz(t, newR())
	if status != 503 || body["permanent"] != false || body["storage"] == Misconfigured {
		t.Errorf("outage: %d %v", status, body)
	}
	f.SetRule(nil)

	f.DeleteContainer("snippets")
	if status, body := readyz(t, newR()); status != 503 || body["permanent"] != false {
		t.Errorf("missing container: %d %v", status, body)
	}
}
