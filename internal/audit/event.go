// Package audit records one event per MCP tool call and delivers it to the
// configured sinks: a JSON line on stdout always, and Application Insights
// when a connection string is set. Events carry identities, outcomes, sizes
// and digests; never tool argument values, snippet content or tokens.
package audit

import (
	"encoding/json"
	"time"
)

// EventName is the value of Event.Event, and the custom event name in
// Application Insights is "mcp." + EventName.
const EventName = "tool_call"

// AppInsightsEventName is the name of the custom event in Application
// Insights (the Name column of AppEvents).
const AppInsightsEventName = "mcp." + EventName

// ResultCode is how a request ended, for Event.ResultCode: one of the
// Result constants below. The constants are untyped so that they also
// compare with the event's string field and with plain strings in readers
// of the JSON.
type ResultCode string

// Result codes: short, stable strings for Event.ResultCode.
const (
	ResultOK               = "ok"                // the tool ran and succeeded
	ResultToolError        = "tool_error"        // the tool ran and reported an error result
	ResultDenied           = "denied"            // the caller may not use the tool (policy)
	ResultApprovalRequired = "approval_required" // destructive call held until another identity approves
	ResultInvalidArguments = "invalid_arguments" // arguments failed validation; the tool did not run
	ResultNotFound         = "not_found"         // unknown tool, or the target does not exist
	ResultUnavailable      = "unavailable"       // a dependency (storage, Entra, Graph) failed or timed out
	ResultInternalError    = "internal_error"    // a bug: a panic or an unexpected error
	ResultAmbiguous        = "ambiguous"         // a write may or may not have happened (the storage reply was lost); read to check
	ResultMisconfigured    = "misconfigured"     // a dependency refused this server's credentials or does not exist: an operator must act
	ResultUnauthenticated  = "unauthenticated"   // the request was refused before the protocol: no or bad credentials
)

// ApprovalResult is what became of a call's approval, for
// Event.ApprovalResult: one of the Approval constants below (untyped, as
// the result codes are).
type ApprovalResult string

// Approval results: values for Event.ApprovalResult.
const (
	ApprovalNotRequired = "not_required" // the tool needs no approval
	ApprovalRequested   = "requested"    // a new approval request was created; the call did not run
	ApprovalPending     = "pending"      // the named request is still waiting for a decision
	ApprovalApproved    = "approved"     // a valid approval was consumed and the call ran
	ApprovalDenied      = "denied"       // the approver denied the request
	ApprovalExpired     = "expired"      // the request expired before it was used
	ApprovalMismatch    = "mismatch"     // the approval is bound to another caller, tool or arguments, or was already used
	ApprovalStale       = "stale"        // the target changed after the request: the approval no longer applies
	ApprovalAmbiguous   = "ambiguous"    // the approved action may or may not have happened; the approval stays used
)

// Authorization modes: values for Event.AuthorizationMode.
const (
	ModeDelegated  = "delegated" // a user is present: delegated scopes, user token
	ModeOnBehalfOf = "obo"       // delegated, and the tool called a downstream resource on the user's behalf (on-behalf-of)
	ModeAppOnly    = "app_only"  // an application calls on its own (app roles, no user)
	ModeDev        = "dev"       // the fixed local identity of dev mode
)

// Event is one audited tool call. Every field is safe to store: identities
// are object and client ids, never names or e-mail addresses; arguments
// appear only as a size and a digest.
type Event struct {
	Event              string    `json:"event"`     // always EventName
	Timestamp          time.Time `json:"timestamp"` // when the outcome was known; encoded as RFC 3339 UTC with milliseconds
	OperationID        string    `json:"operation_id"`
	ServerID           string    `json:"server_id"`
	TenantID           string    `json:"tenant_id"`
	AgentID            string    `json:"agent_id"`        // azp/appid: the calling client application
	CallerIdentity     string    `json:"caller_identity"` // "<tid>/<oid>" of the user or calling service principal
	MCPSessionID       string    `json:"mcp_session_id"`
	ProtocolVersion    string    `json:"protocol_version"`
	Method             string    `json:"method"` // the MCP method: tools/call, resources/read, prompts/get, completion/complete; "" when refused before parsing
	ToolName           string    `json:"tool_name"`
	DownstreamResource string    `json:"downstream_resource"` // what the tool touched beyond the server, e.g. "graph:/me"; "" when nothing
	AuthorizationMode  string    `json:"authorization_mode"`
	ApprovalRequired   bool      `json:"approval_required"`
	ApprovalResult     string    `json:"approval_result"`
	LatencyMS          int64     `json:"latency_ms"`
	ResultCode         string    `json:"result_code"`
	Message            string    `json:"message"` // short, fixed outcome text; never argument values
	ArgumentsBytes     int       `json:"arguments_bytes"`
	ArgumentsSHA256    string    `json:"arguments_sha256"`

	// The hash chain (chain.go), set by the Auditor as it writes the
	// event; whatever a caller puts here is overwritten.
	ChainSegment string `json:"chain_segment"` // random id of this process's chain
	ChainSeq     uint64 `json:"chain_seq"`     // 1, 2, 3, ... within the segment
	ChainPrev    string `json:"chain_prev"`    // hex digest of the previous event of the segment (the genesis digest for seq 1)

	// Who acted and under which policy (agent.go): the caller kind, subject
	// and actor apart, the agent inventory's view of the client app, the
	// agent blueprint (for the record only) and the effective policy.
	CallerKind     string `json:"caller_kind"`     // user | user_via_agent | agent | agent_user | app
	SubjectID      string `json:"subject_id"`      // "<tid>/<oid>": the person, or the agent or app acting on its own
	ActorID        string `json:"actor_id"`        // azp/appid of the client app or agent identity that made the call
	AgentBlueprint string `json:"agent_blueprint"` // xms_par_app_azp; recorded, never decided on
	AgentInventory string `json:"agent_inventory"` // registered | unregistered | expired | not_checked
	AgentName      string `json:"agent_name"`      // the inventory entry's display name
	AgentOwner     string `json:"agent_owner"`     // the inventory entry's owner
	PolicyDigest   string `json:"policy_digest"`   // digest of the effective policy that decided
}

// timeLayout is RFC 3339 in UTC with exactly three fractional digits.
const timeLayout = "2006-01-02T15:04:05.000Z"

// maxMessage bounds Message so that a careless caller cannot turn it into a
// channel for large values.
const maxMessage = 200

// MarshalJSON encodes the timestamp as RFC 3339 UTC with milliseconds and
// adds the OpenTelemetry names of the fields API Management also writes
// (otel.go).
func (e Event) MarshalJSON() ([]byte, error) {
	return e.appendJSON(nil), nil
}

// UnmarshalJSON accepts what MarshalJSON produces. The OpenTelemetry
// names are derived from the other fields, so they are not read back.
func (e *Event) UnmarshalJSON(b []byte) error {
	type plain Event
	var v struct {
		Timestamp string `json:"timestamp"`
		plain
	}
	if err := json.Unmarshal(b, &v); err != nil {
		return err
	}
	*e = Event(v.plain)
	if v.Timestamp == "" {
		return nil
	}
	t, err := time.Parse(time.RFC3339Nano, v.Timestamp)
	if err != nil {
		return err
	}
	e.Timestamp = t
	return nil
}

// normalize fills what the recorder can know and bounds Message.
func (e *Event) normalize(serverID string, now time.Time) {
	if e.Event == "" {
		e.Event = EventName
	}
	if e.Timestamp.IsZero() {
		e.Timestamp = now
	}
	e.Timestamp = e.Timestamp.UTC()
	if e.OperationID == "" {
		e.OperationID = newTraceID()
	}
	if e.ServerID == "" {
		e.ServerID = serverID
	}
	e.Message = truncate(e.Message, maxMessage)
	// A safety net under the callers' own validation: no field can carry
	// long text into the trail.
	for _, f := range []*string{&e.ToolName, &e.Method, &e.MCPSessionID, &e.ProtocolVersion, &e.OperationID,
		&e.AgentID, &e.CallerIdentity, &e.TenantID, &e.DownstreamResource,
		&e.CallerKind, &e.SubjectID, &e.ActorID, &e.AgentBlueprint, &e.AgentInventory, &e.AgentName, &e.AgentOwner, &e.PolicyDigest} {
		if len(*f) > maxField {
			*f = Unknown(*f)
		}
	}
}

// maxField bounds every other string field of an event.
const maxField = 256
