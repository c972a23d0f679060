package identity

import (
	"bytes"
	"crypto/rand"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"net/url"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"

	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// jwtClock is a settable time source shared by the issuer and the validator.
type jwtClock struct {
	mu sync.Mutex
	t  time.Time
}

func newJWTClock() *jwtClock { return &jwtClock{t: time.Now().Truncate(time.Second)} }

func (c *jwtClock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *jwtClock) Advance(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// jwtSetup starts an issuer and a validator for it on a shared fake jwtClock.
func jwtSetup(t testing.TB, edit func(*JWTConfig)) (*authtest.Issuer, *JWTAuthenticator, *jwtClock) {
	t.Helper()
	iss := authtest.NewIssuer(t)
	clk := newJWTClock()
	iss.Now = clk.Now
	cfg := JWTConfig{
		Issuer:    iss.URL(),
		Audiences: []string{authtest.Audience},
		Tenants:   []string{authtest.TenantID},
		Now:       clk.Now,
	}
	if edit != nil {
		edit(&cfg)
	}
	a, err := NewJWT(t.Context(), cfg)
	if err != nil {
		t.Fatalf("NewJWT: %v", err)
	}
	return iss, a, clk
}

func jwtRequest(token string) *http.Request {
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	r.Header.Set("Authorization", "Bearer "+token)
	return r
}

// jwtWantReject fails unless err is a RejectError with the reason.
func jwtWantReject(t *testing.T, err error, reason string) {
	t.Helper()
	var re *RejectError
	if !errors.As(err, &re) {
		t.Fatalf("got %v, want rejection %q", err, reason)
	}
	if re.Reason != reason {
		t.Fatalf("rejected with %q, want %q", re.Reason, reason)
	}
}

func TestJWTIdentityFromDelegatedToken(t *testing.T) {
	t.Parallel()
	iss, a, _ := jwtSetup(t, nil)
	tok := iss.Mint(t, authtest.Claims{Roles: []string{"Snippets.Read", "Snippets.Write"}, Scope: "user_impersonation other"})
	id, err := a.Authenticate(jwtRequest(tok))
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	want := Identity{
		TenantID: authtest.TenantID,
		ObjectID: authtest.ObjectID,
		Name:     authtest.Name,
		ClientID: authtest.ClientID,
		Scopes:   []string{"user_impersonation", "other"},
		Roles:    []string{"Snippets.Read", "Snippets.Write"},
		Method:   MethodJWT,
	}
	got := *id
	got.bearerToken = ""
	if got.TenantID != want.TenantID || got.ObjectID != want.ObjectID || got.Name != want.Name ||
		got.ClientID != want.ClientID || !slices.Equal(got.Scopes, want.Scopes) ||
		!slices.Equal(got.Roles, want.Roles) || got.Method != want.Method || got.AppOnly {
		t.Fatalf("identity = %+v, want %+v", got, want)
	}
	if id.BearerToken() != tok {
		t.Fatal("identity does not carry the validated token for on-behalf-of")
	}
}

func TestJWTIdentityFromAppOnlyToken(t *testing.T) {
	t.Parallel()
	iss, a, _ := jwtSetup(t, nil)
	tok := iss.Mint(t, authtest.Claims{
		AppOnly: true,
		Roles:   []string{"Snippets.Read"},
		// v1-style client id and a UPN instead of a display name.
		Extra: map[string]any{"azp": nil, "appid": "agent-app", "name": nil, "preferred_username": "svc@example.test"},
	})
	id, err := a.Authenticate(jwtRequest(tok))
	if err != nil {
		t.Fatalf("Authenticate: %v", err)
	}
	if !id.AppOnly || id.Scopes != nil || id.ClientID != "agent-app" || id.Name != "svc@example.test" || !id.HasRole("Snippets.Read") {
		t.Fatalf("identity = %+v", id)
	}
}

func TestJWTCredentialsOutsideTheHeaderAreIgnored(t *testing.T) {
	t.Parallel()
	iss, a, _ := jwtSetup(t, nil)
	tok := iss.Mint(t, authtest.Claims{})

	query := httptest.NewRequest(http.MethodPost, "/mcp?access_token="+url.QueryEscape(tok), nil)
	form := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader("access_token="+url.QueryEscape(tok)))
	form.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	basic := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	basic.SetBasicAuth("user", tok)
	for name, r := range map[string]*http.Request{"none": httptest.NewRequest(http.MethodPost, "/mcp", nil), "query": query, "form": form, "basic": basic} {
		if _, err := a.Authenticate(r); !errors.Is(err, ErrNoCredentials) {
			t.Errorf("%s: got %v, want ErrNoCredentials", name, err)
		}
	}
	if form.Form != nil {
		t.Error("Authenticate parsed the form body")
	}
}

func TestJWTHeaderSyntax(t *testing.T) {
	t.Parallel()
	iss, a, _ := jwtSetup(t, nil)
	tok := iss.Mint(t, authtest.Claims{})

	for _, h := range []string{"bearer " + tok, "BEARER " + tok, "Bearer   " + tok} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", h)
		if _, err := a.Authenticate(r); err != nil {
			t.Errorf("%.10q: %v", h, err)
		}
	}
	for h, reason := range map[string]string{
		"Bearer":               jwtReasonMalformed,
		"Bearer ":              jwtReasonMalformed,
		"Bearer not-a-jwt":     jwtReasonMalformed,
		"Bearer " + tok + "=":  jwtReasonMalformed,
		"Bearer " + tok + " x": jwtReasonMalformed,
		"Bearer a.b.c":         jwtReasonMalformed,
		"Bearer " + strings.Repeat("a", 1+jwtMaxTokenBytes): jwtReasonTooLarge,
	} {
		r := httptest.NewRequest(http.MethodGet, "/", nil)
		r.Header.Set("Authorization", h)
		_, err := a.Authenticate(r)
		jwtWantReject(t, err, reason)
	}

	two := jwtRequest(tok)
	two.Header.Add("Authorization", "Bearer "+tok)
	_, err := a.Authenticate(two)
	jwtWantReject(t, err, jwtReasonMultipleHeaders)
}

func TestJWTRejections(t *testing.T) {
	t.Parallel()
	iss, a, clk := jwtSetup(t, nil)
	stranger := authtest.NewIssuer(t) // same claims, keys nobody published here
	stranger.Now = clk.Now
	now := clk.Now()
	const otherTenant = "0a0a0a0a-1b1b-4c2c-8d3d-4e4e4e4e4e4e"

	valid := iss.Mint(t, authtest.Claims{Roles: []string{"Snippets.Read"}})
	cases := []struct {
		name, token, reason string
	}{
		{"expired", iss.Mint(t, authtest.Claims{IssuedAt: now.Add(-2 * time.Hour), NotBefore: now.Add(-2 * time.Hour), Expiry: now.Add(-time.Hour)}), jwtReasonExpired},
		{"expired beyond skew", iss.Mint(t, authtest.Claims{Expiry: now.Add(-DefaultJWTSkew - time.Second)}), jwtReasonExpired},
		{"no expiry", iss.Mint(t, authtest.Claims{Extra: map[string]any{"exp": nil}}), jwtReasonNoExpiry},
		{"not yet valid", iss.Mint(t, authtest.Claims{NotBefore: now.Add(10 * time.Minute)}), jwtReasonNotYetValid},
		{"issued in the future", iss.Mint(t, authtest.Claims{IssuedAt: now.Add(10 * time.Minute)}), jwtReasonNotYetValid},
		{"wrong audience", iss.Mint(t, authtest.Claims{Audience: []string{"api://someone-else"}}), jwtReasonAudience},
		{"wrong issuer", iss.Mint(t, authtest.Claims{Issuer: iss.TenantURL(otherTenant)}), jwtReasonIssuer},
		{"issuer with trailing slash", iss.Mint(t, authtest.Claims{Issuer: iss.URL() + "/"}), jwtReasonIssuer},
		{"entra v1 issuer", iss.Mint(t, authtest.Claims{Issuer: "https://sts.windows.net/" + authtest.TenantID + "/"}), jwtReasonIssuer},
		{"wrong tenant", iss.Mint(t, authtest.Claims{TenantID: otherTenant}), jwtReasonTenant},
		{"no tid", iss.Mint(t, authtest.Claims{Extra: map[string]any{"tid": nil}}), jwtReasonSubject},
		{"no oid", iss.Mint(t, authtest.Claims{Extra: map[string]any{"oid": nil}}), jwtReasonSubject},
		{"roles not an array", iss.Mint(t, authtest.Claims{Extra: map[string]any{"roles": "Snippets.Delete"}}), jwtReasonClaims},
		{"alg none", iss.NoneToken(t, authtest.Claims{}), jwtReasonAlgorithm},
		{"HS256 with the public key", iss.HS256WithPublicKey(t, authtest.Claims{}), jwtReasonAlgorithm},
		{"unknown kid", stranger.Mint(t, authtest.Claims{Issuer: iss.URL()}), jwtReasonUnknownKey},
		{"our kid, stranger's signature", stranger.MintWith(t, authtest.Header{KeyID: iss.ActiveKeyID()}, authtest.Claims{Issuer: iss.URL()}), jwtReasonSignature},
		{"tampered payload", authtest.Tamper(t, valid, func(c map[string]any) { c["roles"] = []string{"Snippets.Read", "Snippets.Delete"} }), jwtReasonSignature},
		{"tampered signature", valid[:len(valid)-4] + "AAAA", jwtReasonSignature},
		{"ES256 header on an RSA key", iss.Forge(t, map[string]any{"alg": "ES256", "kid": iss.ActiveKeyID()}, authtest.Claims{}, make([]byte, 64)), jwtReasonKeyMismatch},
		{"typ of an id token", iss.MintWith(t, authtest.Header{Type: "id+jwt"}, authtest.Claims{}), jwtReasonType},
		{"typ not a string", iss.Forge(t, map[string]any{"alg": "RS256", "typ": 7, "kid": iss.ActiveKeyID()}, authtest.Claims{}, make([]byte, 256)), jwtReasonType},
	}
	for _, c := range cases {
		_, err := a.Authenticate(jwtRequest(c.token))
		t.Run(c.name, func(t *testing.T) {
			jwtWantReject(t, err, c.reason)
			if strings.Contains(err.Error(), strings.Split(c.token, ".")[1]) {
				t.Fatal("rejection echoes the token")
			}
		})
	}
	// The good token still works after all that.
	if _, err := a.Authenticate(jwtRequest(valid)); err != nil {
		t.Fatalf("valid token: %v", err)
	}
}

func TestJWTAcceptedVariants(t *testing.T) {
	t.Parallel()
	iss, a, clk := jwtSetup(t, func(c *JWTConfig) { c.Audiences = []string{"first", authtest.Audience} })
	now := clk.Now()
	for name, tok := range map[string]string{
		"expired within skew":     iss.Mint(t, authtest.Claims{Expiry: now.Add(-DefaultJWTSkew / 2)}),
		"nbf within skew":         iss.Mint(t, authtest.Claims{NotBefore: now.Add(DefaultJWTSkew / 2)}),
		"audience array":          iss.Mint(t, authtest.Claims{Audience: []string{"nobody", authtest.Audience}}),
		"no typ":                  iss.MintWith(t, authtest.Header{Type: authtest.NoType}, authtest.Claims{}),
		"typ at+jwt":              iss.MintWith(t, authtest.Header{Type: "at+JWT"}, authtest.Claims{}),
		"no kid, single key":      iss.MintWith(t, authtest.Header{OmitKeyID: true}, authtest.Claims{}),
		"no nbf, no iat":          iss.Mint(t, authtest.Claims{Extra: map[string]any{"nbf": nil, "iat": nil}}),
		"fractional numeric date": iss.Mint(t, authtest.Claims{Extra: map[string]any{"exp": float64(now.Add(time.Hour).Unix()) + 0.5}}),
	} {
		if _, err := a.Authenticate(jwtRequest(tok)); err != nil {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestJWTOtherAlgorithms(t *testing.T) {
	t.Parallel()
	iss, a, clk := jwtSetup(t, nil)
	for _, alg := range []jose.SignatureAlgorithm{jose.PS256, jose.ES256, jose.ES384, jose.RS512} {
		iss.RotateTo(alg)
		clk.Advance(DefaultKeyRefreshInterval) // let the new kid be fetched
		if _, err := a.Authenticate(jwtRequest(iss.Mint(t, authtest.Claims{}))); err != nil {
			t.Errorf("%s: %v", alg, err)
		}
	}
	// With several keys published, a token must say which one.
	_, err := a.Authenticate(jwtRequest(iss.MintWith(t, authtest.Header{OmitKeyID: true}, authtest.Claims{})))
	jwtWantReject(t, err, jwtReasonNoKeyID)
}

func TestJWTKeyRotation(t *testing.T) {
	t.Parallel()
	iss, a, clk := jwtSetup(t, nil)
	if got := iss.JWKSHits(); got != 1 {
		t.Fatalf("JWKS fetched %d times at start, want 1", got)
	}
	old := iss.Mint(t, authtest.Claims{})
	iss.Rotate()
	fresh := iss.Mint(t, authtest.Claims{})

	// Inside the refresh interval the new kid is unknown and the issuer is
	// not asked again.
	_, err := a.Authenticate(jwtRequest(fresh))
	jwtWantReject(t, err, jwtReasonUnknownKey)
	if got := iss.JWKSHits(); got != 1 {
		t.Fatalf("JWKS fetched %d times, want 1 (refresh is rate-limited)", got)
	}

	clk.Advance(DefaultKeyRefreshInterval)
	if _, err := a.Authenticate(jwtRequest(fresh)); err != nil {
		t.Fatalf("after refresh: %v", err)
	}
	if got := iss.JWKSHits(); got != 2 {
		t.Fatalf("JWKS fetched %d times, want 2", got)
	}
	if _, err := a.Authenticate(jwtRequest(old)); err != nil {
		t.Fatalf("old key still published: %v", err)
	}
}

func TestJWTBogusKidFloodIsRateLimited(t *testing.T) {
	t.Parallel()
	iss, a, clk := jwtSetup(t, nil)
	flood := func() {
		var wg sync.WaitGroup
		for range 50 {
			wg.Go(func() {
				kid := make([]byte, 12)
				rand.Read(kid)
				tok := iss.Forge(t, map[string]any{"alg": "RS256", "kid": string(kid)}, authtest.Claims{}, make([]byte, 256))
				_, err := a.Authenticate(jwtRequest(tok))
				var re *RejectError
				if !errors.As(err, &re) || re.Reason != jwtReasonUnknownKey {
					t.Errorf("bogus kid: %v", err)
				}
			})
		}
		wg.Wait()
	}
	flood()
	if got := iss.JWKSHits(); got != 1 {
		t.Fatalf("JWKS fetched %d times within the interval, want 1", got)
	}
	clk.Advance(DefaultKeyRefreshInterval)
	flood()
	if got := iss.JWKSHits(); got != 2 {
		t.Fatalf("JWKS fetched %d times after one interval, want 2", got)
	}
	if got := a.keys.Load().fetchCount(); got != 2 {
		t.Fatalf("validator fetched %d times, want 2", got)
	}
}

func TestJWTStaleKeysAreRefetched(t *testing.T) {
	t.Parallel()
	var logs bytes.Buffer
	iss, a, clk := jwtSetup(t, func(c *JWTConfig) {
		c.CacheSize = -1
		c.Logger = slog.New(slog.NewTextHandler(&logs, nil))
	})
	tok := iss.Mint(t, authtest.Claims{Expiry: clk.Now().Add(3 * time.Hour)})
	if _, err := a.Authenticate(jwtRequest(tok)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(DefaultKeyMaxAge)
	if _, err := a.Authenticate(jwtRequest(tok)); err != nil {
		t.Fatal(err)
	}
	if got := iss.JWKSHits(); got != 2 {
		t.Fatalf("JWKS fetched %d times, want 2 (stale set refetched on use)", got)
	}

	// An issuer outage does not lock out holders of known keys...
	iss.SetDown(true)
	clk.Advance(DefaultKeyMaxAge)
	if _, err := a.Authenticate(jwtRequest(tok)); err != nil {
		t.Fatalf("stale keys during outage: %v", err)
	}
	if !strings.Contains(logs.String(), "key set refresh failed") || strings.Contains(logs.String(), strings.Split(tok, ".")[1]) {
		t.Fatalf("outage not logged, or logged with the token: %s", logs.String())
	}
	// ...but a new kid cannot be checked: that is the server's problem, not
	// the caller's, so it is not a rejection.
	iss.Rotate()
	clk.Advance(DefaultKeyRefreshInterval)
	_, err := a.Authenticate(jwtRequest(iss.Mint(t, authtest.Claims{})))
	var re *RejectError
	if err == nil || errors.As(err, &re) || errors.Is(err, ErrNoCredentials) || !errors.Is(err, errJWKSUnavailable) {
		t.Fatalf("unknown kid during outage: %v, want a keys-unavailable error", err)
	}
}

func TestJWTVerificationCache(t *testing.T) {
	t.Parallel()
	iss, a, clk := jwtSetup(t, func(c *JWTConfig) { c.KeyMaxAge = 5 * time.Minute })
	exp := clk.Now().Add(3 * time.Hour)
	cached := iss.Mint(t, authtest.Claims{Expiry: exp})
	unused := iss.Mint(t, authtest.Claims{Expiry: exp, ObjectID: "another-user"})

	for range 3 {
		if _, err := a.Authenticate(jwtRequest(cached)); err != nil {
			t.Fatal(err)
		}
	}
	if got := a.verifications.Load(); got != 1 {
		t.Fatalf("%d signature checks for one token used three times, want 1", got)
	}

	// Withdraw the signing key. Once the key set is refetched a token never
	// seen before fails, while the cached one passes without a signature check.
	oldKid := iss.ActiveKeyID()
	iss.Rotate()
	iss.Retire(oldKid)
	clk.Advance(6 * time.Minute)
	_, err := a.Authenticate(jwtRequest(unused))
	jwtWantReject(t, err, jwtReasonUnknownKey)
	if _, err := a.Authenticate(jwtRequest(cached)); err != nil {
		t.Fatalf("cached token: %v", err)
	}
	if got := a.verifications.Load(); got != 1 {
		t.Fatalf("%d signature checks, want 1", got)
	}

	// The cache never outlives its maximum age.
	clk.Advance(DefaultJWTCacheMaxAge)
	_, err = a.Authenticate(jwtRequest(cached))
	jwtWantReject(t, err, jwtReasonUnknownKey)
}

func TestJWTCacheHonoursExpiry(t *testing.T) {
	t.Parallel()
	iss, a, clk := jwtSetup(t, nil)
	tok := iss.Mint(t, authtest.Claims{Expiry: clk.Now().Add(2 * time.Minute)})
	if _, err := a.Authenticate(jwtRequest(tok)); err != nil {
		t.Fatal(err)
	}
	clk.Advance(2*time.Minute + DefaultJWTSkew)
	_, err := a.Authenticate(jwtRequest(tok))
	jwtWantReject(t, err, jwtReasonExpired)
}

func TestJWTFailuresAreNotCached(t *testing.T) {
	t.Parallel()
	iss, a, _ := jwtSetup(t, nil)
	// Good signature, bad claims: verified each time, rejected each time.
	wrongAud := iss.Mint(t, authtest.Claims{Audience: []string{"api://else"}})
	tampered := authtest.Tamper(t, iss.Mint(t, authtest.Claims{}), func(c map[string]any) { c["oid"] = "victim" })
	for range 2 {
		_, err := a.Authenticate(jwtRequest(wrongAud))
		jwtWantReject(t, err, jwtReasonAudience)
		_, err = a.Authenticate(jwtRequest(tampered))
		jwtWantReject(t, err, jwtReasonSignature)
	}
	if got := a.verifications.Load(); got != 4 {
		t.Fatalf("%d signature checks, want 4 (failures are never cached)", got)
	}
	if n := a.cache.len(); n != 0 {
		t.Fatalf("cache holds %d entries after failures only", n)
	}
}

func TestJWTCacheIsBounded(t *testing.T) {
	t.Parallel()
	iss, a, _ := jwtSetup(t, func(c *JWTConfig) { c.CacheSize = 3 })
	for i := range 6 {
		tok := iss.Mint(t, authtest.Claims{ObjectID: strings.Repeat("x", i+1)})
		if _, err := a.Authenticate(jwtRequest(tok)); err != nil {
			t.Fatal(err)
		}
		if n := a.cache.len(); n > 3 {
			t.Fatalf("cache grew to %d entries, bound is 3", n)
		}
	}
}

func TestJWTCachedIdentityCannotBeChanged(t *testing.T) {
	t.Parallel()
	iss, a, _ := jwtSetup(t, nil)
	tok := iss.Mint(t, authtest.Claims{Roles: []string{"Snippets.Read"}})
	id, err := a.Authenticate(jwtRequest(tok))
	if err != nil {
		t.Fatal(err)
	}
	// The lists share one allocation: an append to one never reaches the next.
	for range 2 {
		_ = append(id.Scopes, "Snippets.Approve")
		if id.HasRole("Snippets.Approve") {
			t.Fatal("an append to the scopes changed the roles")
		}
		if id, err = a.Authenticate(jwtRequest(tok)); err != nil { // the second round from the cache
			t.Fatal(err)
		}
	}
	id.Roles[0] = "Snippets.Approve"
	again, err := a.Authenticate(jwtRequest(tok))
	if err != nil {
		t.Fatal(err)
	}
	if again.HasRole("Snippets.Approve") {
		t.Fatal("a caller changed the cached identity")
	}
}

func TestJWTMultiTenantIssuer(t *testing.T) {
	t.Parallel()
	const second, third = "22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333"
	iss := authtest.NewIssuer(t)
	cfg := JWTConfig{Issuer: iss.MultiTenantURL(), Audiences: []string{authtest.Audience}}
	if _, err := NewJWT(t.Context(), cfg); err == nil || !strings.Contains(err.Error(), "tenants must be listed") {
		t.Fatalf("placeholder without tenants: %v", err)
	}
	cfg.Tenants = []string{authtest.TenantID, second}
	a, err := NewJWT(t.Context(), cfg)
	if err != nil {
		t.Fatalf("NewJWT: %v", err)
	}
	for _, tid := range cfg.Tenants {
		id, err := a.Authenticate(jwtRequest(iss.Mint(t, authtest.Claims{TenantID: tid, Issuer: iss.TenantURL(tid)})))
		if err != nil || id.TenantID != tid {
			t.Fatalf("tenant %s: %v", tid, err)
		}
	}
	_, err = a.Authenticate(jwtRequest(iss.Mint(t, authtest.Claims{TenantID: third, Issuer: iss.TenantURL(third)})))
	jwtWantReject(t, err, jwtReasonTenant)
	// An allowed tid does not make another tenant's issuer acceptable.
	_, err = a.Authenticate(jwtRequest(iss.Mint(t, authtest.Claims{TenantID: second, Issuer: iss.URL()})))
	jwtWantReject(t, err, jwtReasonIssuer)
	_, err = a.Authenticate(jwtRequest(iss.Mint(t, authtest.Claims{TenantID: second, Issuer: iss.MultiTenantURL()})))
	jwtWantReject(t, err, jwtReasonIssuer)
}

// TestJWTTokenKinds: app-only is idtyp=app, or (without idtyp) oid = sub and
// no scp; a user's token must carry delegated scopes; ID tokens and tokens
// naming no client are not access tokens.
func TestJWTTokenKinds(t *testing.T) {
	t.Parallel()
	// The API's client id is an accepted audience (as README advises), so an
	// ID token issued to that client gets past the audience check.
	iss, a, _ := jwtSetup(t, func(c *JWTConfig) { c.Audiences = []string{authtest.Audience, authtest.ClientID} })
	writer := []string{"Snippets.Write", "Snippets.Approve"}
	v1 := map[string]any{"azp": nil, "appid": "agent-v1"}
	cases := []struct {
		name    string
		claims  authtest.Claims
		reason  string // "" means accepted
		appOnly bool
	}{
		{name: "user with scp", claims: authtest.Claims{Roles: writer}},
		{name: "user with idtyp user", claims: authtest.Claims{IDType: "user"}},
		{name: "v1 user with appid", claims: authtest.Claims{Extra: v1}},
		{name: "no idtyp, oid equals sub, with scp", claims: authtest.Claims{Subject: authtest.ObjectID}},
		{name: "app with idtyp app", claims: authtest.Claims{AppOnly: true, Roles: writer}, appOnly: true},
		{name: "app without idtyp, oid equals sub", claims: authtest.Claims{AppOnly: true, IDType: authtest.NoIDType, Roles: writer}, appOnly: true},
		{name: "v1 app without idtyp", claims: authtest.Claims{AppOnly: true, IDType: authtest.NoIDType, Extra: v1}, appOnly: true},

		{name: "idtyp user without scp", claims: authtest.Claims{NoScope: true, IDType: "user", Roles: writer}, reason: reasonNoScopes},
		{name: "user without scp or idtyp", claims: authtest.Claims{NoScope: true, Roles: writer}, reason: reasonNoScopes},
		{name: "user with empty scp", claims: authtest.Claims{Roles: writer, Extra: map[string]any{"scp": " "}}, reason: reasonNoScopes},
		{name: "app without idtyp, sub not oid", claims: authtest.Claims{AppOnly: true, IDType: authtest.NoIDType, Subject: "someone", Roles: writer}, reason: reasonNoScopes},
		{name: "ID token with roles", claims: authtest.Claims{IDToken: true, Roles: writer}, reason: reasonIDToken},
		{name: "ID token for the API audience", claims: authtest.Claims{IDToken: true, Audience: []string{authtest.Audience}, Roles: writer}, reason: reasonIDToken},
		{name: "access token with nonce", claims: authtest.Claims{Extra: map[string]any{"nonce": "abc"}}, reason: reasonIDToken},
		{name: "app token with null nonce", claims: authtest.Claims{AppOnly: true, Roles: writer, Extra: map[string]any{"nonce": json.RawMessage("null")}}, reason: reasonIDToken},
		{name: "access token with at_hash", claims: authtest.Claims{Extra: map[string]any{"at_hash": "x"}}, reason: reasonIDToken},
		{name: "access token with c_hash", claims: authtest.Claims{AppOnly: true, Roles: writer, Extra: map[string]any{"c_hash": "x"}}, reason: reasonIDToken},
		{name: "no azp or appid", claims: authtest.Claims{Extra: map[string]any{"azp": nil}}, reason: reasonNoClient},
		{name: "app with empty azp", claims: authtest.Claims{AppOnly: true, Roles: writer, Extra: map[string]any{"azp": ""}}, reason: reasonNoClient},
		{name: "idtyp device", claims: authtest.Claims{IDType: "device"}, reason: reasonIDType},
		{name: "idtyp empty", claims: authtest.Claims{AppOnly: true, Roles: writer, Extra: map[string]any{"idtyp": ""}}, reason: reasonIDType},
		{name: "idtyp App in another case", claims: authtest.Claims{NoScope: true, IDType: "App", Roles: writer}, reason: reasonIDType},
		{name: "idtyp app with scp", claims: authtest.Claims{AppOnly: true, Roles: writer, Extra: map[string]any{"scp": "user_impersonation"}}, reason: reasonAppScopes},
		{name: "idtyp not a string", claims: authtest.Claims{Extra: map[string]any{"idtyp": 1}}, reason: jwtReasonClaims},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := a.Authenticate(jwtRequest(iss.Mint(t, c.claims)))
			if c.reason != "" {
				jwtWantReject(t, err, c.reason)
				return
			}
			if err != nil {
				t.Fatalf("got %v, want accepted", err)
			}
			if id.AppOnly != c.appOnly {
				t.Fatalf("AppOnly = %v, want %v", id.AppOnly, c.appOnly)
			}
			if c.appOnly && id.Scopes != nil {
				t.Fatalf("app-only identity has scopes %v", id.Scopes)
			}
		})
	}
}

// TestJWTCacheHitsOnlyTheSameBytes: once a token is cached, a token that
// differs from it in any byte is checked in full (its bytes too, which the
// cached path skips), and only the same bytes are served from the cache.
func TestJWTCacheHitsOnlyTheSameBytes(t *testing.T) {
	t.Parallel()
	iss, a, _ := jwtSetup(t, nil)
	tok := iss.Mint(t, authtest.Claims{})
	if _, err := a.Authenticate(jwtRequest(tok)); err != nil {
		t.Fatal(err)
	}
	// Another base64url character in the middle of the signature (the last
	// one carries padding bits, which decoding may ignore).
	i := len(tok) - 10
	other := tok[:i] + map[bool]string{true: "A", false: "B"}[tok[i] != 'A'] + tok[i+1:]
	for _, c := range []struct {
		name, token, reason string
	}{
		{"a byte no token has, appended", tok + "!", jwtReasonMalformed},
		{"a space inside", tok[:10] + " " + tok[10:], jwtReasonMalformed},
		{"a non-ASCII byte in place of one", tok[:20] + "\xc3" + tok[21:], jwtReasonMalformed},
		{"a signature byte changed", other, jwtReasonSignature},
	} {
		_, err := a.Authenticate(jwtRequest(c.token))
		if re := (*RejectError)(nil); !errors.As(err, &re) || re.Reason != c.reason {
			t.Errorf("%s: %v, want %q", c.name, err, c.reason)
		}
	}
	if _, err := a.Authenticate(jwtRequest(tok)); err != nil {
		t.Fatalf("the cached token: %v", err)
	}
	if got := a.verifications.Load(); got != 2 {
		t.Fatalf("%d signature checks, want 2 (the token once, the changed signature once)", got)
	}
}
