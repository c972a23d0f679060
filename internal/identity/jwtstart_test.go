package identity

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// TestStartJWTNeverPassesBeforeKeys: StartJWT returns while the issuer is
// down; a request before the keys are loaded gets no identity and an error
// that is not a RejectError (prm answers 503 with Retry-After), and the same
// token is accepted once the background start has succeeded.
func TestStartJWTNeverPassesBeforeKeys(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	iss.SetDown(true)
	a, err := StartJWT(t.Context(), JWTConfig{
		Issuer:    iss.URL(),
		Audiences: []string{authtest.Audience},
		Tenants:   []string{authtest.TenantID},
	})
	if err != nil {
		t.Fatalf("StartJWT: %v", err)
	}
	tok := iss.Mint(t, authtest.Claims{Roles: []string{"Snippets.Read"}})

	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	id, err := a.Authenticate(jwtRequest(tok).WithContext(ctx))
	var rej *RejectError
	if err == nil || id != nil || errors.As(err, &rej) || errors.Is(err, ErrNoCredentials) {
		t.Fatalf("before keys: identity %v, error %v; want no identity and an unavailable error", id, err)
	}

	iss.SetDown(false)
	deadline := time.Now().Add(10 * time.Second)
	for {
		id, err = a.Authenticate(jwtRequest(tok))
		if err == nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("after the issuer came back: %v", err)
		}
		time.Sleep(50 * time.Millisecond)
	}
	if id.TenantID != authtest.TenantID || id.ObjectID != authtest.ObjectID {
		t.Fatalf("identity %+v", id)
	}
	jwtWantReject(t, func() error { _, err := a.Authenticate(jwtRequest("a.b.c")); return err }(), jwtReasonMalformed)
}

// TestStartJWTValidatesAtOnce: a bad configuration still fails start-up,
// before anything runs in the background: only an unreachable issuer is
// left to the background start.
func TestStartJWTValidatesAtOnce(t *testing.T) {
	t.Parallel()
	for _, c := range []struct {
		cfg  JWTConfig
		want error
	}{
		{JWTConfig{Issuer: "https://issuer.example/v2.0"}, ErrNoAudience},
		{JWTConfig{Audiences: []string{"x"}}, ErrNoIssuer},
		{JWTConfig{Issuer: "not a url", Audiences: []string{"x"}}, ErrIssuerURL},
		{JWTConfig{Issuer: "http://issuer.example/v2.0", Audiences: []string{"x"}}, ErrIssuerURL},
		{JWTConfig{Issuer: "https://login.example/" + TenantPlaceholder + "/v2.0", Audiences: []string{"x"}}, ErrNoTenants},
	} {
		a, err := StartJWT(t.Context(), c.cfg)
		if !errors.Is(err, c.want) || a != nil {
			t.Errorf("StartJWT(%+v) = %v, %v; want %v", c.cfg, a, err, c.want)
		}
	}
}

// BenchmarkJWTStart compares what start-up waits for: NewJWT (discovery and
// keys fetched before it returns) and StartJWT (they are fetched behind).
func BenchmarkJWTStart(b *testing.B) {
	iss := authtest.NewIssuer(b)
	cfg := JWTConfig{Issuer: iss.URL(), Audiences: []string{authtest.Audience}, Tenants: []string{authtest.TenantID}}
	b.Run("NewJWT", func(b *testing.B) {
		for b.Loop() {
			if _, err := NewJWT(b.Context(), cfg); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("StartJWT", func(b *testing.B) {
		for b.Loop() {
			a, err := StartJWT(b.Context(), cfg)
			if err != nil {
				b.Fatal(err)
			}
			b.StopTimer()
			<-a.ready // not timed: keep the background fetches from piling up
			b.StartTimer()
		}
	})
}
