package e2e

import (
	"context"
	"encoding/json"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// TestStartupRefusesBadConfig: a configuration mistake stops the server at
// start with one line that names the variable, and a non-zero exit.
func TestStartupRefusesBadConfig(t *testing.T) {
	t.Parallel()
	store := "SNIPPETS_STORAGE=UseDevelopmentStorage=true"
	cases := []struct {
		env  []string
		want string
	}{
		{[]string{store}, "MCP_AUTH_MODE: not set"},
		{[]string{store, "MCP_AUTH_MODE=anonymous"}, "MCP_AUTH_MODE:"},
		{[]string{store, "MCP_AUTH_MODE=dev", "MCP_LISTEN_HOST=0.0.0.0"}, "MCP_AUTH_MODE: dev mode"},
		{[]string{"MCP_AUTH_MODE=dev"}, "SNIPPETS_STORAGE:"},
		// An issuer that is not a URL stops the start; one that is only
		// unreachable does not (the keys are fetched in the background):
		// TestUnreachableIssuerRefuses503.
		{[]string{store, "MCP_AUTH_MODE=jwt", "MCP_AUTH_AUDIENCE=x", "MCP_AUTH_ISSUER=not a url"}, "MCP_AUTH_ISSUER:"},
		{[]string{store, "MCP_AUTH_MODE=jwt", "MCP_AUTH_AUDIENCE=x", "MCP_AUTH_ISSUER=http://issuer.example/t/v2.0"}, "MCP_AUTH_ISSUER:"},
		{[]string{store, "MCP_AUTH_MODE=dev", "MCP_TOOL_POLICY=/nonexistent/policy.json"}, "MCP_TOOL_POLICY:"},
		{[]string{store, "MCP_AUTH_MODE=dev", "APPLICATIONINSIGHTS_CONNECTION_STRING=garbage"}, "APPLICATIONINSIGHTS_CONNECTION_STRING:"},
		{[]string{store, "MCP_AUTH_MODE=easyauth"}, "MCP_AUTH_MODE: easyauth trusts"},
		{[]string{store, "MCP_AUTH_MODE=easyauth", "WEBSITE_AUTH_ENABLED=True", "WEBSITE_AUTH_CLIENT_ID=app", "MCP_OBO_CLIENT_SECRET=s3cr3t"}, "MCP_OBO_CLIENT_SECRET"},
		// Policy as code: a misspelled attribute, a permit without the
		// opt-in, and a malformed agent inventory each stop the start.
		{[]string{store, "MCP_AUTH_MODE=dev", `MCP_OPERATOR_POLICY=forbid (principal, action, resource) when { principal.rolez.contains("x") };`}, "MCP_OPERATOR_POLICY: policy MCP_OPERATOR_POLICY:1:1:"},
		{[]string{store, "MCP_AUTH_MODE=dev", `MCP_OPERATOR_POLICY=permit (principal, action, resource);`}, "MCP_ALLOW_OPERATOR_PERMITS=true"},
		{[]string{store, "MCP_AUTH_MODE=dev", `MCP_AGENT_INVENTORY={"agents":[{"clientId":"a","name":"A","owner":"o","expires":"someday","classes":["read"]}]}`}, "MCP_AGENT_INVENTORY: agent inventory: agents[0]"},
		{[]string{store, "MCP_AUTH_MODE=dev", `MCP_AGENT_INVENTORY={"agents":[{"clientId":"a","name":"A","owner":"o","expires":"2099-01-01","tools":["delete_snipet"]}]}`}, `MCP_AGENT_INVENTORY: agent inventory: a: unknown tool "delete_snipet"`},
		{[]string{store, "MCP_AUTH_MODE=dev", "MCP_AGENT_INVENTORY_MODE=warn"}, "MCP_AGENT_INVENTORY_MODE:"},
	}
	for _, c := range cases {
		ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
		cmd := exec.CommandContext(ctx, serverBin)
		cmd.Env = append(baseEnv(), append([]string{"FUNCTIONS_CUSTOMHANDLER_PORT=0"}, c.env...)...)
		out, err := cmd.CombinedOutput()
		cancel()
		lines := strings.Split(strings.TrimSpace(string(out)), "\n")
		last := lines[len(lines)-1]
		if err == nil || !strings.HasPrefix(last, "snippets-mcp: ") || !strings.Contains(last, c.want) {
			t.Errorf("env %v: err=%v, last line %q, want one naming %q", c.env, err, last, c.want)
		}
		if strings.Contains(string(out), "s3cr3t") {
			t.Errorf("env %v: the error repeats a secret value", c.env)
		}
	}
}

// TestUnreachableIssuerRefuses503: in jwt mode the server listens without
// waiting for the issuer's discovery and keys. While they cannot be fetched,
// a request with a bearer token waits for them briefly and is then refused
// with 503 and Retry-After (never answered, never 401, which would make the
// client drop a token that may be fine), and the refusal is audited.
func TestUnreachableIssuerRefuses503(t *testing.T) {
	t.Parallel()
	const issuer = "http://127.0.0.1:1/t/v2.0" // nothing listens on port 1
	// A well-formed signed token naming that issuer: only the keys the
	// server cannot fetch stand between it and an answer.
	tok := authtest.NewIssuer(t).Mint(t, authtest.Claims{Issuer: issuer})
	srv := startServer(t, "MCP_AUTH_MODE=jwt", "MCP_AUTH_ISSUER="+issuer,
		"MCP_AUTH_AUDIENCE="+authtest.Audience, "SNIPPETS_STORAGE=UseDevelopmentStorage=true")
	whoami := `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`
	for _, body := range []string{pingBody, whoami} {
		start := time.Now()
		resp, b := post(t, srv.MCPURL(), body, append([]string{"Mcp-Protocol-Version", "2025-06-18"}, bearer(tok)...)...)
		if resp.StatusCode != http.StatusServiceUnavailable || resp.Header.Get("Retry-After") == "" {
			t.Fatalf("%s: status %d, Retry-After %q, want 503 with Retry-After: %s",
				body, resp.StatusCode, resp.Header.Get("Retry-After"), b)
		}
		if strings.Contains(string(b), "jsonrpc") {
			t.Errorf("%s: the 503 carries an MCP answer: %s", body, b)
		}
		t.Logf("%s: 503 after %s", body, time.Since(start).Round(time.Millisecond))
	}
	evs := waitEvents(t, srv, 2)
	if len(evs) < 2 {
		t.Errorf("%d audit events for 2 refused requests", len(evs))
	}
	for _, e := range evs {
		if e.ResultCode != audit.ResultUnavailable || e.CallerIdentity != "" || e.ToolName != "" {
			t.Errorf("audit event %+v, want %q without identity or tool", e, audit.ResultUnavailable)
		}
	}
	if !strings.Contains(srv.Stderr(), `"msg":"jwt issuer not ready; retrying"`) {
		t.Errorf("no JSON log line says the issuer is not ready:\n%s", srv.Stderr())
	}
}

// TestLocalSettingsSampleStarts: the settings users copy for `func start`
// are complete and start the server (storage pointed at a test Azurite).
func TestLocalSettingsSampleStarts(t *testing.T) {
	t.Parallel()
	raw, err := os.ReadFile(filepath.Join(repoRoot, "local.settings.json.sample"))
	if err != nil {
		t.Fatal(err)
	}
	var doc struct {
		Values map[string]string `json:"Values"`
	}
	if err := json.Unmarshal(raw, &doc); err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"FUNCTIONS_WORKER_RUNTIME": "custom",
		"AzureWebJobsFeatureFlags": "EnableMcpCustomHandlerPreview", "AzureWebJobsStorage": "UseDevelopmentStorage=true"} {
		if doc.Values[k] != want {
			t.Errorf("%s = %q, want %q", k, doc.Values[k], want)
		}
	}
	az := startAzurite(t)
	var env []string
	for k, v := range doc.Values {
		if k == "SNIPPETS_STORAGE" || k == "AzureWebJobsStorage" {
			v = az.ConnString()
		}
		env = append(env, k+"="+v)
	}
	srv := startServer(t, env...)
	if _, tr := callTool(t, srv.MCPURL(), "whoami", nil); tr.IsError {
		t.Fatal(tr.Text())
	}
}
