package audit

import (
	"strings"
	"testing"
	"time"
)

func TestClientFieldsAreBounded(t *testing.T) {
	huge := strings.Repeat("s3cr3t-", 130_000) // about 900 KB
	cases := []struct {
		name, got, want string
	}{
		{"session id, plain", SessionID("abc-123"), "abc-123"},
		{"session id, 60,000 characters", SessionID(strings.Repeat("a", 60_000)), Unknown(strings.Repeat("a", 60_000))},
		{"session id, control characters", SessionID("a\nb"), Unknown("a\nb")},
		{"session id, none", SessionID(""), ""},
		{"protocol version", ProtocolVersion("2025-06-18"), "2025-06-18"},
		{"protocol version, free text", ProtocolVersion("2025-06-18; drop table"), Unknown("2025-06-18; drop table")},
		{"protocol version, letters", ProtocolVersion("2025-0a-18"), Unknown("2025-0a-18")},
		{"known name", Name("get_snippet", true), "get_snippet"},
		{"unknown name", Name(huge, false), Unknown(huge)},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Fatalf("got %q, want %q", tc.got, tc.want)
			}
			if len(tc.got) > 64 && !strings.HasPrefix(tc.got, "unknown:") {
				t.Fatalf("recorded %d characters", len(tc.got))
			}
		})
	}
	if u := Unknown(huge); len(u) > 40 || strings.Contains(u, "s3cr3t") {
		t.Fatalf("Unknown(huge) = %q", u)
	}
}

// TestNormalizeBoundsEveryField: whatever a caller put in an event, the
// recorder never writes a field longer than maxField.
func TestNormalizeBoundsEveryField(t *testing.T) {
	long := strings.Repeat("x", 10_000)
	e := Event{ToolName: long, Method: long, MCPSessionID: long, ProtocolVersion: long, OperationID: long,
		AgentID: long, CallerIdentity: long, TenantID: long, DownstreamResource: long, Message: long,
		CallerKind: long, SubjectID: long, ActorID: long, AgentBlueprint: long, AgentInventory: long,
		AgentName: long, AgentOwner: long, PolicyDigest: long}
	e.normalize("srv", time.Now())
	for name, v := range map[string]string{"tool_name": e.ToolName, "method": e.Method, "mcp_session_id": e.MCPSessionID,
		"protocol_version": e.ProtocolVersion, "operation_id": e.OperationID, "agent_id": e.AgentID,
		"caller_identity": e.CallerIdentity, "tenant_id": e.TenantID, "downstream_resource": e.DownstreamResource, "message": e.Message,
		"caller_kind": e.CallerKind, "subject_id": e.SubjectID, "actor_id": e.ActorID, "agent_blueprint": e.AgentBlueprint,
		"agent_inventory": e.AgentInventory, "agent_name": e.AgentName, "agent_owner": e.AgentOwner, "policy_digest": e.PolicyDigest} {
		if len(v) > maxField {
			t.Errorf("%s kept %d bytes", name, len(v))
		}
	}
}
