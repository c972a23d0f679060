package identity

import (
	"crypto/sha256"
	"net/http"
	"net/http/httptest"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// The cached lookup as it was before tokenKey, the tokenByte table and the
// single-allocation finish: kept here only as the baseline that
// BenchmarkJWTAuthenticateCachedOld measures in the same run as the current
// path, and that the tests below compare the current path with.

func (a *JWTAuthenticator) authenticateCachedOld(r *http.Request) (*Identity, bool) {
	raw, err := bearerTokenOld(r.Header)
	if err != nil {
		return nil, false
	}
	id, ok := a.cache.get(sha256.Sum256([]byte(raw)), a.now())
	if !ok {
		return nil, false
	}
	id.Scopes = slices.Clone(id.Scopes)
	id.Roles = slices.Clone(id.Roles)
	id.Facets.Actor = slices.Clone(id.Facets.Actor)
	id.Facets.Subject = slices.Clone(id.Facets.Subject)
	return id.WithBearerToken(raw), true
}

// bearerTokenOld: the header is read as it still is (bearerValue); the
// bytes were checked before the cache lookup, by comparisons.
func bearerTokenOld(h http.Header) (string, error) {
	token, err := bearerValue(h)
	if err != nil {
		return "", err
	}
	for i := 0; i < len(token); i++ {
		if !tokenByteOld(token[i]) {
			return "", jwtReject(jwtReasonMalformed)
		}
	}
	return token, nil
}

func tokenByteOld(c byte) bool {
	return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
}

// TestTokenByteTable: the table admits exactly the bytes the comparisons did.
func TestTokenByteTable(t *testing.T) {
	t.Parallel()
	for c := range 256 {
		if tokenByte[c] != tokenByteOld(byte(c)) {
			t.Errorf("byte %#x: table %v, comparisons %v", c, tokenByte[c], tokenByteOld(byte(c)))
		}
	}
}

// TestTokenKeyIsSHA256: the key read in place is the SHA-256 of the token's
// bytes, as before.
func TestTokenKeyIsSHA256(t *testing.T) {
	t.Parallel()
	for _, s := range []string{"", "a", "a.b.c", strings.Repeat("x", 1500)} {
		if tokenKey(s) != sha256.Sum256([]byte(s)) {
			t.Errorf("tokenKey(%.10q) is not its SHA-256", s)
		}
	}
}

// TestJWTCachedLookupMatchesOld: the current cached path hands out the same
// identity as the old one, for identities whose lists fit the handout's
// array and for one whose lists do not.
func TestJWTCachedLookupMatchesOld(t *testing.T) {
	t.Parallel()
	iss, a, _ := jwtSetup(t, nil)
	many := make([]string, 12)
	for i := range many {
		many[i] = "Role." + string(rune('A'+i))
	}
	for _, c := range []authtest.Claims{
		{},
		{Roles: []string{"Snippets.Read"}},
		{Scope: "user_impersonation other", Roles: []string{"Snippets.Read", "Snippets.Write"}},
		{AppOnly: true, Roles: many},
	} {
		r := jwtRequest(iss.Mint(t, c))
		got, err := a.Authenticate(r) // verifies and caches
		if err != nil {
			t.Fatal(err)
		}
		again, err := a.Authenticate(r) // from the cache
		if err != nil {
			t.Fatal(err)
		}
		old, ok := a.authenticateCachedOld(r)
		if !ok {
			t.Fatal("the old path missed the cache")
		}
		for _, id := range []*Identity{got, again} {
			if !identitiesEqual(id, old) {
				t.Errorf("claims %+v: got %+v, the old path %+v", c, *id, *old)
			}
		}
	}
}

// identitiesEqual compares every field, the bearer token too, and tells a
// nil list from an empty one.
func identitiesEqual(a, b *Identity) bool { return reflect.DeepEqual(*a, *b) }

// BenchmarkJWTAuthenticateCachedOld is BenchmarkJWTAuthenticateCached's
// lookup as it was; run both with -bench JWTAuthenticateCached.
func BenchmarkJWTAuthenticateCachedOld(b *testing.B) {
	iss := authtest.NewIssuer(b)
	a, err := NewJWT(b.Context(), JWTConfig{Issuer: iss.URL(), Audiences: []string{authtest.Audience}, Tenants: []string{authtest.TenantID}})
	if err != nil {
		b.Fatal(err)
	}
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	r.Header.Set("Authorization", "Bearer "+iss.Mint(b, authtest.Claims{}))
	if _, err := a.Authenticate(r); err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		if _, ok := a.authenticateCachedOld(r); !ok {
			b.Fatal("cache miss")
		}
	}
}
