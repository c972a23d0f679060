package e2e

import (
	"context"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
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
		{[]string{store, "MCP_AUTH_MODE=jwt", "MCP_AUTH_AUDIENCE=x", "MCP_AUTH_ISSUER=http://127.0.0.1:1/t/v2.0"}, "MCP_AUTH_ISSUER:"},
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
