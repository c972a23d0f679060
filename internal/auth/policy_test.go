package auth

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var classes = map[string]Class{"get": ClassRead, "save": ClassWrite, "delete": ClassDestructive, "approve": ClassAdmin}

func TestDefaultPolicy(t *testing.T) {
	p, err := NewPolicy(classes, "")
	if err != nil {
		t.Fatal(err)
	}
	user := &Identity{TenantID: "t", ObjectID: "u", Scopes: []string{ScopeUser}}
	deleter := &Identity{TenantID: "t", ObjectID: "d", Scopes: []string{ScopeUser}, Roles: []string{RoleDelete}}
	readerApp := &Identity{TenantID: "t", ObjectID: "a", AppOnly: true, Roles: []string{RoleRead}}
	bareApp := &Identity{TenantID: "t", ObjectID: "b", AppOnly: true}
	noScope := &Identity{TenantID: "t", ObjectID: "n", Scopes: []string{"other"}}
	noOID := &Identity{TenantID: "t", Scopes: []string{ScopeUser}}
	cases := []struct {
		id   *Identity
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
	dir := t.TempDir()
	write := func(s string) string {
		f := filepath.Join(dir, "p.json")
		if err := os.WriteFile(f, []byte(s), 0o600); err != nil {
			t.Fatal(err)
		}
		return f
	}
	p, err := NewPolicy(classes, write(`{"tools":{"save":{"roles":["Snippets.Write"]},"get":{"deny":true}}}`))
	if err != nil {
		t.Fatal(err)
	}
	user := &Identity{TenantID: "t", ObjectID: "u", Scopes: []string{ScopeUser}}
	if p.Allows(user, "save") || p.Allows(user, "get") {
		t.Fatal("override not applied")
	}
	if r, _ := p.Rule("save"); r.Class != ClassWrite {
		t.Fatalf("class lost: %+v", r)
	}
	for doc, want := range map[string]string{
		`{"tools":{"nope":{}}}`:                   `unknown tool "nope"`,
		`{"tools":{"get":{"class":"superuser"}}}`: `unknown class`,
		`{"tools":{"get":{"rolez":["x"]}}}`:       `unknown field`,
		`{"tools":`:                               `unexpected EOF`,
	} {
		if _, err := NewPolicy(classes, write(doc)); err == nil || !strings.Contains(err.Error(), want) || !strings.HasPrefix(err.Error(), "MCP_TOOL_POLICY") {
			t.Errorf("%s: %v", doc, err)
		}
	}
}
