package policy

import (
	"context"
	"fmt"
	"net/http"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/identity/authtest"
	"github.com/snippets-mcp/server/internal/inventory"
)

// classTools is one tool of each class.
var classTools = []struct {
	class Class
	tool  string
}{{ClassRead, "get_snippet"}, {ClassWrite, "save_snippet"}, {ClassDestructive, "delete_snippet"}, {ClassAdmin, "approve_request"}}

// matrixInventory registers, for each kind, a client "reg-<kind>" for
// every class and an expired "exp-<kind>"; "unreg-<kind>" is not listed.
func matrixInventory(t testing.TB, mode inventory.Mode) *inventory.Inventory {
	var entries []string
	for _, k := range identity.Kinds {
		entries = append(entries,
			fmt.Sprintf(`{"clientId":"reg-%s","name":"%s agent","owner":"team-%s","expires":"2099-12-31","classes":["read","write","destructive","admin"],"costTags":{"costCenter":"cc-1"}}`, k, k, k),
			fmt.Sprintf(`{"clientId":"exp-%s","name":"old %s agent","owner":"team-%s","expires":"2020-01-31","classes":["read"]}`, k, k, k))
	}
	doc := `{"contact":"platform-team","agents":[` + strings.Join(entries, ",") + `]}`
	inv, err := inventory.Parse([]byte(doc), inventory.Options{Mode: mode})
	if err != nil {
		t.Fatal(err)
	}
	return inv
}

// authenticate mints a token of the kind through the test issuer and
// validates it as the server does, so the row's caller comes from real
// claims (facets included).
func authenticate(t *testing.T, iss *authtest.Issuer, a *identity.JWTAuthenticator, kind identity.Kind, client string) *identity.Identity {
	t.Helper()
	roles := []string{identity.RoleRead, identity.RoleWrite, identity.RoleDelete, identity.RoleApprove}
	tok := iss.Mint(t, authtest.KindClaims(kind, authtest.Claims{ClientID: client, Roles: roles}))
	r, _ := http.NewRequest(http.MethodPost, "http://server.test/mcp", nil)
	r.Header.Set("Authorization", "Bearer "+tok)
	id, err := a.Authenticate(r)
	if err != nil {
		t.Fatalf("Authenticate %s: %v", kind, err)
	}
	return id
}

// matrixRow is one expected decision and its audit fields.
type matrixRow struct {
	kind  identity.Kind
	class Class
	state inventory.State
	mode  string // enforce, audit, or none (no inventory)
}

// want is the default policy's answer: every caller holds every role, so
// only the kind and the inventory decide.
func (r matrixRow) want() bool {
	if r.kind == identity.KindAgent && (r.class == ClassDestructive || r.class == ClassAdmin) {
		return false // agent-no-destructive, agent-no-admin
	}
	return r.mode != string(inventory.ModeEnforce) || r.state == inventory.Registered
}

// matrixEvents runs the table: caller kind x tool class x inventory state
// (registered, unregistered, expired) x mode (enforce, audit), plus each
// kind and class with no inventory (not_checked). It checks each decision
// and the audit fields, and returns the events.
func matrixEvents(t *testing.T) []audit.Event {
	iss := authtest.NewIssuer(t)
	a, err := identity.NewJWT(context.Background(), identity.JWTConfig{Issuer: iss.URL(), Audiences: []string{authtest.Audience}})
	if err != nil {
		t.Fatal(err)
	}
	engines := map[string]*Engine{
		"enforce": mustEngine(t, Options{Inventory: matrixInventory(t, inventory.ModeEnforce)}),
		"audit":   mustEngine(t, Options{Inventory: matrixInventory(t, inventory.ModeAudit)}),
		"none":    mustEngine(t, Options{}),
	}
	var rows []matrixRow
	for _, mode := range []string{"enforce", "audit"} {
		for _, k := range identity.Kinds {
			for _, ct := range classTools {
				for _, st := range []inventory.State{inventory.Registered, inventory.Unregistered, inventory.Expired} {
					rows = append(rows, matrixRow{k, ct.class, st, mode})
				}
			}
		}
	}
	for _, k := range identity.Kinds {
		for _, ct := range classTools {
			rows = append(rows, matrixRow{k, ct.class, inventory.NotChecked, "none"})
		}
	}
	clientOf := map[inventory.State]string{inventory.Registered: "reg-", inventory.Unregistered: "unreg-", inventory.Expired: "exp-", inventory.NotChecked: "any-"}
	base := time.Now().Add(-time.Hour)
	var events []audit.Event
	for i, r := range rows {
		tool := classTools[slices.IndexFunc(classTools, func(c struct {
			class Class
			tool  string
		}) bool {
			return c.class == r.class
		})].tool
		t.Run(fmt.Sprintf("%s/%s/%s/%s", r.mode, r.kind, r.class, r.state), func(t *testing.T) {
			e := engines[r.mode]
			id := authenticate(t, iss, a, r.kind, clientOf[r.state]+string(r.kind))
			p := e.Principal(id)
			d := e.Decide(Request{Principal: p, Action: ActionCall, Resource: e.ToolResource(tool)})
			if d.Allowed != r.want() {
				t.Errorf("allowed = %v (rules %v: %q), want %v", d.Allowed, d.Rules, d.Message, r.want())
			}
			if !d.Allowed && r.mode == "enforce" && r.state != inventory.Registered && !strings.Contains(d.Message, "ask ") {
				t.Errorf("refusal %q does not say whom to ask", d.Message)
			}
			ev := audit.Event{Timestamp: base.Add(time.Duration(i) * time.Second), ToolName: tool, AgentID: id.ClientID, ResultCode: audit.ResultOK}
			if !d.Allowed {
				ev.ResultCode = audit.ResultDenied
			}
			e.Record(p, &ev)
			wantName, wantOwner := "", ""
			if r.state == inventory.Registered {
				wantName, wantOwner = string(r.kind)+" agent", "team-"+string(r.kind)
			}
			if r.state == inventory.Expired {
				wantName, wantOwner = "old "+string(r.kind)+" agent", "team-"+string(r.kind)
			}
			wantBlueprint := ""
			if r.kind != identity.KindUser && r.kind != identity.KindApp {
				wantBlueprint = authtest.BlueprintID
			}
			for field, c := range map[string][2]string{
				"caller_kind":     {ev.CallerKind, string(r.kind)},
				"agent_inventory": {ev.AgentInventory, string(r.state)},
				"agent_name":      {ev.AgentName, wantName},
				"agent_owner":     {ev.AgentOwner, wantOwner},
				"subject_id":      {ev.SubjectID, id.TenantID + "/" + id.ObjectID},
				"actor_id":        {ev.ActorID, clientOf[r.state] + string(r.kind)},
				"agent_blueprint": {ev.AgentBlueprint, wantBlueprint},
				"policy_digest":   {ev.PolicyDigest, e.Digest()},
			} {
				if c[0] != c[1] {
					t.Errorf("%s = %q, want %q", field, c[0], c[1])
				}
			}
			events = append(events, ev)
		})
	}
	if len(events) != 2*5*4*3+5*4 {
		t.Fatalf("%d events", len(events))
	}
	return events
}

func TestKindClassInventoryMatrix(t *testing.T) { matrixEvents(t) }

// agentsViewRow is a row of infra/kql/agents.kql.
type agentsViewRow struct {
	status, actor, name, owner string
	calls, denied              int
	kinds, tools               []string
}

// agentsView computes infra/kql/agents.kql over events in Go: the same
// status rule, filter and grouping (TestAgentsViewMatchesTheQuery keeps
// the two in step).
func agentsView(events []audit.Event, now time.Time) []agentsViewRow {
	groups := map[string]*agentsViewRow{}
	for _, e := range events {
		if !e.Timestamp.After(now.Add(-7 * 24 * time.Hour)) {
			continue
		}
		var status string
		switch {
		case e.AgentInventory == "unregistered":
			status = "unregistered"
		case e.AgentInventory == "expired" && e.AgentOwner == "":
			status = "ownerless"
		case e.AgentInventory == "expired":
			status = "expired"
		case e.AgentInventory == "not_checked":
			status = "not checked"
		case e.AgentOwner == "":
			status = "ownerless"
		default:
			continue
		}
		key := status + "|" + e.ActorID + "|" + e.AgentName + "|" + e.AgentOwner
		g := groups[key]
		if g == nil {
			g = &agentsViewRow{status: status, actor: e.ActorID, name: e.AgentName, owner: e.AgentOwner}
			groups[key] = g
		}
		g.calls++
		if e.ResultCode == audit.ResultDenied {
			g.denied++
		}
		if !slices.Contains(g.kinds, e.CallerKind) {
			g.kinds = append(g.kinds, e.CallerKind)
		}
		if !slices.Contains(g.tools, e.ToolName) {
			g.tools = append(g.tools, e.ToolName)
		}
	}
	out := make([]agentsViewRow, 0, len(groups))
	for _, g := range groups {
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].status != out[j].status {
			return out[i].status < out[j].status
		}
		if out[i].calls != out[j].calls {
			return out[i].calls > out[j].calls
		}
		return out[i].actor < out[j].actor
	})
	return out
}

// TestAgentsView runs the agents view over the matrix's audit events
// (go test -run TestAgentsView -v prints it): every unregistered and
// expired agent appears, no registered one does.
func TestAgentsView(t *testing.T) {
	rows := agentsView(matrixEvents(t), time.Now())
	var b strings.Builder
	fmt.Fprintf(&b, "%-13s %-22s %-22s %-18s %5s %6s  %s\n", "status", "actor_id", "agent_name", "owner", "calls", "denied", "kinds")
	seen := map[string]bool{}
	for _, r := range rows {
		fmt.Fprintf(&b, "%-13s %-22s %-22s %-18s %5d %6d  %v\n", r.status, r.actor, r.name, r.owner, r.calls, r.denied, r.kinds)
		seen[r.status+" "+r.actor] = true
		if strings.HasPrefix(r.actor, "reg-") {
			t.Errorf("registered agent %s listed", r.actor)
		}
	}
	t.Log("infra/kql/agents.kql over the matrix's events:\n" + b.String())
	for _, k := range identity.Kinds {
		for _, want := range []string{"unregistered unreg-" + string(k), "expired exp-" + string(k), "not checked any-" + string(k)} {
			if !seen[want] {
				t.Errorf("view lacks %q", want)
			}
		}
	}
}

// TestAgentsViewOwnerless: an inventory entry without an owner is expired
// and the view calls it ownerless.
func TestAgentsViewOwnerless(t *testing.T) {
	inv, err := inventory.Parse([]byte(`{"agents":[{"clientId":"orphan","name":"Orphan","expires":"2099-01-01","classes":["read"]}]}`), inventory.Options{})
	if err != nil {
		t.Fatal(err)
	}
	e := mustEngine(t, Options{Inventory: inv})
	p := e.Principal(withToken(&identity.Identity{TenantID: "t", ObjectID: "o", ClientID: "orphan", Scopes: []string{identity.ScopeUser}, Kind: identity.KindUser}))
	if e.Allowed(Request{Principal: p, Action: ActionCall, Resource: e.ToolResource("get_snippet")}) {
		t.Error("ownerless agent allowed in enforce mode")
	}
	ev := audit.Event{Timestamp: time.Now(), ToolName: "get_snippet", ResultCode: audit.ResultDenied}
	e.Record(p, &ev)
	rows := agentsView([]audit.Event{ev}, time.Now())
	if len(rows) != 1 || rows[0].status != "ownerless" || rows[0].name != "Orphan" {
		t.Errorf("rows %+v", rows)
	}
}

// TestAgentsViewMatchesTheQuery: the Go view above follows the query's
// status rule, window and grouping, as written in infra/kql/agents.kql.
func TestAgentsViewMatchesTheQuery(t *testing.T) {
	b, err := readRepoFile("infra/kql/agents.kql")
	if err != nil {
		t.Fatal(err)
	}
	q := strings.Join(strings.Fields(b), " ")
	for _, want := range []string{
		"let window = 7d;",
		`inventory == "unregistered", "unregistered",`,
		`inventory == "expired" and isempty(owner), "ownerless",`,
		`inventory == "expired", "expired",`,
		`inventory == "not_checked", "not checked",`,
		`isempty(owner), "ownerless",`,
		`| where status != "registered"`,
		"by status, actor_id, agent_name, owner",
		"| order by status asc, calls desc",
	} {
		if !strings.Contains(q, want) {
			t.Errorf("agents.kql no longer has %q: update agentsView", want)
		}
	}
}
