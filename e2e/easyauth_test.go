package e2e

import (
	"encoding/base64"
	"net/http"
	"strings"
	"testing"
)

// TestEasyAuthPrincipal runs the binary as it runs behind Functions
// built-in auth: identity comes from X-MS-CLIENT-PRINCIPAL, which only the
// platform can set; a missing or malformed principal gets 401.
func TestEasyAuthPrincipal(t *testing.T) {
	t.Parallel()
	az := startAzurite(t)
	srv := startServer(t, "WEBSITE_AUTH_ENABLED=True", "SNIPPETS_STORAGE="+az.ConnString(),
		"WEBSITE_AUTH_PRM_DEFAULT_WITH_SCOPES=api://snippets/user_impersonation")
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	good := enc(`{"auth_typ":"aad","claims":[
		{"typ":"http://schemas.microsoft.com/identity/claims/tenantid","val":"tenant-1"},
		{"typ":"http://schemas.microsoft.com/identity/claims/objectidentifier","val":"user-1"},
		{"typ":"http://schemas.microsoft.com/identity/claims/scope","val":"user_impersonation"},
		{"typ":"azp","val":"agent-1"}]}`)

	_, tr := callTool(t, srv.MCPURL(), "whoami", nil, "X-MS-CLIENT-PRINCIPAL", good, "X-MS-CLIENT-PRINCIPAL-ID", "user-1")
	if tr.IsError || !strings.Contains(string(tr.StructuredContent), `"objectId":"user-1"`) || !strings.Contains(string(tr.StructuredContent), `"authMethod":"easyauth"`) {
		t.Fatalf("whoami: %s %s", tr.StructuredContent, tr.Text())
	}
	// role_typ names another claim: it does not make that claim's values roles.
	groups := enc(`{"auth_typ":"aad","role_typ":"groups","claims":[{"typ":"tid","val":"tenant-1"},{"typ":"oid","val":"user-1"},
		{"typ":"scp","val":"user_impersonation"},{"typ":"azp","val":"agent-1"},{"typ":"groups","val":"Snippets.Approve"}]}`)
	_, tr = callTool(t, srv.MCPURL(), "whoami", nil, "X-MS-CLIENT-PRINCIPAL", groups)
	if tr.IsError || !strings.Contains(string(tr.StructuredContent), `"roles":[]`) || strings.Contains(string(tr.StructuredContent), "approve_request") {
		t.Fatalf("role_typ groups: %s %s", tr.StructuredContent, tr.Text())
	}
	for name, headers := range map[string][]string{
		"no principal":            nil,
		"not base64":              {"X-MS-CLIENT-PRINCIPAL", "%%%not-base64%%%"},
		"not json":                {"X-MS-CLIENT-PRINCIPAL", enc("<xml/>")},
		"no object id":            {"X-MS-CLIENT-PRINCIPAL", enc(`{"claims":[{"typ":"tid","val":"t"}]}`)},
		"disagreeing id":          {"X-MS-CLIENT-PRINCIPAL", good, "X-MS-CLIENT-PRINCIPAL-ID", "someone-else"},
		"bearer but no principal": {"Authorization", "Bearer eyJhbGciOiJub25lIn0.e30."},
		// A browser login's principal holds the ID token's claims: nonce, no azp, no scp.
		"ID token principal": {"X-MS-CLIENT-PRINCIPAL", enc(`{"auth_typ":"aad","claims":[{"typ":"tid","val":"t"},{"typ":"oid","val":"u"},
			{"typ":"nonce","val":"n"},{"typ":"roles","val":"Snippets.Approve"}]}`)},
		"user without scopes": {"X-MS-CLIENT-PRINCIPAL", enc(`{"auth_typ":"aad","claims":[{"typ":"tid","val":"t"},{"typ":"oid","val":"u"},
			{"typ":"idtyp","val":"user"},{"typ":"azp","val":"agent-1"},{"typ":"roles","val":"Snippets.Approve"}]}`)},
	} {
		resp, body := post(t, srv.MCPURL(), pingBody, append([]string{"Mcp-Protocol-Version", "2025-06-18"}, headers...)...)
		if resp.StatusCode != http.StatusUnauthorized || !strings.Contains(resp.Header.Get("WWW-Authenticate"), "resource_metadata=") {
			t.Errorf("%s: %d %q %s", name, resp.StatusCode, resp.Header.Get("WWW-Authenticate"), body)
		}
	}
}
