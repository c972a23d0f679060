package e2e

import (
	"encoding/base64"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/identity/authtest"
)

const scopeURI = "api://snippets-mcp-test/user_impersonation"

// jwtServer starts Azurite, a local OIDC issuer with real keys, and the
// server in jwt mode trusting that issuer.
func jwtServer(t *testing.T, env ...string) (*Server, *authtest.Issuer) {
	t.Helper()
	iss := authtest.NewIssuer(t)
	az := startAzurite(t)
	srv := startServer(t, append([]string{
		"MCP_AUTH_MODE=jwt",
		"MCP_AUTH_ISSUER=" + iss.URL(),
		"MCP_AUTH_AUDIENCE=" + authtest.Audience,
		"MCP_AUTH_TENANTS=" + authtest.TenantID,
		"WEBSITE_AUTH_PRM_DEFAULT_WITH_SCOPES=" + scopeURI,
		"SNIPPETS_STORAGE=" + az.ConnString(),
	}, env...)...)
	return srv, iss
}

func bearer(tok string) []string { return []string{"Authorization", "Bearer " + tok} }

const pingBody = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`

// TestJWTRejections sends every kind of bad or missing credential and
// expects 401 with a challenge pointing at the metadata document.
func TestJWTRejections(t *testing.T) {
	t.Parallel()
	srv, iss := jwtServer(t)
	prm := `resource_metadata="` + srv.URL + `/.well-known/oauth-protected-resource/mcp"`
	other := authtest.NewIssuer(t) // real keys, but not the trusted issuer
	principal := base64.StdEncoding.EncodeToString([]byte(`{"auth_typ":"aad","claims":[{"typ":"tid","val":"` +
		authtest.TenantID + `"},{"typ":"oid","val":"forged"},{"typ":"scp","val":"user_impersonation"},{"typ":"roles","val":"Snippets.Approve"}]}`))

	cases := []struct {
		name    string
		headers []string
		url     string
		invalid bool // error="invalid_token" expected
	}{
		{name: "no token"},
		{name: "token in query string", url: "?access_token=" + iss.Mint(t, authtest.Claims{})},
		{name: "forged platform principal outside easyauth", headers: []string{"X-MS-CLIENT-PRINCIPAL", principal, "X-MS-CLIENT-PRINCIPAL-ID", "forged"}},
		{name: "expired", headers: bearer(iss.Mint(t, authtest.Claims{IssuedAt: time.Now().Add(-3 * time.Hour), NotBefore: time.Now().Add(-3 * time.Hour), Expiry: time.Now().Add(-2 * time.Hour)})), invalid: true},
		{name: "not yet valid", headers: bearer(iss.Mint(t, authtest.Claims{NotBefore: time.Now().Add(time.Hour), Expiry: time.Now().Add(2 * time.Hour)})), invalid: true},
		{name: "wrong audience", headers: bearer(iss.Mint(t, authtest.Claims{Audience: []string{"api://someone-else"}})), invalid: true},
		{name: "wrong issuer claim", headers: bearer(iss.Mint(t, authtest.Claims{Issuer: "https://login.example/other/v2.0"})), invalid: true},
		{name: "signed by another issuer", headers: bearer(other.Mint(t, authtest.Claims{Issuer: iss.URL()})), invalid: true},
		{name: "wrong tenant", headers: bearer(iss.Mint(t, authtest.Claims{TenantID: "11111111-2222-3333-4444-555555555555"})), invalid: true},
		{name: "alg none", headers: bearer(iss.NoneToken(t, authtest.Claims{})), invalid: true},
		{name: "HS256 signed with the public key", headers: bearer(iss.HS256WithPublicKey(t, authtest.Claims{})), invalid: true},
		{name: "tampered payload", headers: bearer(authtest.Tamper(t, iss.Mint(t, authtest.Claims{}), func(c map[string]any) { c["roles"] = []string{"Snippets.Approve"} })), invalid: true},
		{name: "unknown kid", headers: bearer(iss.MintWith(t, authtest.Header{KeyID: "no-such-key"}, authtest.Claims{})), invalid: true},
		{name: "not a JWT", headers: bearer("hello"), invalid: true},
		{name: "basic auth", headers: []string{"Authorization", "Basic dXNlcjpwYXNz"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			resp, body := post(t, srv.MCPURL()+c.url, pingBody, append([]string{"Mcp-Protocol-Version", "2025-06-18"}, c.headers...)...)
			if resp.StatusCode != http.StatusUnauthorized {
				t.Fatalf("status %d, want 401: %s", resp.StatusCode, body)
			}
			www := resp.Header.Get("WWW-Authenticate")
			if !strings.HasPrefix(www, "Bearer ") || !strings.Contains(www, prm) || !strings.Contains(www, `scope="`+scopeURI+`"`) {
				t.Errorf("WWW-Authenticate = %q", www)
			}
			if got := strings.Contains(www, `error="invalid_token"`); got != c.invalid {
				t.Errorf("invalid_token in challenge = %v, want %v: %q", got, c.invalid, www)
			}
		})
	}
}

// TestJWTKeyRotation: a token signed with a key the server has not seen
// yet is accepted once the issuer publishes it (refresh on unknown kid).
func TestJWTKeyRotation(t *testing.T) {
	t.Parallel()
	srv, iss := jwtServer(t, "MCP_AUTH_KEY_REFRESH=1s")
	if r, tr := callTool(t, srv.MCPURL(), "whoami", nil, bearer(iss.Mint(t, authtest.Claims{}))...); r.Error != nil || tr.IsError {
		t.Fatalf("first key: %+v %s", r.Error, tr.Text())
	}
	iss.Rotate()
	time.Sleep(1100 * time.Millisecond) // past the unknown-kid refresh limit
	if r, tr := callTool(t, srv.MCPURL(), "whoami", nil, bearer(iss.Mint(t, authtest.Claims{}))...); r.Error != nil || tr.IsError {
		t.Fatalf("rotated key: %+v %s", r.Error, tr.Text())
	}
}

// TestPRMDocument checks the RFC 9728 document at both well-known paths.
func TestPRMDocument(t *testing.T) {
	t.Parallel()
	srv, iss := jwtServer(t)
	for _, path := range []string{"/.well-known/oauth-protected-resource", "/.well-known/oauth-protected-resource/mcp"} {
		resp, err := http.Get(srv.URL + path)
		if err != nil {
			t.Fatal(err)
		}
		var doc map[string]any
		err = json.NewDecoder(resp.Body).Decode(&doc)
		resp.Body.Close()
		if err != nil || resp.StatusCode != 200 {
			t.Fatalf("%s: %d %v", path, resp.StatusCode, err)
		}
		want := map[string]any{
			"resource":                 srv.MCPURL(),
			"authorization_servers":    []any{iss.URL()},
			"scopes_supported":         []any{scopeURI},
			"bearer_methods_supported": []any{"header"},
		}
		if toJSON(doc) != toJSON(want) {
			t.Errorf("%s:\n got %s\nwant %s", path, toJSON(doc), toJSON(want))
		}
	}
}

func toolNames(t *testing.T, url string, tok string) []string {
	t.Helper()
	resp, body := post(t, url, pingBody, append([]string{"Mcp-Protocol-Version", "2025-06-18"}, bearer(tok)...)...)
	if resp.StatusCode != 200 {
		t.Fatalf("tools/list: %d %s", resp.StatusCode, body)
	}
	var r struct {
		Result struct {
			Tools []struct{ Name string } `json:"tools"`
		} `json:"result"`
	}
	if err := json.Unmarshal(body, &r); err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, tl := range r.Result.Tools {
		names = append(names, tl.Name)
	}
	slices.Sort(names)
	return names
}

// TestPerToolAuthorization: tools/list and tools/call follow the policy,
// and one caller never sees or changes another's private snippets.
func TestPerToolAuthorization(t *testing.T) {
	t.Parallel()
	srv, iss := jwtServer(t)
	alice := iss.Mint(t, authtest.Claims{ObjectID: "aaaaaaaa-0000-0000-0000-000000000001", Name: "Alice"})
	bob := iss.Mint(t, authtest.Claims{ObjectID: "bbbbbbbb-0000-0000-0000-000000000002", Name: "Bob"})
	reader := iss.Mint(t, authtest.Claims{ObjectID: "cccccccc-0000-0000-0000-000000000003", AppOnly: true, Roles: []string{"Snippets.Read"}})
	norole := iss.Mint(t, authtest.Claims{ObjectID: "dddddddd-0000-0000-0000-000000000004", AppOnly: true})
	approver := iss.Mint(t, authtest.Claims{ObjectID: "eeeeeeee-0000-0000-0000-000000000005", Roles: []string{"Snippets.Approve", "Snippets.Delete"}})

	user := toolNames(t, srv.MCPURL(), alice)
	// No delegation is configured here, so get_my_profile, which could
	// only fail, is offered to nobody.
	if want := []string{"get_snippet", "list_snippets", "save_snippet", "whoami"}; !slices.Equal(user, want) {
		t.Errorf("user tools %v, want %v", user, want)
	}
	if got := toolNames(t, srv.MCPURL(), reader); !slices.Equal(got, []string{"get_snippet", "list_snippets", "whoami"}) {
		t.Errorf("read-only app tools %v", got)
	}
	if got := toolNames(t, srv.MCPURL(), norole); len(got) != 0 {
		t.Errorf("app without roles sees %v", got)
	}
	if got := toolNames(t, srv.MCPURL(), approver); !slices.Contains(got, "approve_request") || !slices.Contains(got, "delete_snippet") {
		t.Errorf("approver tools %v", got)
	}

	// A read-only caller cannot save: the tool is not found for it.
	if r, _ := callTool(t, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": "x", "snippet": "y"}, bearer(reader)...); r.Error == nil || r.Error.Code != -32602 {
		t.Fatalf("read-only save: %+v", r)
	}
	// A plain user cannot call admin tools.
	if r, _ := callTool(t, srv.MCPURL(), "list_approval_requests", nil, bearer(alice)...); r.Error == nil {
		t.Fatalf("user called an admin tool")
	}
	// Writing to the shared space needs Snippets.Write.
	if _, tr := callTool(t, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": "team", "snippet": "x", "shared": true}, bearer(alice)...); !tr.IsError || !strings.Contains(tr.Text(), "Snippets.Write") {
		t.Fatalf("shared write without role: %s", tr.Text())
	}

	// Isolation: Alice's private snippet is invisible and untouchable for Bob.
	if _, tr := callTool(t, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": "diary", "snippet": "alice only"}, bearer(alice)...); tr.IsError {
		t.Fatal(tr.Text())
	}
	if _, tr := callTool(t, srv.MCPURL(), "get_snippet", map[string]any{"snippetname": "diary"}, bearer(bob)...); !tr.IsError {
		t.Fatalf("bob read alice's snippet: %s", tr.Text())
	}
	if _, tr := callTool(t, srv.MCPURL(), "list_snippets", nil, bearer(bob)...); strings.Contains(string(tr.StructuredContent), "diary") {
		t.Fatalf("bob listed alice's snippet: %s", tr.StructuredContent)
	}
	if _, tr := callTool(t, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": "diary", "snippet": "bob was here"}, bearer(bob)...); tr.IsError {
		t.Fatal(tr.Text())
	}
	if _, tr := callTool(t, srv.MCPURL(), "get_snippet", map[string]any{"snippetname": "diary"}, bearer(alice)...); tr.Text() != "alice only" {
		t.Fatalf("alice's snippet changed: %q", tr.Text())
	}
	resp, body := post(t, srv.MCPURL(), `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"snippet://diary"}}`,
		append([]string{"Mcp-Protocol-Version", "2025-06-18"}, bearer(bob)...)...)
	if resp.StatusCode != 200 || strings.Contains(string(body), "alice only") {
		t.Fatalf("bob's resource read shows alice's content: %s", body)
	}

	// A forged principal header next to a valid token changes nothing.
	forged := base64.StdEncoding.EncodeToString([]byte(`{"claims":[{"typ":"tid","val":"` + authtest.TenantID + `"},{"typ":"oid","val":"aaaaaaaa-0000-0000-0000-000000000001"},{"typ":"scp","val":"user_impersonation"}]}`))
	_, tr := callTool(t, srv.MCPURL(), "get_snippet", map[string]any{"snippetname": "diary"}, append(bearer(bob), "X-MS-CLIENT-PRINCIPAL", forged)...)
	if tr.Text() != "bob was here" {
		t.Fatalf("forged principal changed identity: %q", tr.Text())
	}
}

// TestInspectorWithBearer: MCP Inspector completes a round trip in jwt
// mode with a real signed token in its --header option.
func TestInspectorWithBearer(t *testing.T) {
	t.Parallel()
	srv, iss := jwtServer(t)
	hdr := "Authorization: Bearer " + iss.Mint(t, authtest.Claims{})
	structured(t, inspector(t, srv.MCPURL(), "--header", hdr, "--method", "tools/call", "--tool-name", "save_snippet",
		"--tool-arg", "snippetname=jwt-demo", "snippet=via inspector"))
	got := structured(t, inspector(t, srv.MCPURL(), "--header", hdr, "--method", "tools/call", "--tool-name", "get_snippet",
		"--tool-arg", "snippetname=jwt-demo"))
	if got["content"] != "via inspector" {
		t.Fatalf("get: %v", got)
	}
	who := structured(t, inspector(t, srv.MCPURL(), "--header", hdr, "--method", "tools/call", "--tool-name", "whoami"))
	if who["objectId"] != authtest.ObjectID || who["authMethod"] != "jwt" || strings.Contains(toJSON(who), "eyJ") {
		t.Fatalf("whoami: %v", who)
	}
}

// TestJWTTokenKinds: the binary refuses ID tokens, tokens naming no client
// and user tokens without delegated scopes with 401 invalid_token and a
// reason, and tells app-only from user tokens by idtyp, else by oid = sub.
// The API's client id is an accepted audience, so an ID token issued to it
// passes the audience check and must be stopped by its shape.
func TestJWTTokenKinds(t *testing.T) {
	t.Parallel()
	srv, iss := jwtServer(t, "MCP_AUTH_AUDIENCE="+authtest.Audience+","+authtest.ClientID)
	admin := []string{"Snippets.Approve", "Snippets.Delete", "Snippets.Write"}
	refused := []struct {
		name   string
		claims authtest.Claims
		reason string
	}{
		{"ID token with roles", authtest.Claims{IDToken: true, Roles: admin}, "ID token, not an access token"},
		{"user token with idtyp user and no scp", authtest.Claims{NoScope: true, IDType: "user", Roles: admin}, "user token has no delegated scopes"},
		{"user token with neither scp nor idtyp", authtest.Claims{NoScope: true, Roles: admin}, "user token has no delegated scopes"},
		{"no azp or appid", authtest.Claims{Extra: map[string]any{"azp": nil}}, "no azp or appid"},
		{"app-only token with scp", authtest.Claims{AppOnly: true, Roles: admin, Extra: map[string]any{"scp": "user_impersonation"}}, "app-only token carries delegated scopes"},
	}
	for _, c := range refused {
		t.Run(c.name, func(t *testing.T) {
			resp, body := post(t, srv.MCPURL(), pingBody, append([]string{"Mcp-Protocol-Version", "2025-06-18"}, bearer(iss.Mint(t, c.claims))...)...)
			www := resp.Header.Get("WWW-Authenticate")
			if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(www, `error="invalid_token"`) || !strings.Contains(www, c.reason) {
				t.Fatalf("got %d %q %s, want 401 invalid_token naming %q", resp.StatusCode, www, body, c.reason)
			}
		})
	}

	accepted := []struct {
		name    string
		claims  authtest.Claims
		appOnly bool
	}{
		{"user token", authtest.Claims{}, false},
		{"app-only token with idtyp app", authtest.Claims{AppOnly: true, Roles: []string{"Snippets.Read"}}, true},
		{"app-only token without idtyp, oid equal to sub", authtest.Claims{AppOnly: true, IDType: authtest.NoIDType, Roles: []string{"Snippets.Read"}}, true},
	}
	for _, c := range accepted {
		t.Run(c.name, func(t *testing.T) {
			_, tr := callTool(t, srv.MCPURL(), "whoami", nil, bearer(iss.Mint(t, c.claims))...)
			var who struct {
				AppOnly bool `json:"appOnly"`
			}
			if err := json.Unmarshal(tr.StructuredContent, &who); err != nil || tr.IsError || who.AppOnly != c.appOnly {
				t.Fatalf("whoami %s (%v): appOnly %v, want %v", tr.StructuredContent, err, who.AppOnly, c.appOnly)
			}
		})
	}
}
