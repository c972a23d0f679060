package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/storage/blobtest"
)

// rpcCall sends one JSON-RPC request and decodes the response.
func rpcCall(t *testing.T, srv *Server, method string, params any, headers ...string) rpc {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 7, "method": method, "params": params})
	resp, b := post(t, srv.MCPURL(), string(body), append([]string{"Mcp-Protocol-Version", "2025-06-18"}, headers...)...)
	if resp.StatusCode != 200 {
		t.Fatalf("%s: status %d: %s", method, resp.StatusCode, b)
	}
	var r rpc
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("%s: %v: %s", method, err, b)
	}
	return r
}

// waitAudit waits until the server has written at least n audit events.
func waitAudit(t *testing.T, srv *Server, n int) {
	t.Helper()
	if got := len(waitEvents(t, srv, n)); got < n {
		t.Fatalf("%d audit events, want at least %d", got, n)
	}
}

// TestEveryReadIsAudited: whatever the MCP method, a request that reads
// snippet content or names leaves exactly one audit event, with its method,
// and never the content or the argument values.
func TestEveryReadIsAudited(t *testing.T) {
	t.Parallel()
	srv, _ := devServer(t)
	secret := "content-that-must-not-be-logged"
	if _, tr := callTool(t, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": "private-name-42", "snippet": secret}); tr.IsError {
		t.Fatal(tr.Text())
	}
	reads := []struct {
		method, name string
		params       any
		code         string
	}{
		{"resources/read", "snippet", map[string]any{"uri": "snippet://private-name-42"}, "ok"},
		{"resources/read", "snippet", map[string]any{"uri": "snippet://missing-name"}, "not_found"},
		{"prompts/get", "review_snippet", map[string]any{"name": "review_snippet", "arguments": map[string]any{"snippetname": "private-name-42"}}, "ok"},
		{"completion/complete", "review_snippet", map[string]any{"ref": map[string]any{"type": "ref/prompt", "name": "review_snippet"},
			"argument": map[string]any{"name": "snippetname", "value": "private"}}, "ok"},
		{"completion/complete", "shared-snippet", map[string]any{"ref": map[string]any{"type": "ref/resource", "uri": "snippet://shared/{snippetname}"},
			"argument": map[string]any{"name": "snippetname", "value": "x"}}, "ok"},
	}
	// The save's own event travels through the process's stdout pipe:
	// wait for it, so that it is not counted as a read's.
	waitAudit(t, srv, 1)
	before := len(events(t, srv))
	for i, r := range reads {
		rpcCall(t, srv, r.method, r.params)
		waitAudit(t, srv, before+i+1)
	}
	// tools/list reads no snippet data: no event.
	rpcCall(t, srv, "tools/list", nil)
	time.Sleep(100 * time.Millisecond)
	got := events(t, srv)[before:]
	if len(got) != len(reads) {
		t.Fatalf("%d events for %d reads: %+v", len(got), len(reads), got)
	}
	for i, r := range reads {
		t.Run(r.method+"/"+r.code, func(t *testing.T) {
			e := got[i]
			if e.Method != r.method || e.ToolName != r.name || e.ResultCode != r.code || e.CallerIdentity == "" || e.ArgumentsSHA256 == "" {
				t.Fatalf("event %+v, want method %s, name %s, result %s, a caller and an arguments digest", e, r.method, r.name, r.code)
			}
		})
	}
	if out := srv.Stdout() + srv.Stderr(); strings.Contains(out, secret) || strings.Contains(out, "private-name-42") {
		t.Fatal("content or an argument value reached the logs")
	}
}

// TestReadPathsFollowTheToolPolicy: denying list_snippets hides names
// everywhere (completions); denying get_snippet hides content everywhere
// (resources, the prompt).
func TestReadPathsFollowTheToolPolicy(t *testing.T) {
	t.Parallel()
	policy := func(t *testing.T, tool string) string {
		p := filepath.Join(t.TempDir(), "policy.json")
		if err := os.WriteFile(p, []byte(`{"tools":{"`+tool+`":{"deny":true}}}`), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	complete := map[string]any{"ref": map[string]any{"type": "ref/prompt", "name": "review_snippet"},
		"argument": map[string]any{"name": "snippetname", "value": ""}}
	completeShared := map[string]any{"ref": map[string]any{"type": "ref/resource", "uri": "snippet://{snippetname}"},
		"argument": map[string]any{"name": "snippetname", "value": "n"}}
	names := func(r rpc) []string {
		var res struct {
			Completion struct{ Values []string } `json:"completion"`
		}
		_ = json.Unmarshal(r.Result, &res)
		return res.Completion.Values
	}

	t.Run("list_snippets denied", func(t *testing.T) {
		t.Parallel()
		srv, _ := devServer(t, "MCP_TOOL_POLICY="+policy(t, "list_snippets"))
		callTool(t, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": "name-1", "snippet": "x"})
		for _, params := range []any{complete, completeShared} {
			if v := names(rpcCall(t, srv, "completion/complete", params)); len(v) != 0 {
				t.Fatalf("completions listed %v with list_snippets denied", v)
			}
		}
		if r := rpcCall(t, srv, "resources/read", map[string]any{"uri": "snippet://name-1"}); r.Error != nil {
			t.Fatalf("content is get_snippet's, still allowed: %+v", r.Error)
		}
		var denied int
		for _, e := range events(t, srv) {
			if e.Method == "completion/complete" && e.ResultCode == "denied" {
				denied++
			}
		}
		if denied != 2 {
			t.Fatalf("%d denied completion events, want 2", denied)
		}
	})

	t.Run("get_snippet denied", func(t *testing.T) {
		t.Parallel()
		srv, _ := devServer(t, "MCP_TOOL_POLICY="+policy(t, "get_snippet"))
		callTool(t, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": "name-1", "snippet": "x"})
		for _, uri := range []string{"snippet://name-1", "snippet://shared/name-1"} {
			if r := rpcCall(t, srv, "resources/read", map[string]any{"uri": uri}); r.Error == nil {
				t.Fatalf("resources/read %s allowed with get_snippet denied: %s", uri, r.Result)
			}
		}
		if r := rpcCall(t, srv, "prompts/get", map[string]any{"name": "review_snippet", "arguments": map[string]any{"snippetname": "name-1"}}); r.Error == nil {
			t.Fatalf("prompts/get allowed with get_snippet denied: %s", r.Result)
		}
		if r := rpcCall(t, srv, "prompts/list", nil); strings.Contains(string(r.Result), "review_snippet") {
			t.Fatalf("prompt listed with get_snippet denied: %s", r.Result)
		}
		if v := names(rpcCall(t, srv, "completion/complete", complete)); len(v) != 1 {
			t.Fatalf("names are list_snippets', still allowed: got %v", v)
		}
	})
}

// TestHostileAuditFields: client-chosen values never reach the audit
// trail as long or free text.
func TestHostileAuditFields(t *testing.T) {
	t.Parallel()
	srv, _ := devServer(t)
	secretName := "tool-" + strings.Repeat("SECRET", 100_000) // 600 KB
	longSession := strings.Repeat("S", 60_000)
	cases := []struct {
		name    string
		tool    string
		headers []string
	}{
		{"huge unknown tool name", secretName, nil},
		{"huge session id", "whoami", []string{"Mcp-Session-Id", longSession}},
		{"session id with spaces", "whoami", []string{"Mcp-Session-Id", "a b c"}},
		{"malformed traceparent", "whoami", []string{"Traceparent", "00-" + strings.Repeat("A", 32) + "-0000000000000001-01"}},
	}
	for _, tc := range cases {
		rpcCall(t, srv, "tools/call", map[string]any{"name": tc.tool, "arguments": map[string]any{}}, tc.headers...)
	}
	waitAudit(t, srv, len(cases))
	evs := events(t, srv)
	for i, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			e := evs[i]
			b, _ := json.Marshal(e)
			if len(b) > 2048 || strings.Contains(string(b), "SECRET") || strings.Contains(string(b), "SSSS") || strings.Contains(string(b), "a b c") {
				t.Fatalf("event carries client text (%d bytes): %.300s", len(b), b)
			}
			if strings.Contains(strings.ToLower(e.OperationID), "aaaa") {
				t.Fatalf("operation id taken from a malformed traceparent: %s", e.OperationID)
			}
		})
	}
	if out := srv.Stderr(); strings.Contains(out, "SECRET") {
		t.Fatal("the unknown tool name reached the log")
	}
}

// TestStorageFailuresLeakNothing: when storage fails, the log says what
// storage answered, never the blob URL (which holds tenant and object ids
// and the snippet name) or any argument value.
func TestStorageFailuresLeakNothing(t *testing.T) {
	t.Parallel()
	az := startAzurite(t)
	proxy := blobtest.NewProxy(t, fmt.Sprintf("http://127.0.0.1:%d", az.Port))
	srv := startServer(t, "MCP_AUTH_MODE=dev", "SNIPPETS_STORAGE="+proxy.ConnString())
	waitStorage(t, newClient(), srv.MCPURL())
	snippetBlobs := func(*http.Request) bool { return true }
	for _, tc := range []struct {
		name   string
		status int
		code   string
	}{
		{"server error", 500, "InternalError"},
		{"forbidden", 403, "AuthorizationFailure"},
		{"throttled", 503, "ServerBusy"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			proxy.SetRule(blobtest.Answer(snippetBlobs, 100, tc.status, tc.code))
			defer proxy.SetRule(nil)
			for _, tool := range []string{"save_snippet", "get_snippet", "delete_snippet"} {
				args := map[string]any{"snippetname": "leak-check-name", "snippet": "leak-check-content"}
				if _, tr := callTool(t, srv.MCPURL(), tool, args); !tr.IsError {
					t.Fatalf("%s with failing storage: %s", tool, tr.Text())
				}
			}
			rpcCall(t, srv, "resources/read", map[string]any{"uri": "snippet://leak-check-name"})
		})
	}
	// The log holds none of it; the audit trail (stdout) names the caller,
	// as it must, but no argument value.
	for _, secret := range []string{"leak-check-name", "leak-check-content", "/snippets/t-", "local-developer"} {
		if strings.Contains(srv.Stderr(), secret) {
			t.Errorf("%q reached the log", secret)
		}
	}
	for _, secret := range []string{"leak-check-name", "leak-check-content"} {
		if strings.Contains(srv.Stdout(), secret) {
			t.Errorf("%q reached the audit trail", secret)
		}
	}
	if !strings.Contains(srv.Stderr(), "storage answered 500 InternalError") {
		t.Errorf("the log does not say what storage answered:\n%.2000s", srv.Stderr())
	}
}
