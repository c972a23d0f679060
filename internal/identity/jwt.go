package identity

import (
	"cmp"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"crypto/sha256"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"slices"
	"strings"
	"sync/atomic"
	"time"
	"unsafe"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// JWTConfig configures in-process bearer token validation (MCP_AUTH_MODE=jwt).
type JWTConfig struct {
	// Issuer must equal the token's iss exactly, and the issuer's OpenID
	// discovery document must name it exactly too. https is required, except
	// for a loopback host. An Entra issuer may contain the placeholder
	// {tenantid} (https://login.microsoftonline.com/{tenantid}/v2.0) to accept
	// several tenants; then Tenants is required and bounds which.
	Issuer    string
	Audiences []string // the token's aud must contain one of these
	Tenants   []string // when set, the token's tid must be one of these

	HTTPClient *http.Client     // for discovery and keys; nil uses a client with a timeout that refuses insecure redirects
	Skew       time.Duration    // clock skew allowed on exp, nbf and iat; 0 means 1 minute
	Now        func() time.Time // nil means time.Now

	KeyRefreshInterval time.Duration // least time between key set fetches for unknown key ids; 0 means 30 s
	KeyMaxAge          time.Duration // refetch the key set on next use once it is this old; 0 means 1 h
	CacheSize          int           // verified tokens remembered; 0 means 10,000, negative disables the cache
	CacheMaxAge        time.Duration // longest a verification is reused, whatever the token's expiry; 0 means 10 min

	Logger *slog.Logger // for key set refresh failures that do not fail a request; nil means slog.Default()
}

// TenantPlaceholder in JWTConfig.Issuer stands for the token's tid.
const TenantPlaceholder = "{tenantid}"

// Defaults for the zero values of JWTConfig.
const (
	DefaultJWTSkew            = time.Minute
	DefaultKeyRefreshInterval = 30 * time.Second
	DefaultKeyMaxAge          = time.Hour
	DefaultJWTCacheSize       = 10_000
	DefaultJWTCacheMaxAge     = 10 * time.Minute
)

// jwtMaxTokenBytes bounds the bearer token we are willing to parse. Entra access
// tokens are a few kilobytes; anything much larger is not one.
const jwtMaxTokenBytes = 16 << 10

// jwtAllowedAlgs are the signature algorithms a token may use. HMAC and none
// are absent on purpose: a public key must never work as a shared secret.
var jwtAllowedAlgs = []jose.SignatureAlgorithm{
	jose.RS256, jose.RS384, jose.RS512,
	jose.PS256, jose.PS384, jose.PS512,
	jose.ES256, jose.ES384, jose.ES512,
}

// Rejection reasons. They are fixed strings, safe to show to a client: none
// carries token content.
const (
	jwtReasonMultipleHeaders = "more than one Authorization header"
	jwtReasonMalformed       = "malformed token"
	jwtReasonTooLarge        = "token too large"
	jwtReasonAlgorithm       = "unsupported algorithm"
	jwtReasonType            = "unsupported token type"
	jwtReasonNoKeyID         = "token has no key id"
	jwtReasonUnknownKey      = "unknown signing key"
	jwtReasonKeyMismatch     = "algorithm does not match key"
	jwtReasonSignature       = "signature invalid"
	jwtReasonClaims          = "malformed claims"
	jwtReasonNoExpiry        = "token has no expiry"
	jwtReasonExpired         = "token expired"
	jwtReasonNotYetValid     = "token not yet valid"
	jwtReasonIssuer          = "issuer not accepted"
	jwtReasonAudience        = "audience not accepted"
	jwtReasonTenant          = "tenant not accepted"
	jwtReasonSubject         = "token lacks tid or oid"
)

// Token-kind rejection reasons, shared by jwt and easyauth mode (whose
// principal carries the same claims). Fixed strings, like the ones above.
const (
	reasonIDToken   = "ID token, not an access token: request an access token for this API"
	reasonNoClient  = "not an access token: no azp or appid"
	reasonIDType    = "unsupported idtyp"
	reasonAppScopes = "app-only token carries delegated scopes"
	reasonNoScopes  = "user token has no delegated scopes"
)

// JWTAuthenticator validates bearer tokens against one OpenID issuer.
type JWTAuthenticator struct {
	issuer      string
	multiTenant bool
	audiences   []string
	tenants     []string
	skew        time.Duration
	now         func() time.Time
	cacheMaxAge time.Duration
	keys        atomic.Pointer[jwksCache] // nil until discovery and the first key fetch succeeded
	ready       chan struct{}             // closed when keys is set
	startErr    atomic.Pointer[error]     // the last failed start attempt, for the 503's log
	cache       *jwtCache

	verifications atomic.Int64 // signature checks performed; tests read it
}

var _ Authenticator = (*JWTAuthenticator)(nil)

// Errors of JWTConfig.Validate; the returned error wraps one of them.
var (
	ErrNoIssuer   = errors.New("no issuer configured")
	ErrIssuerURL  = errors.New("issuer is not a usable URL")
	ErrNoAudience = errors.New("no audience configured")
	ErrNoTenants  = errors.New("the issuer's " + TenantPlaceholder + " placeholder accepts any tenant, so the allowed tenants must be listed")
)

// Validate checks cfg without contacting the issuer. NewJWT calls it; the
// server's configuration loader calls it too, so that a mistake stops the
// server at start.
func (cfg JWTConfig) Validate() error {
	if cfg.Issuer == "" {
		return ErrNoIssuer
	}
	if err := jwtCheckURL(cfg.Issuer); err != nil {
		return fmt.Errorf("%w: %v", ErrIssuerURL, err)
	}
	switch {
	case len(cfg.Audiences) == 0:
		return ErrNoAudience
	case strings.Contains(cfg.Issuer, TenantPlaceholder) && len(cfg.Tenants) == 0:
		return ErrNoTenants
	}
	return nil
}

// NewJWT checks the configuration, reads the issuer's discovery document
// and fetches its keys. It fails when the issuer is unreachable or its
// metadata disagrees with the configuration.
func NewJWT(ctx context.Context, cfg JWTConfig) (*JWTAuthenticator, error) {
	a, start, err := newJWT(cfg)
	if err != nil {
		return nil, err
	}
	if err := start(ctx); err != nil {
		return nil, err
	}
	return a, nil
}

// StartJWT checks the configuration and returns at once; discovery and the
// first key fetch run in the background, retried with backoff until they
// succeed or ctx ends, so that start-up does not wait for the issuer. Until
// keys are there, Authenticate waits for them (at most jwtStartWait, and no
// longer than the request's context) and otherwise fails with an error that
// is not a RejectError (prm answers 503 with Retry-After): a request is never
// let through unauthenticated.
func StartJWT(ctx context.Context, cfg JWTConfig) (*JWTAuthenticator, error) {
	a, start, err := newJWT(cfg)
	if err != nil {
		return nil, err
	}
	go func() {
		for wait := 100 * time.Millisecond; ; wait = min(2*wait, 30*time.Second) {
			err := start(ctx)
			if err == nil {
				return
			}
			a.startErr.Store(&err)
			cmp.Or(cfg.Logger, slog.Default()).Warn("jwt issuer not ready; retrying", "issuer", cfg.Issuer, "error", err, "retry_in", wait)
			select {
			case <-ctx.Done():
				return
			case <-time.After(wait):
			}
		}
	}()
	return a, nil
}

// jwtStartWait bounds how long a request that arrives before the issuer's
// keys waits for them.
const jwtStartWait = 5 * time.Second

// newJWT builds the authenticator without keys and returns the function
// that discovers the issuer and fetches its keys once.
func newJWT(cfg JWTConfig) (*JWTAuthenticator, func(context.Context) error, error) {
	if err := cfg.Validate(); err != nil {
		return nil, nil, fmt.Errorf("jwt: %w", err)
	}
	a := &JWTAuthenticator{
		issuer:      cfg.Issuer,
		multiTenant: strings.Contains(cfg.Issuer, TenantPlaceholder),
		audiences:   slices.Clone(cfg.Audiences),
		tenants:     slices.Clone(cfg.Tenants),
		skew:        jwtDuration(cfg.Skew, DefaultJWTSkew),
		now:         cfg.Now,
		cacheMaxAge: jwtDuration(cfg.CacheMaxAge, DefaultJWTCacheMaxAge),
		ready:       make(chan struct{}),
	}
	if a.now == nil {
		a.now = time.Now
	}
	size := cfg.CacheSize
	if size == 0 {
		size = DefaultJWTCacheSize
	}
	a.cache = newJWTCache(size)

	client := cfg.HTTPClient
	if client == nil {
		client = &http.Client{Timeout: jwtFetchTimeout, CheckRedirect: jwtCheckRedirect}
	}
	start := func(ctx context.Context) error {
		// Entra publishes the multi-tenant metadata (whose issuer carries the
		// placeholder) under "organizations".
		base := strings.ReplaceAll(cfg.Issuer, TenantPlaceholder, "organizations")
		jwksURI, err := oidcDiscover(ctx, client, base, cfg.Issuer)
		if err != nil {
			return fmt.Errorf("jwt issuer %s: %w", cfg.Issuer, err)
		}
		keys := &jwksCache{
			client:     client,
			uri:        jwksURI,
			now:        a.now,
			minRefresh: jwtDuration(cfg.KeyRefreshInterval, DefaultKeyRefreshInterval),
			maxAge:     jwtDuration(cfg.KeyMaxAge, DefaultKeyMaxAge),
			log:        cmp.Or(cfg.Logger, slog.Default()),
		}
		if err := keys.load(ctx); err != nil {
			return fmt.Errorf("jwt issuer %s: %w", cfg.Issuer, err)
		}
		a.keys.Store(keys)
		close(a.ready)
		return nil
	}
	return a, start, nil
}

// keySet returns the issuer's keys, waiting for StartJWT's background start
// when they are not there yet.
func (a *JWTAuthenticator) keySet(ctx context.Context) (*jwksCache, error) {
	if k := a.keys.Load(); k != nil {
		return k, nil
	}
	t := time.NewTimer(jwtStartWait)
	defer t.Stop()
	select {
	case <-a.ready:
		return a.keys.Load(), nil
	case <-ctx.Done():
	case <-t.C:
	}
	if p := a.startErr.Load(); p != nil {
		return nil, fmt.Errorf("jwt issuer %s: keys not loaded yet: %w", a.issuer, *p)
	}
	return nil, fmt.Errorf("jwt issuer %s: keys not loaded yet", a.issuer)
}

func jwtDuration(d, def time.Duration) time.Duration {
	if d <= 0 {
		return def
	}
	return d
}

func jwtCheckRedirect(req *http.Request, via []*http.Request) error {
	if len(via) >= 5 {
		return errors.New("too many redirects")
	}
	return jwtCheckURL(req.URL.String())
}

// Authenticate reads the bearer token from the Authorization header only;
// a token in the query string or a form body is not looked at (RFC 6750's
// query method leaks tokens into logs). It returns ErrNoCredentials without
// a bearer header, a *RejectError for a token that fails any check, and
// another error only when the issuer's keys cannot be fetched (a server-side
// failure).
func (a *JWTAuthenticator) Authenticate(r *http.Request) (*Identity, error) {
	raw, err := bearerValue(r.Header)
	if err != nil {
		return nil, err
	}
	now := a.now()
	digest := tokenKey(raw)
	if id, ok := a.cache.get(digest, now); ok {
		// Only a token of exactly these bytes (its SHA-256) can be in the
		// cache, and it passed every check below, its bytes too.
		return a.finish(id, raw), nil
	}
	if err := checkTokenBytes(raw); err != nil {
		return nil, err
	}
	id, until, err := a.verify(r.Context(), raw, now)
	if err != nil {
		return nil, err
	}
	if limit := now.Add(a.cacheMaxAge); limit.Before(until) {
		until = limit
	}
	a.cache.put(digest, id, until, now)
	return a.finish(id, raw), nil
}

// tokenKey is a token's cache key: its SHA-256, so that only the same bytes
// find an entry. Sum256 reads the string in place: it only reads its
// input, and converting the token to a []byte first copied it (about 1 KiB,
// the lookup's largest allocation).
func tokenKey(raw string) [sha256.Size]byte {
	return sha256.Sum256(unsafe.Slice(unsafe.StringData(raw), len(raw)))
}

// handout is what finish allocates: the identity and, when they fit, the
// strings of its lists, in one allocation instead of one per list.
type handout struct {
	id   Identity
	strs [8]string
}

// finish hands out a copy, so no caller can change what the cache holds:
// the lists are copied too, each with its capacity at its length, so that
// an append by the caller never writes into the next list.
func (a *JWTAuthenticator) finish(id Identity, raw string) *Identity {
	h := &handout{id: id}
	h.id.bearerToken = raw
	var strs []string
	if n := len(id.Scopes) + len(id.Roles) + len(id.Facets.Actor) + len(id.Facets.Subject); n <= len(h.strs) {
		strs = h.strs[:0]
	} else {
		strs = make([]string, 0, n)
	}
	clone := func(s []string) []string {
		if s == nil {
			return nil
		}
		i := len(strs)
		strs = append(strs, s...)
		return strs[i:len(strs):len(strs)]
	}
	h.id.Scopes = clone(id.Scopes)
	h.id.Roles = clone(id.Roles)
	h.id.Facets.Actor = clone(id.Facets.Actor)
	h.id.Facets.Subject = clone(id.Facets.Subject)
	return &h.id
}

func jwtReject(reason string) error { return &RejectError{Reason: reason} }

// bearerToken extracts the token from exactly one Authorization header with
// the Bearer scheme (any case): the one reading of that header, in every mode.
func bearerToken(h http.Header) (string, error) {
	token, err := bearerValue(h)
	if err != nil {
		return "", err
	}
	if err := checkTokenBytes(token); err != nil {
		return "", err
	}
	return token, nil
}

// bearerValue is bearerToken without the check of the token's bytes, which
// a token found in the verification cache has passed already.
func bearerValue(h http.Header) (string, error) {
	values := h.Values("Authorization")
	switch {
	case len(values) == 0:
		return "", ErrNoCredentials
	case len(values) > 1:
		return "", jwtReject(jwtReasonMultipleHeaders)
	}
	scheme, token, _ := strings.Cut(values[0], " ")
	if !strings.EqualFold(scheme, "Bearer") {
		// Another scheme (Basic, ...) is not a credential this server takes.
		return "", ErrNoCredentials
	}
	token = strings.Trim(token, " \t")
	switch {
	case token == "":
		return "", jwtReject(jwtReasonMalformed)
	case len(token) > jwtMaxTokenBytes:
		return "", jwtReject(jwtReasonTooLarge)
	}
	return token, nil
}

// checkTokenBytes rejects a token with a byte a compact JWS cannot contain.
func checkTokenBytes(token string) error {
	for i := 0; i < len(token); i++ {
		if !tokenByte[token[i]] {
			return jwtReject(jwtReasonMalformed)
		}
	}
	return nil
}

// tokenByte says which bytes a compact JWS may contain: base64url segments
// joined by dots. A table: one load per byte; the comparisons it replaces
// took about a quarter of a cached lookup's time (which now skips the check).
var tokenByte = func() (t [256]bool) {
	for c := range t {
		t[c] = c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
	}
	return t
}()

// jwtClaims are the token claims this server reads.
type jwtClaims struct {
	Issuer    string           `json:"iss"`
	Audience  jwt.Audience     `json:"aud"`
	Expiry    *jwt.NumericDate `json:"exp"`
	NotBefore *jwt.NumericDate `json:"nbf"`
	IssuedAt  *jwt.NumericDate `json:"iat"`
	TenantID  string           `json:"tid"`
	ObjectID  string           `json:"oid"`
	Name      string           `json:"name"`
	Username  string           `json:"preferred_username"`
	UPN       string           `json:"upn"`
	AZP       string           `json:"azp"`
	AppID     string           `json:"appid"`
	Scope     string           `json:"scp"`
	Roles     []string         `json:"roles"`
	Subject   string           `json:"sub"`
	IDType    *string          `json:"idtyp"` // nil when absent: absent and "" mean different things
	ActFacets facetClaim       `json:"xms_act_fct"`
	SubFacets facetClaim       `json:"xms_sub_fct"`
	Blueprint string           `json:"xms_par_app_azp"`
	Nonce     present          `json:"nonce"`
	ATHash    present          `json:"at_hash"`
	CHash     present          `json:"c_hash"`
}

// facetClaim is an Agent ID facet claim: Entra sends a space-separated
// string ("3 9 11"). An array of strings or numbers is read too; any other
// shape reads as no facets, so it can never make a caller an agent's user
// account or lift a restriction (the kinds without facets are not the
// looser ones for app-only callers: see classify).
type facetClaim struct{ values []string }

func (f *facetClaim) UnmarshalJSON(b []byte) error {
	var s string
	if json.Unmarshal(b, &s) == nil {
		f.values = ParseFacets(s)
		return nil
	}
	var list []json.Number
	if json.Unmarshal(b, &list) == nil {
		parts := make([]string, 0, len(list))
		for _, n := range list {
			parts = append(parts, n.String())
		}
		f.values = ParseFacets(strings.Join(parts, " "))
		return nil
	}
	var strs []string
	if json.Unmarshal(b, &strs) == nil {
		f.values = ParseFacets(strings.Join(strs, " "))
	}
	return nil
}

// present records that a claim exists, whatever its value (even null): only
// ID tokens carry nonce, at_hash or c_hash, so their presence is what counts.
type present bool

func (p *present) UnmarshalJSON([]byte) error { *p = true; return nil }

// tokenKind holds the claims that tell an access token from an ID token and
// an app-only token from a user's.
type tokenKind struct {
	objectID, subject string
	idType            *string // nil when the token has no idtyp
	hasClient         bool    // azp or appid is set
	idTokenMark       bool    // nonce, at_hash or c_hash is present
	scopes            []string
}

// appOnly decides whether k is an app-only access token, a user's access
// token, or neither (a *RejectError). The rules, also in docs/SECURITY.md:
//
//   - nonce, at_hash or c_hash present, or neither azp nor appid: refused.
//     Only ID tokens carry the first three, and every Entra access token names
//     its client (azp in v2, appid in v1). An ID token whose aud is our client
//     id must not pass for an access token.
//   - idtyp "app": app-only. idtyp "user": a user's. Any other idtyp: refused.
//   - no idtyp (the optional claim is not configured, or a v1 token): app-only
//     exactly when oid equals sub and there is no scp, which is how Entra
//     documents recognising app-only tokens without idtyp (a user's sub is
//     pairwise per application, never the oid). Otherwise a user's.
//   - app-only with scp: refused; delegated scopes without a user contradict.
//   - a user's token without scp: refused. Roles alone must never stand in for
//     delegation: that is the shape of an ID token or of a confused client.
func (k tokenKind) appOnly() (bool, error) {
	if k.idTokenMark {
		return false, &RejectError{Reason: reasonIDToken}
	}
	if !k.hasClient {
		return false, &RejectError{Reason: reasonNoClient}
	}
	var app bool
	switch {
	case k.idType == nil:
		app = k.objectID == k.subject && len(k.scopes) == 0
	case *k.idType == "app":
		app = true
	case *k.idType == "user":
		app = false
	default:
		return false, &RejectError{Reason: reasonIDType}
	}
	switch {
	case app && len(k.scopes) > 0:
		return false, &RejectError{Reason: reasonAppScopes}
	case !app && len(k.scopes) == 0:
		return false, &RejectError{Reason: reasonNoScopes}
	}
	return app, nil
}

// verify runs every check on a token not found in the cache. It returns the
// identity and the instant the token stops being acceptable.
func (a *JWTAuthenticator) verify(ctx context.Context, raw string, now time.Time) (Identity, time.Time, error) {
	var none time.Time
	sig, err := jose.ParseSignedCompact(raw, jwtAllowedAlgs)
	if err != nil {
		if _, ok := errors.AsType[*jose.ErrUnexpectedSignatureAlgorithm](err); ok {
			return Identity{}, none, jwtReject(jwtReasonAlgorithm)
		}
		return Identity{}, none, jwtReject(jwtReasonMalformed)
	}
	if len(sig.Signatures) != 1 {
		return Identity{}, none, jwtReject(jwtReasonMalformed)
	}
	h := sig.Signatures[0].Header
	if typ, ok := h.ExtraHeaders[jose.HeaderType]; ok && !jwtTypeOK(typ) {
		return Identity{}, none, jwtReject(jwtReasonType)
	}

	ks, err := a.keySet(ctx)
	if err != nil {
		return Identity{}, none, err
	}
	keys, err := ks.find(ctx, h.KeyID)
	if err != nil {
		return Identity{}, none, fmt.Errorf("jwt issuer %s: %w", a.issuer, err)
	}
	if len(keys) == 0 {
		if h.KeyID == "" {
			return Identity{}, none, jwtReject(jwtReasonNoKeyID)
		}
		return Identity{}, none, jwtReject(jwtReasonUnknownKey)
	}
	var payload []byte
	verified, fitted := false, false
	for _, k := range keys {
		if !jwtKeyFits(k, h.Algorithm) {
			continue
		}
		fitted = true
		a.verifications.Add(1)
		if payload, err = sig.Verify(k); err == nil {
			verified = true
			break
		}
	}
	switch {
	case !fitted:
		return Identity{}, none, jwtReject(jwtReasonKeyMismatch)
	case !verified:
		return Identity{}, none, jwtReject(jwtReasonSignature)
	}

	var c jwtClaims
	if err := json.Unmarshal(payload, &c); err != nil {
		return Identity{}, none, jwtReject(jwtReasonClaims)
	}
	return a.check(&c, now)
}

func jwtTypeOK(typ any) bool {
	s, ok := typ.(string)
	if !ok {
		return false
	}
	return strings.EqualFold(s, "JWT") || strings.EqualFold(s, "at+jwt") || strings.EqualFold(s, "application/at+jwt")
}

// jwtKeyFits reports whether the key may verify a signature made with alg:
// its type and curve must match, and so must its own alg when it names one.
func jwtKeyFits(k jose.JSONWebKey, alg string) bool {
	if k.Algorithm != "" && k.Algorithm != alg {
		return false
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		return strings.HasPrefix(alg, "RS") || strings.HasPrefix(alg, "PS")
	case *ecdsa.PublicKey:
		switch jose.SignatureAlgorithm(alg) {
		case jose.ES256:
			return pub.Curve == elliptic.P256()
		case jose.ES384:
			return pub.Curve == elliptic.P384()
		case jose.ES512:
			return pub.Curve == elliptic.P521()
		}
	}
	return false
}

// check applies the claim rules to a token whose signature is good.
func (a *JWTAuthenticator) check(c *jwtClaims, now time.Time) (Identity, time.Time, error) {
	var none time.Time
	until, err := a.checkTimes(c, now)
	if err != nil {
		return Identity{}, none, err
	}
	if err := a.checkParties(c); err != nil {
		return Identity{}, none, err
	}
	kind := tokenKind{
		objectID:    c.ObjectID,
		subject:     c.Subject,
		idType:      c.IDType,
		hasClient:   c.AZP != "" || c.AppID != "",
		idTokenMark: bool(c.Nonce || c.ATHash || c.CHash),
		scopes:      strings.Fields(c.Scope),
	}
	appOnly, err := kind.appOnly()
	if err != nil {
		return Identity{}, none, err
	}
	id := Identity{
		TenantID: c.TenantID,
		ObjectID: c.ObjectID,
		Name:     cmp.Or(c.Name, c.Username),
		UPN:      cmp.Or(c.Username, c.UPN),
		ClientID: cmp.Or(c.AZP, c.AppID),
		Scopes:   kind.scopes,
		Roles:    c.Roles,
		Method:   MethodJWT,
		AppOnly:  appOnly,
	}
	if appOnly {
		id.Scopes = nil // appOnly refuses scp, so this is only the empty result of Fields
	}
	id.Facets = Facets{Actor: c.ActFacets.values, Subject: c.SubFacets.values, Blueprint: c.Blueprint}
	id.Kind = classify(appOnly, id.Facets)
	return id, until, nil
}

// checkTimes applies exp (required), nbf and iat with the clock skew, and
// returns until when the token stops being valid here.
func (a *JWTAuthenticator) checkTimes(c *jwtClaims, now time.Time) (until time.Time, err error) {
	if c.Expiry == nil {
		return until, jwtReject(jwtReasonNoExpiry)
	}
	until = c.Expiry.Time().Add(a.skew)
	if !now.Before(until) {
		return time.Time{}, jwtReject(jwtReasonExpired)
	}
	late := now.Add(a.skew)
	if c.NotBefore != nil && late.Before(c.NotBefore.Time()) {
		return time.Time{}, jwtReject(jwtReasonNotYetValid)
	}
	if c.IssuedAt != nil && late.Before(c.IssuedAt.Time()) {
		return time.Time{}, jwtReject(jwtReasonNotYetValid)
	}
	return until, nil
}

// checkParties applies the subject, tenant, issuer and audience rules.
func (a *JWTAuthenticator) checkParties(c *jwtClaims) error {
	// Without a tenant and object id a caller cannot own anything. sub is
	// no substitute for oid: Entra makes sub different per application, so
	// the same user would get a different private space here than through
	// the platform principal.
	if c.TenantID == "" || c.ObjectID == "" {
		return jwtReject(jwtReasonSubject)
	}
	if len(a.tenants) > 0 && !slices.Contains(a.tenants, c.TenantID) {
		return jwtReject(jwtReasonTenant)
	}
	wantIssuer := a.issuer
	if a.multiTenant {
		// Safe: tid is one of the configured tenants by now.
		wantIssuer = strings.ReplaceAll(a.issuer, TenantPlaceholder, c.TenantID)
	}
	if c.Issuer != wantIssuer {
		return jwtReject(jwtReasonIssuer)
	}
	if !slices.ContainsFunc(a.audiences, c.Audience.Contains) {
		return jwtReject(jwtReasonAudience)
	}
	return nil
}
