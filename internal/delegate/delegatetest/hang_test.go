package delegatetest_test

import (
	"context"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/delegate/delegatetest"
)

// cleanups stands in for a test's end: it keeps what the fakes register
// with Cleanup and runs it, last first, when told.
type cleanups struct {
	testing.TB
	mu  sync.Mutex
	fns []func()
}

func (c *cleanups) Cleanup(f func()) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.fns = append(c.fns, f)
}

func (c *cleanups) run() {
	c.mu.Lock()
	fns := c.fns
	c.mu.Unlock()
	for i := len(fns) - 1; i >= 0; i-- {
		fns[i]()
	}
}

// A request that hangs in a slow scenario is released when the test ends,
// before the fake's server waits for its requests to finish, even though
// the client never gives up: on the authority (slow) and on Graph (gslow).
func TestSlowScenariosEndWithTheTest(t *testing.T) {
	t.Parallel()
	cases := []struct {
		scenario string
		onGraph  bool
	}{
		{"slow", false},
		{"gslow", true},
	}
	for _, c := range cases {
		t.Run(c.scenario, func(t *testing.T) {
			t.Parallel()
			end := &cleanups{TB: t}
			entra := delegatetest.NewEntra(end, "tenant-1", "app-1")
			graph := delegatetest.NewGraph(end, entra)
			entra.Secret = "s3cret"
			client := delegatetest.Client(t, entra.Certificate(), graph.Certificate())
			form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {"on_behalf_of"},
				"client_id": {"app-1"}, "client_secret": {entra.Secret}, "scope": {entra.Scope},
				"assertion": {delegatetest.UserToken("tenant-1", "oid-1", c.scenario, time.Now().Add(time.Hour))}}

			ctx, giveUp := context.WithCancel(context.Background())
			defer giveUp()
			var req *http.Request
			var err error
			if c.onGraph {
				resp, err := client.PostForm(entra.URL()+"/tenant-1/oauth2/v2.0/token", form)
				if err != nil {
					t.Fatal(err)
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK || len(entra.Tokens()) != 1 {
					t.Fatalf("exchange: %d, %d tokens; want 200 and one", resp.StatusCode, len(entra.Tokens()))
				}
				req, err = http.NewRequestWithContext(ctx, http.MethodGet, graph.URL()+"/v1.0/me", nil)
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Authorization", "Bearer "+entra.Tokens()[0])
			} else {
				req, err = http.NewRequestWithContext(ctx, http.MethodPost, entra.URL()+"/tenant-1/oauth2/v2.0/token", strings.NewReader(form.Encode()))
				if err != nil {
					t.Fatal(err)
				}
				req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			}
			seen := func() int { return len(entra.Requests()) + len(graph.Requests()) }
			before := seen()
			answered := make(chan error, 1)
			go func() {
				resp, err := client.Do(req)
				if err == nil {
					resp.Body.Close()
				}
				answered <- err
			}()
			for seen() == before { // until the fake holds the request
				time.Sleep(time.Millisecond)
			}

			// Only a deadlock lets this fire; it turns a hung test into a failed one.
			watchdog := time.AfterFunc(20*time.Second, giveUp)
			end.run()
			if !watchdog.Stop() {
				t.Errorf("the end of the test waited for the client to give up; want the hanging %s request released", c.scenario)
			}
			if err := <-answered; err == nil {
				t.Errorf("the hanging %s request got an answer, want the connection dropped", c.scenario)
			}
		})
	}
}
