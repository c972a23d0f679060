package audit

// Values of Event.AgentInventory: the calling client app's state in the
// agent inventory (policies/agents.json).
const (
	InventoryRegistered   = "registered"
	InventoryUnregistered = "unregistered"
	InventoryExpired      = "expired"     // past its review date, or without an owner
	InventoryNotChecked   = "not_checked" // no inventory configured
)

// Values of Event.CallerKind (Entra Agent ID, docs/SECURITY.md).
const (
	KindUser         = "user"
	KindUserViaAgent = "user_via_agent"
	KindAgent        = "agent"
	KindAgentUser    = "agent_user"
	KindApp          = "app"
)
