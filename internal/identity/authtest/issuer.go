// Package authtest is a local OpenID issuer for tests: real keys, real
// signatures, discovery and JWKS served over HTTP on loopback. It mints
// good tokens and the classic bad ones (alg none, HMAC keyed with the public
// key, tampered payloads). The server it starts is reachable from other
// processes, so end-to-end tests can point a server binary at URL().
package authtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"encoding/base64"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Defaults put in minted tokens.
const (
	TenantID = "7d3c1b2a-5e4f-4a6b-8c9d-0e1f2a3b4c5d"
	ObjectID = "0b8a6c4e-2d1f-4e3a-9b5c-7d6e8f9a0b1c"
	ClientID = "aebc6443-996d-45c2-90f0-388ff96faa56" // azp: the calling agent
	Audience = "api://snippets-mcp-test"
	Scope    = "user_impersonation"
	Name     = "Test User"
)

// Issuer is a running test issuer. Its zero value is not usable; call NewIssuer.
type Issuer struct {
	// Now is the clock for default iat, nbf and exp; nil means time.Now.
	// Set it before minting, not concurrently with it.
	Now func() time.Time

	srv *httptest.Server

	mu     sync.Mutex
	keys   []signingKey // published in the JWKS
	active signingKey   // signs new tokens; normally also published
	down   bool

	jwksHits atomic.Int64
}

type signingKey struct {
	kid  string
	alg  jose.SignatureAlgorithm
	priv crypto.Signer
}

// NewIssuer starts an issuer with one RSA 2048 key on 127.0.0.1. It is
// closed when the test ends.
func NewIssuer(t testing.TB) *Issuer {
	t.Helper()
	iss := &Issuer{}
	k, err := newKey(jose.RS256)
	if err != nil {
		t.Fatalf("authtest: %v", err)
	}
	iss.keys = []signingKey{k}
	iss.active = k

	mux := http.NewServeMux()
	mux.HandleFunc("GET /{tenant}/v2.0/.well-known/openid-configuration", iss.serveDiscovery)
	mux.HandleFunc("GET /discovery/v2.0/keys", iss.serveJWKS)
	// Assign srv before serving: handlers read iss.srv.URL, and requests
	// from another process carry no happens-before edge the race detector sees.
	iss.srv = httptest.NewUnstartedServer(mux)
	iss.srv.Start()
	t.Cleanup(iss.srv.Close)
	return iss
}

// URL is the issuer identifier for the default tenant, Entra v2 style:
// <base>/<tenant>/v2.0. Use it as MCP_AUTH_ISSUER.
func (iss *Issuer) URL() string { return iss.TenantURL(TenantID) }

// TenantURL is the issuer identifier for another tenant.
func (iss *Issuer) TenantURL(tid string) string { return iss.srv.URL + "/" + tid + "/v2.0" }

// MultiTenantURL is the issuer with Entra's {tenantid} placeholder, as its
// "organizations" metadata names it.
func (iss *Issuer) MultiTenantURL() string { return iss.srv.URL + "/{tenantid}/v2.0" }

// JWKSURL is where the keys are served.
func (iss *Issuer) JWKSURL() string { return iss.srv.URL + "/discovery/v2.0/keys" }

// JWKSHits counts requests for the key set.
func (iss *Issuer) JWKSHits() int64 { return iss.jwksHits.Load() }

// SetDown makes every endpoint answer 503 (true) or work again (false).
func (iss *Issuer) SetDown(down bool) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.down = down
}

func (iss *Issuer) isDown() bool {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return iss.down
}

func (iss *Issuer) serveDiscovery(w http.ResponseWriter, r *http.Request) {
	if iss.isDown() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	issuer := iss.TenantURL(r.PathValue("tenant"))
	if t := r.PathValue("tenant"); t == "organizations" || t == "common" {
		issuer = iss.MultiTenantURL()
	}
	writeJSON(w, map[string]any{
		"issuer":                                issuer,
		"jwks_uri":                              iss.JWKSURL(),
		"authorization_endpoint":                iss.srv.URL + "/oauth2/v2.0/authorize",
		"token_endpoint":                        iss.srv.URL + "/oauth2/v2.0/token",
		"response_types_supported":              []string{"code"},
		"subject_types_supported":               []string{"pairwise"},
		"id_token_signing_alg_values_supported": []string{"RS256"},
	})
}

func (iss *Issuer) serveJWKS(w http.ResponseWriter, r *http.Request) {
	iss.jwksHits.Add(1)
	if iss.isDown() {
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	}
	iss.mu.Lock()
	set := jose.JSONWebKeySet{}
	for _, k := range iss.keys {
		set.Keys = append(set.Keys, jose.JSONWebKey{Key: k.priv.Public(), KeyID: k.kid, Use: "sig"})
	}
	iss.mu.Unlock()
	writeJSON(w, set)
}

func writeJSON(w http.ResponseWriter, v any) {
	w.Header().Set("Content-Type", "application/json")
	if err := json.NewEncoder(w).Encode(v); err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
	}
}

// newKey makes a key for alg: RSA 2048 for RS*/PS*, the matching curve for ES*.
func newKey(alg jose.SignatureAlgorithm) (signingKey, error) {
	var priv crypto.Signer
	var err error
	switch alg {
	case jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512:
		priv, err = rsa.GenerateKey(rand.Reader, 2048)
	case jose.ES256:
		priv, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case jose.ES384:
		priv, err = ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
	case jose.ES512:
		priv, err = ecdsa.GenerateKey(elliptic.P521(), rand.Reader)
	default:
		return signingKey{}, fmt.Errorf("no key type for algorithm %s", alg)
	}
	if err != nil {
		return signingKey{}, fmt.Errorf("generate %s key: %w", alg, err)
	}
	// The RFC 7638 thumbprint makes a kid unique per key.
	tp, err := (&jose.JSONWebKey{Key: priv.Public()}).Thumbprint(crypto.SHA256)
	if err != nil {
		return signingKey{}, fmt.Errorf("thumbprint: %w", err)
	}
	return signingKey{kid: base64.RawURLEncoding.EncodeToString(tp), alg: alg, priv: priv}, nil
}

// Rotate publishes a new RSA key next to the old ones and signs with it
// from now on. It returns the new kid.
func (iss *Issuer) Rotate() string { return iss.RotateTo(jose.RS256) }

// RotateTo is Rotate with a key for alg (RS*, PS* or ES*); new tokens use
// alg. It panics for any other algorithm: that is a mistake in the test.
func (iss *Issuer) RotateTo(alg jose.SignatureAlgorithm) string {
	k, err := newKey(alg)
	if err != nil {
		panic("authtest: " + err.Error())
	}
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.keys = append(iss.keys, k)
	iss.active = k
	return k.kid
}

// Retire removes the key from the JWKS. Tokens signed with it stop
// verifying once a validator refetches the set.
func (iss *Issuer) Retire(kid string) {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	iss.keys = slices.DeleteFunc(iss.keys, func(k signingKey) bool { return k.kid == kid })
}

// ActiveKeyID is the kid new tokens are signed with.
func (iss *Issuer) ActiveKeyID() string {
	iss.mu.Lock()
	defer iss.mu.Unlock()
	return iss.active.kid
}

// PublicKeyPEM is the active key's public half as PEM (PKIX), the bytes an
// attacker would use as an HMAC secret.
func (iss *Issuer) PublicKeyPEM(t testing.TB) []byte {
	t.Helper()
	iss.mu.Lock()
	pub := iss.active.priv.Public()
	iss.mu.Unlock()
	der, err := x509.MarshalPKIXPublicKey(pub)
	if err != nil {
		t.Fatalf("authtest: marshal public key: %v", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PUBLIC KEY", Bytes: der})
}

func (iss *Issuer) now() time.Time {
	if iss.Now != nil {
		return iss.Now()
	}
	return time.Now()
}

func b64(b []byte) string { return base64.RawURLEncoding.EncodeToString(b) }
