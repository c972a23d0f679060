package auth

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/snippets-mcp/server/internal/auth/authtest"
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

// BenchmarkPolicyAllows is one per-tool decision for a delegated caller.
func BenchmarkPolicyAllows(b *testing.B) {
	p, err := NewPolicy(map[string]Class{"get_snippet": ClassRead, "save_snippet": ClassWrite, "delete_snippet": ClassDestructive, "approve_request": ClassAdmin}, "")
	if err != nil {
		b.Fatal(err)
	}
	id := &Identity{TenantID: "t", ObjectID: "o", Scopes: []string{ScopeUser}, Roles: []string{RoleDelete}}
	b.ReportAllocs()
	for b.Loop() {
		if !p.Allows(id, "delete_snippet") || p.Allows(id, "approve_request") {
			b.Fatal("wrong decision")
		}
	}
}
