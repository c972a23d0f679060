package audit

// Values of Event.AgentInventory: the calling client app's state in the
// agent inventory (policies/agents.json).
const (
	InventoryRegistered   = "registered"
	InventoryUnregistered = "unregistered"
	InventoryExpired      = "expired"     // past its review date, or without an owner
	InventoryNotChecked   = "not_checked" // no inventory configured
)

// Event.CallerKind holds identity.Kind's values: user, user_via_agent,
// agent, agent_user, app (docs/SECURITY.md, "Caller kinds").
