package blobtest_test

import (
	"fmt"
	"net/http"
	"net/http/httptest"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/storage/blobtest"
)

func TestMatch(t *testing.T) {
	t.Parallel()
	match := blobtest.Match(http.MethodPut, "/snippets/")
	cases := []struct {
		name, method, target string
		want                 bool
	}{
		{"method and path", http.MethodPut, "/devstoreaccount1/snippets/t/a", true},
		{"another method", http.MethodGet, "/devstoreaccount1/snippets/t/a", false},
		{"another container", http.MethodPut, "/devstoreaccount1/approvals/t/a", false},
		{"part only in the query", http.MethodPut, "/devstoreaccount1/x?p=/snippets/", false},
		{"container operation", http.MethodPut, "/devstoreaccount1/snippets/?restype=container", false},
		{"blob with another query", http.MethodPut, "/devstoreaccount1/snippets/t/a?comp=metadata", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := match(httptest.NewRequest(c.method, c.target, nil)); got != c.want {
				t.Errorf("Match(PUT, /snippets/)(%s %s) = %v, want %v", c.method, c.target, got, c.want)
			}
		})
	}
}

// The counted rules fault the first n requests that match, and only those.
func TestCountedRules(t *testing.T) {
	t.Parallel()
	puts := blobtest.Match(http.MethodPut, "/c/")
	answer := blobtest.Fault{Status: http.StatusServiceUnavailable, Code: "ServerBusy"}
	drop := blobtest.Fault{Action: blobtest.DropAfter}
	put := httptest.NewRequest(http.MethodPut, "/devstoreaccount1/c/b", nil)
	get := httptest.NewRequest(http.MethodGet, "/devstoreaccount1/c/b", nil)
	cases := []struct {
		name string
		rule blobtest.Rule
		reqs []*http.Request
		want []blobtest.Fault
	}{
		{"answer two", blobtest.Answer(puts, 2, answer.Status, answer.Code), []*http.Request{put, put, put}, []blobtest.Fault{answer, answer, {}}},
		{"others do not count", blobtest.Answer(puts, 1, answer.Status, answer.Code), []*http.Request{get, get, put, put}, []blobtest.Fault{{}, {}, answer, {}}},
		{"answer none", blobtest.Answer(puts, 0, answer.Status, answer.Code), []*http.Request{put}, []blobtest.Fault{{}}},
		{"drop one", blobtest.DropAfterApplied(puts, 1), []*http.Request{get, put, put}, []blobtest.Fault{{}, drop, {}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var got []blobtest.Fault
			for _, r := range c.reqs {
				got = append(got, c.rule(r))
			}
			if !slices.Equal(got, c.want) {
				t.Errorf("faults = %+v, want %+v", got, c.want)
			}
		})
	}
}

// target is where a fault test sends its requests: the fake itself, or a
// proxy in front of it. Faults behave the same on both.
type target struct {
	name  string
	start func(t *testing.T) (f *blobtest.Fake, front *blobtest.Server)
}

var targets = []target{
	{"fake", func(t *testing.T) (*blobtest.Fake, *blobtest.Server) {
		f := blobtest.New(t)
		return f, f.Server
	}},
	{"proxy", func(t *testing.T) (*blobtest.Fake, *blobtest.Server) {
		f := blobtest.New(t)
		return f, blobtest.NewProxy(t, f.URL)
	}},
}

// Each fault, on the fake and through the proxy: what the client gets,
// and whether storage acted.
func TestFaults(t *testing.T) {
	t.Parallel()
	puts := blobtest.Match(http.MethodPut, "/c/")
	always := func(f blobtest.Fault) blobtest.Rule {
		return func(r *http.Request) blobtest.Fault {
			if puts(r) {
				return f
			}
			return blobtest.Fault{}
		}
	}
	cases := []struct {
		name       string
		rule       func() blobtest.Rule // a new rule for each target: counted rules keep a count
		wantStatus int                  // 0: the connection drops without a reply
		wantCode   string
		wantActed  bool
	}{
		{"no rule", func() blobtest.Rule { return nil }, 201, "", true},
		{"drop after applied", func() blobtest.Rule { return blobtest.DropAfterApplied(puts, 1) }, 0, "", true},
		{"drop first", func() blobtest.Rule { return always(blobtest.Fault{Action: blobtest.DropFirst}) }, 0, "", false},
		{"answer", func() blobtest.Rule {
			return blobtest.Answer(puts, 1, http.StatusInternalServerError, "OperationTimedOut")
		}, 500, "OperationTimedOut", false},
		{"status", func() blobtest.Rule {
			return always(blobtest.Fault{Status: http.StatusForbidden, Code: "AuthorizationFailure"})
		}, 403, "AuthorizationFailure", false},
		{"short delay, then served", func() blobtest.Rule { return always(blobtest.Fault{Delay: time.Millisecond}) }, 201, "", true},
		{"short delay, then dropped after", func() blobtest.Rule {
			return always(blobtest.Fault{Delay: time.Millisecond, Action: blobtest.DropAfter})
		}, 0, "", true},
		{"a rule for other requests", func() blobtest.Rule {
			return blobtest.Answer(blobtest.Match(http.MethodGet, "/c/"), 1, 500, "InternalError")
		}, 201, "", true},
	}
	for _, tg := range targets {
		for _, c := range cases {
			t.Run(tg.name+"/"+c.name, func(t *testing.T) {
				t.Parallel()
				f, front := tg.start(t)
				f.CreateContainer("c")
				front.SetRule(c.rule())
				req, err := http.NewRequest(http.MethodPut, front.URL+"/devstoreaccount1/c/b", strings.NewReader("x"))
				if err != nil {
					t.Fatal(err)
				}
				resp, err := http.DefaultClient.Do(req)
				switch {
				case c.wantStatus == 0 && err == nil:
					resp.Body.Close()
					t.Errorf("got a reply %d, want the connection dropped", resp.StatusCode)
				case c.wantStatus != 0 && err != nil:
					t.Errorf("request failed: %v, want %d", err, c.wantStatus)
				case c.wantStatus != 0:
					resp.Body.Close()
					if resp.StatusCode != c.wantStatus || resp.Header.Get("x-ms-error-code") != c.wantCode {
						t.Errorf("reply %d %q, want %d %q", resp.StatusCode, resp.Header.Get("x-ms-error-code"), c.wantStatus, c.wantCode)
					}
				}
				if got := slices.Contains(f.Names("c"), "b"); got != c.wantActed {
					t.Errorf("storage acted: %v, want %v", got, c.wantActed)
				}
				if got, want := front.Requests(), []string{"PUT /devstoreaccount1/c/b"}; !slices.Equal(got, want) {
					t.Errorf("requests = %q, want %q", got, want)
				}
			})
		}
	}
}

// SetRule(nil) ends faults; the log keeps every request in order.
func TestSetRuleAndRequests(t *testing.T) {
	t.Parallel()
	f := blobtest.New(t)
	f.CreateContainer("c")
	f.SetRule(func(*http.Request) blobtest.Fault { return blobtest.Fault{Status: 503, Code: "ServerBusy"} })
	checkReply(t, send(t, http.MethodGet, f.URL+"/devstoreaccount1/c/a", nil, ""), 503, "ServerBusy")
	f.SetRule(nil)
	checkReply(t, send(t, http.MethodGet, f.URL+"/devstoreaccount1/c/a", nil, ""), 404, "BlobNotFound")
	checkReply(t, send(t, http.MethodPut, f.URL+"/devstoreaccount1/c/a?x=1", nil, "y"), 201, "")
	want := []string{"GET /devstoreaccount1/c/a", "GET /devstoreaccount1/c/a", "PUT /devstoreaccount1/c/a"}
	if got := f.Requests(); !slices.Equal(got, want) {
		t.Errorf("requests = %q, want %q", got, want)
	}
}

// fatalTB stops at Fatalf as testing.T does and records the message.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, a ...any) {
	f.msg = fmt.Sprintf(format, a...)
	runtime.Goexit()
}

func TestNewProxyBadTarget(t *testing.T) {
	t.Parallel()
	tb := &fatalTB{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		blobtest.NewProxy(tb, "http://[::1")
	}()
	<-done
	if !strings.Contains(tb.msg, `target "http://[::1"`) {
		t.Errorf("Fatalf message = %q, want it to name the target", tb.msg)
	}
}
