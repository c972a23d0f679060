package delegatetest

import (
	"crypto/x509"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"testing"

	"github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"
)

// Issued is what the fake authority knows about a Graph token it issued.
type Issued struct{ ObjectID, Scenario string }

// Entra behaves like Entra's v2 endpoints for the on-behalf-of grant: OIDC
// metadata for its tenant, instance discovery (which must not be used with
// a private authority) and the token endpoint.
//
// Set the fields before the first request. Exactly one of Secret,
// Assertion and Cert says how the application must authenticate.
type Entra struct {
	Tenant   string
	ClientID string
	Scope    string // the scope the exchange must ask for; NewGraph sets it

	Secret    string            // client secret
	Assertion string            // client assertion: the managed identity's token
	Cert      *x509.Certificate // client certificate signing the assertion

	recorder
	srv  *httptest.Server
	stop chan struct{} // closed at cleanup to release hanging handlers

	mu            sync.Mutex
	exchanges     int
	issued        map[string]Issued
	discoveryHits int
}

// NewEntra starts a fake authority for one tenant and application. It is
// closed when the test ends.
func NewEntra(t testing.TB, tenant, clientID string) *Entra {
	f := &Entra{Tenant: tenant, ClientID: clientID, issued: map[string]Issued{}, stop: make(chan struct{})}
	f.srv = httptest.NewUnstartedServer(http.HandlerFunc(f.serve))
	f.srv.StartTLS() // after the assignment: handlers read f.srv.URL
	t.Cleanup(f.srv.Close)
	t.Cleanup(func() { close(f.stop) }) // runs first: cleanups are LIFO
	return f
}

// URL is the authority host, for AZURE_AUTHORITY_HOST.
func (f *Entra) URL() string { return f.srv.URL }

// Certificate is the TLS certificate clients must trust.
func (f *Entra) Certificate() *x509.Certificate { return f.srv.Certificate() }

// Exchanges counts token requests that passed client authentication.
func (f *Entra) Exchanges() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.exchanges
}

// DiscoveryHits counts instance discovery requests.
func (f *Entra) DiscoveryHits() int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.discoveryHits
}

// Lookup says for whom the authority issued a Graph token.
func (f *Entra) Lookup(token string) (Issued, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	i, ok := f.issued[token]
	return i, ok
}

// Tokens lists the Graph access tokens issued so far.
func (f *Entra) Tokens() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	toks := make([]string, 0, len(f.issued))
	for tok := range f.issued {
		toks = append(toks, tok)
	}
	return toks
}

func (f *Entra) tokenPath() string { return "/" + f.Tenant + "/oauth2/v2.0/token" }

func (f *Entra) serve(w http.ResponseWriter, r *http.Request) {
	req := f.record(r)
	base := f.srv.URL
	switch {
	case r.Method == http.MethodGet && r.URL.Path == "/common/discovery/instance":
		f.mu.Lock()
		f.discoveryHits++
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"tenant_discovery_endpoint": base + "/" + f.Tenant + "/v2.0/.well-known/openid-configuration",
			"metadata": []map[string]any{{"preferred_network": r.Host, "preferred_cache": r.Host, "aliases": []string{r.Host}}}})
	case r.Method == http.MethodGet && r.URL.Path == "/"+f.Tenant+"/v2.0/.well-known/openid-configuration":
		writeJSON(w, http.StatusOK, map[string]any{
			"issuer":                 base + "/" + f.Tenant + "/v2.0",
			"authorization_endpoint": base + "/" + f.Tenant + "/oauth2/v2.0/authorize",
			"token_endpoint":         base + f.tokenPath(),
		})
	case r.Method == http.MethodPost && r.URL.Path == f.tokenPath():
		f.token(w, r, req.Form)
	default:
		writeJSON(w, http.StatusNotFound, oauthErr("invalid_request", 90002, "no such tenant or endpoint "+r.URL.Path))
	}
}

func (f *Entra) token(w http.ResponseWriter, r *http.Request, form url.Values) {
	if form.Get("grant_type") != "urn:ietf:params:oauth:grant-type:jwt-bearer" || form.Get("requested_token_use") != "on_behalf_of" {
		writeJSON(w, http.StatusBadRequest, oauthErr("unsupported_grant_type", 70003, "not an on-behalf-of request"))
		return
	}
	if form.Get("client_id") != f.ClientID || f.Scope == "" || !strings.Contains(" "+form.Get("scope")+" ", " "+f.Scope+" ") {
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
		_, _ = io.WriteString(w, "<html><body>Bad Request</body></html>")
	case "malformed":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"token_type":"Bearer","expires_in":3600,"access_token":"graph-`)
	case "noaccesstoken":
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "expires_in": 3600})
	case "slow":
		hang(r, f.stop)
	default:
		at := fmt.Sprintf("graph-at-%d-%s", n, randomHex(8))
		f.mu.Lock()
		f.issued[at] = Issued{ObjectID: claims.Oid, Scenario: claims.Scn}
		f.mu.Unlock()
		writeJSON(w, http.StatusOK, map[string]any{"token_type": "Bearer", "scope": f.Scope, "expires_in": 3600, "ext_expires_in": 3600, "access_token": at})
	}
}

// clientAuthProblem checks the application's own authentication.
func (f *Entra) clientAuthProblem(form url.Values) string {
	switch {
	case f.Secret != "":
		if form.Get("client_secret") != f.Secret {
			return "wrong client secret"
		}
	case f.Assertion != "":
		if form.Get("client_assertion_type") != "urn:ietf:params:oauth:client-assertion-type:jwt-bearer" || form.Get("client_assertion") != f.Assertion {
			return "client assertion is not the managed identity's token"
		}
	case f.Cert != nil:
		tok, err := jwt.ParseSigned(form.Get("client_assertion"), []jose.SignatureAlgorithm{jose.PS256, jose.RS256})
		if err != nil {
			return "client assertion is not a JWT: " + err.Error()
		}
		var c jwt.Claims
		if err := tok.Claims(f.Cert.PublicKey, &c); err != nil {
			return "client assertion signature: " + err.Error()
		}
		if c.Issuer != f.ClientID || c.Subject != f.ClientID || !c.Audience.Contains(f.srv.URL+f.tokenPath()) {
			return "client assertion claims"
		}
	default:
		return "no client authentication configured in the fake"
	}
	return ""
}
