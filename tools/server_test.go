package tools

import (
	"context"
	"encoding/json"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/server"

	"github.com/snippets-mcp/server/internal/approval"
	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/policy"
	"github.com/snippets-mcp/server/internal/snippets"
	"github.com/snippets-mcp/server/internal/storage/blobtest"
)

type fixture struct {
	mcp     *server.MCPServer
	store   *snippets.Store
	blob    *blobtest.Fake
	auditor *memAuditor
}

func newFixture(t *testing.T) *fixture {
	t.Helper()
	f := &fixture{auditor: &memAuditor{}}
	var approvals *approval.Store
	f.store, approvals, f.blob = stores(t)
	s, err := New(Options{Snippets: f.store, Approvals: approvals, Auditor: f.auditor, Version: "t"})
	if err != nil {
		t.Fatal(err)
	}
	f.mcp = s.MCP()
	return f
}

var (
	// alice signed in with a token (a user assertion: delegation can act for her).
	alice    = (&identity.Identity{TenantID: "t1", ObjectID: "alice", ClientID: "agent", Scopes: []string{identity.ScopeUser}, Roles: []string{identity.RoleDelete}, Method: identity.MethodJWT}).WithBearerToken("alice-token")
	bob      = &identity.Identity{TenantID: "t1", ObjectID: "bob", ClientID: "inspector", Scopes: []string{identity.ScopeUser}, Roles: []string{identity.RoleApprove}, Method: identity.MethodJWT}
	readOnly = &identity.Identity{TenantID: "t1", ObjectID: "app", AppOnly: true, Roles: []string{identity.RoleRead}, Method: identity.MethodJWT}
)

// call sends one JSON-RPC message as id and returns the raw response.
func (f *fixture) call(t *testing.T, id *identity.Identity, method string, params any) map[string]any {
	t.Helper()
	msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	ctx := ContextFunc(identity.NewContext(context.Background(), id), httptest.NewRequest("POST", "/mcp", nil))
	resp := f.mcp.HandleMessage(ctx, msg)
	b, _ := json.Marshal(resp)
	var out map[string]any
	if err := json.Unmarshal(b, &out); err != nil {
		t.Fatal(err)
	}
	return out
}

func (f *fixture) tool(t *testing.T, id *identity.Identity, name string, args map[string]any) (map[string]any, bool, string) {
	t.Helper()
	out := f.call(t, id, "tools/call", map[string]any{"name": name, "arguments": args})
	res, ok := out["result"].(map[string]any)
	if !ok {
		t.Fatalf("%s: no result: %v", name, out)
	}
	// The first block is the text for people; a success result's second
	// is its structured content as JSON (TestTextCarriesTheData).
	text := res["content"].([]any)[0].(map[string]any)["text"].(string)
	sc, _ := res["structuredContent"].(map[string]any)
	return sc, res["isError"] == true, text
}

// Every tool states all four annotations and has a description and an
// output schema: mcp-go's defaults would call a read tool destructive.
func TestToolsDeclareEverything(t *testing.T) {
	f := newFixture(t)
	s, _ := New(Options{Snippets: f.store})
	for name, sp := range s.tools {
		a := sp.spec.Annotations
		if *a.ReadOnlyHint && *a.DestructiveHint {
			t.Errorf("%s: read-only and destructive", name)
		}
		if (sp.class == policy.ClassRead) != *a.ReadOnlyHint && sp.class != policy.ClassAdmin {
			t.Errorf("%s: class %s but readOnlyHint %v", name, sp.class, *a.ReadOnlyHint)
		}
		if sp.spec.Description == "" || sp.spec.OutputSchema.Type != "object" {
			t.Errorf("%s: missing description or output schema", name)
		}
	}
}

// mcp.NewTool fills every hint with a default, so the built tool cannot
// show a forgotten one: each mcp.NewTool call in this package's source
// must name all four hints itself.
func TestToolDeclarationsStateEveryHint(t *testing.T) {
	fset := token.NewFileSet()
	names, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	var files []*ast.File
	for _, name := range names {
		if strings.HasSuffix(name, "_test.go") {
			continue
		}
		f, err := parser.ParseFile(fset, name, nil, 0)
		if err != nil {
			t.Fatal(err)
		}
		files = append(files, f)
	}
	hints := []string{"WithReadOnlyHintAnnotation", "WithDestructiveHintAnnotation", "WithIdempotentHintAnnotation", "WithOpenWorldHintAnnotation"}
	calls := 0
	for _, f := range files {
		ast.Inspect(f, func(n ast.Node) bool {
			call, ok := n.(*ast.CallExpr)
			if !ok {
				return true
			}
			if sel, ok := call.Fun.(*ast.SelectorExpr); !ok || sel.Sel.Name != "NewTool" {
				return true
			}
			calls++
			named := map[string]bool{}
			ast.Inspect(call, func(m ast.Node) bool {
				if sel, ok := m.(*ast.SelectorExpr); ok {
					named[sel.Sel.Name] = true
				}
				return true
			})
			for _, h := range hints {
				if !named[h] {
					t.Errorf("%s: mcp.NewTool without %s (mcp-go's default would speak for it)", fset.Position(call.Pos()), h)
				}
			}
			return true
		})
	}
	if calls < 10 {
		t.Errorf("found %d mcp.NewTool calls, want one per tool (at least 10)", calls)
	}
}

func TestSaveGetListRoundTrip(t *testing.T) {
	f := newFixture(t)
	if _, isErr, text := f.tool(t, alice, "save_snippet", map[string]any{"snippetname": "n1", "snippet": "hello"}); isErr {
		t.Fatal(text)
	}
	sc, isErr, text := f.tool(t, alice, "get_snippet", map[string]any{"snippetname": "n1"})
	if isErr || text != "hello" || sc["content"] != "hello" {
		t.Fatalf("get: %v %q", sc, text)
	}
	sc, _, _ = f.tool(t, alice, "list_snippets", nil)
	if items := sc["snippets"].([]any); len(items) != 1 {
		t.Fatalf("list: %v", sc)
	}
	// Bob has his own space.
	if _, isErr, _ := f.tool(t, bob, "get_snippet", map[string]any{"snippetname": "n1"}); !isErr {
		t.Fatal("bob read alice's snippet")
	}
}

func TestErrorsArePlainWords(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		args map[string]any
		want string
	}{
		{map[string]any{"snippetname": "../x", "snippet": "y"}, "names are"},
		{map[string]any{"snippetname": "x"}, `missing required argument "snippet"`},
		{map[string]any{"snippetname": "x", "snippet": 3}, `argument "snippet" must be a string, not an integer`},
		{map[string]any{"snippetname": "x", "snippet": "y", "shared": "yes"}, `argument "shared" must be true or false`},
		{map[string]any{"snippetname": "x", "snippet": "y", "owner": "bob"}, `unknown argument "owner"`},
		{map[string]any{"name": "x", "snippet": "y"}, `unknown argument "name"; save_snippet takes: approval_id, etag, shared, snippet, snippetname`},
		{map[string]any{"snippetname": "x", "snippet": strings.Repeat("z", 2000)}, "the limit is 1024 bytes"},
	}
	for _, c := range cases {
		_, isErr, text := f.tool(t, alice, "save_snippet", c.args)
		if !isErr || !strings.Contains(text, c.want) {
			t.Errorf("%v: isError=%v %q, want %q", c.args, isErr, text, c.want)
		}
	}
	f.blob.DeleteContainer(snippets.Container)
	if _, isErr, text := f.tool(t, alice, "get_snippet", map[string]any{"snippetname": "x"}); !isErr || !strings.Contains(text, "retryable") {
		t.Errorf("storage down: %q", text)
	}
	// An outage is audited as one, not as a configuration error.
	if evs := f.auditor.all(); evs[len(evs)-1].ResultCode != audit.ResultUnavailable {
		t.Errorf("storage down audited as %q, want %q", evs[len(evs)-1].ResultCode, audit.ResultUnavailable)
	}
}

// One audit event per call, allowed or denied, with the right code.
func TestAuditEveryCall(t *testing.T) {
	f := newFixture(t)
	f.tool(t, alice, "save_snippet", map[string]any{"snippetname": "n1", "snippet": "secret-value"})
	f.tool(t, alice, "get_snippet", map[string]any{"snippetname": "missing"})
	f.call(t, readOnly, "tools/call", map[string]any{"name": "save_snippet", "arguments": map[string]any{"snippetname": "n", "snippet": "secret-value"}})
	f.call(t, alice, "tools/call", map[string]any{"name": "nope"})
	f.tool(t, alice, "delete_snippet", map[string]any{"snippetname": "n1"})
	ev := f.auditor.all()
	want := []string{audit.ResultOK, audit.ResultNotFound, audit.ResultDenied, audit.ResultNotFound, audit.ResultApprovalRequired}
	if len(ev) != len(want) {
		t.Fatalf("%d events, want %d: %+v", len(ev), len(want), ev)
	}
	for i, e := range ev {
		if e.ResultCode != want[i] {
			t.Errorf("event %d (%s): %s, want %s", i, e.ToolName, e.ResultCode, want[i])
		}
		b, _ := json.Marshal(e)
		if strings.Contains(string(b), "secret-value") {
			t.Errorf("event %d contains an argument value: %s", i, b)
		}
	}
	if !ev[4].ApprovalRequired || ev[4].ApprovalResult != audit.ApprovalRequested {
		t.Errorf("delete event: %+v", ev[4])
	}
}

func TestApprovalFlowInProcess(t *testing.T) {
	f := newFixture(t)
	f.tool(t, alice, "save_snippet", map[string]any{"snippetname": "gone", "snippet": "x"})
	sc, isErr, text := f.tool(t, alice, "delete_snippet", map[string]any{"snippetname": "gone"})
	if isErr || sc["status"] != "approval_required" {
		t.Fatalf("%v %s", sc, text)
	}
	id := sc["approvalId"].(string)
	if _, isErr, _ := f.tool(t, bob, "approve_request", map[string]any{"id": id}); isErr {
		t.Fatal("approve failed")
	}
	if sc, isErr, text := f.tool(t, alice, "delete_snippet", map[string]any{"snippetname": "gone", "approval_id": id}); isErr || sc["status"] != "deleted" {
		t.Fatalf("%v %s", sc, text)
	}
	if _, isErr, _ := f.tool(t, alice, "get_snippet", map[string]any{"snippetname": "gone"}); !isErr {
		t.Fatal("still there")
	}
}

func TestListFollowsPolicy(t *testing.T) {
	f := newFixture(t)
	names := func(id *identity.Identity) string {
		out := f.call(t, id, "tools/list", map[string]any{})
		var ns []string
		for _, tl := range out["result"].(map[string]any)["tools"].([]any) {
			ns = append(ns, tl.(map[string]any)["name"].(string))
		}
		return strings.Join(ns, ",")
	}
	if got := names(readOnly); strings.Contains(got, "save_snippet") || !strings.Contains(got, "get_snippet") {
		t.Errorf("read-only app sees %s", got)
	}
	if got := names(nil); got != "" {
		t.Errorf("anonymous sees %s", got)
	}
}

func TestArgsDigestBindsTheAction(t *testing.T) {
	a := argsDigest("delete_snippet", map[string]any{"snippetname": "x"})
	if a != argsDigest("delete_snippet", map[string]any{"snippetname": "x", "shared": false, "approval_id": "abc"}) {
		t.Error("approval_id or a default changed the digest")
	}
	if a == argsDigest("delete_snippet", map[string]any{"snippetname": "y"}) || a == argsDigest("delete_snippet", map[string]any{"snippetname": "x", "shared": true}) {
		t.Error("different actions share a digest")
	}
}

func TestCompletionSuggestsOwnNames(t *testing.T) {
	f := newFixture(t)
	for _, n := range []string{"deploy-notes", "deploy-script", "other"} {
		f.tool(t, alice, "save_snippet", map[string]any{"snippetname": n, "snippet": "x"})
	}
	values := func(id *identity.Identity, ref map[string]any) string {
		out := f.call(t, id, "completion/complete", map[string]any{"ref": ref, "argument": map[string]any{"name": "snippetname", "value": "dep"}})
		res, ok := out["result"].(map[string]any)
		if !ok {
			t.Fatalf("%v", out)
		}
		var vs []string
		for _, v := range res["completion"].(map[string]any)["values"].([]any) {
			vs = append(vs, v.(string))
		}
		return strings.Join(vs, ",")
	}
	prompt := map[string]any{"type": "ref/prompt", "name": "review_snippet"}
	if got := values(alice, prompt); got != "deploy-notes,deploy-script" {
		t.Errorf("prompt completion: %q", got)
	}
	if got := values(alice, map[string]any{"type": "ref/resource", "uri": "snippet://{snippetname}"}); got != "deploy-notes,deploy-script" {
		t.Errorf("resource completion: %q", got)
	}
	if got := values(bob, prompt); got != "" {
		t.Errorf("bob sees alice's names: %q", got)
	}
	if got := values(alice, map[string]any{"type": "ref/prompt", "name": "unknown"}); got != "" {
		t.Errorf("unknown prompt: %q", got)
	}
}
