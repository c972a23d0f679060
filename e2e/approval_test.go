package e2e

import (
	"encoding/json"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// approverApp is the client app approvers use in these tests: not the
// requester's agent (authtest.ClientID).
const approverApp = "aaaaaaaa-0000-0000-0000-00000000a990"

// deleteResult decodes delete_snippet's structured content.
type deleteResult struct {
	Status     string `json:"status"`
	ApprovalID string `json:"approvalId"`
}

func decodeDelete(t *testing.T, tr toolResult) deleteResult {
	t.Helper()
	var d deleteResult
	if err := json.Unmarshal(tr.StructuredContent, &d); err != nil {
		t.Fatalf("delete result %s: %v (%s)", tr.StructuredContent, err, tr.Text())
	}
	return d
}

// TestApprovalAcrossInstances runs three server processes against one
// Azurite: a deletion is requested on one, approved on a second and
// consumed on a third. Nothing about approvals lives in process memory.
func TestApprovalAcrossInstances(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	az := startAzurite(t)
	env := []string{
		"MCP_AUTH_MODE=jwt", "MCP_AUTH_ISSUER=" + iss.URL(), "MCP_AUTH_AUDIENCE=" + authtest.Audience,
		"SNIPPETS_STORAGE=" + az.ConnString(),
	}
	a, b, c := startServer(t, env...), startServer(t, env...), startServer(t, env...)

	// The requester may delete and even approve, but never their own request.
	req := bearer(iss.Mint(t, authtest.Claims{ObjectID: "11111111-0000-0000-0000-000000000001", Roles: []string{"Snippets.Delete", "Snippets.Approve"}}))
	// The approver decides through another client app than the requester's agent.
	approver := bearer(iss.Mint(t, authtest.Claims{ObjectID: "22222222-0000-0000-0000-000000000002", ClientID: approverApp, Roles: []string{"Snippets.Approve"}}))
	other := bearer(iss.Mint(t, authtest.Claims{ObjectID: "33333333-0000-0000-0000-000000000003", Roles: []string{"Snippets.Delete"}}))

	save := func(name string) {
		if _, tr := callTool(t, a.MCPURL(), "save_snippet", map[string]any{"snippetname": name, "snippet": "to be deleted"}, req...); tr.IsError {
			t.Fatal(tr.Text())
		}
	}
	request := func(srv *Server, name string) string {
		_, tr := callTool(t, srv.MCPURL(), "delete_snippet", map[string]any{"snippetname": name}, req...)
		d := decodeDelete(t, tr)
		if d.Status != "approval_required" || len(d.ApprovalID) != 32 {
			t.Fatalf("first delete: %+v %s", d, tr.Text())
		}
		return d.ApprovalID
	}
	decide := func(srv *Server, who []string, tool, id string, wantErr string) {
		t.Helper()
		_, tr := callTool(t, srv.MCPURL(), tool, map[string]any{"id": id, "reason": "checked"}, who...)
		if wantErr == "" && tr.IsError || wantErr != "" && (!tr.IsError || !strings.Contains(tr.Text(), wantErr)) {
			t.Fatalf("%s: isError=%v %q, want error %q", tool, tr.IsError, tr.Text(), wantErr)
		}
	}
	consume := func(srv *Server, who []string, args map[string]any, wantErr string) toolResult {
		t.Helper()
		_, tr := callTool(t, srv.MCPURL(), "delete_snippet", args, who...)
		if wantErr == "" && tr.IsError || wantErr != "" && (!tr.IsError || !strings.Contains(tr.Text(), wantErr)) {
			t.Fatalf("delete_snippet %v: isError=%v %q, want error %q", args, tr.IsError, tr.Text(), wantErr)
		}
		return tr
	}

	save("doomed")
	id := request(a, "doomed")
	decide(a, req, "approve_request", id, "cannot approve or deny their own request")
	consume(c, req, map[string]any{"snippetname": "doomed", "approval_id": id}, "still waiting")

	_, tr := callTool(t, b.MCPURL(), "list_approval_requests", nil, approver...)
	if !strings.Contains(string(tr.StructuredContent), id) || !strings.Contains(string(tr.StructuredContent), `delete snippet \"doomed\"`) {
		t.Fatalf("approver does not see the request: %s", tr.StructuredContent)
	}
	decide(b, approver, "approve_request", id, "")
	decide(b, approver, "deny_request", id, "already decided")

	save("innocent")
	consume(c, req, map[string]any{"snippetname": "innocent", "approval_id": id}, "different tool or different arguments")
	consume(c, req, map[string]any{"snippetname": "doomed", "shared": true, "approval_id": id}, "Snippets.Write") // refused before consuming
	consume(c, other, map[string]any{"snippetname": "doomed", "approval_id": id}, "belongs to another caller")
	done := consume(c, req, map[string]any{"snippetname": "doomed", "approval_id": id}, "")
	if decodeDelete(t, done).Status != "deleted" {
		t.Fatalf("consume: %s", done.Text())
	}
	consume(a, req, map[string]any{"snippetname": "doomed", "approval_id": id}, "already used")
	if _, tr := callTool(t, a.MCPURL(), "get_snippet", map[string]any{"snippetname": "doomed"}, req...); !tr.IsError {
		t.Fatal("snippet still there after approved delete")
	}
	if _, tr := callTool(t, a.MCPURL(), "get_snippet", map[string]any{"snippetname": "innocent"}, req...); tr.IsError {
		t.Fatal("the other snippet was deleted")
	}

	// Denied requests cannot be used.
	id2 := request(b, "innocent")
	decide(c, approver, "deny_request", id2, "")
	consume(a, req, map[string]any{"snippetname": "innocent", "approval_id": id2}, "was denied")

	// Two racing calls with one approval: exactly one deletes.
	save("raced")
	id3 := request(a, "raced")
	decide(b, approver, "approve_request", id3, "")
	var wg sync.WaitGroup
	results := make([]toolResult, 2)
	for i, srv := range []*Server{a, c} {
		wg.Add(1)
		go func() {
			defer wg.Done()
			_, results[i] = callTool(t, srv.MCPURL(), "delete_snippet", map[string]any{"snippetname": "raced", "approval_id": id3}, req...)
		}()
	}
	wg.Wait()
	if results[0].IsError == results[1].IsError {
		t.Fatalf("racing consumers: %q / %q", results[0].Text(), results[1].Text())
	}

	// Expired requests cannot be approved (a fourth instance with a 1 s TTL).
	short := startServer(t, append(env, "MCP_APPROVAL_TTL=1s")...)
	save("later")
	id4 := request(short, "later")
	time.Sleep(1200 * time.Millisecond)
	decide(b, approver, "approve_request", id4, "expired")
	consume(a, req, map[string]any{"snippetname": "later", "approval_id": id4}, "expired")

	// Every instance audited its calls, with the approval outcome. The last
	// lines may still be in the processes' stdout pipes: wait a little.
	wants := []string{`"approval_result":"requested"`, `"approval_result":"approved"`, `"approval_result":"denied"`,
		`"approval_result":"expired"`, `"approval_result":"pending"`, `"approval_result":"mismatch"`, `"result_code":"approval_required"`}
	var missing []string
	if !waitFor(5*time.Second, func() bool {
		all := a.Stdout() + b.Stdout() + c.Stdout() + short.Stdout()
		missing = missing[:0]
		for _, w := range wants {
			if !strings.Contains(all, w) {
				missing = append(missing, w)
			}
		}
		return len(missing) == 0
	}) {
		t.Fatalf("no audit event with %v", missing)
	}
}
