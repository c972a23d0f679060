package tools

import (
	"context"
	"encoding/json"
	"maps"
	"net/http"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/delegate"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/storage/blobtest"
)

// Every etag the server hands out has one form (quoted, as HTTP ETags
// are), and each one is accepted back by save_snippet: an agent that
// copies an etag from any answer must not meet a false conflict.
func TestEveryETagIsAcceptedBySave(t *testing.T) {
	f := newFixture(t)
	tool := func(name string, args map[string]any) map[string]any {
		t.Helper()
		sc, isErr, text := f.tool(t, alice, name, args)
		if isErr {
			t.Fatalf("%s: %s", name, text)
		}
		return sc
	}
	sources := []struct {
		name string
		etag func() string
	}{
		{"save", func() string {
			return tool("save_snippet", map[string]any{"snippetname": "e", "snippet": "v"})["etag"].(string)
		}},
		{"get", func() string { return tool("get_snippet", map[string]any{"snippetname": "e"})["etag"].(string) }},
		{"list", func() string {
			return tool("list_snippets", nil)["snippets"].([]any)[0].(map[string]any)["etag"].(string)
		}},
		{"delete approval", func() string { return tool("delete_snippet", map[string]any{"snippetname": "e"})["etag"].(string) }},
	}
	tool("save_snippet", map[string]any{"snippetname": "e", "snippet": "v0"})
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			got := src.etag()
			if !strings.HasPrefix(got, `"`) || !strings.HasSuffix(got, `"`) || len(got) < 3 {
				t.Errorf("etag %s, want the quoted form", got)
			}
			_, isErr, text := f.tool(t, alice, "save_snippet", map[string]any{"snippetname": "e", "snippet": "from " + src.name, "etag": got})
			if isErr {
				t.Errorf("save with the %s etag: %s", src.name, text)
			}
		})
	}
}

// blocks returns a tool result's text blocks and its structured content.
func (f *fixture) blocks(t *testing.T, id *identity.Identity, name string, args map[string]any) ([]string, map[string]any) {
	t.Helper()
	out := f.call(t, id, "tools/call", map[string]any{"name": name, "arguments": args})
	res, ok := out["result"].(map[string]any)
	if !ok || res["isError"] == true {
		t.Fatalf("%s: %v", name, out)
	}
	var texts []string
	for _, c := range res["content"].([]any) {
		texts = append(texts, c.(map[string]any)["text"].(string))
	}
	sc, _ := res["structuredContent"].(map[string]any)
	return texts, sc
}

// Clients that pass only text content to the model must leave the agent
// able to act: every success result's text names what it needs (names,
// etags, ids, cursors), and its last block is the structured content as
// JSON. get_snippet's first block is the content, so its JSON omits it.
func TestTextCarriesTheData(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"a1", "a2", "a3"} {
		f.tool(t, alice, "save_snippet", map[string]any{"snippetname": n, "snippet": "text of " + n})
	}
	_, del := f.blocks(t, alice, "delete_snippet", map[string]any{"snippetname": "a1"})
	cases := []struct {
		name     string
		who      *identity.Identity
		tool     string
		args     map[string]any
		first    func(sc map[string]any) []string // what the first block must name
		noJSONOf string                           // a field the JSON block leaves out
	}{
		{"save", alice, "save_snippet", map[string]any{"snippetname": "b", "snippet": "x"},
			func(sc map[string]any) []string { return []string{"b", sc["etag"].(string)} }, ""},
		{"get", alice, "get_snippet", map[string]any{"snippetname": "a2"},
			func(sc map[string]any) []string { return []string{"text of a2"} }, "content"},
		{"list page", alice, "list_snippets", map[string]any{"limit": 2},
			func(sc map[string]any) []string {
				items := sc["snippets"].([]any)
				return []string{"2 snippets", items[0].(map[string]any)["name"].(string), items[1].(map[string]any)["etag"].(string), sc["nextCursor"].(string)}
			}, ""},
		{"list approvals", bob, "list_approval_requests", nil,
			func(sc map[string]any) []string {
				r := sc["requests"].([]any)[0].(map[string]any)
				return []string{"1 approval request waits", r["id"].(string), r["summary"].(string), r["requester"].(string)}
			}, ""},
		{"whoami", alice, "whoami", nil, func(sc map[string]any) []string { return []string{"alice", "t1"} }, ""},
		{"approve", bob, "approve_request", map[string]any{"id": del["approvalId"]},
			func(sc map[string]any) []string { return []string{"Approved", `"a1"`} }, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			texts, sc := f.blocks(t, c.who, c.tool, c.args)
			if len(texts) != 2 {
				t.Fatalf("%d text blocks, want 2: %q", len(texts), texts)
			}
			for _, want := range c.first(sc) {
				if !strings.Contains(texts[0], want) {
					t.Errorf("text %q does not name %q", texts[0], want)
				}
			}
			var got map[string]any
			if err := json.Unmarshal([]byte(texts[1]), &got); err != nil {
				t.Fatalf("second block is not JSON: %v: %s", err, texts[1])
			}
			want := maps.Clone(sc)
			delete(want, c.noJSONOf)
			if !reflect.DeepEqual(got, want) {
				t.Errorf("JSON block\n got %v\nwant %v", got, want)
			}
		})
	}
}

type fakeProfiles struct{}

func (fakeProfiles) Profile(context.Context, delegate.User) (delegate.Profile, error) {
	return delegate.Profile{DisplayName: "Alice"}, nil
}
func (fakeProfiles) Resource() string { return "graph.microsoft.com" }

// get_my_profile is offered only where it can work: with delegation
// configured, to a signed-in user with a real token. tools/list and
// whoami's list of tools agree.
func TestProfileToolOnlyWhereItWorks(t *testing.T) {
	dev := &identity.Identity{TenantID: "t1", ObjectID: "dev", Scopes: []string{identity.ScopeUser}, Method: identity.MethodDev}
	cases := []struct {
		name     string
		profiles ProfileSource
		who      *identity.Identity
		want     bool
	}{
		{"configured, user", fakeProfiles{}, alice, true},
		// easyauth without an Authorization header: no user assertion to
		// exchange, so the policy does not offer the tool (on purpose, issue 14).
		{"configured, user without a token", fakeProfiles{}, &identity.Identity{TenantID: "t1", ObjectID: "alice", Scopes: []string{identity.ScopeUser}, Method: identity.MethodEasyAuth}, false},
		{"configured, app-only", fakeProfiles{}, readOnly, false},
		{"configured, dev mode", fakeProfiles{}, dev, false},
		{"not configured, user", nil, alice, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			store, approvals, _ := stores(t)
			s, err := New(Options{Snippets: store, Approvals: approvals, Profiles: c.profiles, Auditor: &memAuditor{}})
			if err != nil {
				t.Fatal(err)
			}
			f := &fixture{mcp: s.MCP()}
			var listed []string
			for _, tl := range f.call(t, c.who, "tools/list", map[string]any{})["result"].(map[string]any)["tools"].([]any) {
				listed = append(listed, tl.(map[string]any)["name"].(string))
			}
			if got := slices.Contains(listed, "get_my_profile"); got != c.want {
				t.Errorf("listed %v: get_my_profile shown = %v, want %v", listed, got, c.want)
			}
			sc, _, _ := f.tool(t, c.who, "whoami", nil)
			if got := slices.Contains(sc["tools"].([]any), any("get_my_profile")); got != c.want {
				t.Errorf("whoami tools %v: get_my_profile = %v, want %v", sc["tools"], got, c.want)
			}
		})
	}
}

func TestCountsAgree(t *testing.T) {
	sn := Snippet{Name: "n", Size: 1, ETag: `"e"`}
	req := ApprovalView{ID: "i", Summary: "s", Requester: "r", Agent: "a"}
	cases := []struct {
		name, got, want string
	}{
		{"no snippets", listText(SnippetList{Snippets: []Snippet{}}), "0 snippets."},
		{"one snippet", listText(SnippetList{Snippets: []Snippet{sn}}), `1 snippet: n (1 bytes, etag "e").`},
		{"two snippets", listText(SnippetList{Snippets: []Snippet{sn, sn}})[:11], "2 snippets:"},
		{"no requests", approvalsText(ApprovalList{}), "0 approval requests wait for a decision."},
		{"one request", approvalsText(ApprovalList{Requests: []ApprovalView{req}})[:40], "1 approval request waits for a decision:"},
		{"two requests", approvalsText(ApprovalList{Requests: []ApprovalView{req, req}})[:40], "2 approval requests wait for a decision:"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if c.got != c.want {
				t.Errorf("got %q, want %q", c.got, c.want)
			}
		})
	}
}

// Storage that refuses this server's credentials is a configuration error
// for an operator, never "retryable": retrying forever would not help.
func TestBadStorageCredentialsArePermanent(t *testing.T) {
	f := newFixture(t)
	all := func(*http.Request) bool { return true }
	cases := []struct {
		name string
		who  *identity.Identity
		tool string
		args map[string]any
		want string
	}{
		{"get", alice, "get_snippet", map[string]any{"snippetname": "x"}, "snippet storage refused this server's credentials"},
		{"save", alice, "save_snippet", map[string]any{"snippetname": "x", "snippet": "y"}, "Nothing was changed."},
		{"list", alice, "list_snippets", nil, "an operator must fix the storage configuration"},
		{"approvals", bob, "list_approval_requests", nil, "approval storage refused this server's credentials"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			f.blob.SetRule(blobtest.Answer(all, 100, http.StatusForbidden, "AuthorizationFailure"))
			defer f.blob.SetRule(nil)
			_, isErr, text := f.tool(t, c.who, c.tool, c.args)
			if !isErr || !strings.Contains(text, c.want) || strings.Contains(text, "(retryable)") {
				t.Errorf("isError=%v %q, want %q and no \"(retryable)\"", isErr, text, c.want)
			}
			evs := f.auditor.all()
			if got := evs[len(evs)-1].ResultCode; got != audit.ResultMisconfigured {
				t.Errorf("audited as %q, want %q: an outage and a configuration error look different in the trail", got, audit.ResultMisconfigured)
			}
		})
	}
}

// Approvers see who asked (name and object id, through which app), and the
// requester sees who decided and why: ids alone tell people nothing.
func TestApprovalsNamePeople(t *testing.T) {
	f := newFixture(t)
	ann := *alice
	ann.Name = "Alice Adams"
	ben := *bob
	ben.Name = "ben@contoso.example"
	f.tool(t, &ann, "save_snippet", map[string]any{"snippetname": "k", "snippet": "x"})
	f.tool(t, &ann, "save_snippet", map[string]any{"snippetname": "d", "snippet": "x"})
	keep, _, _ := f.tool(t, &ann, "delete_snippet", map[string]any{"snippetname": "k"})
	drop, _, _ := f.tool(t, &ann, "delete_snippet", map[string]any{"snippetname": "d"})

	listed, _, listText := f.tool(t, &ben, "list_approval_requests", nil)
	_, _, denyText := f.tool(t, &ben, "deny_request", map[string]any{"id": keep["approvalId"], "reason": "still used by the build"})
	_, _, approveText := f.tool(t, &ben, "approve_request", map[string]any{"id": drop["approvalId"], "reason": "obsolete"})
	_, _, deniedText := f.tool(t, &ann, "delete_snippet", map[string]any{"snippetname": "k", "approval_id": keep["approvalId"]})
	_, _, deletedText := f.tool(t, &ann, "delete_snippet", map[string]any{"snippetname": "d", "approval_id": drop["approvalId"]})

	cases := []struct {
		name, text string
		want       []string
	}{
		{"approver's list", listText, []string{"asked by Alice Adams (alice) through app agent"}},
		{"deny result", denyText, []string{"asked by Alice Adams (alice)", `decided by ben@contoso.example (bob) through app inspector, reason "still used by the build"`}},
		{"approve result", approveText, []string{`decided by ben@contoso.example (bob) through app inspector, reason "obsolete"`}},
		{"requester, denied", deniedText, []string{`denied by ben@contoso.example (bob) through app inspector, reason "still used by the build"`}},
		{"requester, deleted", deletedText, []string{`approved by ben@contoso.example (bob) through app inspector, reason "obsolete"`}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			for _, w := range c.want {
				if !strings.Contains(c.text, w) {
					t.Errorf("got %q, want it to contain %q", c.text, w)
				}
			}
		})
	}
	if r := listed["requests"].([]any)[0].(map[string]any); r["requesterName"] != "Alice Adams" {
		t.Errorf("structured request %v, want requesterName", r)
	}
}
