package policy

import (
	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/inventory"
)

// Record fills the agent and policy fields of an audit event from the
// principal: caller kind, subject and actor apart, the blueprint (for the
// record; no rule reads it), the inventory state, name and owner, and the
// engine's digest. A principal without an identity records only the
// digest and not_checked.
func (e *Engine) Record(p Principal, ev *audit.Event) {
	ev.PolicyDigest = e.digest
	ev.AgentInventory = string(inventory.NotChecked)
	if p.id == nil {
		return
	}
	ev.CallerKind = string(p.id.Kind)
	ev.SubjectID = p.id.Key()
	ev.ActorID = p.id.ClientID
	ev.AgentBlueprint = p.id.Facets.Blueprint
	ev.AgentInventory = string(p.status.State)
	if a := p.status.Agent; a != nil {
		ev.AgentName, ev.AgentOwner = a.Name, a.Owner
	}
}
