package infra

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

// evalTable is a small workspace for the evaluator's own tests.
func evalEnv() *kqlEnv {
	t0 := time.Date(2026, 12, 1, 10, 0, 0, 0, time.UTC)
	ev := func(min int, tool, code, latency string) map[string]any {
		return map[string]any{
			"TimeGenerated": t0.Add(time.Duration(min) * time.Minute),
			"Name":          "mcp.tool_call",
			"Properties":    map[string]any{"tool_name": tool, "result_code": code, "latency_ms": latency},
		}
	}
	return &kqlEnv{now: t0.Add(2 * time.Hour), tables: map[string]*kqlTable{
		"AppEvents": {cols: []string{"TimeGenerated", "Name", "Properties"}, rows: []map[string]any{
			ev(0, "get_snippet", "ok", "10"),
			ev(5, "get_snippet", "ok", "30"),
			ev(10, "save_snippet", "denied", "20"),
			ev(70, "list_snippets", "ok", "40"),
			ev(75, "", "unauthenticated", "0"),
		}},
	}}
}

// TestKQLEvaluator checks each construct of the evaluated subset on its own,
// against results worked out by hand from the Kusto documentation.
func TestKQLEvaluator(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		name, query string
		want        string // rows as "col=value ..." lines, in order
	}{
		{"where and extend", `AppEvents | extend code = tostring(Properties["result_code"]) | where code == "ok" | project tool = tostring(Properties.tool_name)`,
			"tool=get_snippet\ntool=get_snippet\ntool=list_snippets"},
		{"summarize count and countif by bin", `AppEvents | summarize n = count(), ok = countif(tostring(Properties["result_code"]) == "ok") by period = bin(TimeGenerated, 1h)`,
			"period=2026-12-01T10:00:00.0000000Z n=3 ok=2\nperiod=2026-12-01T11:00:00.0000000Z n=2 ok=1"},
		{"percentile is the nearest rank", `AppEvents | summarize p50 = percentile(todouble(Properties["latency_ms"]), 50), p95 = percentile(todouble(Properties["latency_ms"]), 95)`,
			"p50=20 p95=40"},
		{"dcount and dcountif", `AppEvents | summarize d = dcount(tostring(Properties.tool_name)), dok = dcountif(tostring(Properties.tool_name), tostring(Properties.result_code) == "ok")`,
			"d=4 dok=2"},
		{"summarize without by over no rows is one row", `AppEvents | where Name == "none" | summarize n = count(), s = sum(1)`, "n=0 s=0"},
		{"summarize by over no rows is no row", `AppEvents | where Name == "none" | summarize n = count() by Name`, ""},
		{"let scalar, dynamic and in", `let tools = dynamic(["save_snippet", "whoami"]); AppEvents | where tostring(Properties.tool_name) in (tools) | project c = tostring(Properties.result_code)`,
			"c=denied"},
		{"!in and case", `AppEvents | extend c = tostring(Properties.result_code) | where c !in ("ok") | project k = case(c == "denied", "policy", isempty(tostring(Properties.tool_name)), "auth", "other")`,
			"k=policy\nk=auth"},
		{"datatable and leftouter join renames the right key", `let classes = datatable(tool:string, class:string) ["get_snippet", "read", "save_snippet", "write",]; AppEvents | extend tool = tostring(Properties.tool_name) | join kind=leftouter (classes) on tool | project tool, tool1, class = coalesce(class, "none")`,
			"tool=get_snippet tool1=get_snippet class=read\ntool=get_snippet tool1=get_snippet class=read\ntool=save_snippet tool1=save_snippet class=write\ntool=list_snippets tool1=<null> class=none\ntool= tool1=<null> class=none"},
		{"inner join on $left and $right", `let classes = datatable(name:string, class:string) ["get_snippet", "read"]; AppEvents | extend tool = tostring(Properties.tool_name) | join kind=inner (classes) on $left.tool == $right.name | summarize n = count() by class`,
			"class=read n=2"},
		{"union isfuzzy skips a missing table", `let a = AppEvents | where tostring(Properties.result_code) == "denied" | project x = 1; union isfuzzy=true a, NoSuchTable | summarize n = count()`,
			"n=1"},
		{"extract, coalesce and arithmetic", `AppEvents | take 1 | project a = coalesce(toint(extract(@"\(\+([0-9]+) more", 1, "x (+7 more)")), 0) + 1, b = coalesce(toint(extract("([0-9]+)", 1, "none")), 0), c = round(100.0 * 2 / 3, 2)`,
			"a=8 b=0 c=66.67"},
		{"iff, not, contains and =~", `AppEvents | take 1 | project a = iff(not("Get" =~ "get"), 1, 2), b = "Snippets/MCP" contains "/mcp", c = "abc" !contains "B"`,
			"a=2 b=true c=false"},
		{"null compares false, isnull", `AppEvents | take 1 | extend n = toint("") | project lt = n < 1, eq = n == 1, isn = isnull(n), s = tostring(n)`,
			"lt=false eq=false isn=true s="},
		{"ago and datetime arithmetic", `AppEvents | where TimeGenerated > ago(1h) | summarize n = count()`, "n=2"},
		{"order by desc and take", `AppEvents | extend l = todouble(Properties.latency_ms) | order by l desc | take 2 | project l`, "l=40\nl=30"},
		{"startswith", `AppEvents | where tostring(Properties.tool_name) startswith "get" | summarize n = count()`, "n=2"},
		{"make_set is distinct and skips empty strings", `AppEvents | summarize tools = make_set(tostring(Properties.tool_name))`,
			`tools=["get_snippet","save_snippet","list_snippets"]`},
		{"make_set keeps at most maxSize values", `AppEvents | summarize tools = make_set(tostring(Properties.tool_name), 2)`,
			`tools=["get_snippet","save_snippet"]`},
		{"make_set skips nulls and keeps numbers", `AppEvents | summarize none = make_set(toint(Properties.missing)), ms = make_set(toint(Properties.latency_ms))`,
			`none=[] ms=[10,30,20,40,0]`},
		{"make_set over no rows is an empty array", `AppEvents | where Name == "none" | summarize s = make_set(Name)`, `s=[]`},
		{"summarize by several keys", `AppEvents | summarize n = count(), tools = make_set(tostring(Properties.tool_name)) by code = tostring(Properties.result_code), hour = bin(TimeGenerated, 1h)`,
			"code=ok hour=2026-12-01T10:00:00.0000000Z n=2 tools=[\"get_snippet\"]\n" +
				"code=denied hour=2026-12-01T10:00:00.0000000Z n=1 tools=[\"save_snippet\"]\n" +
				"code=ok hour=2026-12-01T11:00:00.0000000Z n=1 tools=[\"list_snippets\"]\n" +
				"code=unauthenticated hour=2026-12-01T11:00:00.0000000Z n=1 tools=[]"},
		{"min and max of datetimes", `AppEvents | summarize first = min(TimeGenerated), last = max(TimeGenerated) by code = tostring(Properties.result_code)`,
			"code=ok first=2026-12-01T10:00:00.0000000Z last=2026-12-01T11:10:00.0000000Z\n" +
				"code=denied first=2026-12-01T10:10:00.0000000Z last=2026-12-01T10:10:00.0000000Z\n" +
				"code=unauthenticated first=2026-12-01T11:15:00.0000000Z last=2026-12-01T11:15:00.0000000Z"},
		{"min of datetimes over no rows is null", `AppEvents | where Name == "none" | summarize first = min(TimeGenerated)`, "first=<null>"},
		{"order by several keys, asc then desc", `AppEvents | extend code = tostring(Properties.result_code), l = todouble(Properties.latency_ms) | order by code asc, l desc | project code, l`,
			"code=denied l=20\ncode=ok l=40\ncode=ok l=30\ncode=ok l=10\ncode=unauthenticated l=0"},
		{"order by is desc unless told asc, key by key", `AppEvents | extend code = tostring(Properties.result_code), l = todouble(Properties.latency_ms) | sort by code, l asc | project code, l`,
			"code=unauthenticated l=0\ncode=ok l=10\ncode=ok l=30\ncode=ok l=40\ncode=denied l=20"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := runKQL(tc.query, evalEnv())
			if err != nil {
				t.Fatalf("runKQL: %v", err)
			}
			if s := formatTable(got); s != tc.want {
				t.Errorf("got\n%s\nwant\n%s", s, tc.want)
			}
		})
	}
}

// TestKQLEvaluatorRefuses: a construct outside the subset is an error, never a guess.
func TestKQLEvaluatorRefuses(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, query, want string }{
		{"unknown operator", `AppEvents | mv-expand Properties`, "not in the evaluated subset"},
		{"default join kind", `AppEvents | join (AppEvents) on Name`, "innerunique"},
		{"unknown function", `AppEvents | extend x = parse_json("{}")`, "parse_json is not in the evaluated subset"},
		{"unknown column", `AppEvents | where Nmae == "x"`, "no column or scalar named Nmae"},
		{"missing table", `NoSuchTable | take 1`, "no such table"},
		{"type mismatch", `AppEvents | where Name == 1`, "== between string and float64"},
		{"aggregation outside summarize", `AppEvents | extend n = count()`, "outside summarize"},
		{"trailing text", `AppEvents | take 1 )`, "unexpected text"},
		{"make_set maxSize zero", `AppEvents | summarize s = make_set(Name, 0)`, "maxSize must be a positive whole number"},
		{"make_set of a dynamic value", `AppEvents | summarize s = make_set(Properties)`, "make_set of a dynamic"},
		{"min over datetimes and numbers", `AppEvents | summarize m = min(iff(tostring(Properties.result_code) == "ok", TimeGenerated, todouble(1)))`, "min over datetimes and numbers"},
		{"order by an unknown column", `AppEvents | order by Name asc, calls desc`, "order by: no column named calls"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			_, err := runKQL(tc.query, evalEnv())
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Errorf("error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// formatTable prints rows as "col=value" lines in column order.
func formatTable(t *kqlTable) string {
	var lines []string
	for _, r := range t.rows {
		var cells []string
		for _, c := range t.cols {
			v, ok := r[c]
			s := toString(v)
			if !ok || v == nil {
				s = "<null>"
			}
			cells = append(cells, fmt.Sprintf("%s=%s", c, s))
		}
		lines = append(lines, strings.Join(cells, " "))
	}
	return strings.Join(lines, "\n")
}
