package audit

import (
	"encoding/json"
	"maps"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

// eventFields is the audit schema: the field list, plus event,
// message and the argument size and digest, the OpenTelemetry names that
// API Management writes too, and the chain. Every one is in every event.
// Changing it is a schema change that the KQL in infra/kql and
// docs/AUDIT.md must follow.
var eventFields = []string{
	"event", "timestamp", "operation_id", "server_id", "tenant_id", "agent_id",
	"caller_identity", "mcp_session_id", "protocol_version", "method", "tool_name",
	"downstream_resource", "authorization_mode", "approval_required",
	"approval_result", "latency_ms", "result_code", "message",
	"arguments_bytes", "arguments_sha256",
	"gen_ai.operation.name", "mcp.method.name", "mcp.session.id", "gen_ai.conversation.id", "mcp.protocol.version", "gen_ai.agent.id",
	"chain_segment", "chain_seq", "chain_prev",
	"caller_kind", "subject_id", "actor_id", "agent_blueprint", "agent_inventory",
	"agent_name", "agent_owner", "policy_digest",
}

// conditionalFields are present only when they apply, as in API
// Management's rows: the tool on tools/call, the error type when not ok.
var conditionalFields = []string{"gen_ai.tool.name", "error.type"}

func fullEvent() Event {
	return Event{
		Event:              EventName,
		Timestamp:          time.Date(2026, 7, 28, 9, 15, 42, 123456789, time.FixedZone("CEST", 2*3600)),
		OperationID:        "4bf92f3577b34da6a3ce929d0e0e4736",
		ServerID:           "snippets-mcp-prod",
		TenantID:           "72f988bf-86f1-41af-91ab-2d7cd011db47",
		AgentID:            "aebc6443-996d-45c2-90f0-388ff96faa56",
		CallerIdentity:     "72f988bf-86f1-41af-91ab-2d7cd011db47/8d5a7c1e-4b1f-4f3e-9c55-0d9c7e1f2a3b",
		MCPSessionID:       "session-1",
		ProtocolVersion:    "2025-11-25",
		Method:             "tools/call",
		ToolName:           "delete_snippet",
		DownstreamResource: "blob:snippets",
		AuthorizationMode:  ModeDelegated,
		ApprovalRequired:   true,
		ApprovalResult:     ApprovalRequested,
		LatencyMS:          87,
		ResultCode:         ResultApprovalRequired,
		Message:            "approval required",
		ArgumentsBytes:     42,
		ArgumentsSHA256:    strings.Repeat("ab", 32),
	}
}

func TestEventJSONSchema(t *testing.T) {
	e := fullEvent()
	b, err := json.Marshal(e)
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	got := slices.Sorted(maps.Keys(m))
	want := slices.Sorted(slices.Values(append(slices.Clone(eventFields), conditionalFields...)))
	if !slices.Equal(got, want) {
		t.Fatalf("JSON fields\n got %v\nwant %v", got, want)
	}
	if ts := m["timestamp"]; ts != "2026-07-28T07:15:42.123Z" {
		t.Errorf("timestamp = %v, want RFC 3339 UTC with milliseconds", ts)
	}
	if m["approval_required"] != true || m["latency_ms"] != float64(87) || m["arguments_bytes"] != float64(42) {
		t.Errorf("typed fields wrong: %v", m)
	}
	var back Event
	if err := json.Unmarshal(b, &back); err != nil {
		t.Fatal(err)
	}
	e.Timestamp = e.Timestamp.UTC().Truncate(time.Millisecond)
	if back != e {
		t.Errorf("round trip\n got %+v\nwant %+v", back, e)
	}
}

func TestNormalize(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.FixedZone("X", 3600))
	var e Event
	e.normalize("srv", now)
	if e.Event != EventName || !e.Timestamp.Equal(now) || e.Timestamp.Location() != time.UTC || e.ServerID != "srv" {
		t.Errorf("defaults not filled: %+v", e)
	}
	if _, ok := TraceID("00-" + e.OperationID + "-00f067aa0ba902b7-01"); !ok {
		t.Errorf("operation id %q is not a trace id", e.OperationID)
	}

	kept := Event{ServerID: "other", OperationID: "keep", Timestamp: now.Add(time.Hour)}
	kept.normalize("srv", now)
	if kept.ServerID != "other" || kept.OperationID != "keep" || !kept.Timestamp.Equal(now.Add(time.Hour)) {
		t.Errorf("normalize overwrote set fields: %+v", kept)
	}

	long := Event{Message: strings.Repeat("é", maxMessage)} // 2 bytes per rune: the cut falls inside one
	long.normalize("srv", now)
	if len(long.Message) > maxMessage+len("…") || !utf8.ValidString(long.Message) || !strings.HasSuffix(long.Message, "…") {
		t.Errorf("message not cut cleanly: %d bytes, valid=%v", len(long.Message), utf8.ValidString(long.Message))
	}
}

// docs/AUDIT.md documents every field of the event, and README.md every
// variable the audit configuration reads.
func TestDocsNameEveryField(t *testing.T) {
	read := func(name string) string {
		b, err := os.ReadFile(filepath.Join("..", "..", name))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	audit, readme := read("docs/AUDIT.md"), read("README.md")
	for _, f := range append(slices.Clone(eventFields), conditionalFields...) {
		if !strings.Contains(audit, "`"+f+"`") {
			t.Errorf("docs/AUDIT.md does not name the field %s", f)
		}
	}
	for _, v := range []string{"APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "MCP_SERVER_ID", "MCP_AUDIT_ANCHOR_INTERVAL", "MCP_AUDIT_ANCHOR_CONTAINER"} {
		if !strings.Contains(readme, "`"+v+"`") || !strings.Contains(audit, "`"+v+"`") {
			t.Errorf("README.md or docs/AUDIT.md does not document %s", v)
		}
	}
}
