package e2e

import (
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"sort"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/audit/aitest"
	"github.com/snippets-mcp/server/internal/identity/authtest"
)

var update = flag.Bool("update", false, "rewrite the SLO evidence in infra/kql/testdata from this run")

// sloTestdata is where the infra module's SLO tests read the evidence.
var sloTestdata = filepath.Join("..", "infra", "kql", "testdata")

// laEvent is one AppEvents row as Log Analytics stores an audit event that
// the Application Insights sink sent (docs/AUDIT.md, "Where events go"):
// Name is the custom event name, Properties every event field as a string,
// Measurements latency_ms and arguments_bytes, OperationId, AppRoleName and
// SessionId the envelope's tags.
type laEvent struct {
	TimeGenerated string             `json:"TimeGenerated"`
	Name          string             `json:"Name"`
	OperationId   string             `json:"OperationId"`
	AppRoleName   string             `json:"AppRoleName"`
	SessionId     string             `json:"SessionId"`
	Properties    map[string]string  `json:"Properties"`
	Measurements  map[string]float64 `json:"Measurements"`
}

// TestSLOEvidence drives the scenario the SLO alert queries are tested on
// through the real binary: reads and a write that succeed, a denial, a
// refused token, and a delete through the approval flow. It takes the events
// as they reached a local Application Insights ingestion endpoint (the same,
// in the same order, as the audit lines on stdout), converts them to the
// AppEvents rows Log Analytics stores, and reads each tool's class from the
// "policy" line on stderr. With -update it writes both to
// infra/kql/testdata (appevents.json, tools.json); otherwise it checks that
// the files still hold what the binary emits: the same event fields, the same
// outcomes in the same order, the same tool classes. So the evidence the
// infra tests run the queries over cannot drift from the server.
func TestSLOEvidence(t *testing.T) {
	t.Parallel()
	ai := aitest.NewServer(t)
	mi, _ := fakeManagedIdentity(t, "mi-token-for-monitor")
	srv, iss := jwtServer(t, "MCP_SERVER_ID=slo-e2e",
		"APPLICATIONINSIGHTS_CONNECTION_STRING="+ai.ConnectionString(),
		"APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD;ClientId=00000000-0000-0000-0000-00000000c11d",
		"IDENTITY_ENDPOINT="+mi.URL+"/msi/token", "IDENTITY_HEADER=mi-secret")
	writer := bearer(iss.Mint(t, authtest.Claims{ObjectID: "11111111-0000-0000-0000-0000000005a1", Roles: []string{"Snippets.Delete"}}))
	approver := bearer(iss.Mint(t, authtest.Claims{ObjectID: "22222222-0000-0000-0000-0000000005a2", ClientID: approverApp, Roles: []string{"Snippets.Approve"}}))
	reader := bearer(iss.Mint(t, authtest.Claims{ObjectID: "cccccccc-0000-0000-0000-0000000005a3", AppOnly: true, Roles: []string{"Snippets.Read"}}))

	call := func(who []string, tool string, args map[string]any, wantErr bool) toolResult {
		t.Helper()
		r, tr := callTool(t, srv.MCPURL(), tool, args, who...)
		if failed := tr.IsError || r.Error != nil; failed != wantErr {
			t.Fatalf("%s: failed %v, want %v: %s %+v", tool, failed, wantErr, tr.Text(), r.Error)
		}
		return tr
	}
	call(writer, "save_snippet", map[string]any{"snippetname": "slo", "snippet": "measured"}, false)
	call(writer, "get_snippet", map[string]any{"snippetname": "slo"}, false)
	call(writer, "list_snippets", nil, false)
	call(writer, "whoami", nil, false)
	call(reader, "save_snippet", map[string]any{"snippetname": "slo", "snippet": "no"}, true) // denied
	resp, body := post(t, srv.MCPURL(), `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		"Mcp-Protocol-Version", "2025-06-18", "Authorization", "Bearer not-a-token")
	if resp.StatusCode != 401 {
		t.Fatalf("bad token: status %d, want 401: %s", resp.StatusCode, body)
	}
	held := decodeDelete(t, call(writer, "delete_snippet", map[string]any{"snippetname": "slo"}, false))
	if held.Status != "approval_required" {
		t.Fatalf("first delete: status %q, want approval_required", held.Status)
	}
	call(approver, "list_approval_requests", nil, false)
	call(approver, "approve_request", map[string]any{"id": held.ApprovalID, "reason": "slo evidence"}, false)
	done := decodeDelete(t, call(writer, "delete_snippet", map[string]any{"snippetname": "slo", "approval_id": held.ApprovalID}, false))
	if done.Status != "deleted" {
		t.Fatalf("approved delete: status %q, want deleted", done.Status)
	}
	const want = 10
	waitAudit(t, srv, want)
	// SIGTERM flushes the Application Insights sink before the process exits.
	srv.Signal(syscall.SIGTERM)
	if err := srv.Wait(20 * time.Second); err != nil {
		t.Fatalf("server exit: %v\n%s", err, srv.Stderr())
	}
	rows := laEvents(ai.Envelopes())
	if len(rows) != want {
		t.Fatalf("%d events reached Application Insights, want %d:\n%s", len(rows), want, srv.Stderr())
	}
	var stdout []string
	for _, e := range events(t, srv) {
		stdout = append(stdout, e.ToolName+" "+e.ResultCode+" "+e.ApprovalResult)
	}
	if got := outcomes(rows); !slices.Equal(got, stdout) {
		t.Fatalf("Application Insights events\n  %v\ndiffer from stdout's\n  %v", got, stdout)
	}
	classes := toolClasses(t, srv.Stderr())

	appEvents, tools := filepath.Join(sloTestdata, "appevents.json"), filepath.Join(sloTestdata, "tools.json")
	if *update {
		writeJSON(t, appEvents, rows)
		writeJSON(t, tools, classes)
		t.Logf("wrote %s (%d rows) and %s (%d tools)", appEvents, len(rows), tools, len(classes))
		return
	}
	var golden []laEvent
	readJSON(t, appEvents, &golden)
	t.Run("fields", func(t *testing.T) {
		if got, want := fieldSet(rows), fieldSet(golden); !slices.Equal(got, want) {
			t.Errorf("the binary's audit events have fields\n  %v\nbut %s has\n  %v\nrun: cd e2e && go test -run TestSLOEvidence -update .", got, appEvents, want)
		}
	})
	t.Run("outcomes", func(t *testing.T) {
		if got, want := outcomes(rows), outcomes(golden); !slices.Equal(got, want) {
			t.Errorf("outcomes\n  %v\nwant (from %s)\n  %v\nrun: cd e2e && go test -run TestSLOEvidence -update .", got, appEvents, want)
		}
	})
	t.Run("tool classes", func(t *testing.T) {
		var wantClasses map[string]string
		readJSON(t, tools, &wantClasses)
		if !reflect.DeepEqual(classes, wantClasses) {
			t.Errorf("tool classes %v, want (from %s) %v", classes, tools, wantClasses)
		}
	})
}

// laEvents converts what reached the Application Insights ingestion
// endpoint into the rows Log Analytics stores: AppEvents.Name is the event
// name, Properties and Measurements the custom dimensions and measurements,
// OperationId, AppRoleName and SessionId the envelope's tags.
func laEvents(envs []aitest.Envelope) []laEvent {
	out := make([]laEvent, 0, len(envs))
	for _, e := range envs {
		out = append(out, laEvent{
			TimeGenerated: e.Time,
			Name:          e.Data.BaseData.Name,
			OperationId:   e.Tags["ai.operation.id"],
			AppRoleName:   e.Tags["ai.cloud.role"],
			SessionId:     e.Tags["ai.session.id"],
			Properties:    e.Data.BaseData.Properties,
			Measurements:  e.Data.BaseData.Measurements,
		})
	}
	return out
}

// toolClasses reads each tool's class from the "policy" line the server
// logs at start ("tools": {"get_snippet": "read", ...}).
func toolClasses(t *testing.T, stderr string) map[string]string {
	t.Helper()
	for _, line := range strings.Split(stderr, "\n") {
		var l struct {
			Msg   string            `json:"msg"`
			Tools map[string]string `json:"tools"`
		}
		if json.Unmarshal([]byte(line), &l) != nil || l.Msg != "policy" || len(l.Tools) == 0 {
			continue
		}
		return l.Tools
	}
	t.Fatalf("no policy line with the tools' classes in the server log:\n%s", stderr)
	return nil
}

func fieldSet(rows []laEvent) []string {
	seen := map[string]bool{}
	for _, r := range rows {
		for k := range r.Properties {
			seen[k] = true
		}
	}
	out := make([]string, 0, len(seen))
	for k := range seen {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

func outcomes(rows []laEvent) []string {
	out := make([]string, len(rows))
	for i, r := range rows {
		p := r.Properties
		out[i] = p["tool_name"] + " " + p["result_code"] + " " + p["approval_result"]
	}
	return out
}

func writeJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := json.MarshalIndent(v, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, append(b, '\n'), 0o644); err != nil {
		t.Fatal(err)
	}
}

func readJSON(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (create it: cd e2e && go test -run TestSLOEvidence -update .)", err)
	}
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}
