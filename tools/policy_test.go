package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/server"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/identity/authtest"
	"github.com/snippets-mcp/server/internal/inventory"
	"github.com/snippets-mcp/server/internal/policy"
)

// carol holds every role and signed in with a token: only the policy
// under test can refuse her.
var carol = (&identity.Identity{TenantID: "t1", ObjectID: "carol", ClientID: "carols-app", Scopes: []string{identity.ScopeUser},
	Roles: []string{identity.RoleRead, identity.RoleWrite, identity.RoleDelete, identity.RoleApprove}, Method: identity.MethodJWT}).WithBearerToken("carol-token")

// policyFixture is a fixture whose server runs the given policy options,
// with delegation configured.
func policyFixture(t *testing.T, po policy.Options) *fixture {
	t.Helper()
	f := &fixture{auditor: &memAuditor{}}
	store, approvals, blob := stores(t)
	f.store, f.blob = store, blob
	s, err := New(Options{Snippets: store, Approvals: approvals, Profiles: fakeProfiles{}, Auditor: f.auditor,
		Log: slog.New(slog.DiscardHandler), Policy: po})
	if err != nil {
		t.Fatal(err)
	}
	f.mcp = s.MCP()
	return f
}

// post sends one JSON-RPC request as who through mcp-go's HTTP transport
// and FixErrors, as the handler serves it, and returns the decoded answer.
func (f *fixture) post(t *testing.T, who *identity.Identity, method string, params any) map[string]any {
	t.Helper()
	h := FixErrors(server.NewStreamableHTTPServer(f.mcp, server.WithStateLess(true), server.WithDisableStreaming(true),
		server.WithHTTPContextFunc(ContextFunc)))
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": method, "params": params})
	r := httptest.NewRequest("POST", "/mcp", bytes.NewReader(body))
	r = r.WithContext(identity.NewContext(r.Context(), who))
	r.Header.Set("Content-Type", "application/json")
	r.Header.Set("Accept", "application/json, text/event-stream")
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	var out map[string]any
	if err := json.Unmarshal(w.Body.Bytes(), &out); err != nil {
		t.Fatalf("%s: %v: %s", method, err, w.Body)
	}
	return out
}

func (f *fixture) listed(t *testing.T, who *identity.Identity, method, key string) []string {
	t.Helper()
	var names []string
	res, _ := f.call(t, who, method, map[string]any{})["result"].(map[string]any)
	items, _ := res[key].([]any)
	for _, it := range items {
		names = append(names, it.(map[string]any)["name"].(string))
	}
	return names
}

// ok reports whether a request got a result that is not an error.
func (f *fixture) ok(t *testing.T, who *identity.Identity, method string, params map[string]any) bool {
	t.Helper()
	res, isResult := f.call(t, who, method, params)["result"].(map[string]any)
	return isResult && res["isError"] != true
}

func (f *fixture) status(t *testing.T, who *identity.Identity, tool string, args map[string]any) string {
	t.Helper()
	sc, isErr, text := f.tool(t, who, tool, args)
	if isErr {
		return "error: " + text
	}
	return fmt.Sprint(sc["status"])
}

// decisionPoints are every authorization decision of tools/, each with an
// operator rule aimed at it alone and a probe of its outcome. With the
// rule the outcome must change: a decision made anywhere but the engine
// would not see the rule.
var decisionPoints = []struct {
	name, rule string
	permits    bool
	probe      func(t *testing.T, f *fixture) string
}{
	{"tools/list filter", `forbid (principal, action == Action::"call", resource == Tool::"list_snippets");`, false,
		func(t *testing.T, f *fixture) string {
			return fmt.Sprint(slices.Contains(f.listed(t, carol, "tools/list", "tools"), toolListSnippets))
		}},
	{"tools/call", `forbid (principal, action == Action::"call", resource == Tool::"list_snippets");`, false,
		func(t *testing.T, f *fixture) string {
			return fmt.Sprint(f.ok(t, carol, "tools/call", map[string]any{"name": toolListSnippets}))
		}},
	{"whoami's tool list", `forbid (principal, action == Action::"call", resource == Tool::"get_snippet");`, false,
		func(t *testing.T, f *fixture) string {
			sc, _, _ := f.tool(t, carol, toolWhoami, nil)
			return fmt.Sprint(slices.Contains(sc["tools"].([]any), any(toolGetSnippet)))
		}},
	{"get_my_profile offered", `forbid (principal, action == Action::"call", resource == Tool::"get_my_profile");`, false,
		func(t *testing.T, f *fixture) string {
			return fmt.Sprint(slices.Contains(f.listed(t, carol, "tools/list", "tools"), toolGetMyProfile))
		}},
	{"resources/read, private space", `forbid (principal, action == Action::"read", resource == Space::"private");`, false,
		func(t *testing.T, f *fixture) string {
			f.tool(t, carol, toolSaveSnippet, map[string]any{"snippetname": "p1", "snippet": "x"})
			return fmt.Sprint(f.ok(t, carol, "resources/read", map[string]any{"uri": "snippet://p1"}))
		}},
	{"resources/read, shared space", `forbid (principal, action == Action::"read", resource == Space::"shared");`, false,
		func(t *testing.T, f *fixture) string {
			f.tool(t, carol, toolSaveSnippet, map[string]any{"snippetname": "s1", "snippet": "x", "shared": true})
			return fmt.Sprint(f.ok(t, carol, "resources/read", map[string]any{"uri": "snippet://shared/s1"}))
		}},
	{"prompts/list", `forbid (principal, action == Action::"read", resource == Space::"private");`, false,
		func(t *testing.T, f *fixture) string {
			return fmt.Sprint(len(f.listed(t, carol, "prompts/list", "prompts")))
		}},
	{"prompts/get", `forbid (principal, action == Action::"read", resource == Space::"private");`, false,
		func(t *testing.T, f *fixture) string {
			f.tool(t, carol, toolSaveSnippet, map[string]any{"snippetname": "p1", "snippet": "x"})
			_, got := f.call(t, carol, "prompts/get", map[string]any{"name": reviewPrompt, "arguments": map[string]any{"snippetname": "p1"}})["result"]
			return fmt.Sprint(got)
		}},
	{"completion/complete", `forbid (principal, action == Action::"list", resource is Space);`, false,
		func(t *testing.T, f *fixture) string {
			f.tool(t, carol, toolSaveSnippet, map[string]any{"snippetname": "p1", "snippet": "x"})
			res := f.call(t, carol, "completion/complete", map[string]any{"ref": map[string]any{"type": "ref/prompt", "name": reviewPrompt},
				"argument": map[string]any{"name": "snippetname", "value": "p"}})["result"].(map[string]any)
			return fmt.Sprint(res["completion"].(map[string]any)["values"])
		}},
	{"shared-space write", `forbid (principal, action == Action::"write", resource == Space::"shared");`, false,
		func(t *testing.T, f *fixture) string {
			return f.status(t, carol, toolSaveSnippet, map[string]any{"snippetname": "s1", "snippet": "x", "shared": true})
		}},
	{"private-space write", `forbid (principal, action == Action::"write", resource == Space::"private");`, false,
		func(t *testing.T, f *fixture) string {
			return f.status(t, carol, toolSaveSnippet, map[string]any{"snippetname": "p1", "snippet": "x"})
		}},
	{"overwrite of another identity's content: approval needed", `permit (principal, action == Action::"skip_approval", resource == Tool::"save_snippet");`, true,
		func(t *testing.T, f *fixture) string {
			f.tool(t, carol, toolSaveSnippet, map[string]any{"snippetname": "s1", "snippet": "x", "shared": true})
			dave := (*carol).WithBearerToken("dave-token")
			dave.ObjectID, dave.ClientID = "dave", "daves-app"
			return f.status(t, dave, toolSaveSnippet, map[string]any{"snippetname": "s1", "snippet": "y", "shared": true})
		}},
	{"destructive call: approval needed", `permit (principal, action == Action::"skip_approval", resource == Tool::"delete_snippet");`, true,
		func(t *testing.T, f *fixture) string {
			f.tool(t, carol, toolSaveSnippet, map[string]any{"snippetname": "p1", "snippet": "x"})
			return f.status(t, carol, toolDeleteSnippet, map[string]any{"snippetname": "p1"})
		}},
	{"approve/deny", `forbid (principal, action == Action::"decide", resource is ApprovalRequest) when { principal.oid == "bob" };`, false,
		func(t *testing.T, f *fixture) string {
			f.tool(t, carol, toolSaveSnippet, map[string]any{"snippetname": "p1", "snippet": "x"})
			sc, _, _ := f.tool(t, carol, toolDeleteSnippet, map[string]any{"snippetname": "p1"})
			return f.status(t, bob, toolApproveRequest, map[string]any{"id": sc["approvalId"]})
		}},
}

// TestDecisionsGoThroughTheEngine: every decision point of tools/ answers
// to an operator rule aimed at it, so none is decided outside the engine.
func TestDecisionsGoThroughTheEngine(t *testing.T) {
	for _, dp := range decisionPoints {
		t.Run(dp.name, func(t *testing.T) {
			t.Parallel()
			before := dp.probe(t, policyFixture(t, policy.Options{}))
			after := dp.probe(t, policyFixture(t, policy.Options{Operator: []byte(dp.rule), AllowOperatorPermits: dp.permits}))
			if before == after {
				t.Errorf("outcome %q with and without the operator rule %s: this decision does not go through the engine", before, dp.rule)
			}
		})
	}
}

// TestKindClassInventoryThroughTools: each caller kind (from real tokens,
// facet claims included) x tool class x inventory state (registered,
// unregistered, expired) in both modes, through tools/call: the decision,
// the refusal's words, and the audit event's agent and policy fields.
func TestKindClassInventoryThroughTools(t *testing.T) {
	iss := authtest.NewIssuer(t)
	authn, err := identity.NewJWT(context.Background(), identity.JWTConfig{Issuer: iss.URL(), Audiences: []string{authtest.Audience}})
	if err != nil {
		t.Fatal(err)
	}
	classTools := []struct {
		class policy.Class
		tool  string
	}{{policy.ClassRead, toolListSnippets}, {policy.ClassWrite, toolSaveSnippet}, {policy.ClassDestructive, toolDeleteSnippet}, {policy.ClassAdmin, toolListApprovalRequests}}
	var entries []string
	for _, k := range identity.Kinds {
		entries = append(entries,
			fmt.Sprintf(`{"clientId":"reg-%s","name":"%s agent","owner":"team-%s","expires":"2099-12-31","classes":["read","write","destructive","admin"]}`, k, k, k),
			fmt.Sprintf(`{"clientId":"exp-%s","name":"old %s agent","owner":"team-%s","expires":"2020-01-31","classes":["read"]}`, k, k, k))
	}
	doc := []byte(`{"contact":"platform-team","agents":[` + strings.Join(entries, ",") + `]}`)
	clientOf := map[inventory.State]string{inventory.Registered: "reg-", inventory.Unregistered: "unreg-", inventory.Expired: "exp-"}
	for _, mode := range []inventory.Mode{inventory.ModeEnforce, inventory.ModeAudit} {
		inv, err := inventory.Parse(doc, inventory.Options{Mode: mode})
		if err != nil {
			t.Fatal(err)
		}
		f := policyFixture(t, policy.Options{Inventory: inv})
		for _, kind := range identity.Kinds {
			for _, ct := range classTools {
				for _, state := range []inventory.State{inventory.Registered, inventory.Unregistered, inventory.Expired} {
					t.Run(fmt.Sprintf("%s/%s/%s/%s", mode, kind, ct.class, state), func(t *testing.T) {
						client := clientOf[state] + string(kind)
						tok := iss.Mint(t, authtest.KindClaims(kind, authtest.Claims{ClientID: client,
							Roles: []string{identity.RoleRead, identity.RoleWrite, identity.RoleDelete, identity.RoleApprove}}))
						r, _ := http.NewRequest(http.MethodPost, "http://server.test/mcp", nil)
						r.Header.Set("Authorization", "Bearer "+tok)
						id, err := authn.Authenticate(r)
						if err != nil {
							t.Fatal(err)
						}
						want := !(kind == identity.KindAgent && (ct.class == policy.ClassDestructive || ct.class == policy.ClassAdmin)) &&
							(mode == inventory.ModeAudit || state == inventory.Registered)
						n := len(f.auditor.all())
						args := map[string]any{}
						if ct.tool == toolSaveSnippet || ct.tool == toolDeleteSnippet {
							args["snippetname"] = "m1"
						}
						if ct.tool == toolSaveSnippet {
							args["snippet"] = "x"
						}
						resp := f.post(t, id, "tools/call", map[string]any{"name": ct.tool, "arguments": args})
						_, allowed := resp["result"]
						if allowed != want {
							t.Fatalf("allowed = %v, want %v: %v", allowed, want, resp)
						}
						if !allowed && mode == inventory.ModeEnforce && state != inventory.Registered {
							msg := resp["error"].(map[string]any)["message"].(string)
							if !strings.Contains(msg, "ask ") {
								t.Errorf("refusal %q does not say whom to ask", msg)
							}
						}
						events := f.auditor.all()
						if len(events) != n+1 {
							t.Fatalf("%d audit events for one call", len(events)-n)
						}
						ev := events[n]
						wantName, wantOwner := "", ""
						switch state {
						case inventory.Registered:
							wantName, wantOwner = string(kind)+" agent", "team-"+string(kind)
						case inventory.Expired:
							wantName, wantOwner = "old "+string(kind)+" agent", "team-"+string(kind)
						}
						wantCode := string(audit.ResultDenied)
						if allowed {
							wantCode = ev.ResultCode // the tool's own outcome (a missing snippet is not_found)
						}
						for field, c := range map[string][2]string{
							"caller_kind":     {ev.CallerKind, string(kind)},
							"agent_inventory": {ev.AgentInventory, string(state)},
							"agent_name":      {ev.AgentName, wantName},
							"agent_owner":     {ev.AgentOwner, wantOwner},
							"subject_id":      {ev.SubjectID, id.Key()},
							"actor_id":        {ev.ActorID, client},
							"result_code":     {ev.ResultCode, wantCode},
						} {
							if c[0] != c[1] {
								t.Errorf("%s = %q, want %q", field, c[0], c[1])
							}
						}
						if !strings.HasPrefix(ev.PolicyDigest, "sha256:") {
							t.Errorf("policy_digest %q", ev.PolicyDigest)
						}
					})
				}
			}
		}
	}
}

// An agent the inventory refuses is told what is missing and whom to ask,
// for a tool that exists and for one that does not (nothing leaks); an
// operator learns of it in list_agents, with the call's time.
func TestInventoryRefusalAndListAgents(t *testing.T) {
	inv, err := inventory.Parse([]byte(`{"contact":"platform-team","agents":[
		{"clientId":"carols-app","name":"Carol's agent","owner":"team-c","expires":"2099-12-31","classes":["read","admin"],"costTags":{"costCenter":"cc-7"}},
		{"clientId":"old-app","name":"Old agent","owner":"team-o","expires":"2020-01-31","tools":["whoami"]}]}`), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	f := policyFixture(t, policy.Options{Inventory: inv})
	stranger := (*carol).WithBearerToken("t")
	stranger.ObjectID, stranger.ClientID = "eve", "strangers-app"
	for _, name := range []string{toolWhoami, "no_such_tool"} {
		t.Run("unregistered calls "+name, func(t *testing.T) {
			msg, _ := f.post(t, stranger, "tools/call", map[string]any{"name": name})["error"].(map[string]any)["message"].(string)
			if !strings.Contains(msg, "strangers-app is not in the agent inventory") || !strings.Contains(msg, "ask platform-team") {
				t.Errorf("refusal %q", msg)
			}
		})
	}
	t.Run("unregistered reads a resource", func(t *testing.T) {
		msg, _ := f.post(t, stranger, "resources/read", map[string]any{"uri": "snippet://p1"})["error"].(map[string]any)["message"].(string)
		if !strings.Contains(msg, "strangers-app is not in the agent inventory") || !strings.Contains(msg, "ask platform-team") {
			t.Errorf("refusal %q", msg)
		}
	})
	t.Run("registered agent outside its entry", func(t *testing.T) {
		msg, _ := f.post(t, carol, "tools/call", map[string]any{"name": toolSaveSnippet, "arguments": map[string]any{"snippetname": "a", "snippet": "b"}})["error"].(map[string]any)["message"].(string)
		if !strings.Contains(msg, "may not use save_snippet") || !strings.Contains(msg, "ask its owner team-c") {
			t.Errorf("refusal %q", msg)
		}
	})
	t.Run("list_agents", func(t *testing.T) {
		// A call from another tenant (a multi-tenant server) is not shown.
		other := (*stranger).WithBearerToken("t")
		other.TenantID, other.ClientID = "t2", "other-tenants-app"
		f.post(t, other, "tools/call", map[string]any{"name": toolWhoami})
		sc, isErr, text := f.tool(t, carol, toolListAgents, nil)
		if isErr {
			t.Fatal(text)
		}
		rows := map[string]map[string]any{}
		for _, r := range sc["agents"].([]any) {
			rows[r.(map[string]any)["clientId"].(string)] = r.(map[string]any)
		}
		for client, want := range map[string]string{"carols-app": "registered", "old-app": "expired", "strangers-app": "unregistered"} {
			if got := rows[client]["state"]; got != want {
				t.Errorf("%s: state %v, want %s (rows %v)", client, got, want, rows)
			}
		}
		if _, leaked := rows["other-tenants-app"]; leaked {
			t.Error("list_agents shows a client app that called from another tenant")
		}
		if rows["strangers-app"]["lastSeen"] == nil || rows["old-app"]["lastSeen"] != nil {
			t.Errorf("last seen: stranger %v, old %v", rows["strangers-app"]["lastSeen"], rows["old-app"]["lastSeen"])
		}
		if sc["mode"] != "enforce" || rows["carols-app"]["owner"] != "team-c" || !strings.Contains(text, `"Carol's agent"`) {
			t.Errorf("view %v / %q", sc, text)
		}
	})
	t.Run("list_agents is for approvers only", func(t *testing.T) {
		open := policyFixture(t, policy.Options{}) // no inventory: only roles decide
		if slices.Contains(open.listed(t, alice, "tools/list", "tools"), toolListAgents) {
			t.Error("offered to a caller without Snippets.Approve")
		}
		if !slices.Contains(open.listed(t, bob, "tools/list", "tools"), toolListAgents) {
			t.Error("not offered to an approver")
		}
	})
}
