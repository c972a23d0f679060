package delegate_test

import (
	"errors"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/delegate"
)

func getenv(vars map[string]string) func(string) string {
	return func(k string) string { return vars[k] }
}

func TestConfigFromEnv(t *testing.T) {
	t.Parallel()
	const app, mi, tenant = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222", "33333333-3333-3333-3333-333333333333"

	t.Run("nothing set: disabled, public cloud defaults", func(t *testing.T) {
		c, err := delegate.ConfigFromEnv(getenv(nil))
		if err != nil {
			t.Fatal(err)
		}
		if c.Enabled() {
			t.Error("Enabled with nothing configured")
		}
		if c.AuthorityHost != delegate.DefaultAuthorityHost || c.GraphEndpoint != delegate.DefaultGraphEndpoint || c.DisableInstanceDiscovery {
			t.Errorf("defaults = %q %q discovery-off=%v", c.AuthorityHost, c.GraphEndpoint, c.DisableInstanceDiscovery)
		}
		if c.AssertionAudience != "api://AzureADTokenExchange" || c.Timeout != delegate.DefaultTimeout || c.CacheSize != delegate.DefaultCacheSize {
			t.Errorf("defaults = %q %s %d", c.AssertionAudience, c.Timeout, c.CacheSize)
		}
	})

	t.Run("client id alone (built-in auth without delegation) stays disabled", func(t *testing.T) {
		c, err := delegate.ConfigFromEnv(getenv(map[string]string{"WEBSITE_AUTH_CLIENT_ID": app}))
		if err != nil || c.Enabled() {
			t.Errorf("Enabled=%v err=%v, want disabled without error", c.Enabled(), err)
		}
	})

	t.Run("managed identity in Azure", func(t *testing.T) {
		c, err := delegate.ConfigFromEnv(getenv(map[string]string{
			"WEBSITE_AUTH_CLIENT_ID":                 app,
			"OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID": mi,
			"WEBSITE_AUTH_AAD_ALLOWED_TENANTS":       tenant + ", contoso.onmicrosoft.com",
			"WEBSITE_INSTANCE_ID":                    "abc",
			"WEBSITE_HOSTNAME":                       "snippets.azurewebsites.net",
			"WEBSITE_AUTH_ENABLED":                   "True",
			"MCP_OBO_TIMEOUT":                        "15s",
			"MCP_OBO_CACHE_SIZE":                     "50",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if !c.Enabled() || c.ClientID != app || c.ManagedIdentityClientID != mi || !c.InAzure {
			t.Errorf("config = %+v", c)
		}
		if len(c.Tenants) != 2 || c.Tenants[0] != tenant || c.Tenants[1] != "contoso.onmicrosoft.com" {
			t.Errorf("tenants = %q", c.Tenants)
		}
		if c.SignInURL != "https://snippets.azurewebsites.net/.auth/login/aad" {
			t.Errorf("SignInURL = %q", c.SignInURL)
		}
		if c.Timeout != 15*time.Second || c.CacheSize != 50 {
			t.Errorf("timeout %s cache %d", c.Timeout, c.CacheSize)
		}
	})

	t.Run("sovereign and private clouds", func(t *testing.T) {
		c, err := delegate.ConfigFromEnv(getenv(map[string]string{
			"AZURE_AUTHORITY_HOST": "https://login.microsoftonline.us/",
			"MCP_GRAPH_ENDPOINT":   "https://graph.microsoft.us/",
		}))
		if err != nil {
			t.Fatal(err)
		}
		if c.DisableInstanceDiscovery || c.AssertionAudience != "api://AzureADTokenExchangeUSGov" || c.GraphEndpoint != "https://graph.microsoft.us" {
			t.Errorf("US Gov: discovery-off=%v audience=%q graph=%q", c.DisableInstanceDiscovery, c.AssertionAudience, c.GraphEndpoint)
		}
		c, err = delegate.ConfigFromEnv(getenv(map[string]string{"AZURE_AUTHORITY_HOST": "https://127.0.0.1:8443", "MCP_OBO_ASSERTION_AUDIENCE": "api://Custom"}))
		if err != nil {
			t.Fatal(err)
		}
		if !c.DisableInstanceDiscovery || c.AssertionAudience != "api://Custom" {
			t.Errorf("private authority: discovery-off=%v audience=%q", c.DisableInstanceDiscovery, c.AssertionAudience)
		}
	})

	bad := []struct {
		name, wantVar string
		vars          map[string]string
	}{
		{"identity without app", "WEBSITE_AUTH_CLIENT_ID", map[string]string{"OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID": mi}},
		{"secret without app", "WEBSITE_AUTH_CLIENT_ID", map[string]string{"MCP_OBO_CLIENT_SECRET": "s"}},
		{"two credentials", "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID", map[string]string{"WEBSITE_AUTH_CLIENT_ID": app, "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID": mi, "MCP_OBO_CLIENT_SECRET": "s"}},
		{"secret in Azure", "MCP_OBO_CLIENT_SECRET", map[string]string{"WEBSITE_AUTH_CLIENT_ID": app, "MCP_OBO_CLIENT_SECRET": "s", "WEBSITE_INSTANCE_ID": "x"}},
		{"certificate in Azure", "MCP_OBO_CLIENT_CERTIFICATE_PATH", map[string]string{"WEBSITE_AUTH_CLIENT_ID": app, "MCP_OBO_CLIENT_CERTIFICATE_PATH": "/c.pem", "WEBSITE_INSTANCE_ID": "x"}},
		{"http authority", "AZURE_AUTHORITY_HOST", map[string]string{"AZURE_AUTHORITY_HOST": "http://login.example"}},
		{"relative authority", "AZURE_AUTHORITY_HOST", map[string]string{"AZURE_AUTHORITY_HOST": "login.example"}},
		{"http graph", "MCP_GRAPH_ENDPOINT", map[string]string{"MCP_GRAPH_ENDPOINT": "http://graph.example"}},
		{"graph with path", "MCP_GRAPH_ENDPOINT", map[string]string{"MCP_GRAPH_ENDPOINT": "https://graph.microsoft.com/v1.0"}},
		{"bad tenant", "WEBSITE_AUTH_AAD_ALLOWED_TENANTS", map[string]string{"WEBSITE_AUTH_AAD_ALLOWED_TENANTS": "a/b"}},
		{"bad timeout", "MCP_OBO_TIMEOUT", map[string]string{"MCP_OBO_TIMEOUT": "10m"}},
		{"bad cache size", "MCP_OBO_CACHE_SIZE", map[string]string{"MCP_OBO_CACHE_SIZE": "0"}},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			_, err := delegate.ConfigFromEnv(getenv(tc.vars))
			var ce *delegate.ConfigError
			if !errors.As(err, &ce) || ce.Var != tc.wantVar {
				t.Errorf("err = %v, want a ConfigError naming %s", err, tc.wantVar)
			}
		})
	}
}

func TestNewRefusals(t *testing.T) {
	t.Parallel()
	_, err := delegate.New(delegate.Config{})
	var de *delegate.Error
	if !errors.As(err, &de) || de.Kind != delegate.KindNotConfigured {
		t.Errorf("New(disabled) err = %v, want KindNotConfigured", err)
	}

	// A secret needs the caller's explicit permission (local auth modes only).
	cfg := delegate.Config{ClientID: "app", ClientSecret: "s"}
	_, err = delegate.New(cfg)
	var ce *delegate.ConfigError
	if !errors.As(err, &ce) || ce.Var != "MCP_OBO_CLIENT_SECRET" || !strings.Contains(ce.Msg, "local development") {
		t.Errorf("New(secret, not allowed) err = %v", err)
	}
	cfg.AllowSecret = true
	if _, err := delegate.New(cfg); err != nil {
		t.Errorf("New(secret, allowed) err = %v", err)
	}
	cfg.InAzure = true
	if _, err := delegate.New(cfg); err == nil {
		t.Error("New accepted a secret in Azure")
	}

	if _, err := delegate.New(delegate.Config{ClientID: "app", ClientSecret: "s", AllowSecret: true, GraphEndpoint: "http://graph.example"}); err == nil {
		t.Error("New accepted a plain-http Graph endpoint")
	}
}
