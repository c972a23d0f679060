package delegate_test

import (
	"errors"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/delegate"
)

func TestWithDefaults(t *testing.T) {
	t.Parallel()

	t.Run("nothing set: disabled, public cloud defaults", func(t *testing.T) {
		var c delegate.Config
		if c.Enabled() {
			t.Error("Enabled with nothing configured")
		}
		if err := c.Validate(); err != nil {
			t.Errorf("Validate(zero) = %v", err)
		}
		c = c.WithDefaults()
		if c.AuthorityHost != delegate.DefaultAuthorityHost || c.GraphEndpoint != delegate.DefaultGraphEndpoint || c.DisableInstanceDiscovery {
			t.Errorf("defaults = %q %q discovery-off=%v", c.AuthorityHost, c.GraphEndpoint, c.DisableInstanceDiscovery)
		}
		if c.AssertionAudience != "api://AzureADTokenExchange" || c.Timeout != delegate.DefaultTimeout || c.CacheSize != delegate.DefaultCacheSize {
			t.Errorf("defaults = %q %s %d", c.AssertionAudience, c.Timeout, c.CacheSize)
		}
	})

	t.Run("client id alone (built-in auth without delegation) stays disabled", func(t *testing.T) {
		c := delegate.Config{ClientID: "11111111-1111-1111-1111-111111111111"}
		if c.Enabled() || c.Validate() != nil {
			t.Errorf("Enabled=%v err=%v, want disabled without error", c.Enabled(), c.Validate())
		}
	})

	t.Run("sovereign and private clouds", func(t *testing.T) {
		c := delegate.Config{AuthorityHost: "https://login.microsoftonline.us/", GraphEndpoint: "https://graph.microsoft.us/"}.WithDefaults()
		if c.DisableInstanceDiscovery || c.AssertionAudience != "api://AzureADTokenExchangeUSGov" || c.GraphEndpoint != "https://graph.microsoft.us" {
			t.Errorf("US Gov: discovery-off=%v audience=%q graph=%q", c.DisableInstanceDiscovery, c.AssertionAudience, c.GraphEndpoint)
		}
		c = delegate.Config{AuthorityHost: "https://login.chinacloudapi.cn/"}.WithDefaults()
		if c.AssertionAudience != "api://AzureADTokenExchangeChina" {
			t.Errorf("China: audience=%q", c.AssertionAudience)
		}
		c = delegate.Config{AuthorityHost: "https://127.0.0.1:8443", AssertionAudience: "api://Custom", Timeout: 15 * time.Second, CacheSize: 50}.WithDefaults()
		if !c.DisableInstanceDiscovery || c.AssertionAudience != "api://Custom" || c.Timeout != 15*time.Second || c.CacheSize != 50 {
			t.Errorf("private authority: discovery-off=%v audience=%q timeout=%s cache=%d", c.DisableInstanceDiscovery, c.AssertionAudience, c.Timeout, c.CacheSize)
		}
	})
}

// Each mistake is one sentinel, which internal/config maps to the variable.
func TestValidate(t *testing.T) {
	t.Parallel()
	const app, mi = "11111111-1111-1111-1111-111111111111", "22222222-2222-2222-2222-222222222222"
	cert := []byte("-----BEGIN CERTIFICATE-----\nbm90IGEgY2VydGlmaWNhdGU=\n-----END CERTIFICATE-----\n")
	cases := []struct {
		name string
		cfg  delegate.Config
		want error
	}{
		{"identity without app", delegate.Config{ManagedIdentityClientID: mi}, delegate.ErrNoClientID},
		{"secret without app", delegate.Config{ClientSecret: "s", AllowSecret: true}, delegate.ErrNoClientID},
		{"two credentials", delegate.Config{ClientID: app, ManagedIdentityClientID: mi, ClientSecret: "s"}, delegate.ErrCredentials},
		{"secret in Azure", delegate.Config{ClientID: app, ClientSecret: "s", AllowSecret: true, InAzure: true}, delegate.ErrSecretInAzure},
		{"certificate in Azure", delegate.Config{ClientID: app, Certificate: cert, AllowSecret: true, InAzure: true}, delegate.ErrCertificateInAzure},
		{"secret not allowed", delegate.Config{ClientID: app, ClientSecret: "s"}, delegate.ErrSecretNotAllowed},
		{"certificate not allowed", delegate.Config{ClientID: app, Certificate: cert}, delegate.ErrSecretNotAllowed},
		{"broken certificate", delegate.Config{ClientID: app, Certificate: cert, AllowSecret: true}, delegate.ErrCertificate},
		{"http authority", delegate.Config{AuthorityHost: "http://login.example"}, delegate.ErrAuthorityHost},
		{"relative authority", delegate.Config{AuthorityHost: "login.example"}, delegate.ErrAuthorityHost},
		{"http graph", delegate.Config{GraphEndpoint: "http://graph.example"}, delegate.ErrGraphEndpoint},
		{"graph with path", delegate.Config{GraphEndpoint: "https://graph.microsoft.com/v1.0"}, delegate.ErrGraphEndpoint},
		{"bad tenant", delegate.Config{Tenants: []string{"a/b"}}, delegate.ErrTenant},
		{"empty tenant", delegate.Config{Tenants: []string{""}}, delegate.ErrTenant},
		{"negative timeout", delegate.Config{Timeout: -time.Second}, delegate.ErrNegative},
		{"negative cache size", delegate.Config{CacheSize: -1}, delegate.ErrNegative},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if err := tc.cfg.Validate(); !errors.Is(err, tc.want) {
				t.Errorf("Validate = %v, want %v", err, tc.want)
			}
		})
	}
	ok := delegate.Config{ClientID: app, ManagedIdentityClientID: mi, InAzure: true, Tenants: []string{"contoso.onmicrosoft.com"},
		AuthorityHost: "https://login.microsoftonline.com/", GraphEndpoint: "https://graph.microsoft.com/"}
	if err := ok.Validate(); err != nil {
		t.Errorf("Validate(managed identity in Azure) = %v", err)
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
	if _, err = delegate.New(cfg); !errors.Is(err, delegate.ErrSecretNotAllowed) {
		t.Errorf("New(secret, not allowed) err = %v", err)
	}
	cfg.AllowSecret = true
	if _, err := delegate.New(cfg); err != nil {
		t.Errorf("New(secret, allowed) err = %v", err)
	}
	cfg.InAzure = true
	if _, err := delegate.New(cfg); !errors.Is(err, delegate.ErrSecretInAzure) {
		t.Errorf("New(secret in Azure) err = %v", err)
	}

	var none *delegate.Delegator
	if none.Resource() != "" {
		t.Error("a nil Delegator names a resource")
	}
	d, err := delegate.New(delegate.Config{ClientID: "app", ClientSecret: "s", AllowSecret: true, GraphEndpoint: "https://graph.microsoft.us/"})
	if err != nil || d.Resource() != "graph.microsoft.us" {
		t.Errorf("New(US Graph): resource %q, err %v", d.Resource(), err)
	}

	if _, err := delegate.New(delegate.Config{ClientID: "app", ClientSecret: "s", AllowSecret: true, GraphEndpoint: "http://graph.example"}); !errors.Is(err, delegate.ErrGraphEndpoint) {
		t.Errorf("New(plain-http Graph endpoint) err = %v", err)
	}
}
