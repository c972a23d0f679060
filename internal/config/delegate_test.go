package config

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/delegate/delegatetest"
)

const (
	oboApp    = "11111111-1111-1111-1111-111111111111"
	oboMI     = "22222222-2222-2222-2222-222222222222"
	oboTenant = "33333333-3333-3333-3333-333333333333"
)

func TestLoadDelegate(t *testing.T) {
	t.Run("nothing set: disabled", func(t *testing.T) {
		c, err := Load(env(dev...))
		if err != nil || c.Delegate.Enabled() {
			t.Fatalf("Enabled=%v err=%v", c.Delegate.Enabled(), err)
		}
	})

	t.Run("managed identity in Azure, behind built-in auth", func(t *testing.T) {
		c, err := Load(env("SNIPPETS_STORAGE", "UseDevelopmentStorage=true",
			"WEBSITE_AUTH_ENABLED", "True",
			"WEBSITE_AUTH_CLIENT_ID", oboApp,
			"OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID", oboMI,
			"WEBSITE_AUTH_AAD_ALLOWED_TENANTS", oboTenant+", contoso.onmicrosoft.com",
			"WEBSITE_INSTANCE_ID", "abc",
			"WEBSITE_HOSTNAME", "snippets.azurewebsites.net",
			"MCP_OBO_TIMEOUT", "15s",
			"MCP_OBO_CACHE_SIZE", "50",
		))
		if err != nil {
			t.Fatal(err)
		}
		d := c.Delegate
		if !d.Enabled() || d.ClientID != oboApp || d.ManagedIdentityClientID != oboMI || !d.InAzure || d.AllowSecret {
			t.Errorf("config = %+v", d)
		}
		if len(d.Tenants) != 2 || d.Tenants[0] != oboTenant || d.Tenants[1] != "contoso.onmicrosoft.com" {
			t.Errorf("tenants = %q", d.Tenants)
		}
		if d.SignInURL != "https://snippets.azurewebsites.net/.auth/login/aad" {
			t.Errorf("SignInURL = %q", d.SignInURL)
		}
		if d.Timeout != 15*time.Second || d.CacheSize != 50 {
			t.Errorf("timeout %s cache %d", d.Timeout, d.CacheSize)
		}
	})

	t.Run("certificate read at load, outside easyauth", func(t *testing.T) {
		path := writeCertificate(t)
		c, err := Load(env(append([]string{"WEBSITE_AUTH_CLIENT_ID", oboApp, "MCP_OBO_CLIENT_CERTIFICATE_PATH", path,
			"AZURE_AUTHORITY_HOST", "https://127.0.0.1:8443", "MCP_OBO_ASSERTION_AUDIENCE", "api://Custom"}, dev...)...))
		if err != nil {
			t.Fatal(err)
		}
		if d := c.Delegate; !d.Enabled() || len(d.Certificate) == 0 || !d.AllowSecret || d.AuthorityHost != "https://127.0.0.1:8443" || d.AssertionAudience != "api://Custom" {
			t.Errorf("config = %+v", d)
		}
	})
}

// Each mistake, whether the loader's own or one of delegate.Config's
// sentinels, stops the start with an error naming the variable.
func TestLoadDelegateErrorsNameTheVariable(t *testing.T) {
	cert := writeCertificate(t)
	broken := filepath.Join(t.TempDir(), "broken.pem")
	if err := os.WriteFile(broken, []byte("not a certificate"), 0o600); err != nil {
		t.Fatal(err)
	}
	easyauth := []string{"MCP_AUTH_MODE", "easyauth", "WEBSITE_AUTH_ENABLED", "True", "SNIPPETS_STORAGE", "UseDevelopmentStorage=true"}
	cases := []struct {
		name, wantVar string
		env           []string
	}{
		{"identity without app", "WEBSITE_AUTH_CLIENT_ID", append([]string{"OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID", oboMI}, dev...)},
		{"secret without app", "WEBSITE_AUTH_CLIENT_ID", append([]string{"MCP_OBO_CLIENT_SECRET", "s"}, dev...)},
		{"two credentials", "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID", append([]string{"WEBSITE_AUTH_CLIENT_ID", oboApp, "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID", oboMI, "MCP_OBO_CLIENT_SECRET", "s"}, dev...)},
		{"secret in Azure", "MCP_OBO_CLIENT_SECRET", append([]string{"WEBSITE_AUTH_CLIENT_ID", oboApp, "MCP_OBO_CLIENT_SECRET", "s", "WEBSITE_INSTANCE_ID", "x"}, dev...)},
		{"certificate in Azure", "MCP_OBO_CLIENT_CERTIFICATE_PATH", append([]string{"WEBSITE_AUTH_CLIENT_ID", oboApp, "MCP_OBO_CLIENT_CERTIFICATE_PATH", cert, "WEBSITE_INSTANCE_ID", "x"}, dev...)},
		{"secret behind built-in auth", "MCP_OBO_CLIENT_SECRET", append([]string{"WEBSITE_AUTH_CLIENT_ID", oboApp, "MCP_OBO_CLIENT_SECRET", "s"}, easyauth...)},
		{"certificate behind built-in auth", "MCP_OBO_CLIENT_CERTIFICATE_PATH", append([]string{"WEBSITE_AUTH_CLIENT_ID", oboApp, "MCP_OBO_CLIENT_CERTIFICATE_PATH", cert}, easyauth...)},
		{"missing certificate file", "MCP_OBO_CLIENT_CERTIFICATE_PATH", append([]string{"WEBSITE_AUTH_CLIENT_ID", oboApp, "MCP_OBO_CLIENT_CERTIFICATE_PATH", filepath.Join(t.TempDir(), "missing.pem")}, dev...)},
		{"broken certificate", "MCP_OBO_CLIENT_CERTIFICATE_PATH", append([]string{"WEBSITE_AUTH_CLIENT_ID", oboApp, "MCP_OBO_CLIENT_CERTIFICATE_PATH", broken}, dev...)},
		{"http authority", "AZURE_AUTHORITY_HOST", append([]string{"AZURE_AUTHORITY_HOST", "http://login.example"}, dev...)},
		{"relative authority", "AZURE_AUTHORITY_HOST", append([]string{"AZURE_AUTHORITY_HOST", "login.example"}, dev...)},
		{"http graph", "MCP_GRAPH_ENDPOINT", append([]string{"MCP_GRAPH_ENDPOINT", "http://graph.example"}, dev...)},
		{"graph with path", "MCP_GRAPH_ENDPOINT", append([]string{"MCP_GRAPH_ENDPOINT", "https://graph.microsoft.com/v1.0"}, dev...)},
		{"bad tenant", "WEBSITE_AUTH_AAD_ALLOWED_TENANTS", append([]string{"WEBSITE_AUTH_AAD_ALLOWED_TENANTS", "a/b"}, dev...)},
		{"bad timeout", "MCP_OBO_TIMEOUT", append([]string{"MCP_OBO_TIMEOUT", "10m"}, dev...)},
		{"bad cache size", "MCP_OBO_CACHE_SIZE", append([]string{"MCP_OBO_CACHE_SIZE", "0"}, dev...)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			_, err := Load(env(tc.env...))
			var ce *Error
			if !errors.As(err, &ce) || ce.Var != tc.wantVar || !strings.HasPrefix(err.Error(), tc.wantVar+": ") {
				t.Errorf("err = %v, want an *Error naming %s", err, tc.wantVar)
			}
			if strings.Contains(err.Error(), "\n") {
				t.Errorf("error %q is more than one line", err)
			}
		})
	}
}

// writeCertificate writes a self-signed certificate and its key, as PEM.
func writeCertificate(t *testing.T) string {
	t.Helper()
	data, _ := delegatetest.ClientCertificate(t)
	path := filepath.Join(t.TempDir(), "obo.pem")
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
