package identity

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/snippets-mcp/server/internal/identity/authtest"
)

func benchJWT(b *testing.B, cacheSize int) {
	iss := authtest.NewIssuer(b)
	a, err := NewJWT(b.Context(), JWTConfig{
		Issuer: iss.URL(), Audiences: []string{authtest.Audience}, Tenants: []string{authtest.TenantID}, CacheSize: cacheSize,
	})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	r.Header.Set("Authorization", "Bearer "+iss.Mint(b, authtest.Claims{}))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := a.Authenticate(r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkJWTAuthenticateCached is the cost of a request whose token was
// verified before: header checks, a SHA-256 of the token and a map lookup.
func BenchmarkJWTAuthenticateCached(b *testing.B) { benchJWT(b, 0) }

// BenchmarkJWTAuthenticateUncached is the cost of full verification (RS256
// signature, claims) on every request: what the cache saves.
func BenchmarkJWTAuthenticateUncached(b *testing.B) { benchJWT(b, -1) }
