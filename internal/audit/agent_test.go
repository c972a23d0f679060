package audit

import "testing"

// TestAgentFieldsAreCustomDimensions: the agent and policy fields reach
// Application Insights under the same names as on stdout.
func TestAgentFieldsAreCustomDimensions(t *testing.T) {
	e := Event{CallerKind: "agent", SubjectID: "t/o", ActorID: "azp", AgentBlueprint: "bp",
		AgentInventory: InventoryExpired, AgentName: "Build bot", AgentOwner: "team-a", PolicyDigest: "sha256:0123"}
	props, err := properties(e)
	if err != nil {
		t.Fatal(err)
	}
	for k, want := range map[string]string{"caller_kind": "agent", "subject_id": "t/o", "actor_id": "azp", "agent_blueprint": "bp",
		"agent_inventory": "expired", "agent_name": "Build bot", "agent_owner": "team-a", "policy_digest": "sha256:0123"} {
		if got := props[k]; got != want {
			t.Errorf("custom dimension %s = %q, want %q", k, got, want)
		}
	}
}
