package e2e

import (
	"encoding/json"
	"fmt"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/identity/authtest"
	"github.com/snippets-mcp/server/internal/storage/blobtest"
)

// govServer is one server in jwt mode whose storage traffic goes through a
// fault proxy in front of a real Azurite.
func govServer(t *testing.T, env ...string) (*Server, *authtest.Issuer, *blobtest.Server) {
	t.Helper()
	iss := authtest.NewIssuer(t)
	az := startAzurite(t)
	proxy := blobtest.NewProxy(t, fmt.Sprintf("http://127.0.0.1:%d", az.Port))
	srv := startServer(t, append([]string{
		"MCP_AUTH_MODE=jwt", "MCP_AUTH_ISSUER=" + iss.URL(), "MCP_AUTH_AUDIENCE=" + authtest.Audience,
		"SNIPPETS_STORAGE=" + proxy.ConnString(),
	}, env...)...)
	return srv, iss, proxy
}

// people of the tenant, each a signed-in user with their own agent app.
type people struct {
	writer, other, approver, approverViaAgent, agentApp, otherApp []string
}

func cast(t *testing.T, iss *authtest.Issuer) people {
	return people{
		writer:   bearer(iss.Mint(t, authtest.Claims{ObjectID: "11111111-0000-0000-0000-0000000000a1", Roles: []string{"Snippets.Write", "Snippets.Delete"}})),
		other:    bearer(iss.Mint(t, authtest.Claims{ObjectID: "11111111-0000-0000-0000-0000000000b2", Roles: []string{"Snippets.Write", "Snippets.Delete"}})),
		approver: bearer(iss.Mint(t, authtest.Claims{ObjectID: "22222222-0000-0000-0000-0000000000c3", ClientID: approverApp, Roles: []string{"Snippets.Approve"}})),
		// A second person, but signed in to the requester's own agent app.
		approverViaAgent: bearer(iss.Mint(t, authtest.Claims{ObjectID: "22222222-0000-0000-0000-0000000000d4", Roles: []string{"Snippets.Approve"}})),
		// The requester's agent app acting on its own (client credentials).
		agentApp: bearer(iss.Mint(t, authtest.Claims{ObjectID: "33333333-0000-0000-0000-0000000000e5", AppOnly: true, Roles: []string{"Snippets.Approve", "Snippets.Read"}})),
		// Another app, acting on its own.
		otherApp: bearer(iss.Mint(t, authtest.Claims{ObjectID: "33333333-0000-0000-0000-0000000000f6", ClientID: approverApp, AppOnly: true, Roles: []string{"Snippets.Approve", "Snippets.Read"}})),
	}
}

// want calls a tool and checks the outcome: wantErr "" means success,
// otherwise an isError result whose text contains wantErr.
func want(t *testing.T, srv *Server, who []string, tool string, args map[string]any, wantErr string) toolResult {
	t.Helper()
	_, tr := callTool(t, srv.MCPURL(), tool, args, who...)
	if wantErr == "" && tr.IsError || wantErr != "" && (!tr.IsError || !strings.Contains(tr.Text(), wantErr)) {
		t.Fatalf("%s %v: isError=%v %q, want error %q", tool, args, tr.IsError, tr.Text(), wantErr)
	}
	return tr
}

func field(t *testing.T, tr toolResult, name string) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(tr.StructuredContent, &m); err != nil {
		t.Fatalf("structured content %s: %v", tr.StructuredContent, err)
	}
	s, _ := m[name].(string)
	return s
}

func content(t *testing.T, srv *Server, who []string, args map[string]any) (string, bool) {
	t.Helper()
	_, tr := callTool(t, srv.MCPURL(), "get_snippet", args, who...)
	if tr.IsError {
		return tr.Text(), false
	}
	return field(t, tr, "content"), true
}

// TestApprovalIsForOneVersion: an approval allows changing exactly the
// version it was requested for, once, whatever storage does to replies.
func TestApprovalIsForOneVersion(t *testing.T) {
	t.Parallel()
	srv, iss, proxy := govServer(t)
	p := cast(t, iss)
	doc := map[string]any{"snippetname": "doc"}
	withID := func(id string) map[string]any { return map[string]any{"snippetname": "doc", "approval_id": id} }
	approved := func() string {
		t.Helper()
		id := field(t, want(t, srv, p.writer, "delete_snippet", doc, ""), "approvalId")
		want(t, srv, p.approver, "approve_request", map[string]any{"id": id}, "")
		return id
	}

	t.Run("content changed after the request", func(t *testing.T) {
		want(t, srv, p.writer, "save_snippet", map[string]any{"snippetname": "doc", "snippet": "v1"}, "")
		id := approved()
		want(t, srv, p.writer, "save_snippet", map[string]any{"snippetname": "doc", "snippet": "v2 written after the approval"}, "")
		want(t, srv, p.writer, "delete_snippet", withID(id), "changed after the approval was requested")
		if got, ok := content(t, srv, p.writer, doc); !ok || got != "v2 written after the approval" {
			t.Fatalf("content after a refused stale delete: %q", got)
		}
	})

	t.Run("reply lost after storage deleted", func(t *testing.T) {
		id := approved()
		proxy.SetRule(blobtest.DropAfterApplied(blobtest.Match(http.MethodDelete, "/snippets/"), 1))
		tr := want(t, srv, p.writer, "delete_snippet", withID(id), "")
		proxy.SetRule(nil)
		if field(t, tr, "status") != "deleted" {
			t.Fatalf("delete with a lost reply: %s", tr.Text())
		}
		// New content under the same name: the used approval must not touch it.
		want(t, srv, p.writer, "save_snippet", map[string]any{"snippetname": "doc", "snippet": "v3 written after the delete"}, "")
		want(t, srv, p.writer, "delete_snippet", withID(id), "already used")
		if got, ok := content(t, srv, p.writer, doc); !ok || got != "v3 written after the delete" {
			t.Fatalf("second use of one approval: content %q", got)
		}
	})

	t.Run("storage refused the delete: the approval stays usable", func(t *testing.T) {
		id := approved()
		proxy.SetRule(blobtest.Answer(blobtest.Match(http.MethodDelete, "/snippets/"), 3, 503, "ServerBusy"))
		want(t, srv, p.writer, "delete_snippet", withID(id), "approval is still valid")
		proxy.SetRule(nil)
		want(t, srv, p.writer, "delete_snippet", withID(id), "")
		if msg, ok := content(t, srv, p.writer, doc); ok {
			t.Fatalf("still there after the retried delete: %q", msg)
		}
	})

	t.Run("outcome unknown: reported as such, approval not given back", func(t *testing.T) {
		want(t, srv, p.writer, "save_snippet", map[string]any{"snippetname": "doc", "snippet": "v4"}, "")
		id := approved()
		proxy.SetRule(blobtest.Answer(blobtest.Match(http.MethodDelete, "/snippets/"), 3, 500, "OperationTimedOut"))
		want(t, srv, p.writer, "delete_snippet", withID(id), "did not confirm")
		proxy.SetRule(nil)
		want(t, srv, p.writer, "delete_snippet", withID(id), "already used")
	})

	// Events reach the test through the process's stdout pipe: allow the
	// last ones a moment.
	var seen, missing []string
	if !waitFor(5*time.Second, func() bool {
		seen, missing = nil, nil
		for _, e := range events(t, srv) {
			if e.ToolName == "delete_snippet" {
				seen = append(seen, e.ResultCode+"/"+e.ApprovalResult)
			}
		}
		for _, w := range []string{"denied/stale", "ok/approved", "unavailable/approved", "ambiguous/ambiguous"} {
			if !strings.Contains(strings.Join(seen, " "), w) {
				missing = append(missing, w)
			}
		}
		return len(missing) == 0
	}) {
		t.Fatalf("no delete_snippet events %v among %v", missing, seen)
	}
}

// TestApproverIsAnotherPerson: four eyes means two people, through
// another app than the requester's agent.
func TestApproverIsAnotherPerson(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name   string
		env    []string
		who    func(people) []string
		reject string // "" means the approval goes through
	}{
		{"the requester", nil, func(p people) []string { return p.writer }, "own request"},
		{"another person through the requester's agent app", nil, func(p people) []string { return p.approverViaAgent }, "different app"},
		{"the requester's agent app on its own", nil, func(p people) []string { return p.agentApp }, "signed-in person"},
		{"another app on its own", nil, func(p people) []string { return p.otherApp }, "signed-in person"},
		{"another app on its own, allowed by setting", []string{"MCP_APPROVAL_ALLOW_APP_ONLY=true"}, func(p people) []string { return p.otherApp }, ""},
		{"the agent app on its own, even when apps may approve", []string{"MCP_APPROVAL_ALLOW_APP_ONLY=true"}, func(p people) []string { return p.agentApp }, "different app"},
		{"another person through another app", nil, func(p people) []string { return p.approver }, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			srv, iss, _ := govServer(t, tc.env...)
			p := cast(t, iss)
			want(t, srv, p.writer, "save_snippet", map[string]any{"snippetname": "doc", "snippet": "v1"}, "")
			id := field(t, want(t, srv, p.writer, "delete_snippet", map[string]any{"snippetname": "doc"}, ""), "approvalId")
			// The writer holds Snippets.Delete only; give the self-approval
			// case the role it would need, so only the four-eyes rule refuses.
			who := tc.who(p)
			if tc.name == "the requester" {
				who = bearer(iss.Mint(t, authtest.Claims{ObjectID: "11111111-0000-0000-0000-0000000000a1", ClientID: approverApp, Roles: []string{"Snippets.Approve", "Snippets.Delete"}}))
			}
			for _, tool := range []string{"deny_request", "approve_request"} {
				want(t, srv, who, tool, map[string]any{"id": id, "reason": "checked"}, tc.reject)
				if tc.reject == "" {
					break // approve after a deny would be "already decided"
				}
			}
			if tc.reject != "" {
				want(t, srv, p.writer, "delete_snippet", map[string]any{"snippetname": "doc", "approval_id": id}, "still waiting")
			}
		})
	}
}

// TestOverwriteIsGoverned: replacing another identity's shared snippet is
// destructive and needs an approval bound to the version it replaces;
// one's own content stays one's own to replace; empty content is refused.
func TestOverwriteIsGoverned(t *testing.T) {
	t.Parallel()
	srv, iss, _ := govServer(t)
	p := cast(t, iss)
	shared := func(text string) map[string]any {
		return map[string]any{"snippetname": "team", "shared": true, "snippet": text}
	}
	read := map[string]any{"snippetname": "team", "shared": true}
	want(t, srv, p.writer, "save_snippet", shared("written by the writer"), "")
	want(t, srv, p.writer, "save_snippet", shared("rewritten by the writer"), "")

	for _, text := range []string{"", " ", "\n\t"} {
		for _, who := range [][]string{p.other, p.writer} {
			if _, tr := callTool(t, srv.MCPURL(), "save_snippet", shared(text), who...); !tr.IsError {
				t.Fatalf("empty content %q accepted: %s", text, tr.Text())
			}
		}
		if _, tr := callTool(t, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": "mine", "snippet": text}, p.writer...); !tr.IsError {
			t.Fatalf("empty private content %q accepted: %s", text, tr.Text())
		}
	}

	tr := want(t, srv, p.other, "save_snippet", shared("the other's replacement"), "")
	if field(t, tr, "status") != "approval_required" {
		t.Fatalf("overwrite of another identity's snippet: %s", tr.Text())
	}
	id := field(t, tr, "approvalId")
	if got, _ := content(t, srv, p.other, read); got != "rewritten by the writer" {
		t.Fatalf("content changed before approval: %q", got)
	}
	want(t, srv, p.other, "save_snippet", map[string]any{"snippetname": "team", "shared": true, "snippet": "something else", "approval_id": id}, "different tool or different arguments")
	want(t, srv, p.approver, "approve_request", map[string]any{"id": id}, "")
	want(t, srv, p.other, "save_snippet", map[string]any{"snippetname": "team", "shared": true, "snippet": "the other's replacement", "approval_id": id}, "")
	if got, _ := content(t, srv, p.other, read); got != "the other's replacement" {
		t.Fatalf("approved overwrite: content %q", got)
	}

	// Bound to the version: a change after the request voids the approval.
	id = field(t, want(t, srv, p.writer, "save_snippet", shared("the writer's take"), ""), "approvalId")
	want(t, srv, p.approver, "approve_request", map[string]any{"id": id}, "")
	want(t, srv, p.other, "save_snippet", shared("the other's second edit"), "")
	want(t, srv, p.writer, "save_snippet", map[string]any{"snippetname": "team", "shared": true, "snippet": "the writer's take", "approval_id": id}, "changed after the approval was requested")
	if got, _ := content(t, srv, p.other, read); got != "the other's second edit" {
		t.Fatalf("stale overwrite changed content: %q", got)
	}
}

// TestLostRepliesNeverBlameOthers: a save whose reply storage dropped after
// writing, so that the SDK's retry met the save's own write, is reported
// saved, never "changed by someone else".
func TestLostRepliesNeverBlameOthers(t *testing.T) {
	t.Parallel()
	srv, iss, proxy := govServer(t)
	p := cast(t, iss)
	put := blobtest.Match(http.MethodPut, "/snippets/")
	cases := []struct {
		name string
		args func(etag string) map[string]any
	}{
		{"create", func(string) map[string]any { return map[string]any{"snippetname": "new-one", "snippet": "created"} }},
		{"blind update", func(string) map[string]any { return map[string]any{"snippetname": "doc", "snippet": "blind"} }},
		{"etag update", func(etag string) map[string]any {
			return map[string]any{"snippetname": "doc", "snippet": "conditional", "etag": etag}
		}},
		{"shared update of one's own", func(string) map[string]any {
			return map[string]any{"snippetname": "team", "shared": true, "snippet": "mine again"}
		}},
	}
	want(t, srv, p.writer, "save_snippet", map[string]any{"snippetname": "team", "shared": true, "snippet": "mine"}, "")
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			etag := field(t, want(t, srv, p.writer, "save_snippet", map[string]any{"snippetname": "doc", "snippet": "before"}, ""), "etag")
			args := tc.args(etag)
			proxy.SetRule(blobtest.DropAfterApplied(put, 1))
			tr := want(t, srv, p.writer, "save_snippet", args, "")
			proxy.SetRule(nil)
			read := map[string]any{"snippetname": args["snippetname"], "shared": args["shared"] == true}
			_, got := callTool(t, srv.MCPURL(), "get_snippet", read, p.writer...)
			if field(t, got, "content") != args["snippet"] || field(t, got, "etag") != field(t, tr, "etag") {
				t.Fatalf("answered saved (etag %s) but storage holds %s", field(t, tr, "etag"), got.StructuredContent)
			}
		})
	}
	for _, e := range events(t, srv) {
		if e.ToolName == "save_snippet" && e.ResultCode != "ok" {
			t.Errorf("save audited as %s: %+v", e.ResultCode, e)
		}
	}
}

// TestApprovalRequestsCannotBeFlooded: one requester's pending requests are
// bounded, and every other request stays reachable, oldest first.
func TestApprovalRequestsCannotBeFlooded(t *testing.T) {
	t.Parallel()
	srv, iss, _ := govServer(t)
	p := cast(t, iss)
	want(t, srv, p.other, "save_snippet", map[string]any{"snippetname": "theirs", "snippet": "x"}, "")
	first := field(t, want(t, srv, p.other, "delete_snippet", map[string]any{"snippetname": "theirs"}, ""), "approvalId")
	for i := range 12 {
		name := fmt.Sprintf("flood-%02d", i)
		want(t, srv, p.writer, "save_snippet", map[string]any{"snippetname": name, "snippet": "x"}, "")
		_, tr := callTool(t, srv.MCPURL(), "delete_snippet", map[string]any{"snippetname": name}, p.writer...)
		switch {
		case i < 10 && tr.IsError:
			t.Fatalf("request %d refused: %s", i, tr.Text())
		case i >= 10 && (!tr.IsError || !strings.Contains(tr.Text(), "most approval requests allowed")):
			t.Fatalf("request %d beyond the bound: isError=%v %s", i, tr.IsError, tr.Text())
		}
	}
	last := field(t, want(t, srv, p.other, "delete_snippet", map[string]any{"snippetname": "theirs"}, ""), "approvalId")
	var ids []string
	cursor := ""
	for range 20 {
		args := map[string]any{"limit": 4}
		if cursor != "" {
			args["cursor"] = cursor
		}
		tr := want(t, srv, p.approver, "list_approval_requests", args, "")
		var page struct {
			Requests []struct {
				ID string `json:"id"`
			} `json:"requests"`
			NextCursor string `json:"nextCursor"`
		}
		if err := json.Unmarshal(tr.StructuredContent, &page); err != nil {
			t.Fatal(err)
		}
		for _, r := range page.Requests {
			ids = append(ids, r.ID)
		}
		if cursor = page.NextCursor; cursor == "" {
			break
		}
	}
	if len(ids) != 12 || ids[0] != first || ids[len(ids)-1] != last {
		t.Fatalf("listed %d requests %v; want 12, oldest (%s) first and newest (%s) last", len(ids), ids, first, last)
	}
}
