package policy

import (
	"bytes"
	"log/slog"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/inventory"
)

// serverTools are the server's tools and classes (tools/), as the
// integrator passes them.
var serverTools = map[string]Tool{
	"save_snippet": {Class: ClassWrite}, "get_snippet": {Class: ClassRead}, "list_snippets": {Class: ClassRead},
	"whoami": {Class: ClassRead}, "get_my_profile": {Class: ClassRead, Delegates: true},
	"delete_snippet": {Class: ClassDestructive}, "list_approval_requests": {Class: ClassAdmin},
	"approve_request": {Class: ClassAdmin}, "deny_request": {Class: ClassAdmin},
}

func serverClasses() map[string]Class {
	m := map[string]Class{}
	for n, t := range serverTools {
		m[n] = t.Class
	}
	return m
}

func mustEngine(t testing.TB, o Options) *Engine {
	t.Helper()
	if o.Tools == nil {
		o.Tools = serverTools
	}
	e, err := NewEngine(o)
	if err != nil {
		t.Fatalf("NewEngine: %v", err)
	}
	return e
}

func withToken(id *identity.Identity) *identity.Identity { return id.WithBearerToken("user-token") }

// TestEngineMatchesRuleTable: for every caller shape and tool, the Cedar
// default decides tools/call as the rule table (Allows) did, and
// get_my_profile as Allows plus the delegation rule of tools.usable.
func TestEngineMatchesRuleTable(t *testing.T) {
	old, err := New(serverClasses(), nil)
	if err != nil {
		t.Fatal(err)
	}
	e := mustEngine(t, Options{DelegationConfigured: true})
	noOID := &identity.Identity{TenantID: "t", Scopes: []string{identity.ScopeUser}, Roles: []string{identity.RoleApprove}}
	noTenant := &identity.Identity{ObjectID: "o", Scopes: []string{identity.ScopeUser}}
	bareApp := &identity.Identity{TenantID: "t", ObjectID: "b", AppOnly: true}
	dev := identity.NewDev().ID
	callers := map[string]*identity.Identity{
		"user": polUser, "writer": polWriter, "no scope": polNoScopeWr, "deleter": polDeleter, "deleter+approver": polDelApprover,
		"app reader": polAppReader, "app writer": polAppWriter, "app deleter": polAppDeleter, "app all": polAppAll,
		"no oid": noOID, "no tenant": noTenant, "bare app": bareApp, "dev": &dev, "nil": nil,
	}
	for name, id := range callers {
		for _, tool := range e.Tools() {
			t.Run(name+"/"+tool, func(t *testing.T) {
				caller := id
				if id != nil && id.Method != identity.MethodDev {
					caller = withToken(id)
				}
				want := old.Allows(caller, tool)
				if tool == "get_my_profile" {
					want = want && caller != nil && !caller.AppOnly && caller.Method != identity.MethodDev
				}
				got := e.Decide(Request{Principal: e.Principal(caller), Action: ActionCall, Resource: e.ToolResource(tool)})
				if got.Allowed != want {
					t.Errorf("call %s: got %v (rules %v), want %v", tool, got.Allowed, got.Rules, want)
				}
			})
		}
	}
}

// TestToolPolicyCompiles: MCP_TOOL_POLICY documents keep their meaning as
// Cedar forbids: the engine decides as Allows of the JSON policy.
func TestToolPolicyCompiles(t *testing.T) {
	docs := []string{
		`{"tools":{"save_snippet":{"roles":["Snippets.Write"]},"get_snippet":{"deny":true}}}`,
		`{"tools":{"list_snippets":{"appRoles":["Snippets.Write"]}}}`,
		`{"tools":{"whoami":{"class":"admin"}}}`,
		`{"tools":{"delete_snippet":{"roles":["Snippets.Approve","Snippets.Write"],"appRoles":["Snippets.Approve"]}}}`,
		`{"tools":{"get_snippet":{"scopes":["user_impersonation"],"roles":["Snippets.Read"]}}}`,
	}
	callers := []*identity.Identity{polUser, polWriter, polNoScopeWr, polDeleter, polDelApprover, polAppReader, polAppWriter, polAppDeleter, polAppAll}
	for _, doc := range docs {
		t.Run(doc, func(t *testing.T) {
			old, err := New(serverClasses(), []byte(doc))
			if err != nil {
				t.Fatal(err)
			}
			e := mustEngine(t, Options{ToolPolicy: []byte(doc), DelegationConfigured: true})
			for _, id := range callers {
				for _, tool := range e.Tools() {
					if tool == "get_my_profile" {
						continue
					}
					want := old.Allows(id, tool)
					if got := e.Allowed(Request{Principal: e.Principal(withToken(id)), Action: ActionCall, Resource: e.ToolResource(tool)}); got != want {
						t.Errorf("%s calls %s: got %v, want %v", id.ObjectID, tool, got, want)
					}
				}
			}
		})
	}
}

// TestToolPolicyErrorsAreTheOldOnes: a bad JSON document stops the start
// with the same sentence as before (e2e/policyfile_test reads them).
func TestToolPolicyErrorsAreTheOldOnes(t *testing.T) {
	doc := []byte(`{"tools":{"nope":{"deny":true}}}`)
	_, oldErr := New(serverClasses(), doc)
	_, err := NewEngine(Options{Tools: serverTools, ToolPolicy: doc})
	if err == nil || oldErr == nil || err.Error() != oldErr.Error() {
		t.Fatalf("got %v, want %v", err, oldErr)
	}
}

// The inventory of the rule witnesses: an agent allowed every class, one
// allowed get_snippet only, and one past its date.
const witnessInventory = `{"mode":"enforce","contact":"platform-team","agents":[
 {"clientId":"reg-all","name":"All","owner":"team-a","expires":"2099-12-31","classes":["read","write","destructive","admin"]},
 {"clientId":"reg-read","name":"Reader","owner":"team-a","expires":"2099-12-31","tools":["get_snippet"]},
 {"clientId":"old","name":"Old","owner":"team-a","expires":"2000-01-01","classes":["read"]}]}`

func witnessOptions(t testing.TB, edit func(*Options)) Options {
	inv, err := inventory.Parse([]byte(witnessInventory), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	o := Options{Tools: serverTools, DelegationConfigured: true, Inventory: inv}
	if edit != nil {
		edit(&o)
	}
	return o
}

// caller builds identities for the witnesses: registered client, scope.
func caller(kind identity.Kind, oid string, roles ...string) *identity.Identity {
	id := &identity.Identity{TenantID: "t", ObjectID: oid, ClientID: "reg-all", Roles: roles, Kind: kind, Method: identity.MethodJWT}
	switch kind {
	case identity.KindAgent, identity.KindApp:
		id.AppOnly = true
	default:
		id.Scopes = []string{identity.ScopeUser}
	}
	return withToken(id)
}

type witness struct {
	name  string
	opts  func(*Options)
	req   func(e *Engine) Request
	allow bool
}

func call(id *identity.Identity, tool string) func(*Engine) Request {
	return func(e *Engine) Request {
		return Request{Principal: e.Principal(id), Action: ActionCall, Resource: e.ToolResource(tool)}
	}
}

func space(id *identity.Identity, a Action, shared bool) func(*Engine) Request {
	return func(e *Engine) Request {
		return Request{Principal: e.Principal(id), Action: a, Resource: SpaceResource(shared)}
	}
}

func skip(id *identity.Identity, tool string, overwrite bool) func(*Engine) Request {
	return func(e *Engine) Request {
		return Request{Principal: e.Principal(id), Action: ActionSkipApproval, Resource: e.ToolResource(tool), OverwritesOthers: overwrite}
	}
}

func decide(id *identity.Identity, requester, agent string) func(*Engine) Request {
	return func(e *Engine) Request {
		return Request{Principal: e.Principal(id), Action: ActionDecide, Resource: ApprovalResource("r1", requester, agent)}
	}
}

func witnesses() []witness {
	user := caller(identity.KindUser, "u")
	writer := caller(identity.KindUser, "w", identity.RoleWrite)
	deleter := caller(identity.KindUser, "d", identity.RoleDelete)
	approver := caller(identity.KindUser, "a", identity.RoleApprove)
	noSubject := caller(identity.KindUser, "", identity.RoleRead)
	appReader := caller(identity.KindApp, "ar", identity.RoleRead)
	appWriter := caller(identity.KindApp, "aw", identity.RoleWrite)
	appAll := caller(identity.KindApp, "aa", identity.RoleDelete, identity.RoleApprove)
	agent := caller(identity.KindAgent, "ag", identity.RoleRead, identity.RoleWrite, identity.RoleDelete, identity.RoleApprove)
	noToken := &identity.Identity{TenantID: "t", ObjectID: "nt", ClientID: "reg-all", Scopes: []string{identity.ScopeUser}, Kind: identity.KindUser}
	unregistered := withToken(&identity.Identity{TenantID: "t", ObjectID: "x", ClientID: "stranger", Scopes: []string{identity.ScopeUser}, Kind: identity.KindUser})
	readerAgent := withToken(&identity.Identity{TenantID: "t", ObjectID: "y", ClientID: "reg-read", Scopes: []string{identity.ScopeUser}, Kind: identity.KindUser})
	noDelegation := func(o *Options) { o.DelegationConfigured = false }
	appApprovers := func(o *Options) { o.AllowAppOnlyApprovers = true }
	return []witness{
		{"caller without object id is refused", nil, call(noSubject, "get_snippet"), false},
		{"user reads", nil, call(user, "get_snippet"), true},
		{"app with Snippets.Read reads", nil, call(appReader, "get_snippet"), true},
		{"user writes", nil, call(user, "save_snippet"), true},
		{"app with Snippets.Write writes", nil, call(appWriter, "save_snippet"), true},
		{"user with Snippets.Delete deletes", nil, call(deleter, "delete_snippet"), true},
		{"app with Snippets.Delete deletes", nil, call(appAll, "delete_snippet"), true},
		{"user with Snippets.Approve approves", nil, call(approver, "approve_request"), true},
		{"app with Snippets.Approve lists requests", nil, call(appAll, "list_approval_requests"), true},
		{"profile hidden without delegation", noDelegation, call(user, "get_my_profile"), false},
		{"profile hidden without a user assertion", nil, call(noToken, "get_my_profile"), false},
		{"agent does not delete", nil, call(agent, "delete_snippet"), false},
		{"agent does not see admin tools", nil, call(agent, "approve_request"), false},
		{"agent never decides, even with app approvers on", appApprovers, decide(agent, "u", "other-app"), false},
		{"unregistered agent refused in enforce mode", nil, call(unregistered, "get_snippet"), false},
		{"registered agent limited to its tools", nil, call(readerAgent, "save_snippet"), false},
		{"user reads the private space", nil, space(user, ActionRead, false), true},
		{"user writes the private space", nil, space(user, ActionWrite, false), true},
		{"writer writes the shared space", nil, space(writer, ActionWrite, true), true},
		{"user without Snippets.Write does not write the shared space", nil, space(user, ActionWrite, true), false},
		{"save runs without approval", nil, skip(user, "save_snippet", false), true},
		{"delete needs approval", nil, skip(deleter, "delete_snippet", false), false},
		{"overwrite of another's content needs approval", nil, skip(writer, "save_snippet", true), false},
		{"approver decides another's request", nil, decide(approver, "u", "other-app"), true},
		{"no self approval", nil, decide(approver, "a", "other-app"), false},
		{"no approval through the requester's app", nil, decide(approver, "u", "reg-all"), false},
		{"app approver refused by default", nil, decide(appAll, "u", "other-app"), false},
	}
}

func TestDefaultDecisions(t *testing.T) {
	for _, w := range witnesses() {
		t.Run(w.name, func(t *testing.T) {
			e := mustEngine(t, witnessOptions(t, w.opts))
			if got := e.Decide(w.req(e)); got.Allowed != w.allow {
				t.Errorf("allowed = %v (rules %v, %q), want %v", got.Allowed, got.Rules, got.Message, w.allow)
			}
		})
	}
}

var ruleID = regexp.MustCompile(`@id\("([^"]+)"\)`)

// TestDefaultRulesEachMatter removes each rule of default.cedar in turn
// and shows that some witness decision changes: no rule is dead weight,
// and each one's purpose has a test.
func TestDefaultRulesEachMatter(t *testing.T) {
	ids := ruleID.FindAllStringSubmatchIndex(DefaultPolicy, -1)
	if len(ids) < 20 {
		t.Fatalf("found %d rules", len(ids))
	}
	for _, m := range ids {
		id := DefaultPolicy[m[2]:m[3]]
		t.Run(id, func(t *testing.T) {
			end := m[0] + strings.Index(DefaultPolicy[m[0]:], ";\n") + 2
			without := DefaultPolicy[:m[0]] + DefaultPolicy[end:]
			var flipped []string
			for _, w := range witnesses() {
				e, err := newEngine(witnessOptions(t, w.opts), without)
				if err != nil {
					t.Fatal(err)
				}
				if e.Allowed(w.req(e)) != w.allow {
					flipped = append(flipped, w.name)
				}
			}
			if len(flipped) == 0 {
				t.Errorf("removing rule %s changes no decision", id)
			}
			t.Logf("without %s: %v", id, flipped)
		})
	}
}

func TestOperatorForbidTightens(t *testing.T) {
	op := []byte(`// Nobody deletes on Fridays... or here: nobody deletes at all.
@id("no-deletes")
forbid (principal, action == Action::"call", resource == Tool::"delete_snippet");

// Apps on their own only read.
@id("apps-read-only")
forbid (principal, action == Action::"call", resource is Tool)
when { principal.app_only && resource.class != Class::"read" };
`)
	base := mustEngine(t, Options{})
	e := mustEngine(t, Options{Operator: op})
	deleter := withToken(polDeleter)
	for _, c := range []struct {
		name       string
		id         *identity.Identity
		tool       string
		before, at bool
	}{
		{"deleter loses delete", deleter, "delete_snippet", true, false},
		{"app writer loses save", polAppWriter, "save_snippet", true, false},
		{"app reader keeps get", polAppReader, "get_snippet", true, true},
		{"user keeps save", withToken(polUser), "save_snippet", true, true},
	} {
		t.Run(c.name, func(t *testing.T) {
			r := func(e *Engine) Request {
				return Request{Principal: e.Principal(c.id), Action: ActionCall, Resource: e.ToolResource(c.tool)}
			}
			if got := base.Allowed(r(base)); got != c.before {
				t.Errorf("default: %v, want %v", got, c.before)
			}
			d := e.Decide(r(e))
			if d.Allowed != c.at {
				t.Errorf("with operator policy: %v, want %v", d.Allowed, c.at)
			}
			if !c.at && !slices.ContainsFunc(d.Rules, func(s string) bool { return strings.HasPrefix(s, SourceOperator+"/") }) {
				t.Errorf("denial names rules %v, want an operator rule", d.Rules)
			}
		})
	}
	if base.Digest() == e.Digest() {
		t.Error("the operator policy does not change the digest")
	}
}

// TestOperatorPolicyErrorsStopTheStart: every mistake is one line naming
// the file and position.
func TestOperatorPolicyErrorsStopTheStart(t *testing.T) {
	for _, c := range []struct{ name, text, want string }{
		{"malformed", `forbid (principal, action, resource) when { principal.app_only `, "policy ops.cedar:"},
		{"misspelled attribute", `forbid (principal, action, resource) when { principal.app_onyl };`, "attribute `app_onyl` on entity type `Caller` not found"},
		{"misspelled action", `forbid (principal, action == Action::"cal", resource);`, "unrecognized action `Action::\"cal\"`"},
		{"misspelled kind", `forbid (principal, action, resource) when { principal.kind == Kind::"agnet" };`, `unknown value Kind::"agnet"`},
		{"misspelled class", `forbid (principal, action, resource is Tool) when { resource.class == Class::"destructve" };`, `unknown value Class::"destructve"`},
		{"unknown tool", `forbid (principal, action, resource == Tool::"delete_snipet");`, `unknown tool Tool::"delete_snipet"`},
		{"wrong type", `forbid (principal, action, resource) when { principal.roles.contains(1) };`, "not compatible"},
		{"unknown entity type", `forbid (principal is User, action, resource);`, "User"},
		{"permit without the option", `permit (principal, action, resource);`, "MCP_ALLOW_OPERATOR_PERMITS=true"},
	} {
		t.Run(c.name, func(t *testing.T) {
			_, err := NewEngine(Options{Tools: serverTools, Operator: []byte(c.text), OperatorName: "ops.cedar"})
			if err == nil {
				t.Fatal("no error")
			}
			msg := err.Error()
			if !strings.Contains(msg, c.want) || strings.Contains(msg, "\n") || !strings.HasPrefix(msg, "policy ops.cedar:") {
				t.Errorf("error %q, want one line starting %q containing %q", msg, "policy ops.cedar:", c.want)
			}
		})
	}
}

func TestOperatorPermitNeedsTheOptionAndIsLogged(t *testing.T) {
	op := []byte(`@id("apps-may-save")
permit (principal, action == Action::"call", resource == Tool::"save_snippet") when { principal.app_only };`)
	var log bytes.Buffer
	e := mustEngine(t, Options{Operator: op, AllowOperatorPermits: true, Log: slog.New(slog.NewTextHandler(&log, nil))})
	if !strings.Contains(log.String(), "apps-may-save") || !strings.Contains(log.String(), "level=WARN") {
		t.Errorf("permit not logged: %s", log.String())
	}
	if !e.Allowed(Request{Principal: e.Principal(polAppReader), Action: ActionCall, Resource: e.ToolResource("save_snippet")}) {
		t.Error("the permitted loosening does not apply")
	}
}

// Added lists exactly the rules beyond the default (what the start-up log
// shows an operator changed).
func TestAddedListsOnlyTheOperatorsRules(t *testing.T) {
	if got := mustEngine(t, Options{}).Added(); len(got) != 0 {
		t.Errorf("default policy alone: added %v", got)
	}
	e := mustEngine(t, Options{Operator: []byte(`@id("no-deletes") forbid (principal, action, resource == Tool::"delete_snippet");`)})
	if got := e.Added(); len(got) != 1 || !strings.Contains(got[0], "operator/no-deletes forbid") {
		t.Errorf("added %v, want the one operator rule", got)
	}
	if len(e.Rules()) != len(mustEngine(t, Options{}).Rules())+1 {
		t.Error("Rules does not hold the default and the added rule")
	}
}

func TestEmptyOperatorPolicyKeepsTheDigest(t *testing.T) {
	a := mustEngine(t, Options{})
	b := mustEngine(t, Options{Operator: []byte("// nothing yet\n")})
	if a.Digest() != b.Digest() || !strings.HasPrefix(a.Digest(), "sha256:") {
		t.Errorf("digests %s and %s", a.Digest(), b.Digest())
	}
}

func TestRefusalsNameWhatIsMissingAndWhomToAsk(t *testing.T) {
	inv, err := inventory.Parse([]byte(witnessInventory), inventory.Options{Now: func() time.Time { return time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC) }})
	if err != nil {
		t.Fatal(err)
	}
	e := mustEngine(t, Options{Inventory: inv})
	for _, c := range []struct{ client, tool, want string }{
		{"stranger", "get_snippet", "client app stranger is not in the agent inventory (policies/agents.json); ask platform-team to register it"},
		{"old", "get_snippet", `agent "Old" (old) passed its review date 2000-01-01 in the agent inventory; ask its owner team-a to review and renew the entry`},
		{"reg-read", "save_snippet", `agent "Reader" (reg-read) may not use save_snippet`},
	} {
		t.Run(c.client, func(t *testing.T) {
			id := withToken(&identity.Identity{TenantID: "t", ObjectID: "o", ClientID: c.client, Scopes: []string{identity.ScopeUser}})
			d := e.Decide(Request{Principal: e.Principal(id), Action: ActionCall, Resource: e.ToolResource(c.tool)})
			if d.Allowed || !strings.Contains(d.Message, c.want) {
				t.Errorf("got %v %q, want a denial containing %q", d.Allowed, d.Message, c.want)
			}
		})
	}
}

func TestUnknownRequestsAreDenied(t *testing.T) {
	e := mustEngine(t, Options{})
	p := e.Principal(withToken(polDelApprover))
	for name, r := range map[string]Request{
		"unknown tool":      {Principal: p, Action: ActionCall, Resource: e.ToolResource("rm_rf")},
		"unknown action":    {Principal: p, Action: "fly", Resource: e.ToolResource("get_snippet")},
		"no principal":      {Action: ActionCall, Resource: e.ToolResource("get_snippet")},
		"action on a space": {Principal: p, Action: ActionCall, Resource: SpaceResource(false)},
	} {
		t.Run(name, func(t *testing.T) {
			if d := e.Decide(r); d.Allowed {
				t.Errorf("allowed by %v", d.Rules)
			}
		})
	}
}

func readRepoFile(rel string) (string, error) {
	b, err := os.ReadFile(filepath.Join("..", "..", filepath.FromSlash(rel)))
	return string(b), err
}

// TestSecurityDocListsEveryRule: docs/SECURITY.md's table renders every
// rule of default.cedar with its effect, and no other.
func TestSecurityDocListsEveryRule(t *testing.T) {
	doc, err := readRepoFile("docs/SECURITY.md")
	if err != nil {
		t.Fatal(err)
	}
	row := regexp.MustCompile("(?m)^\\| `([a-z-]+)` \\| (permit|forbid) \\|")
	documented := map[string]string{}
	for _, m := range row.FindAllStringSubmatch(doc, -1) {
		documented[m[1]] = m[2]
	}
	effect := regexp.MustCompile(`@id\("([^"]+)"\)\s*(permit|forbid)`)
	rules := effect.FindAllStringSubmatch(DefaultPolicy, -1)
	for _, m := range rules {
		if documented[m[1]] != m[2] {
			t.Errorf("rule %s (%s): docs/SECURITY.md says %q", m[1], m[2], documented[m[1]])
		}
	}
	if len(documented) != len(rules) {
		t.Errorf("docs/SECURITY.md lists %d rules, default.cedar has %d", len(documented), len(rules))
	}
}
