package prm

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/snippets-mcp/server/internal/identity"
)

func TestMetadataDocument(t *testing.T) {
	m := &Metadata{AuthorizationServers: []string{"https://login.example/t/v2.0"}, Scopes: []string{"api://x/user_impersonation"}}
	r := httptest.NewRequest("GET", "/.well-known/oauth-protected-resource/mcp", nil)
	r.Host = "app.example"
	w := httptest.NewRecorder()
	m.ServeHTTP(w, r)
	var doc map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
		t.Fatal(err)
	}
	if doc["resource"] != "https://app.example/mcp" || w.Header().Get("Content-Type") != "application/json" {
		t.Fatalf("%v", doc)
	}
	m.ResourceURL = "https://gw.example/snippets/mcp/"
	w = httptest.NewRecorder()
	m.ServeHTTP(w, r)
	json.Unmarshal(w.Body.Bytes(), &doc)
	if doc["resource"] != "https://gw.example/snippets/mcp" {
		t.Fatalf("configured resource: %v", doc["resource"])
	}
}

func TestChallenge(t *testing.T) {
	m := &Metadata{Scopes: []string{"api://x/user_impersonation"}}
	r := httptest.NewRequest("POST", "/mcp", nil)
	r.Host = "127.0.0.1:7071"
	w := httptest.NewRecorder()
	m.Challenge(w, r, identity.ErrNoCredentials)
	want := `Bearer resource_metadata="http://127.0.0.1:7071/.well-known/oauth-protected-resource/mcp", scope="api://x/user_impersonation"`
	if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != want {
		t.Fatalf("%d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	w = httptest.NewRecorder()
	m.Challenge(w, r, &identity.RejectError{Reason: `token "expired"`})
	if got := w.Header().Get("WWW-Authenticate"); got != want+`, error="invalid_token", error_description="token expired"` {
		t.Fatalf("%q", got)
	}
}

func TestRequirePutsIdentityInContext(t *testing.T) {
	var seen *identity.Identity
	h := Require(identity.NewDev(), &Metadata{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = identity.FromContext(r.Context()) }), Options{})
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/mcp", nil))
	if seen == nil || seen.Method != identity.MethodDev {
		t.Fatalf("%+v", seen)
	}
	w := httptest.NewRecorder()
	Require(identity.EasyAuth{}, &Metadata{}, http.NotFoundHandler(), Options{}).ServeHTTP(w, httptest.NewRequest("POST", "/mcp", nil))
	if w.Code != 401 {
		t.Fatalf("easyauth without principal: %d", w.Code)
	}
}

type failing struct{}

func (failing) Authenticate(*http.Request) (*identity.Identity, error) {
	return nil, errors.New("jwks unreachable")
}

func TestRequireUnavailableIs503(t *testing.T) {
	w := httptest.NewRecorder()
	Require(failing{}, &Metadata{}, http.NotFoundHandler(), Options{}).ServeHTTP(w, httptest.NewRequest("POST", "/mcp", nil))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || w.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
}

func TestMetadataFromHost(t *testing.T) {
	cases := []struct {
		name, host, configured string
		tls                    bool
		wantStatus             int
		wantResource           string
		wantCache, wantVary    string
	}{
		{name: "loopback http", host: "127.0.0.1:7071", wantStatus: 200, wantResource: "http://127.0.0.1:7071/mcp", wantCache: "private, max-age=3600", wantVary: "Host"},
		{name: "localhost canonical", host: "LOCALHOST:07071", wantStatus: 200, wantResource: "http://localhost:7071/mcp", wantCache: "private, max-age=3600", wantVary: "Host"},
		{name: "ipv6 loopback", host: "[::1]:7071", wantStatus: 200, wantResource: "http://[::1]:7071/mcp", wantCache: "private, max-age=3600", wantVary: "Host"},
		{name: "public host is https", host: "app.example", wantStatus: 200, wantResource: "https://app.example/mcp", wantCache: "private, max-age=3600", wantVary: "Host"},
		{name: "127 prefix is not loopback", host: "127.evil.com", wantStatus: 200, wantResource: "https://127.evil.com/mcp", wantCache: "private, max-age=3600", wantVary: "Host"},
		{name: "loopback over TLS", host: "localhost:8443", tls: true, wantStatus: 200, wantResource: "https://localhost:8443/mcp", wantCache: "private, max-age=3600", wantVary: "Host"},
		{name: "non-numeric port", host: "localhost:evil.example", wantStatus: 400},
		{name: "port out of range", host: "localhost:70000", wantStatus: 400},
		{name: "userinfo", host: "evil.example@localhost", wantStatus: 400},
		{name: "path", host: "localhost/evil", wantStatus: 400},
		{name: "empty", host: "", wantStatus: 400},
		{name: "configured ignores Host", host: "localhost:evil.example", configured: "https://gw.example/snippets/mcp", wantStatus: 200, wantResource: "https://gw.example/snippets/mcp", wantCache: "public, max-age=3600"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := &Metadata{ResourceURL: c.configured}
			r := httptest.NewRequest("GET", Path+"/mcp", nil)
			r.Host = c.host
			if c.tls {
				r.TLS = &tls.ConnectionState{}
			}
			w := httptest.NewRecorder()
			m.ServeHTTP(w, r)
			if got := w.Code; got != c.wantStatus {
				t.Fatalf("status: got %d, want %d: %s", got, c.wantStatus, w.Body)
			}
			if c.wantStatus != 200 {
				if c.host != "" && strings.Contains(w.Body.String(), c.host) {
					t.Errorf("the refused Host is echoed: %s", w.Body)
				}
				return
			}
			var doc struct{ Resource string }
			if err := json.Unmarshal(w.Body.Bytes(), &doc); err != nil {
				t.Fatal(err)
			}
			if got := doc.Resource; got != c.wantResource {
				t.Errorf("resource: got %q, want %q", got, c.wantResource)
			}
			if got := w.Header().Get("Cache-Control"); got != c.wantCache {
				t.Errorf("Cache-Control: got %q, want %q", got, c.wantCache)
			}
			if got := w.Header().Get("Vary"); got != c.wantVary {
				t.Errorf("Vary: got %q, want %q", got, c.wantVary)
			}
		})
	}
}

func TestChallengeWithMalformedHost(t *testing.T) {
	m := &Metadata{Scopes: []string{"api://x/user_impersonation"}}
	r := httptest.NewRequest("POST", "/mcp", nil)
	r.Host = "localhost:evil.example"
	w := httptest.NewRecorder()
	m.Challenge(w, r, identity.ErrNoCredentials)
	if got, want := w.Code, http.StatusUnauthorized; got != want {
		t.Fatalf("status: got %d, want %d", got, want)
	}
	if got, want := w.Header().Get("WWW-Authenticate"), `Bearer scope="api://x/user_impersonation"`; got != want {
		t.Errorf("WWW-Authenticate: got %q, want %q", got, want)
	}
	if got, want := w.Header().Get("Cache-Control"), "no-store"; got != want {
		t.Errorf("Cache-Control: got %q, want %q", got, want)
	}
}

type fixed struct {
	id  *identity.Identity
	err error
}

func (f fixed) Authenticate(*http.Request) (*identity.Identity, error) { return f.id, f.err }

func TestRequireOnRefused(t *testing.T) {
	cases := []struct {
		name       string
		a          identity.Authenticator
		wantStatus int // 0: the hook must not run
	}{
		{"accepted", identity.NewDev(), 0},
		{"no credentials", fixed{err: identity.ErrNoCredentials}, http.StatusUnauthorized},
		{"rejected", fixed{err: &identity.RejectError{Reason: "token expired"}}, http.StatusUnauthorized},
		{"no identity", fixed{}, http.StatusUnauthorized},
		{"issuer down", failing{}, http.StatusServiceUnavailable},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			var gotStatus int
			var gotErr error
			h := Require(c.a, &Metadata{}, http.NotFoundHandler(), Options{OnRefused: func(r *http.Request, status int, err error) {
				gotStatus, gotErr = status, err
			}})
			w := httptest.NewRecorder()
			h.ServeHTTP(w, httptest.NewRequest("POST", "/mcp", nil))
			if gotStatus != c.wantStatus {
				t.Fatalf("hook status: got %d, want %d", gotStatus, c.wantStatus)
			}
			if c.wantStatus != 0 && w.Code != c.wantStatus {
				t.Errorf("answer: got %d, hook told %d", w.Code, c.wantStatus)
			}
			if f, ok := c.a.(fixed); ok && gotErr != f.err {
				t.Errorf("hook error: got %v, want %v", gotErr, f.err)
			}
		})
	}
}
