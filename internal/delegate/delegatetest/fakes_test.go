package delegatetest_test

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/json"
	"io"
	"math/big"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/snippets-mcp/server/internal/delegate/delegatetest"
)

const tenant, app = "tenant-1", "app-1"

// answer is one reply of a fake, its body decoded when it is JSON.
type answer struct {
	status int
	header http.Header
	raw    string
	json   map[string]any
}

func do(t *testing.T, client *http.Client, req *http.Request) answer {
	t.Helper()
	resp, err := client.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", req.Method, req.URL.Path, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read: %v", req.Method, req.URL.Path, err)
	}
	a := answer{status: resp.StatusCode, header: resp.Header, raw: string(b)}
	_ = json.Unmarshal(b, &a.json) // left nil for bodies that are not JSON
	return a
}

func get(t *testing.T, client *http.Client, url, bearer string) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	if bearer != "" {
		req.Header.Set("Authorization", "Bearer "+bearer)
	}
	return do(t, client, req)
}

func postForm(t *testing.T, client *http.Client, url string, form url.Values) answer {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(form.Encode()))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	return do(t, client, req)
}

// oboForm is a proper on-behalf-of request for assertion, with a secret.
func oboForm(entra *delegatetest.Entra, assertion string) url.Values {
	return url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {"on_behalf_of"},
		"client_id": {app}, "client_secret": {entra.Secret}, "scope": {entra.Scope + " offline_access"}, "assertion": {assertion}}
}

// fakes starts an authority with a client secret and its Graph.
func fakes(t *testing.T) (*delegatetest.Entra, *delegatetest.Graph, *http.Client) {
	t.Helper()
	entra := delegatetest.NewEntra(t, tenant, app)
	graph := delegatetest.NewGraph(t, entra)
	entra.Secret = "s3cret"
	return entra, graph, delegatetest.Client(t, entra.Certificate(), graph.Certificate())
}

func TestEntraMetadata(t *testing.T) {
	t.Parallel()
	entra, graph, client := fakes(t)
	if want := "https://" + graph.Host() + "/.default"; entra.Scope != want {
		t.Errorf("Scope = %q, want %q (set by NewGraph)", entra.Scope, want)
	}
	cases := []struct {
		name, path string
		status     int
		want       map[string]any // fields of the answer
	}{
		{"instance discovery", "/common/discovery/instance?api-version=1.1", 200,
			map[string]any{"tenant_discovery_endpoint": entra.URL() + "/" + tenant + "/v2.0/.well-known/openid-configuration"}},
		{"tenant metadata", "/" + tenant + "/v2.0/.well-known/openid-configuration", 200, map[string]any{
			"issuer": entra.URL() + "/" + tenant + "/v2.0", "token_endpoint": entra.URL() + "/" + tenant + "/oauth2/v2.0/token",
			"authorization_endpoint": entra.URL() + "/" + tenant + "/oauth2/v2.0/authorize"}},
		{"another tenant", "/tenant-2/v2.0/.well-known/openid-configuration", 404, map[string]any{"error": "invalid_request"}},
		{"token endpoint with GET", "/" + tenant + "/oauth2/v2.0/token", 404, map[string]any{"error": "invalid_request"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			got := get(t, client, entra.URL()+c.path, "")
			if got.status != c.status {
				t.Errorf("status %d, want %d (%s)", got.status, c.status, got.raw)
			}
			for k, v := range c.want {
				if got.json[k] != v {
					t.Errorf("%s = %v, want %v", k, got.json[k], v)
				}
			}
		})
	}
	if got := entra.DiscoveryHits(); got != 1 {
		t.Errorf("DiscoveryHits() = %d, want 1", got)
	}
	if got := entra.Exchanges(); got != 0 {
		t.Errorf("Exchanges() = %d, want 0", got)
	}
}

// What the token endpoint answers for each scenario of the inbound token.
func TestEntraScenarios(t *testing.T) {
	t.Parallel()
	entra, _, client := fakes(t)
	cases := []struct {
		scenario   string
		status     int
		errCode    string // "error"; "" for none
		aadsts     float64
		retryAfter string
		check      func(t *testing.T, a answer)
	}{
		{"", 200, "", 0, "", nil},
		{"mfa", 400, "interaction_required", 50076, "", func(t *testing.T, a answer) {
			if c, _ := a.json["claims"].(string); !json.Valid([]byte(c)) || !strings.Contains(c, "capolids") {
				t.Errorf("claims %q, want a claims challenge", c)
			}
		}},
		{"consent", 400, "invalid_grant", 65001, "", func(t *testing.T, a answer) {
			if a.json["suberror"] != "consent_required" {
				t.Errorf("suberror %v, want consent_required", a.json["suberror"])
			}
		}},
		{"consent_required", 400, "consent_required", 65001, "", nil},
		{"expired", 400, "invalid_grant", 500133, "", nil},
		{"blocked", 400, "invalid_grant", 53003, "", nil},
		{"badclient", 401, "invalid_client", 70021, "", nil},
		{"throttle", 429, "temporarily_unavailable", 90033, "7", nil},
		{"e500", 500, "temporarily_unavailable", 90033, "", nil},
		{"html400", 400, "", 0, "", func(t *testing.T, a answer) {
			if ct := a.header.Get("Content-Type"); ct != "text/html" || !strings.HasPrefix(a.raw, "<html>") {
				t.Errorf("Content-Type %q body %q, want an HTML page", ct, a.raw)
			}
		}},
		{"malformed", 200, "", 0, "", func(t *testing.T, a answer) {
			if a.json != nil || !strings.HasPrefix(a.raw, `{"token_type":"Bearer"`) {
				t.Errorf("body %q, want JSON cut short", a.raw)
			}
		}},
		{"noaccesstoken", 200, "", 0, "", func(t *testing.T, a answer) {
			if _, ok := a.json["access_token"]; ok || a.json["token_type"] != "Bearer" {
				t.Errorf("answer %v, want a token response without access_token", a.json)
			}
		}},
	}
	for _, c := range cases {
		t.Run("scenario "+c.scenario, func(t *testing.T) {
			t.Parallel()
			oid := "oid-" + c.scenario
			got := postForm(t, client, entra.URL()+"/"+tenant+"/oauth2/v2.0/token",
				oboForm(entra, delegatetest.UserToken(tenant, oid, c.scenario, time.Now().Add(time.Hour))))
			if got.status != c.status {
				t.Errorf("status %d, want %d (%s)", got.status, c.status, got.raw)
			}
			if c.errCode != "" {
				codes, _ := got.json["error_codes"].([]any)
				if got.json["error"] != c.errCode || len(codes) != 1 || codes[0] != c.aadsts {
					t.Errorf("error %v codes %v, want %s [%v]", got.json["error"], got.json["error_codes"], c.errCode, c.aadsts)
				}
				if d, _ := got.json["error_description"].(string); !strings.HasPrefix(d, "AADSTS") {
					t.Errorf("error_description %q, want AADSTS…", d)
				}
			}
			if ra := got.header.Get("Retry-After"); ra != c.retryAfter {
				t.Errorf("Retry-After %q, want %q", ra, c.retryAfter)
			}
			if c.check != nil {
				c.check(t, got)
			}
			if c.scenario != "" {
				return
			}
			at, _ := got.json["access_token"].(string)
			who, ok := entra.Lookup(at)
			if !ok || who != (delegatetest.Issued{ObjectID: oid, Scenario: ""}) {
				t.Errorf("Lookup(%q) = %+v, %v; want the user %s", at, who, ok, oid)
			}
			if got.json["scope"] != entra.Scope || got.json["token_type"] != "Bearer" {
				t.Errorf("scope %v type %v, want %s Bearer", got.json["scope"], got.json["token_type"], entra.Scope)
			}
		})
	}
}

// Requests the token endpoint refuses before any scenario, and which of
// them count as exchanges.
func TestEntraRefusals(t *testing.T) {
	t.Parallel()
	entra, _, client := fakes(t)
	user := delegatetest.UserToken(tenant, "oid-1", "", time.Now().Add(time.Hour))
	cases := []struct {
		name    string
		edit    func(url.Values)
		status  int
		errCode string
	}{
		{"client credentials grant", func(f url.Values) { f.Set("grant_type", "client_credentials") }, 400, "unsupported_grant_type"},
		{"not on behalf of", func(f url.Values) { f.Del("requested_token_use") }, 400, "unsupported_grant_type"},
		{"another client", func(f url.Values) { f.Set("client_id", "app-2") }, 400, "invalid_request"},
		{"another scope", func(f url.Values) { f.Set("scope", "https://elsewhere/.default") }, 400, "invalid_request"},
		{"scope as a prefix only", func(f url.Values) { f.Set("scope", entra.Scope+"x") }, 400, "invalid_request"},
		{"wrong secret", func(f url.Values) { f.Set("client_secret", "guess") }, 401, "invalid_client"},
		{"no secret", func(f url.Values) { f.Del("client_secret") }, 401, "invalid_client"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			form := oboForm(entra, user)
			c.edit(form)
			got := postForm(t, client, entra.URL()+"/"+tenant+"/oauth2/v2.0/token", form)
			if got.status != c.status || got.json["error"] != c.errCode {
				t.Errorf("%d %v, want %d %s (%s)", got.status, got.json["error"], c.status, c.errCode, got.raw)
			}
		})
	}
}

func TestEntraRefusalsAreNotExchanges(t *testing.T) {
	t.Parallel()
	entra, _, client := fakes(t)
	user := delegatetest.UserToken(tenant, "oid-1", "", time.Now().Add(time.Hour))
	form := oboForm(entra, user)
	form.Set("client_secret", "guess")
	if got := postForm(t, client, entra.URL()+"/"+tenant+"/oauth2/v2.0/token", form); got.status != 401 {
		t.Fatalf("wrong secret: %d, want 401", got.status)
	}
	form = oboForm(entra, delegatetest.UserToken(tenant, "oid-1", "mfa", time.Now().Add(time.Hour)))
	if got := postForm(t, client, entra.URL()+"/"+tenant+"/oauth2/v2.0/token", form); got.status != 400 {
		t.Fatalf("mfa: %d, want 400", got.status)
	}
	if got := entra.Exchanges(); got != 1 {
		t.Errorf("Exchanges() = %d, want 1: the scenario answer passed client authentication, the wrong secret did not", got)
	}
	if got := len(entra.Tokens()); got != 0 {
		t.Errorf("Tokens() has %d, want none issued", got)
	}
}

// selfSigned makes an RSA key and a certificate for it.
func selfSigned(t *testing.T) (*rsa.PrivateKey, *x509.Certificate) {
	t.Helper()
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: app},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour)}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		t.Fatal(err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		t.Fatal(err)
	}
	return key, cert
}

// clientAssertion signs the claims an application's certificate assertion carries.
func clientAssertion(t *testing.T, key *rsa.PrivateKey, alg jose.SignatureAlgorithm, iss, sub, aud string) string {
	t.Helper()
	signer, err := jose.NewSigner(jose.SigningKey{Algorithm: alg, Key: key}, (&jose.SignerOptions{}).WithType("JWT"))
	if err != nil {
		t.Fatal(err)
	}
	tok, err := jwt.Signed(signer).Claims(jwt.Claims{Issuer: iss, Subject: sub, Audience: jwt.Audience{aud},
		Expiry: jwt.NewNumericDate(time.Now().Add(time.Hour)), ID: "jti-1"}).Serialize()
	if err != nil {
		t.Fatal(err)
	}
	return tok
}

// The three ways the application can authenticate, each with what the
// fake accepts and refuses.
func TestEntraClientAuthentication(t *testing.T) {
	t.Parallel()
	key, cert := selfSigned(t)
	otherKey, _ := selfSigned(t)
	const jwtBearer = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer"
	cases := []struct {
		name   string
		setup  func(e *delegatetest.Entra)
		client func(e *delegatetest.Entra) url.Values // the client authentication fields
		status int
	}{
		{"secret", func(e *delegatetest.Entra) { e.Secret = "s" }, func(*delegatetest.Entra) url.Values {
			return url.Values{"client_secret": {"s"}}
		}, 200},
		{"managed identity assertion", func(e *delegatetest.Entra) { e.Assertion = "mi-token" }, func(*delegatetest.Entra) url.Values {
			return url.Values{"client_assertion_type": {jwtBearer}, "client_assertion": {"mi-token"}}
		}, 200},
		{"another assertion", func(e *delegatetest.Entra) { e.Assertion = "mi-token" }, func(*delegatetest.Entra) url.Values {
			return url.Values{"client_assertion_type": {jwtBearer}, "client_assertion": {"other"}}
		}, 401},
		{"assertion of another type", func(e *delegatetest.Entra) { e.Assertion = "mi-token" }, func(*delegatetest.Entra) url.Values {
			return url.Values{"client_assertion_type": {"urn:other"}, "client_assertion": {"mi-token"}}
		}, 401},
		{"certificate, PS256", func(e *delegatetest.Entra) { e.Cert = cert }, func(e *delegatetest.Entra) url.Values {
			return url.Values{"client_assertion_type": {jwtBearer},
				"client_assertion": {clientAssertion(t, key, jose.PS256, app, app, e.URL()+"/"+tenant+"/oauth2/v2.0/token")}}
		}, 200},
		{"certificate, RS256", func(e *delegatetest.Entra) { e.Cert = cert }, func(e *delegatetest.Entra) url.Values {
			return url.Values{"client_assertion": {clientAssertion(t, key, jose.RS256, app, app, e.URL()+"/"+tenant+"/oauth2/v2.0/token")}}
		}, 200},
		{"certificate, signed by another key", func(e *delegatetest.Entra) { e.Cert = cert }, func(e *delegatetest.Entra) url.Values {
			return url.Values{"client_assertion": {clientAssertion(t, otherKey, jose.PS256, app, app, e.URL()+"/"+tenant+"/oauth2/v2.0/token")}}
		}, 401},
		{"certificate, another issuer", func(e *delegatetest.Entra) { e.Cert = cert }, func(e *delegatetest.Entra) url.Values {
			return url.Values{"client_assertion": {clientAssertion(t, key, jose.PS256, "app-2", app, e.URL()+"/"+tenant+"/oauth2/v2.0/token")}}
		}, 401},
		{"certificate, another audience", func(e *delegatetest.Entra) { e.Cert = cert }, func(e *delegatetest.Entra) url.Values {
			return url.Values{"client_assertion": {clientAssertion(t, key, jose.PS256, app, app, e.URL()+"/other/oauth2/v2.0/token")}}
		}, 401},
		{"certificate, not a JWT", func(e *delegatetest.Entra) { e.Cert = cert }, func(*delegatetest.Entra) url.Values {
			return url.Values{"client_assertion": {"not-a-jwt"}}
		}, 401},
		{"nothing configured", func(*delegatetest.Entra) {}, func(*delegatetest.Entra) url.Values {
			return url.Values{"client_secret": {""}}
		}, 401},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			entra := delegatetest.NewEntra(t, tenant, app)
			graph := delegatetest.NewGraph(t, entra)
			c.setup(entra)
			client := delegatetest.Client(t, entra.Certificate(), graph.Certificate())
			form := oboForm(entra, delegatetest.UserToken(tenant, "oid-1", "", time.Now().Add(time.Hour)))
			form.Del("client_secret")
			for k, v := range c.client(entra) {
				form[k] = v
			}
			got := postForm(t, client, entra.URL()+"/"+tenant+"/oauth2/v2.0/token", form)
			if got.status != c.status {
				t.Fatalf("status %d, want %d (%s)", got.status, c.status, got.raw)
			}
			if want := map[bool]int{true: 1, false: 0}[c.status == 200]; entra.Exchanges() != want {
				t.Errorf("Exchanges() = %d, want %d", entra.Exchanges(), want)
			}
			if c.status != 200 && got.json["error"] != "invalid_client" {
				t.Errorf("error %v, want invalid_client", got.json["error"])
			}
		})
	}
}

// What Graph answers for each scenario of the user the token was issued for.
func TestGraphScenarios(t *testing.T) {
	t.Parallel()
	entra, graph, client := fakes(t)
	noRedirect := *client
	noRedirect.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	cases := []struct {
		scenario string
		status   int
		check    func(t *testing.T, a answer, oid string)
	}{
		{"", 200, func(t *testing.T, a answer, oid string) {
			want := map[string]any{"id": oid, "displayName": "User " + oid, "mail": oid + "@contoso.example",
				"userPrincipalName": oid + "@contoso.example", "jobTitle": "Engineer"}
			for k, v := range want {
				if a.json[k] != v {
					t.Errorf("%s = %v, want %v", k, a.json[k], v)
				}
			}
		}},
		{"g401", 401, graphCode("InvalidAuthenticationToken")},
		{"gcae", 401, func(t *testing.T, a answer, _ string) {
			graphCode("InvalidAuthenticationToken")(t, a, "")
			h := a.header.Get("WWW-Authenticate")
			_, claims, ok := strings.Cut(h, `claims="`)
			b, err := base64.StdEncoding.DecodeString(strings.TrimSuffix(claims, `"`))
			if !strings.Contains(h, `error="insufficient_claims"`) || !ok || err != nil || !json.Valid(b) {
				t.Errorf("WWW-Authenticate %q, want an insufficient_claims challenge with base64 JSON claims", h)
			}
		}},
		{"g403", 403, graphCode("Authorization_RequestDenied")},
		{"g429", 429, func(t *testing.T, a answer, _ string) {
			graphCode("TooManyRequests")(t, a, "")
			if ra := a.header.Get("Retry-After"); ra != "30" {
				t.Errorf("Retry-After %q, want 30", ra)
			}
		}},
		{"g500", 500, graphCode("generalException")},
		{"gredirect", 307, func(t *testing.T, a answer, _ string) {
			if loc := a.header.Get("Location"); loc != entra.URL()+"/collect" {
				t.Errorf("Location %q, want %q: another host", loc, entra.URL()+"/collect")
			}
		}},
		{"gbadjson", 200, func(t *testing.T, a answer, _ string) {
			if a.json != nil || !strings.HasPrefix(a.raw, `{"displayName"`) {
				t.Errorf("body %q, want JSON cut short", a.raw)
			}
		}},
		{"gwrongid", 200, func(t *testing.T, a answer, _ string) {
			if a.json["id"] != "someone-else" {
				t.Errorf("id %v, want someone-else", a.json["id"])
			}
		}},
	}
	for _, c := range cases {
		t.Run("scenario "+c.scenario, func(t *testing.T) {
			t.Parallel()
			oid := "oid-" + c.scenario
			ex := postForm(t, client, entra.URL()+"/"+tenant+"/oauth2/v2.0/token",
				oboForm(entra, delegatetest.UserToken(tenant, oid, c.scenario, time.Now().Add(time.Hour))))
			at, _ := ex.json["access_token"].(string)
			if ex.status != 200 || at == "" {
				t.Fatalf("exchange: %d %s, want a token", ex.status, ex.raw)
			}
			got := get(t, &noRedirect, graph.URL()+"/v1.0/me", at)
			if got.status != c.status {
				t.Errorf("status %d, want %d (%s)", got.status, c.status, got.raw)
			}
			if got.header.Get("request-id") == "" {
				t.Error("no request-id header")
			}
			c.check(t, got, oid)
		})
	}
}

func graphCode(code string) func(t *testing.T, a answer, _ string) {
	return func(t *testing.T, a answer, _ string) {
		t.Helper()
		e, _ := a.json["error"].(map[string]any)
		if e["code"] != code {
			t.Errorf("error %v, want code %s", a.json["error"], code)
		}
	}
}

// Graph takes only tokens its authority issued, and only at /v1.0/me.
func TestGraphRefusals(t *testing.T) {
	t.Parallel()
	entra, graph, client := fakes(t)
	ex := postForm(t, client, entra.URL()+"/"+tenant+"/oauth2/v2.0/token",
		oboForm(entra, delegatetest.UserToken(tenant, "oid-1", "", time.Now().Add(time.Hour))))
	issued, _ := ex.json["access_token"].(string)
	cases := []struct {
		name, path, authorization string
		status                    int
		code                      string
	}{
		{"issued token", "/v1.0/me", "Bearer " + issued, 200, ""},
		{"no token", "/v1.0/me", "", 401, "InvalidAuthenticationToken"},
		{"unknown token", "/v1.0/me", "Bearer graph-at-forged", 401, "InvalidAuthenticationToken"},
		{"not a bearer token", "/v1.0/me", "Basic " + issued, 401, "InvalidAuthenticationToken"},
		{"another resource", "/v1.0/users", "Bearer " + issued, 404, "Request_ResourceNotFound"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			req, err := http.NewRequest(http.MethodGet, graph.URL()+c.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			if c.authorization != "" {
				req.Header.Set("Authorization", c.authorization)
			}
			got := do(t, client, req)
			if got.status != c.status {
				t.Errorf("status %d, want %d (%s)", got.status, c.status, got.raw)
			}
			if c.code != "" {
				graphCode(c.code)(t, got, "")
			}
		})
	}
}

func TestManagedIdentity(t *testing.T) {
	t.Parallel()
	const clientID, audience = "mi-client", "api://AzureADTokenExchange"
	good := url.Values{"api-version": {"2019-08-01"}, "client_id": {clientID}, "resource": {audience}}
	with := func(k, v string) url.Values {
		q := url.Values{}
		for kk, vv := range good {
			q[kk] = vv
		}
		q.Set(k, v)
		return q
	}
	cases := []struct {
		name    string
		status  int // set on the fake; 0 for none
		header  string
		path    string
		query   url.Values
		want    int
		wantTok bool
	}{
		{"token", 0, "", "/msi/token", good, 200, true},
		{"wrong header secret", 0, "guess", "/msi/token", good, 401, false},
		{"no header secret", 0, "-", "/msi/token", good, 401, false},
		{"another api version", 0, "", "/msi/token", with("api-version", "2017-09-01"), 400, false},
		{"another identity", 0, "", "/msi/token", with("client_id", "other"), 400, false},
		{"another audience", 0, "", "/msi/token", with("resource", "https://management.azure.com"), 400, false},
		{"another path", 0, "", "/metadata/identity/oauth2/token", good, 400, false},
		{"identity not available", 500, "", "/msi/token", good, 500, false},
		{"identity not assigned", 400, "", "/msi/token", good, 400, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			mi := delegatetest.NewManagedIdentity(t, clientID, audience)
			mi.Status = c.status
			base := strings.TrimSuffix(mi.URL(), "/msi/token")
			req, err := http.NewRequest(http.MethodGet, base+c.path+"?"+c.query.Encode(), nil)
			if err != nil {
				t.Fatal(err)
			}
			switch c.header {
			case "":
				req.Header.Set("X-IDENTITY-HEADER", mi.Header)
			case "-":
			default:
				req.Header.Set("X-IDENTITY-HEADER", c.header)
			}
			got := do(t, http.DefaultClient, req)
			if got.status != c.want {
				t.Errorf("status %d, want %d (%s)", got.status, c.want, got.raw)
			}
			if !c.wantTok {
				if _, ok := got.json["access_token"]; ok {
					t.Errorf("answer %v carries a token, want none", got.json)
				}
			} else {
				if got.json["access_token"] != mi.Token || got.json["client_id"] != clientID || got.json["resource"] != audience {
					t.Errorf("answer %v, want token %s for %s at %s", got.json, mi.Token, clientID, audience)
				}
				if exp, _ := got.json["expires_on"].(string); exp == "" || strings.Trim(exp, "0123456789") != "" {
					t.Errorf("expires_on %v, want Unix seconds as a string", got.json["expires_on"])
				}
			}
			if reqs := mi.Requests(); len(reqs) != 1 || reqs[0].Path != c.path {
				t.Errorf("recorded %+v, want the one request to %s", reqs, c.path)
			}
		})
	}
	t.Run("random secrets", func(t *testing.T) {
		t.Parallel()
		a, b := delegatetest.NewManagedIdentity(t, clientID, audience), delegatetest.NewManagedIdentity(t, clientID, audience)
		if a.Header == b.Header || a.Token == b.Token || len(a.Header) != 32 {
			t.Errorf("headers %q %q tokens %q %q, want random and distinct", a.Header, b.Header, a.Token, b.Token)
		}
	})
}

func TestRequestContains(t *testing.T) {
	t.Parallel()
	r := delegatetest.Request{Method: "POST", Path: "/p/in-path", RawQuery: "q=in-query", Body: "b=in-body",
		Header: http.Header{"X-A": {"first", "in-header"}}}
	cases := []struct {
		s    string
		want bool
	}{
		{"in-path", true}, {"in-query", true}, {"in-body", true}, {"in-header", true},
		{"nowhere", false}, {"POST", false}, {"X-A", false},
	}
	for _, c := range cases {
		t.Run(c.s, func(t *testing.T) {
			t.Parallel()
			if got := r.Contains(c.s); got != c.want {
				t.Errorf("Contains(%q) = %v, want %v", c.s, got, c.want)
			}
		})
	}
}

// Each way the inbound token can leak is reported.
func TestCheckNoLeakReportsEachLeak(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		leak func(t *testing.T, entra *delegatetest.Entra, client *http.Client, inbound string)
		want []string
	}{
		{"in another authority request", func(t *testing.T, e *delegatetest.Entra, c *http.Client, in string) {
			get(t, c, e.URL()+"/common/discovery/instance?hint="+in, "")
		}, []string{"outside the assertion: GET /common/discovery/instance"}},
		{"in another form field", func(t *testing.T, e *delegatetest.Entra, c *http.Client, in string) {
			f := oboForm(e, in)
			f.Set("client_info", in)
			postForm(t, c, e.URL()+"/"+tenant+"/oauth2/v2.0/token", f)
		}, []string{`form field "client_info"`}},
		{"in a token request header", func(t *testing.T, e *delegatetest.Entra, c *http.Client, in string) {
			req, err := http.NewRequest(http.MethodPost, e.URL()+"/"+tenant+"/oauth2/v2.0/token", strings.NewReader(oboForm(e, in).Encode()))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
			req.Header.Set("X-Debug", in)
			do(t, c, req)
		}, []string{`token request header "X-Debug"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			entra, graph, client := fakes(t)
			inbound := delegatetest.UserToken(tenant, "oid-1", "", time.Now().Add(time.Hour))
			postForm(t, client, entra.URL()+"/"+tenant+"/oauth2/v2.0/token", oboForm(entra, inbound)) // the proper use
			c.leak(t, entra, client, inbound)
			s := &spy{TB: t}
			delegatetest.CheckNoLeak(s, inbound, entra, graph)
			if len(s.errs) != len(c.want) {
				t.Fatalf("reported %q, want %d reports", s.errs, len(c.want))
			}
			for i, w := range c.want {
				if !strings.Contains(s.errs[i], w) {
					t.Errorf("report %q, want it to contain %q", s.errs[i], w)
				}
			}
		})
	}
}
