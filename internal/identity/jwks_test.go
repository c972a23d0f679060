package identity

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/snippets-mcp/server/internal/identity/authtest"
)

func TestNewJWTStartErrors(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	closed := httptest.NewServer(http.NotFoundHandler())
	closed.Close()

	// An issuer whose discovery points its keys at a plain-http remote host.
	var insecure *httptest.Server
	insecure = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		json.NewEncoder(w).Encode(map[string]string{"issuer": insecure.URL, "jwks_uri": "http://keys.example.test/keys"})
	}))
	t.Cleanup(insecure.Close)

	empty := authtest.NewIssuer(t)
	empty.Retire(empty.ActiveKeyID())
	down := authtest.NewIssuer(t)
	down.SetDown(true)

	aud := []string{authtest.Audience}
	for _, c := range []struct {
		name string
		cfg  JWTConfig
		want string
	}{
		{"no issuer", JWTConfig{Audiences: aud}, "no issuer"},
		{"no audience", JWTConfig{Issuer: iss.URL()}, "no audience"},
		{"plain http remote issuer", JWTConfig{Issuer: "http://login.example.test/tenant/v2.0", Audiences: aud}, "must use https"},
		{"unreachable", JWTConfig{Issuer: closed.URL, Audiences: aud}, "openid discovery"},
		{"issuer mismatch", JWTConfig{Issuer: iss.URL() + "/", Audiences: aud}, "must be exact"},
		{"insecure jwks_uri", JWTConfig{Issuer: insecure.URL, Audiences: aud}, "jwks_uri"},
		{"no usable key", JWTConfig{Issuer: empty.URL(), Audiences: aud}, "no usable signing key"},
		{"issuer down", JWTConfig{Issuer: down.URL(), Audiences: aud}, "503"},
	} {
		_, err := NewJWT(t.Context(), c.cfg)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: got %v, want an error containing %q", c.name, err, c.want)
		}
	}
}

func TestCheckFetchURL(t *testing.T) {
	t.Parallel()
	for u, ok := range map[string]bool{
		"https://login.microsoftonline.com/x/v2.0": true,
		"http://127.0.0.1:7072":                    true,
		"http://[::1]:7072/x":                      true,
		"http://localhost:7072":                    true,
		"http://login.microsoftonline.com/x":       false,
		"http://127.0.0.1.example.test/":           false,
		"ftp://127.0.0.1/":                         false,
		"https://":                                 false,
		"/relative":                                false,
	} {
		if err := jwtCheckURL(u); (err == nil) != ok {
			t.Errorf("checkFetchURL(%q) = %v, want ok=%v", u, err, ok)
		}
	}
}

func TestKeyFits(t *testing.T) {
	t.Parallel()
	rk, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	ek, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	rsaKey := jose.JSONWebKey{Key: &rk.PublicKey}
	ecKey := jose.JSONWebKey{Key: &ek.PublicKey}
	pinned := jose.JSONWebKey{Key: &rk.PublicKey, Algorithm: "RS256"}
	for _, c := range []struct {
		key  jose.JSONWebKey
		alg  string
		want bool
	}{
		{rsaKey, "RS256", true}, {rsaKey, "PS512", true}, {rsaKey, "ES256", false}, {rsaKey, "HS256", false},
		{ecKey, "ES256", true}, {ecKey, "ES384", false}, {ecKey, "RS256", false},
		{pinned, "RS256", true}, {pinned, "PS256", false},
	} {
		if got := jwtKeyFits(c.key, c.alg); got != c.want {
			t.Errorf("keyFits(%T alg=%q, %s) = %v", c.key.Key, c.key.Algorithm, c.alg, got)
		}
	}
}

func TestUsableKey(t *testing.T) {
	t.Parallel()
	small, err := rsa.GenerateKey(rand.Reader, 1024)
	if err != nil {
		t.Fatal(err)
	}
	big, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		name string
		key  jose.JSONWebKey
		want bool
	}{
		{"rsa 2048", jose.JSONWebKey{Key: &big.PublicKey}, true},
		{"rsa 1024", jose.JSONWebKey{Key: &small.PublicKey}, false},
		{"encryption key", jose.JSONWebKey{Key: &big.PublicKey, Use: "enc"}, false},
		{"private key", jose.JSONWebKey{Key: big}, false},
		{"symmetric", jose.JSONWebKey{Key: []byte("0123456789abcdef0123456789abcdef")}, false},
	} {
		if got := jwksUsableKey(c.key); got != c.want {
			t.Errorf("%s: jwksUsableKey = %v", c.name, got)
		}
	}
}

func TestVerifiedCacheEvictsExpiredFirst(t *testing.T) {
	t.Parallel()
	c := newJWTCache(2)
	now := time.Unix(1_000_000, 0)
	k := func(s string) [sha256.Size]byte { return sha256.Sum256([]byte(s)) }
	c.put(k("short"), Identity{ObjectID: "short"}, now.Add(time.Minute), now)
	c.put(k("long"), Identity{ObjectID: "long"}, now.Add(time.Hour), now)
	later := now.Add(2 * time.Minute)
	c.put(k("new"), Identity{ObjectID: "new"}, later.Add(time.Hour), later)
	if _, ok := c.get(k("long"), later); !ok {
		t.Fatal("a live entry was evicted while an expired one was there")
	}
	if _, ok := c.get(k("new"), later); !ok {
		t.Fatal("new entry missing")
	}
	if _, ok := c.get(k("short"), later); ok {
		t.Fatal("expired entry returned")
	}
	// Already expired: never stored.
	c.put(k("dead"), Identity{}, later, later)
	if _, ok := c.get(k("dead"), later.Add(-time.Second)); ok {
		t.Fatal("stored an entry that was already expired")
	}
}
