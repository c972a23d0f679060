package delegatetest

import (
	"crypto/x509"
	"encoding/base64"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
)

// Graph stands in for Microsoft Graph's /v1.0/me. It accepts only tokens
// its authority issued and answers according to the scenario of the user
// token they were issued for. The profile of user <oid> is displayName
// "User <oid>", mail and userPrincipalName "<oid>@contoso.example",
// jobTitle "Engineer".
type Graph struct {
	recorder
	srv   *httptest.Server
	entra *Entra
	stop  chan struct{} // closed at cleanup to release hanging handlers
}

// NewGraph starts a Graph stand-in that trusts entra's tokens, and sets
// entra.Scope to this Graph's ".default" scope. It is closed when the test ends.
func NewGraph(t testing.TB, entra *Entra) *Graph {
	g := &Graph{entra: entra, stop: make(chan struct{})}
	g.srv = httptest.NewUnstartedServer(http.HandlerFunc(g.serve))
	g.srv.StartTLS() // after the assignment: handlers read g.srv.URL
	t.Cleanup(g.srv.Close)
	// Runs first (cleanups are LIFO). Not entra's stop: that closes only
	// after this server's Close, which waits for the hanging handlers.
	t.Cleanup(func() { close(g.stop) })
	entra.Scope = "https://" + g.Host() + "/.default"
	return g
}

// URL is the Graph base URL, for MCP_GRAPH_ENDPOINT.
func (g *Graph) URL() string { return g.srv.URL }

// Host is the Graph host (and port): what audit events name as the downstream resource.
func (g *Graph) Host() string {
	u, _ := url.Parse(g.srv.URL)
	return u.Host
}

// Certificate is the TLS certificate clients must trust.
func (g *Graph) Certificate() *x509.Certificate { return g.srv.Certificate() }

func (g *Graph) serve(w http.ResponseWriter, r *http.Request) {
	g.record(r)
	w.Header().Set("request-id", "req-"+randomHex(4))
	if r.URL.Path != "/v1.0/me" {
		writeJSON(w, http.StatusNotFound, graphErr("Request_ResourceNotFound"))
		return
	}
	tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
	who, known := g.entra.Lookup(tok)
	if !ok || !known {
		writeJSON(w, http.StatusUnauthorized, graphErr("InvalidAuthenticationToken"))
		return
	}
	switch who.Scenario {
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
		hang(r, g.stop)
	case "gredirect":
		// The delegated token must not follow a redirect to another host.
		http.Redirect(w, r, g.entra.srv.URL+"/collect", http.StatusTemporaryRedirect)
	case "gbadjson":
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"displayName": "cut`)
	case "gwrongid":
		writeJSON(w, http.StatusOK, map[string]any{"id": "someone-else", "displayName": "Someone Else"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{
			"@odata.context":    "https://graph.microsoft.com/v1.0/$metadata#users/$entity",
			"id":                who.ObjectID,
			"displayName":       "User " + who.ObjectID,
			"mail":              who.ObjectID + "@contoso.example",
			"userPrincipalName": who.ObjectID + "@contoso.example",
			"jobTitle":          "Engineer",
		})
	}
}

func graphErr(code string) map[string]any {
	return map[string]any{"error": map[string]any{"code": code, "message": "fake " + code}}
}
