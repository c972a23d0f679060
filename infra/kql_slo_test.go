package infra

import (
	"encoding/json"
	"fmt"
	"maps"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"
)

// The SLO alert queries, composed as infra/modules/slo.bicep composes them,
// run by the evaluator in kqleval_test.go over the events the e2e tests
// produce (kql/testdata/appevents.json, written by e2e TestSLOEvidence) and
// over mutated copies: each must fire on a breach and stay quiet otherwise.

const (
	sloDir          = "kql/slo"
	sloBicep        = "modules/slo.bicep"
	binLine         = "let bin_size = 1h;"
	windowBinLine   = "let bin_size = 36500d;"
	knownAgentsLine = "let known_agents = dynamic([]);"
	e2eAgent        = "aebc6443-996d-45c2-90f0-388ff96faa56" // authtest.ClientID
	e2eApproverApp  = "aaaaaaaa-0000-0000-0000-00000000a990" // e2e approverApp
)

// sloRule is one scheduled query rule of slo.bicep.
type sloRule struct {
	name, file, filter string
}

var sloRules = []sloRule{
	{"auth-success", "auth_success.kql", "| where breach"},
	{"read-latency", "tool_latency.kql", `| where breach and tool_class == "read"`},
	{"write-latency", "tool_latency.kql", `| where breach and tool_class == "write"`},
	{"unknown-agents", "unknown_agents.kql", "| where breach"},
	{"approval-bypass", "approval_bypass.kql", "| where breach"},
	{"body-logging", "body_logging.kql", "| where breach"},
}

// alertQuery composes a rule's query as slo.bicep does: the window as one
// period, known_agents filled in, the rule's filter appended.
func alertQuery(src string, knownAgents []string, filter string) string {
	list, _ := json.Marshal(knownAgents)
	if knownAgents == nil {
		list = []byte("[]")
	}
	q := strings.Replace(src, binLine, windowBinLine, 1)
	q = strings.Replace(q, knownAgentsLine, "let known_agents = dynamic("+string(list)+");", 1)
	return q + "\n" + filter
}

// TestSLOBicepMatchesRules keeps the Go table above equal to slo.bicep's
// array, and the replaced lines present, so that the queries tested here are
// the ones deployed.
func TestSLOBicepMatchesRules(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(sloBicep)
	if err != nil {
		t.Fatal(err)
	}
	problems := checkSLOBicep(string(b))
	for _, p := range problems {
		t.Error(p)
	}
}

var bicepRule = regexp.MustCompile(`(?s)name: '([a-z-]+)'\s+title: '[^']*'\s+severity: \d\s+gateway: (?:true|false)\s+query: loadTextContent\('\.\./kql/slo/([a-z_]+\.kql)'\)\s+filter: '((?:[^'\\]|\\.)*)'`)

func checkSLOBicep(src string) []string {
	var problems []string
	var got []sloRule
	for _, m := range bicepRule.FindAllStringSubmatch(src, -1) {
		got = append(got, sloRule{m[1], m[2], strings.ReplaceAll(m[3], `\'`, `'`)})
	}
	if !slices.Equal(got, sloRules) {
		problems = append(problems, fmt.Sprintf("%s declares the rules\n  %v\nthe tests run\n  %v", sloBicep, got, sloRules))
	}
	for _, v := range []string{
		"var binLine = '" + binLine + "'",
		"var windowBinLine = '" + windowBinLine + "'",
		"var knownAgentsLine = '" + knownAgentsLine + "'",
		"var knownAgentsValue = 'let known_agents = dynamic(${string(knownAgentIds)});'",
		`query: '${replace(replace(a.query, binLine, windowBinLine), knownAgentsLine, knownAgentsValue)}\n${a.filter}'`,
	} {
		if !strings.Contains(src, v) {
			problems = append(problems, fmt.Sprintf("%s lacks %s (the tests compose the queries that way)", sloBicep, v))
		}
	}
	return problems
}

// TestSLOQueryFiles: each query file has one bin_size line (and the agent
// query one known_agents line) for the rules to replace, a breach column, and
// reads only event fields the server writes or the documented fields still
// to come.
func TestSLOQueryFiles(t *testing.T) {
	t.Parallel()
	golden := loadGolden(t)
	for _, r := range sloRules {
		t.Run(r.file, func(t *testing.T) {
			src := readSLO(t, r.file)
			for _, p := range checkSLOQuery(r.file, src, goldenFields(golden)) {
				t.Error(p)
			}
		})
	}
}

// comingFields are the event fields the queries may read before the server
// writes them (the audit and agent-inventory work): a missing one reads as empty.
var comingFields = []string{
	"gen_ai.operation.name", "gen_ai.tool.name", "gen_ai.agent.id", "mcp.method.name", "mcp.session.id",
	"mcp.protocol.version", "error.type", "agent_inventory", "agent_name", "agent_owner", "caller_kind",
	"approval_wait_ms",
}

var propertyRef = regexp.MustCompile(`Properties(?:\.([A-Za-z0-9_]+)|\["([^"]+)"\])`)

func checkSLOQuery(name, src string, fields []string) []string {
	var problems []string
	if !strings.HasPrefix(src, "// "+name+" - SLO: ") || !strings.Contains(src, "Run it in") {
		problems = append(problems, name+": must open with `// "+name+" - SLO: ...`, say what it answers and how to run it")
	}
	if n := strings.Count(src, binLine); n != 1 {
		problems = append(problems, fmt.Sprintf("%s: %q occurs %d times, want 1 (slo.bicep replaces it)", name, binLine, n))
	}
	if n := strings.Count(src, knownAgentsLine); strings.Contains(src, "known_agents") && n != 1 {
		problems = append(problems, fmt.Sprintf("%s: %q occurs %d times, want 1 (slo.bicep replaces it)", name, knownAgentsLine, n))
	}
	if !strings.Contains(src, "| extend breach = ") {
		problems = append(problems, name+": has no `| extend breach = ...` (the rules filter on it)")
	}
	for _, m := range propertyRef.FindAllStringSubmatch(src, -1) {
		f := m[1] + m[2]
		if !slices.Contains(fields, f) && !slices.Contains(comingFields, f) {
			problems = append(problems, fmt.Sprintf("%s reads Properties[%q], which the server's events do not have (fields: %v)", name, f, fields))
		}
	}
	return problems
}

// TestSLOQueryFixtures: the query-file check fails on its planted mistakes.
func TestSLOQueryFixtures(t *testing.T) {
	t.Parallel()
	golden := loadGolden(t)
	src := readSLO(t, "tool_latency.kql")
	for _, tc := range []struct{ name, old, new, want string }{
		{"misspelt field", `Properties["latency_ms"]`, `Properties["latncy_ms"]`, `Properties["latncy_ms"]`},
		{"bin line twice", binLine, binLine + "\n" + binLine, "occurs 2 times"},
		{"no breach column", "| extend breach = ", "| extend missed = ", "no `| extend breach"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			planted := mustReplace(t, src, tc.old, tc.new)
			problems := checkSLOQuery("tool_latency.kql", planted, goldenFields(golden))
			if !slices.ContainsFunc(problems, func(p string) bool { return strings.Contains(p, tc.want) }) {
				t.Errorf("problems %q, want one containing %q", problems, tc.want)
			}
		})
	}
	t.Run("bicep rule table", func(t *testing.T) {
		b, err := os.ReadFile(sloBicep)
		if err != nil {
			t.Fatal(err)
		}
		planted := mustReplace(t, string(b), `filter: '| where breach and tool_class == "write"'`, `filter: '| where breach'`)
		if len(checkSLOBicep(planted)) == 0 {
			t.Error("a rule whose filter differs from the tests' passed")
		}
	})
}

// sloCase is one dataset and whether a rule must fire on it.
type sloCase struct {
	name        string
	rule        string // sloRule.name
	knownAgents []string
	events      func([]map[string]any) []map[string]any // from the golden rows; nil: as they are
	gateway     func([]map[string]any) []map[string]any // from the gateway rows derived from the golden
	fire        bool
}

func sloCases() []sloCase {
	known := []string{e2eAgent, e2eApproverApp}
	return []sloCase{
		// Authentication success.
		{name: "e2e run: 1 refused of 10 fires", rule: "auth-success", fire: true},
		{name: "e2e run without the refusal is quiet", rule: "auth-success", events: drop(isRefusal)},
		{name: "1 refused in 1000 (99.9 %) is quiet", rule: "auth-success", events: scaleTo(1000)},
		{name: "2 refused in 1000 fires", rule: "auth-success", fire: true, events: chain(scaleTo(999), addCopyOf(isRefusal, 1))},
		{name: "refusals left out by the rate limit are counted", rule: "auth-success", fire: true,
			events: chain(scaleTo(1000), setWhere(isRefusal, "message", "invalid credentials: malformed token (+3 refusals not recorded: rate limit)"))},
		{name: "gateway 401s before the backend are counted", rule: "auth-success", fire: true,
			events: scaleTo(1000), gateway: addGateway401(2)},
		// Read-only latency.
		{name: "e2e run: read p95 is quiet", rule: "read-latency"},
		{name: "slow get_snippet breaches read p95", rule: "read-latency", fire: true, events: setWhere(isTool("get_snippet"), "latency_ms", "1500")},
		{name: "a tool missing from tool_classes is measured as read", rule: "read-latency", fire: true,
			events: chain(addCopyOf(isTool("whoami"), 1), setWhere(isTool("whoami"), "gen_ai.tool.name", "unknown:9:0123456789abcdef"), setWhere(isTool("whoami"), "tool_name", "unknown:9:0123456789abcdef"), setWhere(isTool("unknown:9:0123456789abcdef"), "latency_ms", "2000"))},
		{name: "one slow read among 40 stays under p95", rule: "read-latency",
			events: chain(scaleTo(200), setFirst(isTool("get_snippet"), "latency_ms", "9000"))},
		{name: "a slow write does not breach read p95", rule: "read-latency", events: setWhere(isTool("save_snippet"), "latency_ms", "3000")},
		// Write latency.
		{name: "e2e run: write p95 is quiet", rule: "write-latency"},
		{name: "slow save_snippet breaches write p95", rule: "write-latency", fire: true, events: setWhere(isTool("save_snippet"), "latency_ms", "4000")},
		{name: "approval wait is excluded", rule: "write-latency",
			events: chain(setWhere(isTool("delete_snippet"), "latency_ms", "6000"), setWhere(isTool("delete_snippet"), "approval_wait_ms", "5500"))},
		{name: "without approval_wait_ms the time counts", rule: "write-latency", fire: true, events: setWhere(isTool("delete_snippet"), "latency_ms", "6000")},
		// Unknown or unowned agents.
		{name: "e2e agents, known to the deployment, are quiet", rule: "unknown-agents", knownAgents: known},
		{name: "no inventory field and no known list fires", rule: "unknown-agents", fire: true},
		// Events from a server without the inventory fields (older
		// versions): a missing field is not_checked, never registered.
		{name: "no inventory field, an owner and no known list fires", rule: "unknown-agents", fire: true,
			events: chain(dropField(all, "agent_inventory"), setWhere(all, "agent_owner", "platform-team"))},
		{name: "registered with owners is quiet without a list", rule: "unknown-agents",
			events: chain(setWhere(all, "agent_inventory", "registered"), setWhere(all, "agent_owner", "platform-team"))},
		{name: "an unregistered agent fires", rule: "unknown-agents", knownAgents: known, fire: true, events: setFirst(isTool("whoami"), "agent_inventory", "unregistered")},
		{name: "an expired agent fires", rule: "unknown-agents", knownAgents: known, fire: true, events: setFirst(isTool("whoami"), "agent_inventory", "expired")},
		{name: "a registered agent without an owner fires", rule: "unknown-agents", knownAgents: known, fire: true, events: setFirst(isTool("whoami"), "agent_inventory", "registered")},
		{name: "a call without an agent id fires", rule: "unknown-agents", knownAgents: known, fire: true, events: chain(setFirst(isTool("whoami"), "agent_id", ""), setFirst(isTool("whoami"), "gen_ai.agent.id", ""))},
		{name: "an agent outside the known list fires", rule: "unknown-agents", knownAgents: []string{e2eAgent}, fire: true},
		// Approval bypass.
		{name: "e2e run: the approved delete is quiet", rule: "approval-bypass"},
		{name: "a delete that ran without approval fires", rule: "approval-bypass", fire: true, events: setWhere(isDeleted, "approval_result", "not_required")},
		{name: "a delete that ran on a pending approval fires", rule: "approval-bypass", fire: true, events: setWhere(isDeleted, "approval_result", "pending")},
		{name: "a delete the policy file left without approval fires", rule: "approval-bypass", fire: true,
			events: chain(setWhere(isDeleted, "approval_required", "false"), setWhere(isDeleted, "approval_result", "not_required"))},
		{name: "an ambiguous approved delete is quiet", rule: "approval-bypass",
			events: chain(setWhere(isDeleted, "result_code", "ambiguous"), setWhere(isDeleted, "approval_result", "ambiguous"))},
		{name: "an ambiguous delete without approval fires", rule: "approval-bypass", fire: true,
			events: chain(setWhere(isDeleted, "approval_result", "not_required"), setWhere(isTool("delete_snippet"), "result_code", "ambiguous"))},
		// Body logging (gateway rows derived from the e2e events).
		{name: "gateway rows without bodies are quiet", rule: "body-logging"},
		{name: "a logged frontend response body fires", rule: "body-logging", fire: true, gateway: setGatewayFirst("ResponseBody", `{"result":{}}`)},
		{name: "a logged backend response body fires", rule: "body-logging", fire: true, gateway: setGatewayFirst("BackendResponseBody", `{"result":{}}`)},
		{name: "a body on another API is not this SLO's", rule: "body-logging", gateway: addOtherAPIWithBody},
	}
}

// TestSLOAlerts runs every rule's deployed query over each case.
func TestSLOAlerts(t *testing.T) {
	t.Parallel()
	golden := loadGolden(t)
	queries := map[string]string{}
	filters := map[string]string{}
	for _, r := range sloRules {
		queries[r.name] = readSLO(t, r.file)
		filters[r.name] = r.filter
	}
	covered := map[string][2]bool{}
	for _, tc := range sloCases() {
		t.Run(tc.rule+"/"+tc.name, func(t *testing.T) {
			fired, detail, err := runSLOCase(tc, golden, queries[tc.rule], filters[tc.rule])
			if err != nil {
				t.Fatal(err)
			}
			if fired != tc.fire {
				t.Errorf("fired %v, want %v\n%s", fired, tc.fire, detail)
			}
		})
		c := covered[tc.rule]
		c[boolIndex(tc.fire)] = true
		covered[tc.rule] = c
	}
	for _, r := range sloRules {
		if c := covered[r.name]; !c[0] || !c[1] {
			t.Errorf("rule %s lacks a quiet or a firing case (%v)", r.name, c)
		}
	}
}

// TestSLOAlertFixtures: the cases above fail on planted mistakes in the
// queries, so a weakened query cannot pass them.
func TestSLOAlertFixtures(t *testing.T) {
	t.Parallel()
	golden := loadGolden(t)
	for _, tc := range []struct{ name, rule, file, old, new string }{
		{"rate limit ignored", "auth-success", "auth_success.kql", "refused = iff(result_code == \"unauthenticated\", 1 + skipped, 0)", "refused = iff(result_code == \"unauthenticated\", 1, 0)"},
		{"gateway ignored", "auth-success", "auth_success.kql", "ResponseCode == 401 and", "ResponseCode == 0 and"},
		{"threshold off by one", "auth-success", "auth_success.kql", "success_pct < threshold_pct", "success_pct <= threshold_pct"},
		{"unknown tools unmeasured", "read-latency", "tool_latency.kql", `iff(isempty(server_class) or server_class == "read", "read", "write")`, `iff(server_class == "read", "read", "write")`},
		{"approval wait not excluded", "write-latency", "tool_latency.kql", ` - coalesce(todouble(Properties["approval_wait_ms"]), 0.0)`, ""},
		{"missing inventory trusted", "unknown-agents", "unknown_agents.kql", `coalesce(tostring(Properties["agent_inventory"]), "not_checked")`, `coalesce(tostring(Properties["agent_inventory"]), "registered")`},
		{"owner not required", "unknown-agents", "unknown_agents.kql", `inventory == "registered" and isempty(owner), "registered without an owner",`, ""},
		{"only the approval flag", "approval-bypass", "approval_bypass.kql", ` or tool in (destructive_tools)`, ""},
		{"ambiguous not a change", "approval-bypass", "approval_bypass.kql", `result_code in ("ok", "ambiguous")`, `result_code == "ok"`},
		{"backend bodies ignored", "body-logging", "body_logging.kql", ` or isnotempty(BackendResponseBody)`, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			planted := mustReplace(t, readSLO(t, tc.file), tc.old, tc.new)
			var filter string
			for _, r := range sloRules {
				if r.name == tc.rule {
					filter = r.filter
				}
			}
			failed := 0
			for _, c := range sloCases() {
				if c.rule != tc.rule {
					continue
				}
				fired, _, err := runSLOCase(c, golden, planted, filter)
				if err != nil || fired != c.fire {
					failed++
				}
			}
			if failed == 0 {
				t.Errorf("every %s case passed with the planted mistake %q -> %q", tc.rule, tc.old, tc.new)
			}
		})
	}
}

// TestSLOToolClasses keeps the queries' tool lists equal to the classes the
// server logs at start (kql/testdata/tools.json, checked against the binary
// by e2e TestSLOEvidence).
func TestSLOToolClasses(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile(filepath.Join("kql", "testdata", "tools.json"))
	if err != nil {
		t.Fatal(err)
	}
	var classes map[string]string
	if err := json.Unmarshal(b, &classes); err != nil {
		t.Fatal(err)
	}
	got := map[string]string{}
	row := regexp.MustCompile(`(?m)^\s+"([a-z_]+)", "(read|write|destructive|admin)",$`)
	for _, m := range row.FindAllStringSubmatch(readSLO(t, "tool_latency.kql"), -1) {
		got[m[1]] = m[2]
	}
	if !maps.Equal(got, classes) {
		t.Errorf("tool_latency.kql tool_classes %v, want the server's %v", got, classes)
	}
	var destructive []string
	for tool, c := range classes {
		if c == "destructive" {
			destructive = append(destructive, tool)
		}
	}
	slices.Sort(destructive)
	list, _ := json.Marshal(destructive)
	want := "let destructive_tools = dynamic(" + strings.ReplaceAll(string(list), ",", ", ") + ");"
	if !strings.Contains(readSLO(t, "approval_bypass.kql"), want) {
		t.Errorf("approval_bypass.kql lacks %s", want)
	}
}

// ---- running a case ----

func runSLOCase(tc sloCase, golden []map[string]any, src, filter string) (bool, string, error) {
	events := cloneRows(golden)
	if tc.events != nil {
		events = tc.events(events)
	}
	gateway := gatewayRows(golden)
	if tc.gateway != nil {
		gateway = tc.gateway(gateway)
	}
	last := time.Time{}
	for _, r := range events {
		if ts := r["TimeGenerated"].(time.Time); ts.After(last) {
			last = ts
		}
	}
	env := &kqlEnv{now: last.Add(time.Minute), tables: map[string]*kqlTable{
		"AppEvents":                {cols: appEventCols, rows: events},
		"ApiManagementGatewayLogs": {cols: gatewayCols, rows: gateway},
	}}
	q := alertQuery(src, tc.knownAgents, filter)
	out, err := runKQL(q, env)
	if err != nil {
		return false, "", fmt.Errorf("rule %s: %w", tc.rule, err)
	}
	// The figure without the filter, for the failure message.
	fig, err := runKQL(alertQuery(src, tc.knownAgents, ""), env)
	if err != nil {
		return false, "", fmt.Errorf("rule %s without its filter: %w", tc.rule, err)
	}
	return len(out.rows) > 0, "figure:\n" + formatTable(fig), nil
}

var appEventCols = []string{"TimeGenerated", "Name", "OperationId", "AppRoleName", "SessionId", "Properties", "Measurements"}

var gatewayCols = []string{"TimeGenerated", "ApiId", "Url", "Method", "CorrelationId", "ResponseCode", "BackendResponseCode", "ResponseBody", "BackendResponseBody"}

// loadGolden reads kql/testdata/appevents.json as AppEvents rows.
func loadGolden(t *testing.T) []map[string]any {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("kql", "testdata", "appevents.json"))
	if err != nil {
		t.Fatalf("%v (written by: cd e2e && go test -run TestSLOEvidence -update .)", err)
	}
	var raw []struct {
		TimeGenerated, Name, OperationId, AppRoleName, SessionId string
		Properties                                               map[string]string
		Measurements                                             map[string]float64
	}
	if err := json.Unmarshal(b, &raw); err != nil {
		t.Fatalf("appevents.json: %v", err)
	}
	var rows []map[string]any
	for _, r := range raw {
		ts, err := time.Parse(time.RFC3339Nano, r.TimeGenerated)
		if err != nil {
			t.Fatalf("appevents.json: %v", err)
		}
		props := map[string]any{}
		for k, v := range r.Properties {
			props[k] = v
		}
		meas := map[string]any{}
		for k, v := range r.Measurements {
			meas[k] = v
		}
		rows = append(rows, map[string]any{"TimeGenerated": ts, "Name": r.Name, "OperationId": r.OperationId,
			"AppRoleName": r.AppRoleName, "SessionId": r.SessionId, "Properties": props, "Measurements": meas})
	}
	if len(rows) == 0 {
		t.Fatal("appevents.json holds no events")
	}
	return rows
}

func goldenFields(rows []map[string]any) []string {
	seen := map[string]bool{}
	for _, r := range rows {
		for k := range r["Properties"].(map[string]any) {
			seen[k] = true
		}
	}
	return slices.Sorted(maps.Keys(seen))
}

// gatewayRows derives the gateway's log rows for the calls that reached the
// server through it: one per audited, authenticated request, no bodies.
func gatewayRows(events []map[string]any) []map[string]any {
	var out []map[string]any
	for _, e := range events {
		if isRefusal(e) {
			continue
		}
		out = append(out, map[string]any{"TimeGenerated": e["TimeGenerated"], "ApiId": "snippets-mcp",
			"Url": "https://apim-x.azure-api.net/snippets/mcp", "Method": "POST", "CorrelationId": e["OperationId"],
			"ResponseCode": 200.0, "BackendResponseCode": 200.0, "ResponseBody": "", "BackendResponseBody": ""})
	}
	return out
}

func readSLO(t *testing.T, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(sloDir, name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func mustReplace(t *testing.T, s, old, new string) string {
	t.Helper()
	if strings.Count(s, old) != 1 {
		t.Fatalf("planting a mistake: %q occurs %d times, want once", old, strings.Count(s, old))
	}
	return strings.Replace(s, old, new, 1)
}

func boolIndex(b bool) int {
	if b {
		return 1
	}
	return 0
}

// ---- mutations ----

type rowPred func(map[string]any) bool

func prop(r map[string]any, k string) string {
	v, _ := r["Properties"].(map[string]any)[k].(string)
	return v
}

func all(map[string]any) bool { return true }

func isRefusal(r map[string]any) bool { return prop(r, "result_code") == "unauthenticated" }

func isTool(name string) rowPred {
	return func(r map[string]any) bool { return prop(r, "tool_name") == name }
}

func isDeleted(r map[string]any) bool {
	return prop(r, "tool_name") == "delete_snippet" && prop(r, "result_code") == "ok"
}

func cloneRows(rows []map[string]any) []map[string]any {
	out := make([]map[string]any, len(rows))
	for i, r := range rows {
		nr := copyRow(r)
		nr["Properties"] = maps.Clone(r["Properties"].(map[string]any))
		out[i] = nr
	}
	return out
}

func chain(fs ...func([]map[string]any) []map[string]any) func([]map[string]any) []map[string]any {
	return func(rows []map[string]any) []map[string]any {
		for _, f := range fs {
			rows = f(rows)
		}
		return rows
	}
}

func drop(p rowPred) func([]map[string]any) []map[string]any {
	return func(rows []map[string]any) []map[string]any {
		return slices.DeleteFunc(rows, p)
	}
}

// dropField removes the property k from the rows p matches.
func dropField(p rowPred, k string) func([]map[string]any) []map[string]any {
	return func(rows []map[string]any) []map[string]any {
		for _, r := range rows {
			if p(r) {
				delete(r["Properties"].(map[string]any), k)
			}
		}
		return rows
	}
}

func setWhere(p rowPred, k, v string) func([]map[string]any) []map[string]any {
	return func(rows []map[string]any) []map[string]any {
		for _, r := range rows {
			if p(r) {
				r["Properties"].(map[string]any)[k] = v
			}
		}
		return rows
	}
}

func setFirst(p rowPred, k, v string) func([]map[string]any) []map[string]any {
	return func(rows []map[string]any) []map[string]any {
		for _, r := range rows {
			if p(r) {
				r["Properties"].(map[string]any)[k] = v
				break
			}
		}
		return rows
	}
}

// addCopyOf appends n copies of the first row p matches, a second apart.
func addCopyOf(p rowPred, n int) func([]map[string]any) []map[string]any {
	return func(rows []map[string]any) []map[string]any {
		i := slices.IndexFunc(rows, p)
		if i < 0 {
			panic("addCopyOf: no row matches")
		}
		for k := 1; k <= n; k++ {
			c := cloneRows(rows[i : i+1])[0]
			c["TimeGenerated"] = c["TimeGenerated"].(time.Time).Add(time.Duration(k) * time.Second)
			c["OperationId"] = fmt.Sprintf("%032x", k)
			rows = append(rows, c)
		}
		return rows
	}
}

// scaleTo repeats the run's successful, non-refused calls until there are n
// events, as a busier hour of the same traffic would (refusals stay as they are).
func scaleTo(n int) func([]map[string]any) []map[string]any {
	return func(rows []map[string]any) []map[string]any {
		base := slices.DeleteFunc(cloneRows(rows), isRefusal)
		for k := 0; len(rows) < n; k++ {
			c := cloneRows(base[k%len(base) : k%len(base)+1])[0]
			c["TimeGenerated"] = c["TimeGenerated"].(time.Time).Add(time.Duration(k%50) * time.Second)
			c["OperationId"] = fmt.Sprintf("%032x", 1000+k)
			rows = append(rows, c)
		}
		return rows
	}
}

func addGateway401(n int) func([]map[string]any) []map[string]any {
	return func(rows []map[string]any) []map[string]any {
		ts := rows[0]["TimeGenerated"]
		for k := 0; k < n; k++ {
			rows = append(rows, map[string]any{"TimeGenerated": ts, "ApiId": "snippets-mcp",
				"Url": "https://apim-x.azure-api.net/snippets/mcp", "Method": "POST", "CorrelationId": fmt.Sprintf("gw-%d", k),
				"ResponseCode": 401.0, "BackendResponseCode": nil, "ResponseBody": "", "BackendResponseBody": ""})
		}
		return rows
	}
}

func setGatewayFirst(col, v string) func([]map[string]any) []map[string]any {
	return func(rows []map[string]any) []map[string]any {
		rows[0][col] = v
		return rows
	}
}

func addOtherAPIWithBody(rows []map[string]any) []map[string]any {
	return append(rows, map[string]any{"TimeGenerated": rows[0]["TimeGenerated"], "ApiId": "echo-api",
		"Url": "https://apim-x.azure-api.net/echo/resource", "Method": "GET", "CorrelationId": "other",
		"ResponseCode": 200.0, "BackendResponseCode": 200.0, "ResponseBody": "hello", "BackendResponseBody": "hello"})
}

// TestSLOWorkbookQueries runs the workbook's tiles as slo.bicep builds them
// (figure: the file over the range as one period; trend: the file per hour)
// over the e2e events: each yields rows with the breach column.
func TestSLOWorkbookQueries(t *testing.T) {
	t.Parallel()
	golden := loadGolden(t)
	bicep := readFileT(t, sloBicep)
	for _, want := range []string{
		"query: replace(replace(a.query, binLine, windowBinLine), knownAgentsLine, knownAgentsValue)",
		"query: replace(a.query, knownAgentsLine, knownAgentsValue)",
	} {
		if !strings.Contains(bicep, want) {
			t.Errorf("%s lacks the workbook query %s", sloBicep, want)
		}
	}
	env := &kqlEnv{tables: map[string]*kqlTable{
		"AppEvents":                {cols: appEventCols, rows: cloneRows(golden)},
		"ApiManagementGatewayLogs": {cols: gatewayCols, rows: gatewayRows(golden)},
	}}
	for _, r := range sloRules {
		src := readSLO(t, r.file)
		for tile, q := range map[string]string{
			"figure": alertQuery(src, []string{e2eAgent}, ""),
			"trend":  strings.Replace(src, knownAgentsLine, `let known_agents = dynamic(["`+e2eAgent+`"]);`, 1),
		} {
			t.Run(r.name+"/"+tile, func(t *testing.T) {
				out, err := runKQL(q, env)
				if err != nil {
					t.Fatal(err)
				}
				if len(out.rows) == 0 || !slices.Contains(out.cols, "breach") {
					t.Errorf("got %d rows, columns %v; want rows with a breach column", len(out.rows), out.cols)
				}
			})
		}
	}
}
