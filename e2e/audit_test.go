package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/audit/aitest"
	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// fakeManagedIdentity answers the App Service managed identity protocol
// (IDENTITY_ENDPOINT/IDENTITY_HEADER) with a fixed token.
func fakeManagedIdentity(t *testing.T, token string) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-IDENTITY-HEADER") != "mi-secret" {
			http.Error(w, "bad identity header", http.StatusUnauthorized)
			return
		}
		hits.Add(1)
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprintf(w, `{"access_token":%q,"expires_on":"%d","resource":%q,"token_type":"Bearer","client_id":%q}`,
			token, time.Now().Add(time.Hour).Unix(), r.URL.Query().Get("resource"), r.URL.Query().Get("client_id"))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

// TestAuditEvidence: every tool call, allowed or denied, becomes one event
// on stdout and in Application Insights (with an Entra bearer token from
// the managed identity), flushed on SIGTERM; no argument value, snippet
// content or inbound token appears in any output.
func TestAuditEvidence(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	az := startAzurite(t)
	ai := aitest.NewServer(t)
	mi, miHits := fakeManagedIdentity(t, "mi-token-for-monitor")
	srv := startServer(t,
		"MCP_AUTH_MODE=jwt", "MCP_AUTH_ISSUER="+iss.URL(), "MCP_AUTH_AUDIENCE="+authtest.Audience,
		"SNIPPETS_STORAGE="+az.ConnString(), "MCP_SERVER_ID=audit-e2e",
		"APPLICATIONINSIGHTS_CONNECTION_STRING="+ai.ConnectionString(),
		"APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD;ClientId=00000000-0000-0000-0000-00000000c11d",
		"IDENTITY_ENDPOINT="+mi.URL+"/msi/token", "IDENTITY_HEADER=mi-secret",
	)
	user := iss.Mint(t, authtest.Claims{})
	reader := iss.Mint(t, authtest.Claims{ObjectID: "cccccccc-0000-0000-0000-000000000003", AppOnly: true, Roles: []string{"Snippets.Read"}})
	const secret = "SECRET-hunter2-do-not-log"
	const trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"

	callTool(t, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": "creds", "snippet": "password=" + secret}, append(bearer(user), "Traceparent", trace)...)
	callTool(t, srv.MCPURL(), "get_snippet", map[string]any{"snippetname": "creds"}, bearer(user)...)
	callTool(t, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": "x", "snippet": secret}, bearer(reader)...) // denied
	callTool(t, srv.MCPURL(), "get_snippet", map[string]any{"snippetname": "../" + secret}, bearer(user)...)            // invalid name
	callTool(t, srv.MCPURL(), "no_such_tool", map[string]any{"token": secret}, bearer(user)...)                         // unknown

	// SIGTERM right away: the sink must flush before the process exits.
	srv.Signal(syscall.SIGTERM)
	if err := srv.Wait(20 * time.Second); err != nil {
		t.Fatalf("server exit: %v\n%s", err, srv.Stderr())
	}

	var events []audit.Event
	sc := bufio.NewScanner(strings.NewReader(srv.Stdout()))
	for sc.Scan() {
		var e audit.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("stdout line is not an audit event: %q", sc.Text())
		}
		events = append(events, e)
	}
	if len(events) != 5 {
		t.Fatalf("%d audit events on stdout, want 5:\n%s", len(events), srv.Stdout())
	}
	wantCodes := []string{"ok", "ok", "denied", "invalid_arguments", "not_found"}
	for i, e := range events {
		if e.ResultCode != wantCodes[i] {
			t.Errorf("event %d (%s): result_code %q, want %q", i, e.ToolName, e.ResultCode, wantCodes[i])
		}
		if e.ServerID != "audit-e2e" || e.TenantID != authtest.TenantID || e.AgentID != authtest.ClientID ||
			e.CallerIdentity == "" || e.AuthorizationMode == "" || e.ApprovalResult == "" || len(e.OperationID) != 32 ||
			e.ArgumentsSHA256 == "" || e.ProtocolVersion != "2025-06-18" || e.Timestamp.IsZero() {
			t.Errorf("event %d incomplete: %+v", i, e)
		}
	}
	if events[0].OperationID != "4bf92f3577b34da6a3ce929d0e0e4736" {
		t.Errorf("operation_id %q does not come from traceparent", events[0].OperationID)
	}
	if events[2].AuthorizationMode != audit.ModeAppOnly {
		t.Errorf("app-only call recorded as %q", events[2].AuthorizationMode)
	}

	// The same events reached Application Insights, with the MI's token.
	reqs := ai.Requests()
	if len(reqs) == 0 || miHits.Load() == 0 {
		t.Fatalf("App Insights got %d requests, managed identity %d token requests\n%s", len(reqs), miHits.Load(), srv.Stderr())
	}
	var envs []aitest.Envelope
	for _, r := range reqs {
		if r.Authorization != "Bearer mi-token-for-monitor" {
			t.Errorf("ingestion request Authorization = %q", r.Authorization)
		}
		envs = append(envs, r.Envelopes...)
	}
	if len(envs) != 5 {
		t.Fatalf("%d envelopes in App Insights, want 5", len(envs))
	}
	for _, env := range envs {
		if env.Tags["ai.cloud.role"] != "audit-e2e" || env.Tags["ai.operation.id"] == "" {
			t.Errorf("envelope tags %v", env.Tags)
		}
		if _, ok := env.Data.BaseData.Measurements["latency_ms"]; !ok {
			t.Errorf("no latency_ms measurement: %+v", env.Data.BaseData)
		}
	}

	// Nothing secret anywhere: not the argument value, not the bearer token.
	for _, out := range []string{srv.Stdout(), srv.Stderr()} {
		for _, needle := range []string{secret, user, reader} {
			if strings.Contains(out, needle) {
				t.Errorf("server output contains a secret (%.12s...)", needle)
			}
		}
	}
	for _, needle := range []string{secret, user, reader} {
		if ai.PayloadContains(needle) {
			t.Errorf("App Insights payload contains a secret (%.12s...)", needle)
		}
	}
	t.Logf("one audit line from this run:\n%s", strings.SplitN(srv.Stdout(), "\n", 2)[0])
}
