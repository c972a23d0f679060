package delegate_test

import (
	"context"
	"errors"
	"net/http"
	"testing"

	"github.com/snippets-mcp/server/internal/delegate"
	"github.com/snippets-mcp/server/internal/delegate/delegatetest"
)

// TestManagedIdentityAssertion runs the Azure path: the app authenticates to
// the token endpoint with its managed identity's token for
// api://AzureADTokenExchange, taken from the App Service identity endpoint
// (IDENTITY_ENDPOINT/IDENTITY_HEADER). azidentity reads those from the
// process environment, so this test cannot run in parallel.
func TestManagedIdentityAssertion(t *testing.T) {
	setup := func(t *testing.T, status int) (*env, *delegatetest.ManagedIdentity, *delegate.Delegator) {
		e := newEnv(t)
		// A fresh identity per run: MSAL caches managed identity tokens process-wide.
		mi := delegatetest.NewManagedIdentity(t, guid(), "api://AzureADTokenExchange")
		mi.Status = status
		t.Setenv("IDENTITY_ENDPOINT", mi.URL())
		t.Setenv("IDENTITY_HEADER", mi.Header)
		e.entra.Secret = ""
		e.entra.Assertion = mi.Token
		e.cfg.ClientSecret = ""
		e.cfg.AllowSecret = false
		e.cfg.InAzure = true
		e.cfg.ManagedIdentityClientID = mi.ClientID
		return e, mi, e.delegator()
	}

	t.Run("success", func(t *testing.T) {
		e, mi, d := setup(t, 0)
		u := e.user("")
		for range 2 {
			p, err := d.Profile(context.Background(), u)
			if err != nil {
				t.Fatalf("Profile: %v", err)
			}
			if p.DisplayName != "User "+u.ObjectID {
				t.Errorf("profile = %+v", p)
			}
		}
		if got := e.entra.Exchanges(); got != 1 {
			t.Errorf("exchanges = %d, want 1", got)
		}
		seen := mi.Requests()
		if len(seen) == 0 {
			t.Fatal("the managed identity endpoint was never asked for the assertion")
		}
		for _, r := range seen {
			if r.Contains(u.Token) {
				t.Errorf("inbound token sent to the managed identity endpoint")
			}
		}
		e.checkNoLeak(u.Token)
	})

	t.Run("identity rejected", func(t *testing.T) {
		e, _, d := setup(t, http.StatusBadRequest)
		_, err := d.Profile(context.Background(), e.user(""))
		if de := asError(t, err); de.Kind != delegate.KindMisconfigured {
			t.Errorf("kind = %q (%v), want misconfigured", de.Kind, err)
		}
		if got := e.entra.Exchanges(); got != 0 {
			t.Errorf("exchanges = %d, want 0 without an assertion", got)
		}
	})

	t.Run("identity endpoint down", func(t *testing.T) {
		e, _, d := setup(t, http.StatusServiceUnavailable)
		_, err := d.Profile(context.Background(), e.user(""))
		if de := asError(t, err); de.Kind != delegate.KindUnavailable {
			t.Errorf("kind = %q (%v), want unavailable", de.Kind, err)
		}
	})
}

func TestCertificateCredential(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	data, cert := delegatetest.ClientCertificate(t)
	e.entra.Secret = ""
	e.entra.Cert = cert
	e.cfg.ClientSecret = ""
	e.cfg.Certificate = data
	d := e.delegator()
	u := e.user("")
	if _, err := d.Profile(context.Background(), u); err != nil {
		t.Fatalf("Profile with a certificate: %v", err)
	}
	e.checkNoLeak(u.Token)

	e.cfg.Certificate = []byte("not a certificate")
	if _, err := delegate.New(e.cfg); !errors.Is(err, delegate.ErrCertificate) {
		t.Errorf("New with a broken certificate: %v, want ErrCertificate", err)
	}
}
