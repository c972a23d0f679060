package infra

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"text/tabwriter"
	"time"
)

// kql/agents.kql, the agents view, run by the evaluator in kqleval_test.go
// over the e2e events (kql/testdata/appevents.json) and over a fixture made
// from them with one agent per inventory state.

const agentsFile = "kql/agents.kql"

// agentsWant is one row the view must list, in its order.
type agentsWant struct {
	status, actor, name, owner string
	calls, denied              float64
	kinds                      string // the kinds column as JSON
}

// agentsCase is a dataset and the rows the view must list for it.
type agentsCase struct {
	name string
	rows func(golden []map[string]any, now time.Time) []map[string]any
	want []agentsWant
}

// Fixture actors, one per inventory state.
const (
	agentRegistered     = "00000000-0000-0000-0000-00000000a001"
	agentUnregistered   = "00000000-0000-0000-0000-00000000a002"
	agentExpired        = "00000000-0000-0000-0000-00000000a003"
	agentExpiredNoOwner = "00000000-0000-0000-0000-00000000a004"
	agentNoOwner        = "00000000-0000-0000-0000-00000000a005"
	agentNotChecked     = "00000000-0000-0000-0000-00000000a006"
	agentOld            = "00000000-0000-0000-0000-00000000a007"
)

func agentsCases() []agentsCase {
	return []agentsCase{
		{
			// The e2e server runs without an agent inventory: every agent is
			// "not checked". The refused call (a malformed token: no actor,
			// no inventory field) is left out: it names no agent.
			name: "e2e run",
			rows: func(golden []map[string]any, _ time.Time) []map[string]any { return golden },
			want: []agentsWant{
				{"not checked", e2eAgent, "", "", 7, 1, `["user","app"]`},
				{"not checked", e2eApproverApp, "", "", 2, 0, `["user"]`},
			},
		},
		{
			name: "one agent per inventory state",
			rows: agentsFixture,
			want: []agentsWant{
				{"expired", agentExpired, "expired-agent", "team-c", 2, 0, `["agent"]`},
				{"not checked", agentNotChecked, "", "", 2, 1, `["user_via_agent"]`},
				{"ownerless", agentExpiredNoOwner, "lapsed-agent", "", 2, 2, `["agent"]`},
				{"ownerless", agentNoOwner, "orphan-agent", "", 1, 0, `["agent_user"]`},
				{"unregistered", agentUnregistered, "", "", 3, 1, `["app","agent"]`},
			},
		},
	}
}

// agentsFixture builds calls from the first authenticated golden event, each
// with its agent's inventory fields, a few minutes before now; the expired
// agent's second call is 3 days old, and two calls are 8 days old (outside
// the 7-day window: agentOld must not be listed, agentUnregistered's old
// call not counted). The ownerless agents' rows come in the order opposite
// to the view's (fewer calls first), so that the view's order is its own.
func agentsFixture(golden []map[string]any, now time.Time) []map[string]any {
	i := slices.IndexFunc(golden, func(r map[string]any) bool { return prop(r, "actor_id") != "" })
	if i < 0 {
		panic("agentsFixture: no authenticated golden event")
	}
	template := golden[i]
	type call struct {
		actor, inventory, owner, name, kind, code string
		age                                       time.Duration
	}
	calls := []call{
		{agentRegistered, "registered", "team-a", "good-agent", "agent", "ok", time.Minute},
		{agentRegistered, "registered", "team-a", "good-agent", "agent", "denied", 2 * time.Minute},
		{agentUnregistered, "unregistered", "", "", "app", "ok", 3 * time.Minute},
		{agentUnregistered, "unregistered", "", "", "agent", "denied", 4 * time.Minute},
		{agentUnregistered, "unregistered", "", "", "app", "ok", 5 * time.Minute},
		{agentUnregistered, "unregistered", "", "", "app", "denied", 8 * 24 * time.Hour},
		{agentExpired, "expired", "team-c", "expired-agent", "agent", "ok", 6 * time.Minute},
		{agentExpired, "expired", "team-c", "expired-agent", "agent", "ok", 3 * 24 * time.Hour},
		{agentNoOwner, "registered", "", "orphan-agent", "agent_user", "ok", 7 * time.Minute},
		{agentExpiredNoOwner, "expired", "", "lapsed-agent", "agent", "denied", 8 * time.Minute},
		{agentExpiredNoOwner, "expired", "", "lapsed-agent", "agent", "denied", 9 * time.Minute},
		{agentNotChecked, "not_checked", "", "", "user_via_agent", "ok", 10 * time.Minute},
		{agentNotChecked, "not_checked", "", "", "user_via_agent", "denied", 11 * time.Minute},
		{agentOld, "unregistered", "", "", "app", "ok", 8 * 24 * time.Hour},
	}
	var rows []map[string]any
	for k, c := range calls {
		r := cloneRows([]map[string]any{template})[0]
		r["TimeGenerated"] = now.Add(-c.age)
		r["OperationId"] = fmt.Sprintf("%032x", 0xa000+k)
		p := r["Properties"].(map[string]any)
		p["actor_id"], p["agent_id"], p["gen_ai.agent.id"] = c.actor, c.actor, c.actor
		p["agent_inventory"], p["agent_owner"], p["agent_name"] = c.inventory, c.owner, c.name
		p["caller_kind"], p["result_code"] = c.kind, c.code
		rows = append(rows, r)
	}
	return rows
}

// runAgentsCase runs src over the case's rows with the clock a minute after
// the last golden event, as the SLO tests set it.
func runAgentsCase(tc agentsCase, golden []map[string]any, src string) (*kqlTable, error) {
	now := time.Time{}
	for _, r := range golden {
		if ts := r["TimeGenerated"].(time.Time); ts.After(now) {
			now = ts
		}
	}
	now = now.Add(time.Minute)
	env := &kqlEnv{now: now, tables: map[string]*kqlTable{
		"AppEvents": {cols: appEventCols, rows: tc.rows(cloneRows(golden), now)},
	}}
	return runKQL(src, env)
}

// checkAgents compares the view's rows with the wanted ones, in order.
func checkAgents(out *kqlTable, want []agentsWant) []string {
	var got []agentsWant
	for _, r := range out.rows {
		calls, _ := r["calls"].(float64)
		denied, _ := r["denied"].(float64)
		got = append(got, agentsWant{toString(r["status"]), toString(r["actor_id"]), toString(r["agent_name"]),
			toString(r["owner"]), calls, denied, toString(r["kinds"])})
	}
	if slices.Equal(got, want) {
		return nil
	}
	return []string{fmt.Sprintf("got rows\n%s\nwant\n%s", formatAgents(got), formatAgents(want))}
}

func formatAgents(rows []agentsWant) string {
	var b strings.Builder
	for _, r := range rows {
		fmt.Fprintf(&b, "  %+v\n", r)
	}
	return b.String()
}

// agentsTable prints the view's rows fixed-width, "-" for an empty value.
func agentsTable(out *kqlTable) string {
	var b strings.Builder
	w := tabwriter.NewWriter(&b, 0, 0, 2, ' ', 0)
	cols := []string{"status", "actor_id", "agent_name", "owner", "calls", "denied", "kinds"}
	fmt.Fprintln(w, strings.Join(cols, "\t"))
	for _, r := range out.rows {
		var cells []string
		for _, c := range cols {
			s := toString(r[c])
			if s == "" {
				s = "-"
			}
			cells = append(cells, s)
		}
		fmt.Fprintln(w, strings.Join(cells, "\t"))
	}
	w.Flush()
	return b.String()
}

// TestAgentsView runs agents.kql over the e2e events and over the fixture:
// the statuses, actors, names, owners, call and refusal counts and caller
// kinds it lists, in its order (status asc, calls desc). -v shows each table.
func TestAgentsView(t *testing.T) {
	t.Parallel()
	golden := loadGolden(t)
	src := readFileT(t, agentsFile)
	for _, tc := range agentsCases() {
		t.Run(tc.name, func(t *testing.T) {
			out, err := runAgentsCase(tc, golden, src)
			if err != nil {
				t.Fatalf("%s: %v", agentsFile, err)
			}
			t.Logf("%s over %s:\n%s", agentsFile, tc.name, agentsTable(out))
			for _, p := range checkAgents(out, tc.want) {
				t.Error(p)
			}
		})
	}
}

// TestAgentsQueryFixtures: the cases of TestAgentsView fail on planted
// mistakes in the query, so a weakened view cannot pass them.
func TestAgentsQueryFixtures(t *testing.T) {
	t.Parallel()
	golden := loadGolden(t)
	src := readFileT(t, agentsFile)
	for _, tc := range []struct{ name, old, new string }{
		{"owner not required", "    isempty(owner), \"ownerless\",\n", ""},
		{"expired without owner not ownerless", "    inventory == \"expired\" and isempty(owner), \"ownerless\",\n", ""},
		{"window of 30 days", "let window = 7d;", "let window = 30d;"},
		{"window of 1 day", "let window = 7d;", "let window = 1d;"},
		{"not checked trusted", `inventory == "not_checked", "not checked",`, `inventory == "not_checked", "registered",`},
		{"refusals not counted", `denied = countif(result_code == "denied"),`, `denied = countif(result_code == "deny"),`},
		{"order by status only", "| order by status asc, calls desc", "| order by status asc"},
		{"refused tokens kept", "| where tostring(Properties.result_code) != \"unauthenticated\"\n", ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			planted := mustReplace(t, src, tc.old, tc.new)
			failed := 0
			for _, c := range agentsCases() {
				out, err := runAgentsCase(c, golden, planted)
				if err != nil {
					t.Fatalf("the planted query does not run: %v", err) // it must fail on its rows, not on its text
				}
				if len(checkAgents(out, c.want)) > 0 {
					failed++
				}
			}
			if failed == 0 {
				t.Errorf("every agents case passed with the planted mistake %q -> %q", tc.old, tc.new)
			}
		})
	}
}
