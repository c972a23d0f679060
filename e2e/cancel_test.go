package e2e

import (
	"bytes"
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// TestCancelFromOthersIgnored: while caller A's slow get_snippet (JSON-RPC
// id 1) runs, a notifications/cancelled for request id 1 arrives on another
// POST: from another user, another tenant, an app with no roles, with A's
// own Mcp-Session-Id, in escaped forms, in the 2026-07-28 era, and from A
// itself. mcp-go would cancel A's call (its key is "<session>:<id>", both
// chosen by clients); the server answers 202 and A's call completes.
func TestCancelFromOthersIgnored(t *testing.T) {
	t.Parallel()
	const secondTenant = "22222222-2222-4222-8222-222222222222"
	iss := authtest.NewIssuer(t)
	az := startAzurite(t)
	px := newDelayProxy(t, fmt.Sprintf("127.0.0.1:%d", az.Port))
	srv := startServer(t,
		"MCP_AUTH_MODE=jwt", "MCP_AUTH_ISSUER="+iss.MultiTenantURL(), "MCP_AUTH_AUDIENCE="+authtest.Audience,
		"MCP_AUTH_TENANTS="+authtest.TenantID+","+secondTenant,
		"SNIPPETS_STORAGE="+connStringVia(px.Addr()), "MCP_TOOL_TIMEOUT=20s")
	victim := bearer(iss.Mint(t, authtest.Claims{ObjectID: "aaaaaaaa-0000-0000-0000-00000000000a"}))
	otherUser := bearer(iss.Mint(t, authtest.Claims{ObjectID: "bbbbbbbb-0000-0000-0000-00000000000b"}))
	otherTenant := bearer(iss.Mint(t, authtest.Claims{TenantID: secondTenant, Issuer: iss.TenantURL(secondTenant), ObjectID: "aaaaaaaa-0000-0000-0000-00000000000a"}))
	appNoRoles := bearer(iss.Mint(t, authtest.Claims{AppOnly: true, ObjectID: "cccccccc-0000-0000-0000-00000000000c"}))

	c := newClient()
	waitStorage(t, c, srv.MCPURL(), victim...)
	if r := tool(c, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": "target", "snippet": "still here"}, victim...); !r.ok() {
		t.Fatalf("save: %s", r)
	}

	const modernMeta = `"_meta":{"io.modelcontextprotocol/protocolVersion":"2026-07-28"}`
	cases := []struct {
		name    string
		who     []string
		session string // Mcp-Session-Id on both the call and the cancellation
		version string // Mcp-Protocol-Version of the cancellation
		body    string
	}{
		{name: "other user", who: otherUser, body: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`},
		{name: "other user, escaped slash", who: otherUser, body: `{"jsonrpc":"2.0","method":"notifications\/cancelled","params":{"requestId":1,"reason":"x"}}`},
		{name: "other tenant, unicode escape", who: otherTenant, body: `{"jsonrpc":"2.0","method":"notifications\u002fcancelled","params":{"requestId":1}}`},
		{name: "app without roles, string id", who: appNoRoles, body: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"1"}}`},
		{name: "other user, same session id", who: otherUser, session: "shared-session", body: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`},
		{name: "other user, 2026-07-28", who: otherUser, version: "2026-07-28", body: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1,` + modernMeta + `}}`},
		// Stateless: a cancellation never shares its POST with the call, so
		// one from the caller itself is ignored too (closing the connection
		// cancels; TestCancelByDisconnect).
		{name: "the caller itself", who: victim, body: `{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`},
	}
	px.SetDelay(1500 * time.Millisecond)
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			done := make(chan reply, 1)
			go func() {
				done <- postID1(c, srv.MCPURL(), `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_snippet","arguments":{"snippetname":"target"}}}`,
					append([]string{"Mcp-Protocol-Version", "2025-06-18", "Mcp-Session-Id", tc.session}, victim...)...)
			}()
			time.Sleep(300 * time.Millisecond) // the call is waiting for storage now
			select {
			case r := <-done:
				t.Fatalf("the call ended before the cancellation was sent; storage is not slow enough: %s", r)
			default:
			}
			cancel := postID1(c, srv.MCPURL(), tc.body,
				append([]string{"Mcp-Protocol-Version", cmp.Or(tc.version, "2025-06-18"), "Mcp-Session-Id", tc.session}, tc.who...)...)
			if got, want := cancel.Status, http.StatusAccepted; cancel.Err != nil || got != want || len(cancel.Body) != 0 {
				t.Errorf("cancellation: got %d %q (%v), want %d and no body", got, cancel.Body, cancel.Err, want)
			}
			r := <-done
			if !r.ok() {
				t.Fatalf("the call did not complete: %s", r)
			}
			if sn, err := r.snippet(); err != nil || sn.Content != "still here" {
				t.Errorf("get_snippet: got %+v (%v), want content %q", sn, err, "still here")
			}
		})
	}
	noPanics(t, srv)
}

// TestCancelByDisconnect: a client that closes its connection still
// cancels its own call (the request context ends), the handler gives up at
// once instead of waiting for slow storage, the call is audited, and the
// server keeps serving.
func TestCancelByDisconnect(t *testing.T) {
	t.Parallel()
	const storageDelay = 5 * time.Second
	az := startAzurite(t)
	px := newDelayProxy(t, fmt.Sprintf("127.0.0.1:%d", az.Port))
	srv := startServer(t, "MCP_AUTH_MODE=dev", "SNIPPETS_STORAGE="+connStringVia(px.Addr()), "MCP_TOOL_TIMEOUT=20s")
	c := newClient()
	waitStorage(t, c, srv.MCPURL())

	px.SetDelay(storageDelay)
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, srv.MCPURL(),
		strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_snippet","arguments":{"snippetname":"ready"}}}`))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	if resp, err := c.Do(req); !errors.Is(err, context.DeadlineExceeded) {
		if err == nil {
			resp.Body.Close()
		}
		t.Fatalf("the client was to give up: got %v", err)
	}

	var got *audit.Event
	deadline := time.Now().Add(storageDelay / 2)
	for got == nil && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
		for _, e := range events(t, srv) {
			if e.ToolName == "get_snippet" {
				got = &e
			}
		}
	}
	switch {
	case got == nil:
		t.Fatalf("no audit event within %s of the disconnect: the call was not cancelled", storageDelay/2)
	case got.ResultCode != audit.ResultUnavailable || got.LatencyMS >= storageDelay.Milliseconds():
		t.Errorf("audit event: got result %q after %d ms, want %q well before %s", got.ResultCode, got.LatencyMS, audit.ResultUnavailable, storageDelay)
	}
	px.SetDelay(0)
	if r := tool(c, srv.MCPURL(), "get_snippet", map[string]any{"snippetname": "ready"}); !r.ok() {
		t.Errorf("a call after the disconnect: %s", r)
	}
	noPanics(t, srv)
}

// postID1 posts body as is (the tests need JSON-RPC id 1, which send never
// uses) with headers; an empty header value is left out. Like send, it
// never calls t.Fatal.
func postID1(c *http.Client, mcpURL, body string, headers ...string) reply {
	r := reply{ID: 1, Start: time.Now()}
	req, err := http.NewRequest(http.MethodPost, mcpURL, bytes.NewReader([]byte(body)))
	if err != nil {
		r.Err = err
		return r
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for i := 0; i+1 < len(headers); i += 2 {
		if headers[i+1] != "" {
			req.Header.Set(headers[i], headers[i+1])
		}
	}
	resp, err := c.Do(req)
	if err != nil {
		r.Err = err
		return r
	}
	defer resp.Body.Close()
	r.Body, r.Err = io.ReadAll(resp.Body)
	r.Status, r.Took = resp.StatusCode, time.Since(r.Start)
	if r.Err != nil || r.Status != http.StatusOK {
		return r
	}
	if r.Err = json.Unmarshal(r.Body, &r.RPC); r.Err == nil && r.RPC.Result != nil {
		r.Err = json.Unmarshal(r.RPC.Result, &r.Tool)
	}
	return r
}
