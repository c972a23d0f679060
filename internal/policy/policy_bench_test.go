package policy

import (
	"testing"

	"github.com/snippets-mcp/server/internal/identity"
)

// BenchmarkPolicyAllows is one per-tool decision for a delegated caller.
func BenchmarkPolicyAllows(b *testing.B) {
	p, err := New(map[string]Class{"get_snippet": ClassRead, "save_snippet": ClassWrite, "delete_snippet": ClassDestructive, "approve_request": ClassAdmin}, nil)
	if err != nil {
		b.Fatal(err)
	}
	id := &identity.Identity{TenantID: "t", ObjectID: "o", Scopes: []string{identity.ScopeUser}, Roles: []string{identity.RoleDelete}}
	b.ReportAllocs()
	for b.Loop() {
		if !p.Allows(id, "delete_snippet") || p.Allows(id, "approve_request") {
			b.Fatal("wrong decision")
		}
	}
}
