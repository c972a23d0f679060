package tools

import (
	"context"
	"net/http"
	"strings"
	"testing"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/snippets"
	"github.com/snippets-mcp/server/internal/storage/blobtest"
)

// Every way an approval can fail to apply says which, in words, and is
// audited with its approval outcome; nothing is changed.
func TestApprovalOutcomes(t *testing.T) {
	f := newFixture(t)
	dana := &identity.Identity{TenantID: "t1", ObjectID: "dana", ClientID: "dana-app", Scopes: []string{identity.ScopeUser},
		Roles: []string{identity.RoleDelete, identity.RoleApprove}, Method: identity.MethodJWT}
	save := func(name, content string) {
		t.Helper()
		if _, isErr, text := f.tool(t, alice, "save_snippet", map[string]any{"snippetname": name, "snippet": content}); isErr {
			t.Fatal(text)
		}
	}
	request := func(who *identity.Identity, name string) string {
		t.Helper()
		sc, isErr, text := f.tool(t, who, "delete_snippet", map[string]any{"snippetname": name})
		if isErr {
			t.Fatal(text)
		}
		return sc["approvalId"].(string)
	}
	approved := func(name string) string {
		t.Helper()
		save(name, "v1")
		id := request(alice, name)
		if _, isErr, text := f.tool(t, bob, "approve_request", map[string]any{"id": id}); isErr {
			t.Fatal(text)
		}
		return id
	}
	cases := []struct {
		name    string
		prepare func() (*identity.Identity, map[string]any)
		want    string
		code    audit.ResultCode
		outcome audit.ApprovalResult
	}{
		{"changed since", func() (*identity.Identity, map[string]any) {
			id := approved("changed")
			save("changed", "v2")
			return alice, map[string]any{"snippetname": "changed", "approval_id": id}
		}, "changed after the approval was requested", audit.ResultDenied, audit.ApprovalStale},
		{"gone since", func() (*identity.Identity, map[string]any) {
			id := approved("gone")
			if err := f.store.Delete(context.Background(), snippets.Private("t1", "alice"), "gone", ""); err != nil {
				t.Fatal(err)
			}
			return alice, map[string]any{"snippetname": "gone", "approval_id": id}
		}, "no longer exists", audit.ResultNotFound, audit.ApprovalStale},
		{"other arguments", func() (*identity.Identity, map[string]any) {
			id := approved("this")
			save("that", "v1")
			return alice, map[string]any{"snippetname": "that", "approval_id": id}
		}, "different tool or different arguments", audit.ResultDenied, audit.ApprovalMismatch},
		{"pending", func() (*identity.Identity, map[string]any) {
			save("waits", "v1")
			return alice, map[string]any{"snippetname": "waits", "approval_id": request(alice, "waits")}
		}, "still waiting for a decision", audit.ResultDenied, audit.ApprovalPending},
		{"someone else's", func() (*identity.Identity, map[string]any) {
			return dana, map[string]any{"snippetname": "mine", "approval_id": approved("mine")}
		}, "belongs to another caller", audit.ResultDenied, audit.ApprovalMismatch},
		{"unknown id", func() (*identity.Identity, map[string]any) {
			return alice, map[string]any{"snippetname": "x", "approval_id": "0123456789abcdef0123456789abcdef"}
		}, "no approval request with this id", audit.ResultDenied, audit.ApprovalMismatch},
		{"used", func() (*identity.Identity, map[string]any) {
			id := approved("once")
			if _, isErr, text := f.tool(t, alice, "delete_snippet", map[string]any{"snippetname": "once", "approval_id": id}); isErr {
				t.Fatal(text)
			}
			save("once", "v1")
			return alice, map[string]any{"snippetname": "once", "approval_id": id}
		}, "already used", audit.ResultDenied, audit.ApprovalMismatch},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			who, args := c.prepare()
			_, isErr, text := f.tool(t, who, "delete_snippet", args)
			if !isErr || !strings.Contains(text, c.want) || !strings.Contains(text, "nothing was deleted") && c.outcome == audit.ApprovalStale {
				t.Errorf("got isError=%v %q, want %q", isErr, text, c.want)
			}
			evs := f.auditor.all()
			if e := evs[len(evs)-1]; e.ResultCode != string(c.code) || e.ApprovalResult != string(c.outcome) || !e.ApprovalRequired {
				t.Errorf("audited %s/%s (required %v), want %s/%s", e.ResultCode, e.ApprovalResult, e.ApprovalRequired, c.code, c.outcome)
			}
		})
	}

	t.Run("self approval", func(t *testing.T) {
		f.tool(t, dana, "save_snippet", map[string]any{"snippetname": "own", "snippet": "x"})
		id := request(dana, "own")
		if _, isErr, text := f.tool(t, dana, "approve_request", map[string]any{"id": id}); !isErr || !strings.Contains(text, "cannot approve or deny their own request") {
			t.Errorf("self-approval: isError=%v %q", isErr, text)
		}
	})

	// A write that provably did not happen gives the approval back: the
	// same call succeeds once storage answers again.
	t.Run("storage down, approval kept", func(t *testing.T) {
		id := approved("retry")
		f.blob.SetRule(blobtest.Answer(blobtest.Match(http.MethodDelete, "/"+snippets.Container+"/"), 100, http.StatusServiceUnavailable, "ServerBusy"))
		_, isErr, text := f.tool(t, alice, "delete_snippet", map[string]any{"snippetname": "retry", "approval_id": id})
		f.blob.SetRule(nil)
		if !isErr || !strings.Contains(text, "the approval is still valid") {
			t.Fatalf("got isError=%v %q, want the approval kept", isErr, text)
		}
		if _, isErr, text := f.tool(t, alice, "delete_snippet", map[string]any{"snippetname": "retry", "approval_id": id}); isErr {
			t.Errorf("retry with the kept approval: %s", text)
		}
	})
}
