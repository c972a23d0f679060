package blobtest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"strings"
	"testing"
	"time"
)

// A delayed request whose client gives up is not acted on, on the fake and
// through the proxy: its handler ends then, not once the delay has passed.
// A write has a body, which the server must have read before it notices
// that the client hung up.
func TestDelayGivenUp(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		method string
		body   string
	}{
		{"write", http.MethodPut, "x"},
		{"write of a larger body", http.MethodPut, strings.Repeat("x", 1<<20)},
		{"read", http.MethodGet, ""},
	}
	for _, c := range cases {
		for _, via := range []string{"fake", "proxy"} {
			t.Run(c.name+" via "+via, func(t *testing.T) {
				t.Parallel()
				f := New(t)
				f.CreateContainer("c")
				var next http.Handler = http.HandlerFunc(f.serve)
				if via == "proxy" {
					u, err := url.Parse(f.URL)
					if err != nil {
						t.Fatal(err)
					}
					next = httputil.NewSingleHostReverseProxy(u)
				}
				arrived := make(chan struct{}, 1)
				returned := make(chan struct{}, 1)
				// Long enough that it never passes while the client is
				// still waiting; short enough that a handler which waits
				// it out fails the test instead of hanging it.
				const delay = 10 * time.Second
				fh := &faulty{next: next, rule: func(*http.Request) Fault {
					arrived <- struct{}{}
					return Fault{Delay: delay}
				}}
				srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
					fh.ServeHTTP(w, r)
					returned <- struct{}{}
				}))
				t.Cleanup(srv.Close)

				ctx, cancel := context.WithCancel(context.Background())
				defer cancel()
				var body io.Reader
				if c.body != "" {
					body = strings.NewReader(c.body)
				}
				req, err := http.NewRequestWithContext(ctx, c.method, srv.URL+"/"+Account+"/c/b", body)
				if err != nil {
					t.Fatal(err)
				}
				done := make(chan error, 1)
				go func() {
					resp, err := http.DefaultClient.Do(req)
					if err == nil {
						resp.Body.Close()
						err = fmt.Errorf("reply %d", resp.StatusCode)
					}
					done <- err
				}()
				<-arrived
				cancel()
				if err := <-done; !errors.Is(err, context.Canceled) {
					t.Errorf("client: %v, want %v", err, context.Canceled)
				}
				<-returned // before the fix: only once the delay has passed, and then it acts
				if got := f.Names("c"); len(got) != 0 {
					t.Errorf("blobs = %q, want none: the given-up request acted", got)
				}
			})
		}
	}
}
