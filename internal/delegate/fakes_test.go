package delegate_test

import (
	"crypto/rand"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// recorded is one request a fake saw, kept whole so tests can look for the
// inbound token anywhere in it.
type recorded struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   string
	Form                   url.Values
}

// contains reports whether s appears anywhere in the request.
func (r recorded) contains(s string) bool {
	if strings.Contains(r.Path, s) || strings.Contains(r.RawQuery, s) || strings.Contains(r.Body, s) {
		return true
	}
	for _, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, s) {
				return true
			}
		}
	}
	return false
}

type recorder struct {
	mu   sync.Mutex
	reqs []recorded
}

func (rc *recorder) record(r *http.Request) recorded {
	body, _ := io.ReadAll(r.Body)
	rec := recorded{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)}
	rec.Form, _ = url.ParseQuery(string(body))
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, rec)
	rc.mu.Unlock()
	return rec
}

func (rc *recorder) all() []recorded {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]recorded(nil), rc.reqs...)
}

// issued is what the fake authority knows about a Graph token it issued.
type issued struct{ oid, scenario string }

// fakeEntra behaves like Entra's v2 endpoints for the on-behalf-of grant:
// OIDC metadata per tenant, instance discovery (which must not be used with
// a private authority) and the token endpoint. What it answers depends on
// the "scn" claim of the user assertion, so one server serves every case.
type fakeEntra struct {
	t        *testing.T
	srv      *httptest.Server
	tenant   string
	clientID string
	scope    string // the Graph scope the exchange must ask for

	// How the app must authenticate: exactly one is set.
	secret        string
	assertion     string            // the managed identity token (federated credential)
	cert          *x509.Certificate // client certificate
	stop          chan struct{}     // closed at cleanup to release slow handlers
	rec           recorder
	mu            sync.Mutex
	exchanges     int
	issuedTokens  map[string]issued
	discoveryHits int
}

func newFakeEntra(t *testing.T, tenant, clientID, graphScope string) *fakeEntra {
	f := &fakeEntra{t: t, tenant: tenant, clientID: clientID, scope: graphScope, issuedTokens: map[string]issued{}, stop: make(chan struct{})}
	f.srv = httptest.NewTLSServer(http.HandlerFunc(f.serve))
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.stop) }) // runs first: cleanups are LIFO
	return f
}

func (f *fakeEntra) serve(w http.ResponseWriter, r *http.Request) {
	rec := f.rec.record(r)
	base := f.srv.URL
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/common/discovery/instance":
		f.mu.Lock()
		f.discoveryHits++
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"tenant_discovery_endpoint": base + "/" + f.tenant + "/v2.0/.well-known/openid-configuration",
			"metadata": []map[string]any{{"preferred_network": r.Host, "preferred_cache": r.Host, "aliases": []string{r.Host}}}})
	case r.Method == http.MethodGet && r.URL.Path == "/"+f.tenant+"/v2.0/.well-known/openid-configuration":
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                 base + "/" + f.tenant + "/v2.0",
			"authorization_endpoint": base + "/" + f.tenant + "/oauth2/v2.0/authorize",
			"token_endpoint":         base + "/" + f.tenant + "/oauth2/v2.0/token",
		})
	case r.Method == http.MethodPost && r.URL.Path == "/"+f.tenant+"/oauth2/v2.0/token":
		f.token(w, r, rec)
	default:
		writeJSON(w, http.StatusNotFound, oauthErr("invalid_request", 90002, "no such tenant or endpoint "+r.URL.Path))
	}
}

func (f *fakeEntra) token(w http.ResponseWriter, r *http.Request, rec recorded) {
	form := rec.Form
	if form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || form.Get("requested_token_use") != "on_behalf_of" {
		writeJSON(w, http.StatusBadRequest, oauthErr("unsupported_grant_type", 70003, "not an on-behalf-of request"))
		return
	}
	if form.Get("client_id") != f.clientID || !strings.Contains(" "+form.Get("scope")+" ", " "+f.scope+" ") {
		writeJSON(w, http.StatusBadRequest, oauthErr("invalid_request", 90014, "wrong client_id or scope: "+form.Get("client_id")+" "+form.Get("scope")))
		return
	}
	if msg := f.clientAuthProblem(form); msg != "" {
		writeJSON(w, http.StatusUnauthorized, oauthErr("invalid_client", 7000215, msg))
		return
	}
	f.mu.Lock()
	f.exchanges++
	n := f.exchanges
	f.mu.Unlock()

	claims := parseUserToken(form.Get("assertion"))
	switch claims.Scn {
	case "mfa":
		e := oauthErr("interaction_required", 50076, "Due to a configuration change made by your administrator, or because you moved to a new location, you must use multi-factor authentication.")
		e["claims"] = `{"access_token":{"capolids":{"essential":true,"values":["c1"]}}}`
		writeJSON(w, http.StatusBadRequest, e)
	case "consent":
		e := oauthErr("invalid_grant", 65001, "The user or administrator has not consented to use the application.")
		e["suberror"] = "consent_required"
		writeJSON(w, http.StatusBadRequest, e)
	case "consent_required":
		writeJSON(w, http.StatusBadRequest, oauthErr("consent_required", 65001, "consent required"))
	case "expired":
		writeJSON(w, http.StatusBadRequest, oauthErr("invalid_grant", 500133, "Assertion is not within its valid time range."))
	case "blocked":
		writeJSON(w, http.StatusBadRequest, oauthErr("invalid_grant", 53003, "Access has been blocked by Conditional Access policies."))
	case "badclient":
		writeJSON(w, http.StatusUnauthorized, oauthErr("invalid_client", 70021, "No matching federated identity record found for presented assertion."))
	case "throttle":
		w.Header().Set("Retry-After", "7")
		writeJSON(w, http.StatusTooManyRequests, oauthErr("temporarily_unavailable", 90033, "too many requests"))
	case "e500":
		writeJSON(w, http.StatusInternalServerError, oauthErr("temporarily_unavailable", 90033, "service unavailable"))
	case "html400":
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadRequest)
		io.WriteString(w, "<html><body>Bad Request</body></html>")
	case "malformed":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"token_type":"Bearer","expires_in":3600,"access_token":"graph-`)
	case "noaccesstoken":
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3600})
	case "slow":
		hang(r, f.stop)
	default:
		at := fmt.Sprintf("graph-at-%d-%s", n, randomHex(8))
		f.mu.Lock()
		f.issuedTokens[at] = issued{oid: claims.Oid, scenario: claims.Scn}
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "scope": f.scope, "expires_in": 3600, "ext_expires_in": 3600, "access_token": at})
	}
}

// clientAuthProblem checks the application's own authentication.
func (f *fakeEntra) clientAuthProblem(form url.Values) string {
	switch {
	case f.secret != "":
		if form.Get("client_secret") != f.secret {
			return "wrong client secret"
		}
	case f.assertion != "":
		if form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || form.Get("client_assertion") != f.assertion {
			return "client assertion is not the managed identity's token"
		}
	case f.cert != nil:
		tok, err := jwt.ParseSigned(form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.PS256, jose.RS256})
		if err != nil {
			return "client assertion is not a JWT: " + err.Error()
		}
		var c jwt.Claims
		if err := tok.Claims(f.cert.PublicKey, &c); err != nil {
			return "client assertion signature: " + err.Error()
		}
		if c.Issuer != f.clientID || c.Subject != f.clientID || !c.Audience.Contains(f.srv.URL+"/"+f.tenant+"/oauth2/v2.0/token") {
			return "client assertion claims"
		}
	default:
		return "no client authentication configured in the fake"
	}
	return ""
}

func (f *fakeEntra) exchangeCount() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exchanges
}

func (f *fakeEntra) lookup(token string) (issued, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, ok := f.issuedTokens[token]
	return i, ok
}

// fakeGraph stands in for Microsoft Graph's /v1.0/me. It accepts only
// tokens the fake authority issued and answers according to the scenario
// the user token carried.
type fakeGraph struct {
	srv   *httptest.Server
	entra *fakeEntra
	rec   recorder
}

func newFakeGraph(t *testing.T, entra *fakeEntra) *fakeGraph {
	g := &fakeGraph{entra: entra}
	g.srv = httptest.NewTLSServer(http.HandlerFunc(g.serve))
	t.Cleanup(g.srv.Close)
	return g
}

func (g *fakeGraph) serve(w http.ResponseWriter, r *http.Request) {
	g.rec.record(r)
	w.Header().Set("request-id", "req-"+randomHex(4))
	if r.URL.Path != "/v1.0/me" {
		writeJSON(w, http.StatusNotFound, graphErr("Request_ResourceNotFound"))
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	who, known := g.entra.lookup(tok)
	if !ok || !known {
		writeJSON(w, http.StatusUnauthorized, graphErr("InvalidAuthenticationToken"))
		return
	}
	switch who.scenario {
	case "g401":
		writeJSON(w, http.StatusUnauthorized, graphErr("InvalidAuthenticationToken"))
	case "gcae":
		claims := base64.StdEncoding.EncodeToString([]byte(`{"access_token":{"nbf":{"essential":true,"value":"1700000000"}}}`))
		w.Header().Set("WWW-Authenticate", `Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", client_id="00000003-0000-0000-c000-000000000000", error="insufficient_claims", claims="`+claims+`"`)
		writeJSON(w, http.StatusUnauthorized, graphErr("InvalidAuthenticationToken"))
	case "g403":
		writeJSON(w, http.StatusForbidden, graphErr("Authorization_RequestDenied"))
	case "g429":
		w.Header().Set("Retry-After", "30")
		writeJSON(w, http.StatusTooManyRequests, graphErr("TooManyRequests"))
	case "g500":
		writeJSON(w, http.StatusInternalServerError, graphErr("generalException"))
	case "gslow":
		hang(r, g.entra.stop)
	case "gredirect":
		// The delegated token must not follow a redirect to another host.
		http.Redirect(w, r, g.entra.srv.URL+"/collect", http.StatusTemporaryRedirect)
	case "gbadjson":
		w.Header().Set("Content-Type", "application/json")
		io.WriteString(w, `{"displayName": "cut`)
	case "gwrongid":
		writeJSON(w, http.StatusOK, map[string]any{"id": "someone-else", "displayName": "Someone Else"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{
			"@odata.context":    "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
			"id":                who.oid,
			"displayName":       "User " + who.oid,
			"mail":              who.oid + "@contoso.example",
			"userPrincipalName": who.oid + "@contoso.example",
			"jobTitle":          "Engineer",
		})
	}
}

// fakeMI is the App Service / Functions managed identity endpoint
// (IDENTITY_ENDPOINT with the IDENTITY_HEADER secret, api-version 2019-08-01).
type fakeMI struct {
	srv      *httptest.Server
	header   string
	clientID string
	audience string
	token    string
	status   int // answer this status instead of a token when non-zero
	rec      recorder
}

func newFakeMI(t *testing.T, clientID, audience string) *fakeMI {
	m := &fakeMI{header: randomHex(16), clientID: clientID, audience: audience, token: "mi-assertion-" + randomHex(16)}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.srv.Close)
	return m
}

func (m *fakeMI) serve(w http.ResponseWriter, r *http.Request) {
	m.rec.record(r)
	q := r.URL.Query()
	switch {
	case r.Header.Get("X-IDENTITY-HEADER") != m.header:
		writeJSON(w, http.StatusUnauthorized, map[string]any{"statusCode": 401, "message": "bad identity header"})
	case q.Get("api-version") != "2019-08-01" || q.Get("client_id") != m.clientID || q.Get("resource") != m.audience:
		writeJSON(w, http.StatusBadRequest, map[string]any{"statusCode": 400, "message": "unexpected request " + r.URL.RawQuery})
	case m.status != 0:
		writeJSON(w, m.status, map[string]any{"statusCode": m.status, "message": "identity not available"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token": m.token, "expires_on": strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10),
			"resource": m.audience, "token_type": "Bearer", "client_id": m.clientID,
		})
	}
}

// hang never answers: it waits for the client to give up (or the test to
// end) and then drops the connection without a response.
func hang(r *http.Request, stop <-chan struct{}) {
	select {
	case <-r.Context().Done():
	case <-stop:
	}
	panic(http.ErrAbortHandler)
}

func oauthErr(code string, aadsts int, desc string) map[string]any {
	return map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s", aadsts, desc),
		"error_codes":       []int{aadsts},
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          "trace-" + randomHex(4),
		"correlation_id":    "corr-" + randomHex(4),
	}
}

func graphErr(code string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": "fake " + code}}
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	json.NewEncoder(w).Encode(v)
}

// userClaims are what the fake inbound user tokens carry.
type userClaims struct {
	Tid string `json:"tid"`
	Oid string `json:"oid"`
	Scn string `json:"scn"` // the scenario the fakes act out
	Exp int64  `json:"exp"`
	Jti string `json:"jti"`
}

// userToken makes an inbound user token. Its signature is not valid: the
// delegate package never validates tokens (the auth layer did) and the fake
// authority reads it only to pick a scenario.
func userToken(tid, oid, scn string, exp time.Time) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	p, _ := json.Marshal(userClaims{Tid: tid, Oid: oid, Scn: scn, Exp: exp.Unix(), Jti: randomHex(8)})
	return enc.EncodeToString(h) + "." + enc.EncodeToString(p) + "." + enc.EncodeToString([]byte("sig-"+randomHex(8)))
}

func parseUserToken(tok string) userClaims {
	var c userClaims
	parts := strings.Split(tok, ".")
	if len(parts) == 3 {
		if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			json.Unmarshal(b, &c)
		}
	}
	return c
}

func randomHex(n int) string {
	b := make([]byte, n)
	rand.Read(b)
	return hex.EncodeToString(b)
}
