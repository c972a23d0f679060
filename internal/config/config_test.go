package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func env(kv ...string) func(string) string {
	m := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		m[kv[i]] = kv[i+1]
	}
	return func(k string) string { return m[k] }
}

func TestLoadDefaults(t *testing.T) {
	c, err := Load(env("MCP_AUTH_MODE", "dev", "SNIPPETS_STORAGE", "UseDevelopmentStorage=true"))
	if err != nil {
		t.Fatal(err)
	}
	if c.ListenAddr != "127.0.0.1:7071" || c.MaxBodyBytes != 1<<20 || c.SnippetMaxSize != 256<<10 ||
		c.Approval.TTL != 15*time.Minute || c.StorageSetting != "SNIPPETS_STORAGE" ||
		c.Storage.ConnectionString != "UseDevelopmentStorage=true" || c.ToolPolicy.Set() || c.OperatorPolicy.Set() || c.AgentInventory.Set() || c.Delegate.Enabled() || !c.Delegate.AllowSecret {
		t.Fatalf("defaults: %+v", c)
	}
}

// The policy inputs come from a setting's text or its _FILE; neither
// leaves them unset (the handler then uses the embedded files).
func TestLoadPolicyInputs(t *testing.T) {
	file := t.TempDir() + "/agents.json"
	if err := os.WriteFile(file, []byte(`{"agents":[]}`), 0o600); err != nil {
		t.Fatal(err)
	}
	base := []string{"MCP_AUTH_MODE", "dev", "SNIPPETS_STORAGE", "UseDevelopmentStorage=true"}
	rule := "forbid (principal, action, resource);"
	cases := []struct {
		name             string
		env              []string
		operator, agents Text
		mode             string
		permits          bool
	}{
		{"none", nil, Text{}, Text{}, "", false},
		{"text and file", []string{"MCP_OPERATOR_POLICY", rule, "MCP_AGENT_INVENTORY_FILE", file,
			"MCP_AGENT_INVENTORY_MODE", "Audit", "MCP_ALLOW_OPERATOR_PERMITS", "true"},
			Text{[]byte(rule), "MCP_OPERATOR_POLICY", "MCP_OPERATOR_POLICY"},
			Text{[]byte(`{"agents":[]}`), "MCP_AGENT_INVENTORY_FILE", file}, "audit", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			cfg, err := Load(env(append(base, c.env...)...))
			if err != nil {
				t.Fatal(err)
			}
			for _, x := range []struct {
				what      string
				got, want Text
			}{{"operator policy", cfg.OperatorPolicy, c.operator}, {"agent inventory", cfg.AgentInventory, c.agents}} {
				if string(x.got.Bytes) != string(x.want.Bytes) || x.got.Var != x.want.Var || x.got.Name != x.want.Name {
					t.Errorf("%s: got %q from %s (%s), want %q from %s (%s)", x.what, x.got.Bytes, x.got.Var, x.got.Name, x.want.Bytes, x.want.Var, x.want.Name)
				}
			}
			if cfg.AgentInventoryMode != c.mode || cfg.AllowOperatorPermits != c.permits {
				t.Errorf("mode %q permits %v, want %q %v", cfg.AgentInventoryMode, cfg.AllowOperatorPermits, c.mode, c.permits)
			}
		})
	}
}

func TestLoadEasyAuthFromPlatform(t *testing.T) {
	c, err := Load(env("WEBSITE_AUTH_ENABLED", "True", "AzureWebJobsStorage__blobServiceUri", "https://acct.blob.core.windows.net",
		"AzureWebJobsStorage__credential", "managedidentity", "AzureWebJobsStorage__clientId", "cid", "WEBSITE_HOSTNAME", "app.azurewebsites.net"))
	if err != nil {
		t.Fatal(err)
	}
	if c.AuthMode != AuthEasyAuth || c.Storage.ServiceURI != "https://acct.blob.core.windows.net" || c.Storage.ClientID != "cid" ||
		c.StorageSetting != "AzureWebJobsStorage" || c.Storage.Credential != "managedidentity" || c.Delegate.AllowSecret || c.AllowedHosts[0] != "app.azurewebsites.net" {
		t.Fatalf("%+v", c)
	}
}

// Each mistake stops the server with a message that names the variable.
func TestLoadErrorsNameTheVariable(t *testing.T) {
	store := []string{"SNIPPETS_STORAGE", "UseDevelopmentStorage=true"}
	cases := []struct {
		env  []string
		name string
	}{
		{[]string{}, "MCP_AUTH_MODE"},
		{[]string{"MCP_AUTH_MODE", "none"}, "MCP_AUTH_MODE"},
		{append([]string{"MCP_AUTH_MODE", "dev", "MCP_LISTEN_HOST", "0.0.0.0"}, store...), "MCP_AUTH_MODE"},
		{append([]string{"MCP_AUTH_MODE", "easyauth"}, store...), "MCP_AUTH_MODE"},
		{append([]string{"MCP_AUTH_MODE", "jwt"}, store...), "MCP_AUTH_ISSUER"},
		{append([]string{"MCP_AUTH_MODE", "jwt", "MCP_AUTH_ISSUER", "https://i"}, store...), "MCP_AUTH_AUDIENCE"},
		{append([]string{"MCP_AUTH_MODE", "jwt", "MCP_AUTH_ISSUER", "not a url", "MCP_AUTH_AUDIENCE", "a"}, store...), "MCP_AUTH_ISSUER"},
		{[]string{"MCP_AUTH_MODE", "dev"}, "SNIPPETS_STORAGE"},
		{append([]string{"MCP_AUTH_MODE", "dev", "FUNCTIONS_CUSTOMHANDLER_PORT", "http"}, store...), "FUNCTIONS_CUSTOMHANDLER_PORT"},
		{append([]string{"MCP_AUTH_MODE", "dev", "MCP_MAX_BODY_BYTES", "-1"}, store...), "MCP_MAX_BODY_BYTES"},
		{append([]string{"MCP_AUTH_MODE", "dev", "MCP_MAX_BODY_BYTES", "1000"}, store...), "SNIPPET_MAX_BYTES"},
		{append([]string{"MCP_AUTH_MODE", "dev", "MCP_APPROVAL_TTL", "forever"}, store...), "MCP_APPROVAL_TTL"},
		{append([]string{"MCP_AUTH_MODE", "dev", "MCP_ALLOWED_ORIGINS", "https://ok.example/path"}, store...), "MCP_ALLOWED_ORIGINS"},
		{[]string{"MCP_AUTH_MODE", "dev", "SNIPPETS_STORAGE__blobServiceUri", "https://a", "SNIPPETS_STORAGE__credential", "key"}, "SNIPPETS_STORAGE__credential"},
		{[]string{"MCP_AUTH_MODE", "dev", "SNIPPETS_STORAGE__blobServiceUri", "ftp://a"}, "SNIPPETS_STORAGE__blobServiceUri"},
		{[]string{"MCP_AUTH_MODE", "dev", "AzureWebJobsStorage__accountName", "no such"}, "AzureWebJobsStorage__accountName"},
		{append([]string{"MCP_AUTH_MODE", "jwt", "MCP_AUTH_ISSUER", "http://login.example/t/v2.0", "MCP_AUTH_AUDIENCE", "a"}, store...), "MCP_AUTH_ISSUER"},
		{append([]string{"MCP_AUTH_MODE", "jwt", "MCP_AUTH_ISSUER", "https://login.example/{tenantid}/v2.0", "MCP_AUTH_AUDIENCE", "a"}, store...), "MCP_AUTH_TENANTS"},
		{append([]string{"MCP_AUTH_MODE", "jwt", "MCP_AUTH_ISSUER", "https://i", "MCP_AUTH_AUDIENCE", "a", "MCP_AUTH_KEY_REFRESH", "2h"}, store...), "MCP_AUTH_KEY_REFRESH"},
		{append([]string{"MCP_AUTH_MODE", "dev", "MCP_RESOURCE_URL", "/mcp"}, store...), "MCP_RESOURCE_URL"},
		{append([]string{"MCP_AUTH_MODE", "dev", "MCP_TOOL_TIMEOUT", "0s"}, store...), "MCP_TOOL_TIMEOUT"},
		{append([]string{"MCP_AUTH_MODE", "dev", "SNIPPET_MAX_BYTES", "x"}, store...), "SNIPPET_MAX_BYTES"},
		{append([]string{"MCP_AUTH_MODE", "dev", "MCP_APPROVAL_ALLOW_APP_ONLY", "yes"}, store...), "MCP_APPROVAL_ALLOW_APP_ONLY"},
		{append([]string{"MCP_AUTH_MODE", "dev", "MCP_TOOL_POLICY", "/nonexistent/policy.json"}, store...), "MCP_TOOL_POLICY"},
		{append([]string{"MCP_AUTH_MODE", "dev", "MCP_OPERATOR_POLICY", "forbid (principal, action, resource);", "MCP_OPERATOR_POLICY_FILE", "/x.cedar"}, store...), "MCP_OPERATOR_POLICY"},
		{append([]string{"MCP_AUTH_MODE", "dev", "MCP_OPERATOR_POLICY_FILE", "/nonexistent/operator.cedar"}, store...), "MCP_OPERATOR_POLICY_FILE"},
		{append([]string{"MCP_AUTH_MODE", "dev", "MCP_ALLOW_OPERATOR_PERMITS", "1"}, store...), "MCP_ALLOW_OPERATOR_PERMITS"},
		{append([]string{"MCP_AUTH_MODE", "dev", "MCP_AGENT_INVENTORY_FILE", "/nonexistent/agents.json"}, store...), "MCP_AGENT_INVENTORY_FILE"},
		{append([]string{"MCP_AUTH_MODE", "dev", "MCP_AGENT_INVENTORY_MODE", "warn"}, store...), "MCP_AGENT_INVENTORY_MODE"},
	}
	for _, c := range cases {
		_, err := Load(env(c.env...))
		var ce *Error
		if !errors.As(err, &ce) || ce.Var != c.name || !strings.HasPrefix(err.Error(), c.name+": ") {
			t.Errorf("env %v: error %v, want one naming %s", c.env, err, c.name)
		}
	}
}

func TestOriginsNormalized(t *testing.T) {
	c, err := Load(env("MCP_AUTH_MODE", "dev", "SNIPPETS_STORAGE", "x", "MCP_ALLOWED_ORIGINS", "https://VSCode.dev, http://localhost:6274"))
	if err != nil {
		t.Fatal(err)
	}
	if strings.Join(c.AllowedOrigins, " ") != "https://vscode.dev http://localhost:6274" {
		t.Fatalf("%v", c.AllowedOrigins)
	}
}

// A refused duration says what would be accepted, with an example that is
// itself accepted.
func TestDurationErrorGivesAValidExample(t *testing.T) {
	store := []string{"MCP_AUTH_MODE", "dev", "SNIPPETS_STORAGE", "UseDevelopmentStorage=true"}
	cases := []struct {
		name, value, want string
	}{
		{"MCP_TOOL_TIMEOUT", "30", `MCP_TOOL_TIMEOUT: "30" is not a duration above 0 and at most 3m20s, with a unit (e.g. 30s)`},
		{"MCP_TOOL_TIMEOUT", "1h", `MCP_TOOL_TIMEOUT: "1h" is not a duration above 0 and at most 3m20s, with a unit (e.g. 30s)`},
		{"MCP_APPROVAL_TTL", "0s", `MCP_APPROVAL_TTL: "0s" is not a duration above 0 and at most 168h0m0s, with a unit (e.g. 15m0s)`},
	}
	for _, c := range cases {
		t.Run(c.name+"="+c.value, func(t *testing.T) {
			_, err := Load(env(append(store, c.name, c.value)...))
			if err == nil || err.Error() != c.want {
				t.Fatalf("got %v, want %s", err, c.want)
			}
			example := c.want[strings.LastIndex(c.want, "e.g. ")+5 : len(c.want)-1]
			if _, err := Load(env(append(store, c.name, example)...)); err != nil {
				t.Errorf("the example %s is refused: %v", example, err)
			}
		})
	}
}
