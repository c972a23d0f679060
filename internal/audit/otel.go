package audit

// The audit event also carries, under the names that API Management's MCP
// telemetry and the OpenTelemetry GenAI and MCP semantic conventions use,
// the values it already holds under its own names. A query can then join
// gateway rows (requests, customDimensions["gen_ai.operation.name"]) and
// server rows (AppEvents, Properties["gen_ai.operation.name"]) on the same
// names without renaming. The values are derived from the seed fields in
// one place, here, so the two spellings can never disagree.

// OpenTelemetry attribute names written in every event (stdout JSON and
// Application Insights custom dimensions).
const (
	AttrGenAIOperationName = "gen_ai.operation.name" // the JSON-RPC method, as API Management writes it ("tools/call")
	AttrGenAIToolName      = "gen_ai.tool.name"      // the tool, on tools/call only
	AttrMCPMethodName      = "mcp.method.name"       // the JSON-RPC method (OTel MCP conventions)
	AttrMCPSessionID       = "mcp.session.id"        // = mcp_session_id
	// AttrGenAIConversationID is the session under the name API Management's
	// MCP rows use for it, so a gateway row joins on it without renaming.
	AttrGenAIConversationID = "gen_ai.conversation.id" // = mcp_session_id
	AttrMCPProtocolVersion  = "mcp.protocol.version"   // = protocol_version
	AttrGenAIAgentID        = "gen_ai.agent.id"        // = agent_id: the calling client application
	AttrErrorType           = "error.type"             // = result_code when it is not ok; absent when ok
)

// MethodToolsCall is the JSON-RPC method of a tool call.
const MethodToolsCall = "tools/call"

// otelFields is the OpenTelemetry view of an event. gen_ai.tool.name and
// error.type are absent when they do not apply, as in API Management's
// rows; the others follow the seed's rule (always present, empty when
// unknown).
type otelFields struct {
	GenAIOperationName string `json:"gen_ai.operation.name"`
	GenAIToolName      string `json:"gen_ai.tool.name,omitempty"`
	MCPMethodName      string `json:"mcp.method.name"`
	MCPSessionID       string `json:"mcp.session.id"`
	GenAIConversation  string `json:"gen_ai.conversation.id"`
	MCPProtocolVersion string `json:"mcp.protocol.version"`
	GenAIAgentID       string `json:"gen_ai.agent.id"`
	ErrorType          string `json:"error.type,omitempty"`
}

// otel derives the OpenTelemetry fields from e's own.
func (e *Event) otel() otelFields {
	o := otelFields{
		GenAIOperationName: e.Method,
		MCPMethodName:      e.Method,
		MCPSessionID:       e.MCPSessionID,
		GenAIConversation:  e.MCPSessionID,
		MCPProtocolVersion: e.ProtocolVersion,
		GenAIAgentID:       e.AgentID,
	}
	if e.Method == MethodToolsCall {
		o.GenAIToolName = e.ToolName
	}
	if e.ResultCode != ResultOK {
		o.ErrorType = e.ResultCode
	}
	return o
}
