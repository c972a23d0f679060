package policy

import (
	"bytes"
	"log/slog"
	"slices"
	"strings"
	"testing"

	"github.com/snippets-mcp/server/internal/identity"
)

var classes = map[string]Class{"get": ClassRead, "save": ClassWrite, "delete": ClassDestructive, "approve": ClassAdmin}

func TestDefaultPolicy(t *testing.T) {
	p, err := New(classes, nil)
	if err != nil {
		t.Fatal(err)
	}
	user := &identity.Identity{TenantID: "t", ObjectID: "u", Scopes: []string{identity.ScopeUser}}
	deleter := &identity.Identity{TenantID: "t", ObjectID: "d", Scopes: []string{identity.ScopeUser}, Roles: []string{identity.RoleDelete}}
	readerApp := &identity.Identity{TenantID: "t", ObjectID: "a", AppOnly: true, Roles: []string{identity.RoleRead}}
	bareApp := &identity.Identity{TenantID: "t", ObjectID: "b", AppOnly: true}
	noScope := &identity.Identity{TenantID: "t", ObjectID: "n", Scopes: []string{"other"}}
	noOID := &identity.Identity{TenantID: "t", Scopes: []string{identity.ScopeUser}}
	cases := []struct {
		id   *identity.Identity
		tool string
		want bool
	}{
		{user, "get", true}, {user, "save", true}, {user, "delete", false}, {user, "approve", false},
		{deleter, "delete", true},
		{readerApp, "get", true}, {readerApp, "save", false},
		{bareApp, "get", false},
		{noScope, "get", false},
		{noOID, "get", false},
		{nil, "get", false},
		{user, "unknown", false},
	}
	for _, c := range cases {
		if got := p.Allows(c.id, c.tool); got != c.want {
			t.Errorf("Allows(%+v, %s) = %v", c.id, c.tool, got)
		}
	}
}

func TestPolicyFile(t *testing.T) {
	p, err := New(classes, []byte(`{"tools":{"save":{"roles":["Snippets.Write"]},"get":{"deny":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	user := &identity.Identity{TenantID: "t", ObjectID: "u", Scopes: []string{identity.ScopeUser}}
	if p.Allows(user, "save") || p.Allows(user, "get") {
		t.Fatal("override not applied")
	}
	if r := p.rules["save"]; r.Class != ClassWrite {
		t.Fatalf("class lost: %+v", r)
	}
}

// Callers for the policy tables.
var (
	polUser        = &identity.Identity{TenantID: "t", ObjectID: "u", Scopes: []string{identity.ScopeUser}}
	polWriter      = &identity.Identity{TenantID: "t", ObjectID: "w", Scopes: []string{identity.ScopeUser}, Roles: []string{identity.RoleWrite}}
	polNoScopeWr   = &identity.Identity{TenantID: "t", ObjectID: "x", Scopes: []string{"other"}, Roles: []string{identity.RoleWrite, identity.RoleDelete, identity.RoleApprove}}
	polDeleter     = &identity.Identity{TenantID: "t", ObjectID: "d", Scopes: []string{identity.ScopeUser}, Roles: []string{identity.RoleDelete}}
	polDelApprover = &identity.Identity{TenantID: "t", ObjectID: "da", Scopes: []string{identity.ScopeUser}, Roles: []string{identity.RoleDelete, identity.RoleApprove}}
	polAppReader   = &identity.Identity{TenantID: "t", ObjectID: "ar", AppOnly: true, Roles: []string{identity.RoleRead}}
	polAppWriter   = &identity.Identity{TenantID: "t", ObjectID: "aw", AppOnly: true, Roles: []string{identity.RoleWrite}}
	polAppDeleter  = &identity.Identity{TenantID: "t", ObjectID: "ad", AppOnly: true, Roles: []string{identity.RoleDelete}}
	polAppAll      = &identity.Identity{TenantID: "t", ObjectID: "aa", AppOnly: true, Roles: []string{identity.RoleRead, identity.RoleWrite, identity.RoleDelete, identity.RoleApprove}}
)

type allowCase struct {
	id   *identity.Identity
	tool string
	want bool
}

// TestPolicyEntriesOnlyTighten: an entry adds requirements to the tool's
// default rule; it never drops one (the scope, the app roles) and never
// lets in a caller the default keeps out.
func TestPolicyEntriesOnlyTighten(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name  string
		doc   string
		allow []allowCase
	}{
		{"roles on a write tool keep the scope and the app writers", `{"tools":{"save":{"roles":["Snippets.Write"]}}}`, []allowCase{
			{polWriter, "save", true}, {polUser, "save", false}, {polNoScopeWr, "save", false},
			{polAppWriter, "save", true}, {polAppReader, "save", false},
		}},
		{"a stricter class adds that class's defaults", `{"tools":{"get":{"class":"write"}}}`, []allowCase{
			{polUser, "get", true}, {polNoScopeWr, "get", false},
			{polAppWriter, "get", true}, {polAppReader, "get", false},
		}},
		{"admin on a destructive tool needs both roles", `{"tools":{"delete":{"class":"admin"}}}`, []allowCase{
			{polDelApprover, "delete", true}, {polDeleter, "delete", false}, {polUser, "delete", false}, {polNoScopeWr, "delete", false},
			{polAppAll, "delete", true}, {polAppDeleter, "delete", false},
		}},
		{"appRoles narrow the app roles only", `{"tools":{"get":{"appRoles":["Snippets.Write"]}}}`, []allowCase{
			{polAppWriter, "get", true}, {polAppReader, "get", false}, {polUser, "get", true}, {polNoScopeWr, "get", false},
		}},
		{"appRoles outside the default leave nobody", `{"tools":{"save":{"appRoles":["Snippets.Read"]}}}`, []allowCase{
			{polAppReader, "save", false}, {polAppWriter, "save", false}, {polUser, "save", true},
		}},
		{"roles on a destructive tool are added, not swapped", `{"tools":{"delete":{"roles":["Snippets.Approve"]}}}`, []allowCase{
			{polDelApprover, "delete", true}, {polDeleter, "delete", false}, {polAppDeleter, "delete", true},
		}},
		{"deny hides the tool from everyone", `{"tools":{"get":{"deny":true}}}`, []allowCase{
			{polUser, "get", false}, {polAppAll, "get", false}, {polUser, "save", true},
		}},
		{"a repeated scope is fine next to a real change", `{"tools":{"save":{"scopes":["user_impersonation"],"roles":["Snippets.Write"]}}}`, []allowCase{
			{polWriter, "save", true}, {polNoScopeWr, "save", false},
		}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			p, err := New(classes, []byte(c.doc))
			if err != nil {
				t.Fatalf("New: %v", err)
			}
			for _, a := range c.allow {
				if got := p.Allows(a.id, a.tool); got != a.want {
					t.Errorf("Allows(%s, %s) = %v, want %v (rule %s)", a.id.ObjectID, a.tool, got, a.want, p.describe(a.tool))
				}
			}
		})
	}
}

// TestPolicyFileRefusals: whatever could loosen a rule, or does not say
// what it seems to, stops the server with one line naming MCP_TOOL_POLICY.
func TestPolicyFileRefusals(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, doc, want string }{
		{"looser class", `{"tools":{"save":{"class":"read"}}}`, `class "read" is looser than the tool's class "write"`},
		{"looser class from admin", `{"tools":{"approve":{"class":"destructive"}}}`, `looser`},
		{"class alone, the tool's own", `{"tools":{"save":{"class":"write"}}}`, `adds nothing`},
		{"empty entry", `{"tools":{"save":{}}}`, `adds nothing`},
		{"null entry", `{"tools":{"save":null}}`, `adds nothing`},
		{"deny false", `{"tools":{"save":{"deny":false}}}`, `adds nothing`},
		{"only the default scope", `{"tools":{"get":{"scopes":["user_impersonation"]}}}`, `adds nothing`},
		{"unknown role", `{"tools":{"save":{"roles":["Snippets.Admin"]}}}`, `roles: unknown name "Snippets.Admin" (known: Snippets.Read, Snippets.Write, Snippets.Delete, Snippets.Approve)`},
		{"unknown app role", `{"tools":{"save":{"appRoles":["snippets.write"]}}}`, `appRoles: unknown name "snippets.write"`},
		{"unknown scope", `{"tools":{"save":{"scopes":["Files.Read"]}}}`, `scopes: unknown name "Files.Read" (known: user_impersonation)`},
		{"a role as a scope", `{"tools":{"save":{"scopes":["Snippets.Write"]}}}`, `scopes: unknown name`},
		{"empty roles", `{"tools":{"save":{"roles":[]}}}`, `roles is empty`},
		{"empty appRoles", `{"tools":{"save":{"appRoles":[]}}}`, `appRoles is empty`},
		{"deny then undeny", `{"tools":{"save":{"deny":true,"deny":false}}}`, `key "deny" appears twice`},
		{"deny in another case", `{"tools":{"save":{"deny":true,"Deny":false}}}`, `key "Deny" appears twice`},
		{"tool twice", `{"tools":{"save":{"roles":["Snippets.Write"]},"save":{"deny":true}}}`, `key "save" appears twice`},
		{"tools twice", `{"tools":{"save":{"deny":true}},"tools":{}}`, `key "tools" appears twice`},
		{"second document", `{"tools":{}} {"tools":{"save":{"deny":true}}}`, `data after the policy object`},
		{"array", `[]`, `not a JSON object`},
		{"null", `null`, `not a JSON object`},
		{"cut short", `{"tools":{"save":`, `unexpected EOF`},
		{"unknown tool", `{"tools":{"nope":{"deny":true}}}`, `unknown tool "nope"`},
		{"unknown class", `{"tools":{"get":{"class":"superuser"}}}`, `unknown class "superuser"`},
		{"unknown field", `{"tools":{"get":{"rolez":["x"]}}}`, `unknown field`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := New(classes, []byte(c.doc))
			if err == nil {
				t.Fatalf("got no error, want one containing %q", c.want)
			}
			if msg := err.Error(); !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") {
				t.Fatalf("got %q, want one line containing %q", msg, c.want)
			}
		})
	}
}

// TestPolicyDescribe: the effective policy in words, marking what the file changed.
func TestPolicyDescribe(t *testing.T) {
	t.Parallel()
	p, err := New(classes, []byte(`{"tools":{"get":{"appRoles":["Snippets.Write"]},"delete":{"class":"admin"},"save":{"deny":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	want := []string{
		"approve admin: user needs scope user_impersonation and role Snippets.Approve; app needs role Snippets.Approve",
		"delete admin: user needs scope user_impersonation and role Snippets.Delete and role Snippets.Approve; app needs role Snippets.Delete and role Snippets.Approve (MCP_TOOL_POLICY)",
		"get read: user needs scope user_impersonation; app needs role Snippets.Write (MCP_TOOL_POLICY)",
		"save write: denied to everyone (MCP_TOOL_POLICY)",
	}
	if got := p.Describe(); !slices.Equal(got, want) {
		t.Fatalf("Describe() =\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	var buf bytes.Buffer
	slog.New(slog.NewTextHandler(&buf, nil)).Info("tool policy", "policy", p)
	if line := buf.String(); !strings.Contains(line, `policy.get="read: user needs scope user_impersonation; app needs role Snippets.Write (MCP_TOOL_POLICY)"`) {
		t.Fatalf("log line %q lacks the get rule", line)
	}
}
