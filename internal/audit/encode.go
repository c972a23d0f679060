package audit

import (
	"encoding/json"
	"strconv"
	"sync"
)

// appendJSON appends e's JSON object (no newline) to b: the same bytes
// encoding/json wrote for the reflected form (timestamp first, then Event's
// fields in declaration order, then the OpenTelemetry fields), without
// reflection. TestAppendJSONMatchesReflection compares the two on every field.
func (e *Event) appendJSON(b []byte) []byte {
	b = append(b, `{"timestamp":"`...)
	b = e.Timestamp.UTC().AppendFormat(b, timeLayout)
	b = append(b, '"')
	b = appendStringField(b, "event", e.Event)
	b = appendStringField(b, "operation_id", e.OperationID)
	b = appendStringField(b, "server_id", e.ServerID)
	b = appendStringField(b, "tenant_id", e.TenantID)
	b = appendStringField(b, "agent_id", e.AgentID)
	b = appendStringField(b, "caller_identity", e.CallerIdentity)
	b = appendStringField(b, "mcp_session_id", e.MCPSessionID)
	b = appendStringField(b, "protocol_version", e.ProtocolVersion)
	b = appendStringField(b, "method", e.Method)
	b = appendStringField(b, "tool_name", e.ToolName)
	b = appendStringField(b, "downstream_resource", e.DownstreamResource)
	b = appendStringField(b, "authorization_mode", e.AuthorizationMode)
	b = append(b, `,"approval_required":`...)
	b = strconv.AppendBool(b, e.ApprovalRequired)
	b = appendStringField(b, "approval_result", e.ApprovalResult)
	b = append(b, `,"latency_ms":`...)
	b = strconv.AppendInt(b, e.LatencyMS, 10)
	b = appendStringField(b, "result_code", e.ResultCode)
	b = appendStringField(b, "message", e.Message)
	b = append(b, `,"arguments_bytes":`...)
	b = strconv.AppendInt(b, int64(e.ArgumentsBytes), 10)
	b = appendStringField(b, "arguments_sha256", e.ArgumentsSHA256)
	b = appendStringField(b, "chain_segment", e.ChainSegment)
	b = append(b, `,"chain_seq":`...)
	b = strconv.AppendUint(b, e.ChainSeq, 10)
	b = appendStringField(b, "chain_prev", e.ChainPrev)
	b = appendStringField(b, "caller_kind", e.CallerKind)
	b = appendStringField(b, "subject_id", e.SubjectID)
	b = appendStringField(b, "actor_id", e.ActorID)
	b = appendStringField(b, "agent_blueprint", e.AgentBlueprint)
	b = appendStringField(b, "agent_inventory", e.AgentInventory)
	b = appendStringField(b, "agent_name", e.AgentName)
	b = appendStringField(b, "agent_owner", e.AgentOwner)
	b = appendStringField(b, "policy_digest", e.PolicyDigest)
	o := e.otel()
	b = appendStringField(b, "gen_ai.operation.name", o.GenAIOperationName)
	if o.GenAIToolName != "" {
		b = appendStringField(b, "gen_ai.tool.name", o.GenAIToolName)
	}
	b = appendStringField(b, "mcp.method.name", o.MCPMethodName)
	b = appendStringField(b, "mcp.session.id", o.MCPSessionID)
	b = appendStringField(b, "gen_ai.conversation.id", o.GenAIConversation)
	b = appendStringField(b, "mcp.protocol.version", o.MCPProtocolVersion)
	b = appendStringField(b, "gen_ai.agent.id", o.GenAIAgentID)
	if o.ErrorType != "" {
		b = appendStringField(b, "error.type", o.ErrorType)
	}
	return append(b, '}')
}

// appendStringField appends ,"name":"value". name is a fixed key needing no escape.
func appendStringField(b []byte, name, v string) []byte {
	b = append(b, ',', '"')
	b = append(b, name...)
	b = append(b, '"', ':')
	return appendString(b, v)
}

// appendString appends v as a JSON string. Printable ASCII other than
// '"', '\\', '<', '>' and '&' is copied as it is; any other string is
// handed to encoding/json, so escapes (HTML characters, control
// characters, U+2028, invalid UTF-8) stay exactly what json.Marshal writes.
func appendString(b []byte, v string) []byte {
	for i := 0; i < len(v); i++ {
		c := v[i]
		if c < 0x20 || c >= 0x80 || c == '"' || c == '\\' || c == '<' || c == '>' || c == '&' {
			q, _ := json.Marshal(v) // a string always encodes
			return append(b, q...)
		}
	}
	b = append(b, '"')
	b = append(b, v...)
	return append(b, '"')
}

// linePool holds the buffers JSONSink encodes its lines into.
var linePool = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}
