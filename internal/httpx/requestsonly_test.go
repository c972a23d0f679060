package httpx

import (
	"cmp"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

func TestRequestsOnly(t *testing.T) {
	const max = 256
	cases := []struct {
		name, method, ctype, body string
		wantNext                  bool // reached the handler behind
		wantStatus                int  // when it did not
	}{
		{name: "request", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`, wantNext: true},
		{name: "request with a string id", body: `{"jsonrpc":"2.0","id":"1","method":"ping"}`, wantNext: true},
		{name: "cancellation", body: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`, wantStatus: 202},
		{name: "cancellation, escaped slash", body: `{"jsonrpc":"2.0","method":"notifications\/cancelled","params":{"requestId":1}}`, wantStatus: 202},
		{name: "cancellation, unicode escape", body: `{"jsonrpc":"2.0","method":"notifications\u002fcancelled","params":{"requestId":1}}`, wantStatus: 202},
		{name: "cancellation, upper-case key", body: `{"jsonrpc":"2.0","METHOD":"notifications/cancelled","params":{"requestId":1}}`, wantStatus: 202},
		{name: "cancellation, null id", body: `{"jsonrpc":"2.0","id":null,"method":"notifications/cancelled","params":{"requestId":1}}`, wantStatus: 202},
		{name: "cancellation after a request method", body: `{"jsonrpc":"2.0","method":"ping","method":"notifications/cancelled","params":{"requestId":1}}`, wantStatus: 202},
		{name: "initialized", body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`, wantStatus: 202},
		{name: "progress", body: `{"jsonrpc":"2.0","method":"notifications/progress","params":{"progressToken":1,"progress":1}}`, wantStatus: 202},
		{name: "roots changed", body: `{"jsonrpc":"2.0","method":"notifications/roots/list_changed"}`, wantStatus: 202},
		{name: "no method, no id", body: `{"jsonrpc":"2.0"}`, wantStatus: 202},
		{name: "response", body: `{"jsonrpc":"2.0","id":1,"result":{"roots":[]}}`, wantStatus: 202},
		{name: "error response", body: `{"jsonrpc":"2.0","id":1,"error":{"code":-1,"message":"no"}}`, wantStatus: 202},
		{name: "response with a null id", body: `{"jsonrpc":"2.0","id":null,"result":{}}`, wantStatus: 202},
		// What mcp-go refuses before acting on it keeps mcp-go's answer.
		{name: "batch", body: `[{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}]`, wantNext: true},
		{name: "not JSON", body: `{`, wantNext: true},
		{name: "method not a string", body: `{"jsonrpc":"2.0","method":1}`, wantNext: true},
		{name: "other JSON-RPC version", body: `{"jsonrpc":"1.0","method":"notifications/cancelled","params":{"requestId":1}}`, wantNext: true},
		{name: "version not a string", body: `{"jsonrpc":2,"method":"notifications/cancelled","params":{"requestId":1}}`, wantNext: true},
		{name: "other content type", ctype: "text/plain", body: `{"jsonrpc":"2.0","method":"notifications/cancelled"}`, wantNext: true},
		{name: "GET", method: http.MethodGet, wantNext: true},
		{name: "over the limit", body: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"x":"` + strings.Repeat("x", max) + `"}}`, wantStatus: 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var gotBody string
			reached := false
			h := RequestsOnly(max, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				reached = true
				b, _ := io.ReadAll(r.Body)
				gotBody = string(b)
			}))
			r := httptest.NewRequest(cmp.Or(c.method, http.MethodPost), "/mcp", strings.NewReader(c.body))
			r.Header.Set("Content-Type", cmp.Or(c.ctype, "application/json"))
			w := do(h, r)
			if reached != c.wantNext {
				t.Fatalf("reached the handler: got %v, want %v (status %d)", reached, c.wantNext, w.Code)
			}
			if c.wantNext && gotBody != c.body {
				t.Errorf("body behind: got %q, want %q", gotBody, c.body)
			}
			if !c.wantNext && (w.Code != c.wantStatus || (w.Code == 202 && w.Body.Len() != 0)) {
				t.Errorf("answer: got %d %q, want %d", w.Code, w.Body, c.wantStatus)
			}
		})
	}
}

// TestRequestsOnlyKeepsCallsOfOthers runs a real stateless mcp-go server:
// while a call with id 1 runs, another POST sends a cancellation for id 1.
// Without RequestsOnly, mcp-go cancels the call (the control, which shows
// each body is a working attack); with it, the call runs on. What
// RequestsOnly passes through, mcp-go refuses without cancelling.
func TestRequestsOnlyKeepsCallsOfOthers(t *testing.T) {
	cases := []struct {
		name, session, ctype, body string
		refused                    bool // mcp-go itself does not act on it
	}{
		{name: "plain", body: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`},
		{name: "escaped", body: `{"jsonrpc":"2.0","method":"notifications\/cancelled","params":{"requestId":1}}`},
		{name: "string id", body: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"1"}}`},
		{name: "null id", body: `{"jsonrpc":"2.0","id":null,"method":"notifications\u002fcancelled","params":{"requestId":1}}`},
		{name: "same session header", session: "victim", body: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`},
		{name: "batch", refused: true, body: `[{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}]`},
		{name: "other JSON-RPC version", refused: true, body: `{"jsonrpc":"1.0","method":"notifications/cancelled","params":{"requestId":1}}`},
		{name: "version not a string", refused: true, body: `{"jsonrpc":2,"method":"notifications/cancelled","params":{"requestId":1}}`},
		{name: "other content type", refused: true, ctype: "text/plain", body: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`},
	}
	for _, c := range cases {
		for _, guarded := range []bool{false, true} {
			name := c.name + "/bare mcp-go"
			if guarded {
				name = c.name + "/RequestsOnly"
			}
			t.Run(name, func(t *testing.T) {
				status, cancelled := cancelledByOther(t, guarded, c.session, c.ctype, c.body)
				if want := !guarded && !c.refused; cancelled != want {
					t.Errorf("call cancelled by another POST: got %v, want %v", cancelled, want)
				}
				if accepted := status == http.StatusAccepted; accepted == c.refused {
					t.Errorf("status of the cancellation: got %d, want 202 exactly when mcp-go does not refuse it (refused: %v)", status, c.refused)
				}
			})
		}
	}
}

// cancelledByOther starts a call with id 1, posts body while it runs, and
// reports the status of that post and whether it cancelled the call.
func cancelledByOther(t *testing.T, guarded bool, session, ctype, body string) (int, bool) {
	t.Helper()
	started := make(chan context.Context, 1)
	release := make(chan struct{})
	m := server.NewMCPServer("t", "1")
	m.AddTool(mcp.NewTool("block"), func(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		started <- ctx
		select {
		case <-release:
		case <-ctx.Done():
		}
		return mcp.NewToolResultText("done"), nil
	})
	var h http.Handler = server.NewStreamableHTTPServer(m, server.WithStateLess(true), server.WithDisableStreaming(true))
	if guarded {
		h = RequestsOnly(1<<20, h)
	}
	srv := httptest.NewServer(h)
	defer srv.Close()

	postMCP := func(ctype, body string) (int, string) {
		req, _ := http.NewRequest(http.MethodPost, srv.URL, strings.NewReader(body))
		req.Header.Set("Content-Type", ctype)
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
		if session != "" {
			req.Header.Set("Mcp-Session-Id", session)
		}
		resp, err := srv.Client().Do(req)
		if err != nil {
			t.Error(err)
			return 0, ""
		}
		defer resp.Body.Close()
		b, _ := io.ReadAll(resp.Body)
		return resp.StatusCode, string(b)
	}
	done := make(chan string, 1)
	go func() {
		_, b := postMCP("application/json", `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"block"}}`)
		done <- b
	}()
	ctx := <-started
	status, _ := postMCP(cmp.Or(ctype, "application/json"), body)
	// mcp-go cancels before it answers the notification, so ctx tells now.
	cancelled := ctx.Err() != nil
	close(release)
	if b := <-done; !strings.Contains(b, `"done"`) {
		t.Errorf("call answer: %s", b)
	}
	return status, cancelled
}
