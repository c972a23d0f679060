package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
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
	m.Challenge(w, r, ErrNoCredentials)
	want := `Bearer resource_metadata="http://127.0.0.1:7071/.well-known/oauth-protected-resource/mcp", scope="api://x/user_impersonation"`
	if w.Code != http.StatusUnauthorized || w.Header().Get("WWW-Authenticate") != want {
		t.Fatalf("%d %q", w.Code, w.Header().Get("WWW-Authenticate"))
	}
	w = httptest.NewRecorder()
	m.Challenge(w, r, &RejectError{Reason: `token "expired"`})
	if got := w.Header().Get("WWW-Authenticate"); got != want+`, error="invalid_token", error_description="token expired"` {
		t.Fatalf("%q", got)
	}
}

func TestRequirePutsIdentityInContext(t *testing.T) {
	var seen *Identity
	h := Require(NewDev(), &Metadata{}, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { seen = FromContext(r.Context()) }))
	h.ServeHTTP(httptest.NewRecorder(), httptest.NewRequest("POST", "/mcp", nil))
	if seen == nil || seen.Method != MethodDev {
		t.Fatalf("%+v", seen)
	}
	w := httptest.NewRecorder()
	Require(EasyAuth{}, &Metadata{}, http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest("POST", "/mcp", nil))
	if w.Code != 401 {
		t.Fatalf("easyauth without principal: %d", w.Code)
	}
}

type failing struct{}

func (failing) Authenticate(*http.Request) (*Identity, error) {
	return nil, errors.New("jwks unreachable")
}

func TestRequireUnavailableIs503(t *testing.T) {
	w := httptest.NewRecorder()
	Require(failing{}, &Metadata{}, http.NotFoundHandler()).ServeHTTP(w, httptest.NewRequest("POST", "/mcp", nil))
	if w.Code != http.StatusServiceUnavailable || w.Header().Get("Retry-After") == "" || w.Header().Get("WWW-Authenticate") != "" {
		t.Fatalf("%d %v", w.Code, w.Header())
	}
}
