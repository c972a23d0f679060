package authtest_test

import (
	"crypto/ecdsa"
	"crypto/rsa"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"net/http"
	"reflect"
	"runtime"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// getJSON fetches url and decodes its JSON answer into v; it returns the status.
func getJSON(t *testing.T, url string, v any) int {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatalf("GET %s: %v", url, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode == http.StatusOK {
		if ct := resp.Header.Get("Content-Type"); ct != "application/json" {
			t.Errorf("GET %s: Content-Type %q, want application/json", url, ct)
		}
		if err := json.NewDecoder(resp.Body).Decode(v); err != nil {
			t.Fatalf("GET %s: %v", url, err)
		}
	}
	return resp.StatusCode
}

// jwks fetches the issuer's published key set.
func jwks(t *testing.T, iss *authtest.Issuer) *jose.JSONWebKeySet {
	t.Helper()
	var set jose.JSONWebKeySet
	if status := getJSON(t, iss.JWKSURL(), &set); status != http.StatusOK {
		t.Fatalf("JWKS: status %d", status)
	}
	return &set
}

var signingAlgs = []jose.SignatureAlgorithm{jose.RS256, jose.RS384, jose.RS512, jose.PS256, jose.PS384, jose.PS512, jose.ES256, jose.ES384, jose.ES512}

// verify checks token against the published keys as a validator would:
// the kid picks the key. It returns the header and the claims.
func verify(t *testing.T, iss *authtest.Issuer, token string) (jose.Header, map[string]any) {
	t.Helper()
	tok, err := jwt.ParseSigned(token, signingAlgs)
	if err != nil {
		t.Fatalf("parse: %v", err)
	}
	h := tok.Headers[0]
	keys := jwks(t, iss).Key(h.KeyID)
	if len(keys) != 1 {
		t.Fatalf("kid %q: %d published keys, want 1", h.KeyID, len(keys))
	}
	var claims map[string]any
	if err := tok.Claims(keys[0].Key, &claims); err != nil {
		t.Fatalf("signature does not verify with the published key: %v", err)
	}
	return h, claims
}

func TestDiscovery(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	base := strings.TrimSuffix(iss.URL(), "/"+authtest.TenantID+"/v2.0")
	cases := []struct {
		tenant     string
		wantIssuer string
	}{
		{authtest.TenantID, iss.URL()},
		{"other-tenant", iss.TenantURL("other-tenant")},
		{"organizations", iss.MultiTenantURL()},
		{"common", iss.MultiTenantURL()},
	}
	for _, c := range cases {
		t.Run(c.tenant, func(t *testing.T) {
			t.Parallel()
			var doc map[string]any
			if status := getJSON(t, base+"/"+c.tenant+"/v2.0/.well-known/openid-configuration", &doc); status != http.StatusOK {
				t.Fatalf("status %d, want 200", status)
			}
			if doc["issuer"] != c.wantIssuer {
				t.Errorf("issuer %v, want %q", doc["issuer"], c.wantIssuer)
			}
			if doc["jwks_uri"] != iss.JWKSURL() {
				t.Errorf("jwks_uri %v, want %q", doc["jwks_uri"], iss.JWKSURL())
			}
		})
	}
	if got, want := iss.MultiTenantURL(), base+"/{tenantid}/v2.0"; got != want {
		t.Errorf("MultiTenantURL() = %q, want %q", got, want)
	}
	if got, want := iss.JWKSURL(), base+"/discovery/v2.0/keys"; got != want {
		t.Errorf("JWKSURL() = %q, want %q", got, want)
	}
}

func TestSetDown(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	discovery := iss.URL() + "/.well-known/openid-configuration"
	steps := []struct {
		name string
		down bool
		want int
	}{
		{"up", false, http.StatusOK},
		{"down", true, http.StatusServiceUnavailable},
		{"up again", false, http.StatusOK},
	}
	var hits int64
	for _, s := range steps { // in order
		t.Run(s.name, func(t *testing.T) {
			iss.SetDown(s.down)
			for _, url := range []string{discovery, iss.JWKSURL()} {
				var v any
				if got := getJSON(t, url, &v); got != s.want {
					t.Errorf("GET %s: %d, want %d", url, got, s.want)
				}
			}
			// Key set requests count whether or not they are answered.
			hits++
			if got := iss.JWKSHits(); got != hits {
				t.Errorf("JWKSHits() = %d, want %d", got, hits)
			}
		})
	}
}

// Rotation publishes the new key next to the old; Retire withdraws one.
func TestKeys(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	first := iss.ActiveKeyID()
	kids := func() []string {
		var out []string
		for _, k := range jwks(t, iss).Keys {
			if k.Use != "sig" || !k.IsPublic() {
				t.Errorf("kid %s: use %q, public %v; want a public signing key", k.KeyID, k.Use, k.IsPublic())
			}
			out = append(out, k.KeyID)
		}
		return out
	}
	if got := kids(); !reflect.DeepEqual(got, []string{first}) {
		t.Fatalf("initial keys %q, want [%s]", got, first)
	}
	oldToken := iss.Mint(t, authtest.Claims{})
	second := iss.Rotate()
	if second == first || iss.ActiveKeyID() != second {
		t.Fatalf("Rotate() = %q, active %q; want a new active kid (old %q)", second, iss.ActiveKeyID(), first)
	}
	if got := kids(); !reflect.DeepEqual(got, []string{first, second}) {
		t.Errorf("keys after Rotate %q, want [%s %s]", got, first, second)
	}
	if h, _ := verify(t, iss, iss.Mint(t, authtest.Claims{})); h.KeyID != second {
		t.Errorf("new token kid %q, want %q", h.KeyID, second)
	}
	if h, _ := verify(t, iss, oldToken); h.KeyID != first {
		t.Errorf("old token kid %q, want %q", h.KeyID, first)
	}
	iss.Retire(first)
	if got := kids(); !reflect.DeepEqual(got, []string{second}) {
		t.Errorf("keys after Retire %q, want [%s]", got, second)
	}
	if keys := jwks(t, iss).Key(first); len(keys) != 0 {
		t.Errorf("retired kid %q still published", first)
	}
}

// Every algorithm RotateTo takes signs tokens that verify with the
// published key of the matching type.
func TestRotateTo(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)      // one issuer: keys are slow to make under -race
	for _, alg := range signingAlgs { // in order: each rotates the shared issuer
		t.Run(string(alg), func(t *testing.T) {
			kid := iss.RotateTo(alg)
			h, claims := verify(t, iss, iss.Mint(t, authtest.Claims{}))
			if h.Algorithm != string(alg) || h.KeyID != kid {
				t.Errorf("header alg %s kid %s, want %s %s", h.Algorithm, h.KeyID, alg, kid)
			}
			if claims["oid"] != authtest.ObjectID {
				t.Errorf("oid %v, want %s", claims["oid"], authtest.ObjectID)
			}
			key := jwks(t, iss).Key(kid)[0].Key
			switch {
			case strings.HasPrefix(string(alg), "ES"):
				if _, ok := key.(*ecdsa.PublicKey); !ok {
					t.Errorf("published key %T, want ECDSA", key)
				}
			default:
				if k, ok := key.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
					t.Errorf("published key %T, want RSA 2048", key)
				}
			}
		})
	}
	t.Run("HS256 panics", func(t *testing.T) {
		before := iss.ActiveKeyID()
		defer func() {
			if r := recover(); r == nil || !strings.Contains(fmt.Sprint(r), "HS256") {
				t.Errorf("recovered %v, want a panic naming HS256", r)
			}
			if got := iss.ActiveKeyID(); got != before {
				t.Errorf("active kid %q after the panic, want %q unchanged", got, before)
			}
		}()
		iss.RotateTo(jose.HS256)
	})
}

// The claims Mint puts in, with defaults and every option.
func TestClaimsMap(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	now := time.Unix(1_800_000_000, 0)
	iss.Now = func() time.Time { return now }
	base := map[string]any{
		"iss": iss.URL(), "aud": authtest.Audience, "tid": authtest.TenantID, "oid": authtest.ObjectID,
		"sub": authtest.PairwiseSubject(authtest.ObjectID), "name": authtest.Name, "azp": authtest.ClientID,
		"scp": authtest.Scope, "ver": "2.0", "iat": now.Unix(), "nbf": now.Unix(), "exp": now.Add(time.Hour).Unix(),
	}
	with := func(changes map[string]any) map[string]any {
		m := map[string]any{}
		for k, v := range base {
			m[k] = v
		}
		for k, v := range changes {
			if v == nil {
				delete(m, k)
			} else {
				m[k] = v
			}
		}
		return m
	}
	cases := []struct {
		name   string
		claims authtest.Claims
		want   map[string]any
	}{
		{"defaults", authtest.Claims{}, base},
		{"every field", authtest.Claims{
			Issuer: "https://other/v2.0", Audience: []string{"api://x"}, TenantID: "t2", ObjectID: "o2", Subject: "s2",
			Name: "N2", ClientID: "c2", Scope: "a b", Roles: []string{"Snippets.Admin"},
			IssuedAt: now.Add(-time.Minute), NotBefore: now.Add(time.Minute), Expiry: now.Add(2 * time.Hour),
		}, with(map[string]any{
			"iss": "https://other/v2.0", "aud": "api://x", "tid": "t2", "oid": "o2", "sub": "s2", "name": "N2", "azp": "c2",
			"scp": "a b", "roles": []string{"Snippets.Admin"}, "iat": now.Add(-time.Minute).Unix(),
			"nbf": now.Add(time.Minute).Unix(), "exp": now.Add(2 * time.Hour).Unix(),
		})},
		{"other oid: pairwise sub follows", authtest.Claims{ObjectID: "o3"}, with(map[string]any{"oid": "o3", "sub": authtest.PairwiseSubject("o3")})},
		{"two audiences", authtest.Claims{Audience: []string{"a1", "a2"}}, with(map[string]any{"aud": []string{"a1", "a2"}})},
		{"app only", authtest.Claims{AppOnly: true}, with(map[string]any{"scp": nil, "idtyp": "app", "sub": authtest.ObjectID})},
		{"app only without idtyp", authtest.Claims{AppOnly: true, IDType: authtest.NoIDType}, with(map[string]any{"scp": nil, "sub": authtest.ObjectID})},
		{"user with idtyp", authtest.Claims{IDType: "user"}, with(map[string]any{"idtyp": "user"})},
		{"no scope", authtest.Claims{NoScope: true, Roles: []string{"r"}}, with(map[string]any{"scp": nil, "roles": []string{"r"}})},
		{"ID token", authtest.Claims{IDToken: true}, with(map[string]any{
			"aud": authtest.ClientID, "azp": nil, "scp": nil, "nonce": "n-0S6_WzA2Mj", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ"})},
		{"ID token for another client", authtest.Claims{IDToken: true, ClientID: "c9"}, with(map[string]any{
			"aud": "c9", "azp": nil, "scp": nil, "nonce": "n-0S6_WzA2Mj", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ"})},
		{"ID token with an audience", authtest.Claims{IDToken: true, Audience: []string{"a"}}, with(map[string]any{
			"aud": "a", "azp": nil, "scp": nil, "nonce": "n-0S6_WzA2Mj", "at_hash": "77QmUPtjPfzWtF2AnpK9RQ"})},
		{"extra adds, replaces and removes", authtest.Claims{Extra: map[string]any{"scn": "mfa", "ver": "1.0", "oid": nil}},
			with(map[string]any{"scn": "mfa", "ver": "1.0", "oid": nil})},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := iss.ClaimsMap(c.claims); !reflect.DeepEqual(got, c.want) {
				t.Errorf("ClaimsMap =\n%v\nwant\n%v", got, c.want)
			}
		})
	}
}

// A minted token carries exactly the claims of ClaimsMap, signed with the
// active key, with the header asked for.
func TestMint(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	kid := iss.ActiveKeyID()
	cases := []struct {
		name             string
		header           authtest.Header
		wantTyp, wantKid string // "" means absent
	}{
		{"default header", authtest.Header{}, "JWT", kid},
		{"another typ", authtest.Header{Type: "at+jwt"}, "at+jwt", kid},
		{"no typ", authtest.Header{Type: authtest.NoType}, "", kid},
		{"another kid", authtest.Header{KeyID: "not-a-key"}, "JWT", "not-a-key"},
		{"no kid", authtest.Header{OmitKeyID: true, KeyID: "ignored"}, "JWT", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			claims := authtest.Claims{ObjectID: "o-" + c.name}
			token := iss.MintWith(t, c.header, claims)
			tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.RS256})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			h := tok.Headers[0]
			if typ, _ := h.ExtraHeaders[jose.HeaderType].(string); typ != c.wantTyp {
				t.Errorf("typ %q, want %q", typ, c.wantTyp)
			}
			if h.KeyID != c.wantKid {
				t.Errorf("kid %q, want %q", h.KeyID, c.wantKid)
			}
			key := jwks(t, iss).Key(kid)[0].Key
			var got map[string]any
			if err := tok.Claims(key, &got); err != nil {
				t.Fatalf("signature does not verify with the active key: %v", err)
			}
			want := roundTrip(t, iss.ClaimsMap(claims))
			// iat, nbf and exp are taken at minting; the rest is exact.
			for _, k := range []string{"iat", "nbf", "exp"} {
				delete(got, k)
				delete(want, k)
			}
			if !reflect.DeepEqual(got, want) {
				t.Errorf("claims %v, want %v", got, want)
			}
		})
	}
	t.Run("Mint is MintWith the default header", func(t *testing.T) {
		t.Parallel()
		h, claims := verify(t, iss, iss.Mint(t, authtest.Claims{Name: "M"}))
		if h.KeyID != kid || h.ExtraHeaders[jose.HeaderType] != "JWT" || claims["name"] != "M" {
			t.Errorf("kid %q typ %v name %v, want %q JWT M", h.KeyID, h.ExtraHeaders[jose.HeaderType], claims["name"], kid)
		}
	})
}

// roundTrip is v as JSON decodes it: numbers as float64, lists as []any.
func roundTrip(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

// parts splits a compact token and decodes its header and payload.
func parts(t *testing.T, token string) (header, payload map[string]any, sig []byte) {
	t.Helper()
	p := strings.Split(token, ".")
	if len(p) != 3 {
		t.Fatalf("%q: %d parts, want 3", token, len(p))
	}
	dec := func(s string, v any) {
		b, err := base64.RawURLEncoding.DecodeString(s)
		if err != nil {
			t.Fatalf("decode %q: %v", s, err)
		}
		if v != nil {
			if err := json.Unmarshal(b, v); err != nil {
				t.Fatalf("unmarshal %q: %v", b, err)
			}
		}
	}
	dec(p[0], &header)
	dec(p[1], &payload)
	sig, err := base64.RawURLEncoding.DecodeString(p[2])
	if err != nil {
		t.Fatalf("signature: %v", err)
	}
	return header, payload, sig
}

// The classic bad tokens: each is what it claims to be, and none verifies
// with the issuer's published key.
func TestBadTokens(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	kid := iss.ActiveKeyID()
	good := iss.Mint(t, authtest.Claims{})
	cases := []struct {
		name      string
		token     string
		wantAlg   string
		wantOID   string
		checkSign func(t *testing.T, token string)
	}{
		{"alg none", iss.NoneToken(t, authtest.Claims{}), "none", authtest.ObjectID, func(t *testing.T, token string) {
			if _, _, sig := parts(t, token); len(sig) != 0 {
				t.Errorf("signature %q, want empty", sig)
			}
		}},
		{"HS256 keyed with the public key", iss.HS256WithPublicKey(t, authtest.Claims{}), "HS256", authtest.ObjectID, func(t *testing.T, token string) {
			tok, err := jwt.ParseSigned(token, []jose.SignatureAlgorithm{jose.HS256})
			if err != nil {
				t.Fatal(err)
			}
			var c map[string]any
			if err := tok.Claims(iss.PublicKeyPEM(t), &c); err != nil {
				t.Errorf("does not verify as HMAC with the public key PEM: %v", err)
			}
		}},
		{"forged", iss.Forge(t, map[string]any{"alg": "RS256", "kid": kid, "x": "y"}, authtest.Claims{}, []byte("not a signature")), "RS256", authtest.ObjectID,
			func(t *testing.T, token string) {
				if h, _, sig := parts(t, token); h["x"] != "y" || string(sig) != "not a signature" {
					t.Errorf("header %v signature %q, want the ones given", h, sig)
				}
			}},
		{"tampered", authtest.Tamper(t, good, func(c map[string]any) { c["oid"] = "attacker" }), "RS256", "attacker", func(t *testing.T, token string) {
			if g, tm := strings.Split(good, "."), strings.Split(token, "."); g[0] != tm[0] || g[2] != tm[2] {
				t.Error("Tamper changed the header or the signature, want only the payload changed")
			}
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			h, payload, _ := parts(t, c.token)
			if h["alg"] != c.wantAlg || h["kid"] != kid {
				t.Errorf("header alg %v kid %v, want %s %s", h["alg"], h["kid"], c.wantAlg, kid)
			}
			if payload["oid"] != c.wantOID {
				t.Errorf("oid %v, want %s", payload["oid"], c.wantOID)
			}
			c.checkSign(t, c.token)
			// A validator that allows only asymmetric algorithms and
			// checks with the published key refuses every one of them.
			tok, err := jwt.ParseSigned(c.token, signingAlgs)
			if err != nil {
				return // refused at parsing: fine
			}
			var claims map[string]any
			if err := tok.Claims(jwks(t, iss).Key(kid)[0].Key, &claims); err == nil {
				t.Errorf("verifies with the published key, want refused")
			}
		})
	}
}

// fatalTB stops at Fatalf as testing.T does and records the message.
type fatalTB struct {
	testing.TB
	msg string
}

func (f *fatalTB) Helper() {}
func (f *fatalTB) Fatalf(format string, a ...any) {
	f.msg = fmt.Sprintf(format, a...)
	runtime.Goexit()
}

func TestTamperNotCompact(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, token, want string }{
		{"two parts", "a.b", "not a compact token"},
		{"payload not base64", "a.!!!.c", "payload"},
		{"payload not JSON", "a." + base64.RawURLEncoding.EncodeToString([]byte("[1]")) + ".c", "payload"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			tb := &fatalTB{TB: t}
			edited := false
			done := make(chan struct{})
			go func() {
				defer close(done)
				authtest.Tamper(tb, c.token, func(map[string]any) { edited = true })
			}()
			<-done
			if !strings.Contains(tb.msg, c.want) || edited {
				t.Errorf("Fatalf %q, edited %v; want a message containing %q and no edit", tb.msg, edited, c.want)
			}
		})
	}
}
