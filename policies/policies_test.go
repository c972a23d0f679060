package policies_test

import (
	"testing"

	"github.com/snippets-mcp/server/internal/inventory"
	"github.com/snippets-mcp/server/internal/policy"
	"github.com/snippets-mcp/server/policies"
)

// TestShippedPoliciesLoad: what `azd up` deploys passes the start-up checks.
func TestShippedPoliciesLoad(t *testing.T) {
	inv, err := inventory.Parse(policies.Agents, inventory.Options{})
	if err != nil {
		t.Fatalf("agents.json: %v", err)
	}
	tools := map[string]policy.Tool{"get_snippet": {Class: policy.ClassRead}, "delete_snippet": {Class: policy.ClassDestructive}}
	if _, err := policy.NewEngine(policy.Options{Tools: tools, Operator: policies.Operator, Inventory: inv}); err != nil {
		t.Fatalf("operator.cedar: %v", err)
	}
}
