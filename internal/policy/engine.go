package policy

import (
	"crypto/sha256"
	_ "embed" // the default policy and the schema
	"encoding/hex"
	"errors"
	"fmt"
	"iter"
	"log/slog"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	cedar "github.com/cedar-policy/cedar-go"
	"github.com/cedar-policy/cedar-go/types"
	xast "github.com/cedar-policy/cedar-go/x/exp/ast"
	"github.com/cedar-policy/cedar-go/x/exp/schema"
	"github.com/cedar-policy/cedar-go/x/exp/schema/validate"

	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/inventory"
)

// DefaultPolicy is the built-in Cedar policy (default.cedar), one
// commented rule per decision; docs/SECURITY.md renders it as a table.
//
//go:embed default.cedar
var DefaultPolicy string

// Schema is the Cedar schema every policy is validated against
// (schema.cedarschema): the entity types, attributes and actions the
// server provides.
//
//go:embed schema.cedarschema
var Schema string

// Action is what a request asks to do; each is an action of the schema.
type Action string

const (
	ActionCall         Action = "call"          // tools/call, and tools/list (which lists what may be called)
	ActionSkipApproval Action = "skip_approval" // run a call without an approval by another person
	ActionRead         Action = "read"          // read snippet content: resources/read, prompts/get and prompts/list
	ActionList         Action = "list"          // list snippet names: completion/complete
	ActionWrite        Action = "write"         // write into a space: save_snippet
	ActionDecide       Action = "decide"        // approve or deny an approval request
)

// Tool is what the engine knows of one tool.
type Tool struct {
	Class     Class
	Delegates bool // calls a downstream API on the user's behalf (on-behalf-of)
}

// Options configure NewEngine. The zero value of every field but Tools is
// usable: no operator policy, no MCP_TOOL_POLICY, no operator permits, no
// app-only approvers, no delegation, no inventory (nothing checked), the
// default logger and the wall clock.
type Options struct {
	// Tools maps each tool name to its class; required.
	Tools map[string]Tool
	// Operator is the operator's Cedar policy text (policies/operator.cedar,
	// or MCP_OPERATOR_POLICY); nil or comments only for none. OperatorName
	// names it in errors and in the log ("" means "operator.cedar").
	Operator     []byte
	OperatorName string
	// ToolPolicy is the legacy JSON document (MCP_TOOL_POLICY, see
	// docs/SECURITY.md), compiled to Cedar forbid rules; nil for none.
	ToolPolicy []byte
	// AllowOperatorPermits admits permit rules in Operator (which can grant
	// more than the default). Off, a permit stops the start; on, each one
	// is logged at warning level (MCP_ALLOW_OPERATOR_PERMITS).
	AllowOperatorPermits bool
	// AllowAppOnlyApprovers lets applications on their own approve
	// (MCP_ALLOW_APP_ONLY_APPROVERS); autonomous agents never do.
	AllowAppOnlyApprovers bool
	// DelegationConfigured makes tools with Delegates available.
	DelegationConfigured bool
	// Inventory is the agent inventory; nil checks nothing.
	Inventory *inventory.Inventory
	Log       *slog.Logger
}

// Engine makes every authorization decision of the server with Cedar.
// It is safe for concurrent use and immutable after NewEngine.
type Engine struct {
	policies  *cedar.PolicySet
	byAction  map[Action]policyList // the policies whose scope admits each action
	meta      map[cedar.PolicyID]ruleMeta
	tools     map[string]toolEntity
	names     []string
	inv       *inventory.Inventory
	digest    string
	appApprov bool
	ctxSkip   [2]types.Record // skip_approval contexts: overwrites_others false, true
	ctxDecide types.Record
	calls     callMemo
}

// callMemo remembers, per principal (every attribute of its entity), which
// tools Cedar let it call: the tools/list filter runs on every tools/list
// and tools/call (mcp-go filters calls too), and the answer is a pure
// function of the principal's attributes and the immutable policy and
// tools. Bounded: cleared when full.
type callMemo struct {
	mu   sync.Mutex
	seen map[string]*memoEntry
}

// memoEntry is one principal's entity and, once computed, its call
// decisions per tool (in Engine.names order).
type memoEntry struct {
	entity  types.Entity
	allowed []bool
}

const callMemoSize = 4096

func (m *callMemo) get(key string) *memoEntry {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.seen[key]
}

func (m *callMemo) put(key string, v *memoEntry) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.seen == nil || len(m.seen) >= callMemoSize {
		m.seen = make(map[string]*memoEntry, 64)
	}
	m.seen[key] = v
}

// setAllowed records the call decisions of an entry.
func (m *callMemo) setAllowed(v *memoEntry, allowed []bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	v.allowed = allowed
}

func (m *callMemo) allowedOf(v *memoEntry) []bool {
	m.mu.Lock()
	defer m.mu.Unlock()
	return v.allowed
}

type ruleMeta struct {
	id, source string
	forbid     bool
}

type toolEntity struct {
	class  Class
	entity types.Entity
}

// Entity type names of the schema.
const (
	typeCaller   types.EntityType = "Caller"
	typeTool     types.EntityType = "Tool"
	typeSpace    types.EntityType = "Space"
	typeApproval types.EntityType = "ApprovalRequest"
	typeAction   types.EntityType = "Action"
	typeKind     types.EntityType = "Kind"
	typeClass    types.EntityType = "Class"
	typeInv      types.EntityType = "Inventory"
)

// Sources of rules, recorded in decisions and the start-up log.
const (
	SourceDefault    = "default"
	SourceOperator   = "operator"
	SourceToolPolicy = "MCP_TOOL_POLICY"
	SourceInventory  = "inventory" // the agent inventory, in SourceError only
)

// SourceError is a NewEngine error in one of the inputs an operator
// supplies (SourceOperator, SourceToolPolicy or SourceInventory), so that
// the caller can name the setting it came from. Its text is Err's.
type SourceError struct {
	Source string
	Err    error
}

func (e *SourceError) Error() string { return e.Err.Error() }
func (e *SourceError) Unwrap() error { return e.Err }

// NewEngine parses and validates the default policy, the operator policy
// and the legacy tool policy against the schema, and combines them: the
// operator's forbids can only remove access, its permits are refused
// unless AllowOperatorPermits. Every error is one line naming the policy,
// the position and what is wrong; the server must not start on one.
func NewEngine(o Options) (*Engine, error) { return newEngine(o, DefaultPolicy) }

// newEngine is NewEngine with another default policy (tests remove rules).
func newEngine(o Options, defaultPolicy string) (*Engine, error) {
	if len(o.Tools) == 0 {
		return nil, errors.New("policy: no tools")
	}
	log := o.Log
	if log == nil {
		log = slog.Default()
	}
	v, err := validator()
	if err != nil {
		return nil, err
	}
	e := &Engine{policies: cedar.NewPolicySet(), meta: map[cedar.PolicyID]ruleMeta{}, tools: map[string]toolEntity{},
		inv: o.Inventory, appApprov: o.AllowAppOnlyApprovers}
	for name, t := range o.Tools {
		if !validClass(t.Class) {
			return nil, fmt.Errorf("policy: tool %q has unknown class %q", name, t.Class)
		}
		e.names = append(e.names, name)
		e.tools[name] = toolEntity{class: t.Class, entity: types.Entity{
			UID: types.NewEntityUID(typeTool, types.String(name)),
			Attributes: types.NewRecord(types.RecordMap{
				"class":     classUID(t.Class),
				"delegates": types.Boolean(t.Delegates),
				"available": types.Boolean(!t.Delegates || o.DelegationConfigured),
			}),
		}}
	}
	sort.Strings(e.names)
	if err := e.checkInventory(); err != nil {
		return nil, &SourceError{Source: SourceInventory, Err: err}
	}

	digest := sha256.New()
	add := func(source, name string, text []byte, permits bool) error {
		n, err := e.add(v, source, name, text, permits, log)
		if err != nil {
			return err
		}
		if n > 0 {
			fmt.Fprintf(digest, "%s %d\n%s\n", source, len(text), text)
		}
		return nil
	}
	if err := add(SourceDefault, "default.cedar", []byte(defaultPolicy), true); err != nil {
		return nil, err
	}
	opName := o.OperatorName
	if opName == "" {
		opName = "operator.cedar"
	}
	if err := add(SourceOperator, opName, o.Operator, o.AllowOperatorPermits); err != nil {
		return nil, &SourceError{Source: SourceOperator, Err: err}
	}
	if o.ToolPolicy != nil {
		text, err := CompileToolPolicy(o.Tools, o.ToolPolicy)
		if err != nil {
			return nil, &SourceError{Source: SourceToolPolicy, Err: err}
		}
		if err := add(SourceToolPolicy, "MCP_TOOL_POLICY", []byte(text), false); err != nil {
			return nil, fmt.Errorf("policy: MCP_TOOL_POLICY compiled to invalid Cedar (a bug): %w", err)
		}
	}
	fmt.Fprintf(digest, "inventory %s %v\n", e.inv.Mode(), e.inv.Configured())
	for _, a := range e.inv.Agents() {
		fmt.Fprintf(digest, "%s|%s|%s|%s|%v|%v\n", a.ClientID, a.Name, a.Owner, a.Expires, a.Tools, a.Classes)
	}
	e.digest = "sha256:" + hex.EncodeToString(digest.Sum(nil))[:16]

	e.byAction = map[Action]policyList{}
	for id, p := range e.policies.All() {
		for _, a := range scopeActions(p) {
			e.byAction[a] = append(e.byAction[a], policyEntry{id, p})
		}
	}
	for a := range e.byAction {
		slices.SortFunc(e.byAction[a], func(x, y policyEntry) int { return strings.Compare(string(x.id), string(y.id)) })
	}
	for i, over := range []bool{false, true} {
		e.ctxSkip[i] = types.NewRecord(types.RecordMap{"overwrites_others": types.Boolean(over)})
	}
	e.ctxDecide = types.NewRecord(types.RecordMap{"allow_app_approvers": types.Boolean(o.AllowAppOnlyApprovers)})
	return e, nil
}

// checkInventory refuses inventory entries naming tools or classes the
// server does not have: a typo there would silently grant nothing.
func (e *Engine) checkInventory() error {
	for _, a := range e.inv.Agents() {
		for _, t := range a.Tools {
			if _, ok := e.tools[t]; !ok {
				return fmt.Errorf("agent inventory: %s: unknown tool %q (known: %s)", a.ClientID, t, strings.Join(e.names, ", "))
			}
		}
		for _, c := range a.Classes {
			if !validClass(Class(c)) {
				return fmt.Errorf("agent inventory: %s: unknown class %q (known: read, write, destructive, admin)", a.ClientID, c)
			}
		}
	}
	return nil
}

// validator is the schema's validator, built once.
var validator = sync.OnceValues(func() (*validate.Validator, error) {
	var s schema.Schema
	s.SetFilename("schema.cedarschema")
	if err := s.UnmarshalCedar([]byte(Schema)); err != nil {
		return nil, fmt.Errorf("policy: schema: %w", flat{err})
	}
	r, err := s.Resolve()
	if err != nil {
		return nil, fmt.Errorf("policy: schema: %w", flat{err})
	}
	return validate.New(r, validate.WithStrict()), nil
})

// enumLiteral finds the entity literals whose ids the schema's validator
// does not check: enum values and tool names.
var enumLiteral = regexp.MustCompile(`\b(Kind|Class|Inventory|Tool)::"((?:[^"\\]|\\.)*)"`)

var enumValues = map[string][]string{
	"Kind":      {"user", "user_via_agent", "agent", "agent_user", "app"},
	"Class":     {"read", "write", "destructive", "admin"},
	"Inventory": {"registered", "unregistered", "expired", "not_checked"},
}

// add parses text, validates each policy and adds it; it returns how many
// policies text held.
func (e *Engine) add(v *validate.Validator, source, name string, text []byte, permits bool, log *slog.Logger) (int, error) {
	ps, err := cedar.NewPolicySetFromBytes(name, text)
	if err != nil {
		return 0, fmt.Errorf("policy %s: %w", name, flat{err})
	}
	ids := make([]cedar.PolicyID, 0)
	for id := range ps.All() {
		ids = append(ids, id)
	}
	slices.SortFunc(ids, func(a, b cedar.PolicyID) int {
		return ps.Get(a).Position().Offset - ps.Get(b).Position().Offset
	})
	for _, id := range ids {
		p := ps.Get(id)
		pos := p.Position()
		where := fmt.Sprintf("policy %s:%d:%d", name, pos.Line, pos.Column)
		if err := v.Policy(string(id), (*xast.Policy)(p.AST())); err != nil {
			return 0, fmt.Errorf("%s: %w", where, flat{err})
		}
		if err := e.checkLiterals(p); err != nil {
			return 0, fmt.Errorf("%s: %w", where, err)
		}
		rid := string(p.Annotations()["id"])
		if rid == "" {
			rid = fmt.Sprintf("%s:%d", name, pos.Line)
		}
		forbid := p.Effect() == cedar.Forbid
		if !forbid && !permits {
			return 0, fmt.Errorf("%s: rule %q is a permit, which can grant more than the default policy; "+
				"operators may only add forbid rules unless MCP_ALLOW_OPERATOR_PERMITS=true", where, rid)
		}
		if !forbid && source != SourceDefault {
			log.Warn("operator policy permits beyond the default (MCP_ALLOW_OPERATOR_PERMITS)", "rule", rid, "at", where)
		}
		key := cedar.PolicyID(source + "/" + rid)
		if _, dup := e.meta[key]; dup {
			return 0, fmt.Errorf("%s: rule id %q is used twice", where, rid)
		}
		e.policies.Add(key, p)
		e.meta[key] = ruleMeta{id: rid, source: source, forbid: forbid}
	}
	return len(ids), nil
}

// checkLiterals refuses enum values and tool names that do not exist.
func (e *Engine) checkLiterals(p *cedar.Policy) error {
	for _, m := range enumLiteral.FindAllStringSubmatch(string(p.MarshalCedar()), -1) {
		typ, val := m[1], m[2]
		if typ == "Tool" {
			if _, ok := e.tools[val]; !ok {
				return fmt.Errorf("unknown tool %s::%q (known: %s)", typ, val, strings.Join(e.names, ", "))
			}
			continue
		}
		if !slices.Contains(enumValues[typ], val) {
			return fmt.Errorf("unknown value %s::%q (known: %s)", typ, val, strings.Join(enumValues[typ], ", "))
		}
	}
	return nil
}

// flat is an error whose text is kept on one line (Cedar joins several
// findings with newlines); it unwraps to the original.
type flat struct{ err error }

func (f flat) Error() string {
	return strings.Join(strings.Fields(strings.ReplaceAll(f.err.Error(), "\n", "; ")), " ")
}

func (f flat) Unwrap() error { return f.err }

// Digest identifies the effective policy: the default, operator and
// MCP_TOOL_POLICY rules and the agent inventory. It is logged at start and
// recorded in every audit event as policy_digest.
func (e *Engine) Digest() string { return e.digest }

// Tools lists the tools the engine knows, sorted.
func (e *Engine) Tools() []string { return slices.Clone(e.names) }

// Rules lists the effective rules as "source/id effect", in evaluation
// order, for the start-up log.
func (e *Engine) Rules() []string { return e.rules(func(ruleMeta) bool { return true }) }

// Added lists, as Rules does, the rules beyond the default policy: the
// operator's and those compiled from MCP_TOOL_POLICY.
func (e *Engine) Added() []string {
	return e.rules(func(m ruleMeta) bool { return m.source != SourceDefault })
}

func (e *Engine) rules(keep func(ruleMeta) bool) []string {
	out := make([]string, 0, len(e.meta))
	for id, p := range e.policies.All() {
		m := e.meta[id]
		if !keep(m) {
			continue
		}
		eff := "permit"
		if m.forbid {
			eff = "forbid"
		}
		out = append(out, p.Position().Filename+" "+string(id)+" "+eff)
	}
	sort.Strings(out)
	return out
}

// LogValue logs the engine as its digest, rule count and inventory mode.
func (e *Engine) LogValue() slog.Value {
	return slog.GroupValue(slog.String("digest", e.digest), slog.Int("rules", len(e.meta)),
		slog.String("inventory", inventoryLog(e.inv)))
}

func inventoryLog(inv *inventory.Inventory) string {
	if !inv.Configured() {
		return "none (agents not checked)"
	}
	return fmt.Sprintf("%d agents, %s mode", len(inv.Agents()), inv.Mode())
}

// Inventory is the agent inventory the engine checks (nil for none).
func (e *Engine) Inventory() *inventory.Inventory { return e.inv }

// Principal is a caller as the engine sees it: build it once per request
// with Engine.Principal and pass it to every decision of that request.
type Principal struct {
	entity types.Entity
	memo   *memoEntry // the entity and call decisions shared by equal principals
	id     *identity.Identity
	status inventory.Status
	ok     bool
}

// Principal builds the caller entity from the identity and the inventory.
// A nil identity gives a principal that is refused everything.
func (e *Engine) Principal(id *identity.Identity) Principal {
	if id == nil {
		return Principal{}
	}
	st := e.inv.Lookup(id.ClientID)
	kind := id.Kind
	if kind == "" { // an identity not built by an authenticator: read it as the kind its token shape says
		kind = identity.KindUser
		if id.AppOnly {
			kind = identity.KindApp
		}
	}
	// The key holds every attribute of the entity, so equal keys are equal
	// principals for any policy.
	key := strings.Join([]string{string(kind), id.TenantID, id.ObjectID, id.ClientID, strconv.FormatBool(id.AppOnly),
		strings.Join(id.Scopes, " "), strings.Join(id.Roles, " "), strconv.FormatBool(id.HasUserAssertion()),
		string(st.State), strconv.FormatBool(e.inv.Enforced())}, "\x00")
	if m := e.calls.get(key); m != nil {
		return Principal{entity: m.entity, memo: m, id: id, status: st, ok: true}
	}
	var tools, classes []types.Value
	if st.State == inventory.Registered {
		for _, t := range st.Agent.Tools {
			tools = append(tools, types.NewEntityUID(typeTool, types.String(t)))
		}
		for _, c := range st.Agent.Classes {
			classes = append(classes, classUID(Class(c)))
		}
	}
	m := &memoEntry{entity: types.Entity{
		UID: types.NewEntityUID(typeCaller, types.String(id.Key())),
		Attributes: types.NewRecord(types.RecordMap{
			"kind":               types.NewEntityUID(typeKind, types.String(kind)),
			"tenant":             types.String(id.TenantID),
			"oid":                types.String(id.ObjectID),
			"client":             types.String(id.ClientID),
			"app_only":           types.Boolean(id.AppOnly),
			"scopes":             stringSet(id.Scopes),
			"roles":              stringSet(id.Roles),
			"user_assertion":     types.Boolean(id.HasUserAssertion()),
			"inventory":          types.NewEntityUID(typeInv, types.String(st.State)),
			"inventory_enforced": types.Boolean(e.inv.Enforced()),
			"agent_tools":        types.NewSet(tools...),
			"agent_classes":      types.NewSet(classes...),
		}),
	}}
	e.calls.put(key, m)
	return Principal{entity: m.entity, memo: m, id: id, status: st, ok: true}
}

func stringSet(list []string) types.Set {
	vals := make([]types.Value, len(list))
	for i, s := range list {
		vals[i] = types.String(s)
	}
	return types.NewSet(vals...)
}

func classUID(c Class) types.EntityUID { return types.NewEntityUID(typeClass, types.String(c)) }

// Identity is the identity the principal was built from (nil for none).
func (p Principal) Identity() *identity.Identity { return p.id }

// Inventory is the caller's state in the agent inventory.
func (p Principal) Inventory() inventory.Status { return p.status }

// Resource is what a request is about; build it with ToolResource,
// SpaceResource or ApprovalResource.
type Resource struct {
	entity types.Entity
	tool   string
}

// ToolResource is a tool by name; an unknown name is a resource no rule
// permits.
func (e *Engine) ToolResource(name string) Resource {
	if t, ok := e.tools[name]; ok {
		return Resource{entity: t.entity, tool: name}
	}
	return Resource{}
}

var spaces = [2]types.Entity{
	{UID: types.NewEntityUID(typeSpace, "private"), Attributes: types.NewRecord(types.RecordMap{"shared": types.False})},
	{UID: types.NewEntityUID(typeSpace, "shared"), Attributes: types.NewRecord(types.RecordMap{"shared": types.True})},
}

// SpaceResource is the caller's private space, or the tenant's shared one.
func SpaceResource(shared bool) Resource {
	if shared {
		return Resource{entity: spaces[1]}
	}
	return Resource{entity: spaces[0]}
}

// ApprovalResource is a pending request: who asked, through which client app.
func ApprovalResource(id, requester, agent string) Resource {
	return Resource{entity: types.Entity{
		UID: types.NewEntityUID(typeApproval, types.String(id)),
		Attributes: types.NewRecord(types.RecordMap{
			"requester": types.String(requester),
			"agent":     types.String(agent),
		}),
	}}
}

// Request is one decision to make.
type Request struct {
	Principal Principal
	Action    Action
	Resource  Resource
	// OverwritesOthers is for ActionSkipApproval on save_snippet: the save
	// replaces content another identity wrote.
	OverwritesOthers bool
}

// Decision is the engine's answer.
type Decision struct {
	Allowed bool
	// Rules are the rules that decided ("source/id"): the forbids that
	// matched for a deny, the permits for an allow; empty for a deny because
	// nothing permitted (deny by default).
	Rules []string
	// Message is a sentence for the caller when denied: what is missing and,
	// for the agent inventory, whom to ask. "" when allowed.
	Message string
	// Digest is the effective policy's digest (Engine.Digest).
	Digest string
	// Inventory is true when the agent inventory denied the request
	// (rules inventory-enforced, inventory-tools): Message then says what
	// the entry lacks and whom to ask, and may be shown for any tool name.
	Inventory bool
}

// entities answers the engine's entity look-ups for one request without
// building a map: the principal, the resource, and the tools (for
// agent_tools membership, which needs only the uid).
type entities struct{ p, r *types.Entity }

func (g entities) Get(uid types.EntityUID) (types.Entity, bool) {
	switch uid {
	case g.p.UID:
		return *g.p, true
	case g.r.UID:
		return *g.r, true
	}
	return types.Entity{}, false
}

// Decide evaluates one request. A request with no principal, an unknown
// action or resource, or any evaluation error is denied.
func (e *Engine) Decide(r Request) Decision {
	d := Decision{Digest: e.digest}
	if !r.Principal.ok || r.Resource.entity.UID.Type == "" {
		d.Message = "not permitted"
		return d
	}
	ctx := types.Record{}
	switch r.Action {
	case ActionSkipApproval:
		ctx = e.ctxSkip[b2i(r.OverwritesOthers)]
	case ActionDecide:
		ctx = e.ctxDecide
	case ActionCall, ActionRead, ActionList, ActionWrite:
	default:
		d.Message = "not permitted"
		return d
	}
	dec, diag := cedar.Authorize(e.byAction[r.Action], entities{&r.Principal.entity, &r.Resource.entity}, cedar.Request{
		Principal: r.Principal.entity.UID,
		Action:    types.NewEntityUID(typeAction, types.String(r.Action)),
		Resource:  r.Resource.entity.UID,
		Context:   ctx,
	})
	for _, reason := range diag.Reasons {
		d.Rules = append(d.Rules, string(reason.PolicyID))
	}
	if len(diag.Errors) > 0 {
		// A rule that fails to evaluate is skipped by Cedar, which for a
		// forbid would loosen the policy: fail closed instead.
		d.Allowed, d.Message = false, "not permitted (the policy could not be evaluated; the error was logged)"
		for _, de := range diag.Errors {
			d.Rules = append(d.Rules, "error:"+string(de.PolicyID))
		}
		return d
	}
	d.Allowed = dec == cedar.Allow
	if !d.Allowed {
		d.Message, d.Inventory = e.explain(r, d.Rules)
	}
	return d
}

// actions are the schema's actions.
var actions = []Action{ActionCall, ActionSkipApproval, ActionRead, ActionList, ActionWrite, ActionDecide}

// policyEntry and policyList let Decide evaluate only the policies whose
// action scope can match: the same answer as the whole set (a policy whose
// scope excludes the action never matches it), with less work.
type policyEntry struct {
	id cedar.PolicyID
	p  *cedar.Policy
}

type policyList []policyEntry

func (l policyList) All() iter.Seq2[cedar.PolicyID, *cedar.Policy] {
	return func(yield func(cedar.PolicyID, *cedar.Policy) bool) {
		for _, e := range l {
			if !yield(e.id, e.p) {
				return
			}
		}
	}
}

// scopeActions lists the actions a policy's action scope admits; any
// scope it cannot read admits all (evaluating more is never wrong).
func scopeActions(p *cedar.Policy) []Action {
	var uids []types.EntityUID
	switch sc := (*xast.Policy)(p.AST()).Action.(type) {
	case xast.ScopeTypeEq:
		uids = []types.EntityUID{sc.Entity}
	case xast.ScopeTypeIn:
		uids = []types.EntityUID{sc.Entity}
	case xast.ScopeTypeInSet:
		uids = sc.Entities
	default:
		return actions
	}
	var out []Action
	for _, u := range uids {
		if u.Type == typeAction && slices.Contains(actions, Action(u.ID)) {
			out = append(out, Action(u.ID))
		}
	}
	return out
}

func b2i(b bool) int {
	if b {
		return 1
	}
	return 0
}

// Allowed is Decide(r).Allowed.
func (e *Engine) Allowed(r Request) bool { return e.Decide(r).Allowed }

// explain turns the deciding rules of a denial into a sentence. The
// inventory's refusal comes first: it says what is missing and whom to ask,
// and fixing it is the caller's first step.
func (e *Engine) explain(r Request, rules []string) (msg string, inventory bool) {
	st := r.Principal.status
	ids := make([]string, len(rules))
	for i, id := range rules {
		ids[i] = e.meta[cedar.PolicyID(id)].id
	}
	switch {
	case slices.Contains(ids, "inventory-enforced"):
		return e.inv.Refusal(r.Principal.id.ClientID, st), true
	case slices.Contains(ids, "inventory-tools"):
		return e.inv.OutOfScope(st, r.Resource.tool), true
	}
	for _, id := range ids {
		switch id {
		case "agent-no-destructive", "agent-no-admin", "agent-never-approves":
			return "autonomous agents (Entra Agent ID, no signed-in person) may not run destructive tools or decide approvals; a person must do this", false
		case "no-self-approval":
			return "the requester cannot approve or deny their own request", false
		case "no-same-agent-approval":
			return "the request was made through the same client app; a decision must come through a different app than the requester's agent", false
		case "app-approvers-opt-in":
			return "approvals need a signed-in person; an application acting on its own cannot approve or deny", false
		}
	}
	if len(rules) > 0 {
		return "not permitted by policy rule " + rules[0], false
	}
	switch r.Action {
	case ActionWrite:
		return "writing to the shared space needs the Snippets.Write app role; ask an administrator to assign it, or save without shared=true", false
	case ActionSkipApproval:
		return "approval required", false
	case ActionDecide:
		return "deciding approval requests needs the Snippets.Approve app role", false
	}
	return "not permitted", false
}

// VisibleTools filters names (tools/list) to those the principal may call:
// Cedar's call decision for each tool, remembered per principal.
func (e *Engine) VisibleTools(p Principal, names []string) []string {
	out := make([]string, 0, len(names))
	for _, n := range names {
		if e.MayCall(p, n) {
			out = append(out, n)
		}
	}
	return out
}

// Callable is VisibleTools of every tool the engine knows, sorted.
func (e *Engine) Callable(p Principal) []string { return e.VisibleTools(p, e.names) }

// MayCall is Allowed for ActionCall on the tool, with Cedar's answers for
// all tools computed once per principal and remembered.
func (e *Engine) MayCall(p Principal, tool string) bool {
	i, ok := slices.BinarySearch(e.names, tool)
	if !p.ok || !ok {
		return false
	}
	allowed := e.calls.allowedOf(p.memo)
	if allowed == nil {
		allowed = make([]bool, len(e.names))
		for j, n := range e.names {
			allowed[j] = e.Allowed(Request{Principal: p, Action: ActionCall, Resource: e.ToolResource(n)})
		}
		e.calls.setAllowed(p.memo, allowed)
	}
	return allowed[i]
}

// Content tools: reading and listing snippet content outside tools/call
// follows these tools' rules as well as the space's.
const (
	ReadTool = "get_snippet"
	ListTool = "list_snippets"
)

// ReadContent decides a read (resources/read, prompts/get, the prompt
// list: ActionRead) or a name listing (completions: ActionList) of the
// private or shared space: the caller must be allowed to call get_snippet
// or list_snippets, and the action on the space.
func (e *Engine) ReadContent(p Principal, a Action, shared bool) Decision {
	tool := ReadTool
	if a == ActionList {
		tool = ListTool
	}
	if d := e.Decide(Request{Principal: p, Action: ActionCall, Resource: e.ToolResource(tool)}); !d.Allowed {
		return d
	}
	return e.Decide(Request{Principal: p, Action: a, Resource: SpaceResource(shared)})
}

// NeedsApproval decides whether a call of tool must wait for an approval
// by another person (deny by default: a call the policy does not let run
// without one needs one).
func (e *Engine) NeedsApproval(p Principal, tool string, overwritesOthers bool) bool {
	return !e.Allowed(Request{Principal: p, Action: ActionSkipApproval, Resource: e.ToolResource(tool), OverwritesOthers: overwritesOthers})
}

// DecideApproval decides whether the principal may approve or deny the
// request with id, made by requester through the client app agent. Pass
// it to the approval store as Decision.Authorize, so the decision is made
// on the stored request.
func (e *Engine) DecideApproval(p Principal, id, requester, agent string) Decision {
	return e.Decide(Request{Principal: p, Action: ActionDecide, Resource: ApprovalResource(id, requester, agent)})
}
