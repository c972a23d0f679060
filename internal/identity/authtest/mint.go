package authtest

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

// Claims describe a token. Zero fields get defaults: iss URL() (the default
// tenant's issuer, whatever TenantID says), aud Audience, tid TenantID, oid
// ObjectID, sub PairwiseSubject(oid) for a user and oid for an app (as Entra
// does), name Name, azp ClientID, scp Scope, iat and nbf now, exp now+1h.
type Claims struct {
	Issuer   string
	Audience []string
	TenantID string
	ObjectID string
	Subject  string
	Name     string
	ClientID string // azp
	Scope    string // space-separated
	Roles    []string
	AppOnly  bool // no scp, idtyp=app: a client-credentials token
	// IDType sets idtyp: "" means "app" for AppOnly and none for a user (a
	// token from an app without the idtyp optional claim); NoIDType leaves it
	// out for AppOnly too.
	IDType string
	// NoScope mints a user token without scp: a delegated token with roles
	// only, which the server must refuse.
	NoScope bool
	// IDToken mints the shape of an OpenID Connect ID token for the client
	// ClientID: aud ClientID (unless Audience is set), nonce and at_hash, no
	// azp, scp or idtyp. It carries Roles like a real one.
	IDToken bool
	// Agent ID facet claims (space-separated, as Entra sends them) and the
	// agent blueprint; empty leaves each claim out. KindClaims sets them
	// for each caller kind.
	ActFacets string // xms_act_fct
	SubFacets string // xms_sub_fct
	Blueprint string // xms_par_app_azp
	IssuedAt  time.Time
	NotBefore time.Time
	Expiry    time.Time
	// Extra is applied last: it adds or replaces claims, and a nil value
	// removes one (Extra: map[string]any{"oid": nil}).
	Extra map[string]any
}

// Header adjusts the JOSE header of a minted token.
type Header struct {
	Type      string // typ; "" means "JWT", NoType leaves it out
	KeyID     string // kid; "" means the signing key's own
	OmitKeyID bool
}

// NoType as Header.Type mints a token without typ.
const NoType = "-"

// NoIDType as Claims.IDType mints a token without idtyp.
const NoIDType = "-"

// PairwiseSubject is the default sub of a user token. Entra's sub is
// pairwise (different per application) and never equals the oid; only an
// app-only token has sub = oid.
func PairwiseSubject(oid string) string { return "pairwise-" + oid }

// ClaimsMap is the payload Mint would sign for c, with defaults applied.
func (iss *Issuer) ClaimsMap(c Claims) map[string]any {
	now := iss.now()
	at := func(t, def time.Time) int64 {
		if t.IsZero() {
			return def.Unix()
		}
		return t.Unix()
	}
	oid := cmp.Or(c.ObjectID, ObjectID)
	sub := PairwiseSubject(oid)
	if c.AppOnly {
		sub = oid
	}
	m := map[string]any{
		"iss":  cmp.Or(c.Issuer, iss.URL()),
		"tid":  cmp.Or(c.TenantID, TenantID),
		"oid":  oid,
		"sub":  cmp.Or(c.Subject, sub),
		"name": cmp.Or(c.Name, Name),
		"azp":  cmp.Or(c.ClientID, ClientID),
		"ver":  "2.0",
		"iat":  at(c.IssuedAt, now),
		"nbf":  at(c.NotBefore, now),
		"exp":  at(c.Expiry, now.Add(time.Hour)),
	}
	aud := Audience
	if c.IDToken {
		aud = cmp.Or(c.ClientID, ClientID)
	}
	switch len(c.Audience) {
	case 0:
		m["aud"] = aud
	case 1:
		m["aud"] = c.Audience[0]
	default:
		m["aud"] = c.Audience
	}
	switch {
	case c.IDToken:
		delete(m, "azp")
		m["nonce"] = "n-0S6_WzA2Mj"
		m["at_hash"] = "77QmUPtjPfzWtF2AnpK9RQ"
	case c.AppOnly:
		m["idtyp"] = "app"
	case !c.NoScope:
		m["scp"] = cmp.Or(c.Scope, Scope)
	}
	switch c.IDType {
	case "":
	case NoIDType:
		delete(m, "idtyp")
	default:
		m["idtyp"] = c.IDType
	}
	if len(c.Roles) > 0 {
		m["roles"] = c.Roles
	}
	for k, v := range map[string]string{"xms_act_fct": c.ActFacets, "xms_sub_fct": c.SubFacets, "xms_par_app_azp": c.Blueprint} {
		if v != "" {
			m[k] = v
		}
	}
	for k, v := range c.Extra {
		if v == nil {
			delete(m, k)
		} else {
			m[k] = v
		}
	}
	return m
}

// Mint signs a token with the active key (RS256 unless RotateTo chose
// another algorithm).
func (iss *Issuer) Mint(t testing.TB, c Claims) string {
	t.Helper()
	return iss.MintWith(t, Header{}, c)
}

// MintWith is Mint with header adjustments.
func (iss *Issuer) MintWith(t testing.TB, h Header, c Claims) string {
	t.Helper()
	iss.mu.Lock()
	k := iss.active
	iss.mu.Unlock()

	var key any = jose.JSONWebKey{Key: k.priv, KeyID: cmp.Or(h.KeyID, k.kid)}
	if h.OmitKeyID {
		key = k.priv
	}
	opts := &jose.SignerOptions{}
	if h.Type != NoType {
		opts = opts.WithType(jose.ContentType(cmp.Or(h.Type, "JWT")))
	}
	return sign(t, jose.SigningKey{Algorithm: k.alg, Key: key}, opts, iss.ClaimsMap(c))
}

func sign(t testing.TB, sk jose.SigningKey, opts *jose.SignerOptions, claims map[string]any) string {
	t.Helper()
	signer, err := jose.NewSigner(sk, opts)
	if err != nil {
		t.Fatalf("authtest: signer: %v", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("authtest: claims: %v", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		t.Fatalf("authtest: sign: %v", err)
	}
	s, err := jws.CompactSerialize()
	if err != nil {
		t.Fatalf("authtest: serialize: %v", err)
	}
	return s
}

// NoneToken is an unsigned token (alg "none", empty signature) carrying the
// active kid.
func (iss *Issuer) NoneToken(t testing.TB, c Claims) string {
	t.Helper()
	return iss.Forge(t, map[string]any{"alg": "none", "typ": "JWT", "kid": iss.ActiveKeyID()}, c, nil)
}

// HS256WithPublicKey is the key-confusion attack: HMAC-SHA256 keyed with the
// active public key's PEM, naming that key's kid. A validator that lets the
// token choose the algorithm would accept it.
func (iss *Issuer) HS256WithPublicKey(t testing.TB, c Claims) string {
	t.Helper()
	// go-jose puts a JSONWebKey's kid in the header only for asymmetric
	// keys, so the kid is set as a header of its own.
	opts := (&jose.SignerOptions{}).WithType("JWT").WithHeader(jose.HeaderKey("kid"), iss.ActiveKeyID())
	return sign(t, jose.SigningKey{Algorithm: jose.HS256, Key: iss.PublicKeyPEM(t)}, opts, iss.ClaimsMap(c))
}

// Forge assembles a compact token from an arbitrary header, the claims
// (defaults applied) and signature bytes, without signing anything.
func (iss *Issuer) Forge(t testing.TB, header map[string]any, c Claims, signature []byte) string {
	t.Helper()
	h, err := json.Marshal(header)
	if err != nil {
		t.Fatalf("authtest: header: %v", err)
	}
	p, err := json.Marshal(iss.ClaimsMap(c))
	if err != nil {
		t.Fatalf("authtest: claims: %v", err)
	}
	return b64(h) + "." + b64(p) + "." + b64(signature)
}

// Tamper returns token with its payload decoded, changed by edit and
// re-encoded, keeping the original header and signature.
func Tamper(t testing.TB, token string, edit func(claims map[string]any)) string {
	t.Helper()
	parts := strings.Split(token, ".")
	if len(parts) != 3 {
		t.Fatalf("authtest: tamper: not a compact token")
	}
	raw, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatalf("authtest: tamper: payload: %v", err)
	}
	var claims map[string]any
	if err := json.Unmarshal(raw, &claims); err != nil {
		t.Fatalf("authtest: tamper: payload: %v", err)
	}
	edit(claims)
	p, err := json.Marshal(claims)
	if err != nil {
		t.Fatalf("authtest: tamper: %v", err)
	}
	return parts[0] + "." + b64(p) + "." + parts[2]
}
