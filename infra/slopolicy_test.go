package infra

import (
	"fmt"
	"maps"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	sitter "github.com/tree-sitter/go-tree-sitter"
)

// The body-logging guardrail (modules/slo-policy.bicep), evaluated offline:
// its policyRule, read from the Bicep, decides on the project's own API
// Management diagnostics (all compliant) and on mutated copies. Azure Policy
// itself is not run: the evaluator below knows the conditions the rule uses
// (allOf, anyOf, field with equals and greater, value with in) and the two
// template expressions in it; that the aliases exist in Azure is not
// checkable here (docs/SLO.md).

const sloPolicyBicep = "modules/slo-policy.bicep"

// bicepValue converts a literal Bicep expression to Go values: objects,
// arrays, strings (interpolating `var` strings), numbers, booleans, and
// identifiers naming a `var` or a `param` default. Anything else is kept as
// its source text in angle brackets.
func bicepValue(f *bicepFile, n *sitter.Node) any {
	switch n.Kind() {
	case "object":
		m := map[string]any{}
		for i := uint(0); i < n.NamedChildCount(); i++ {
			p := n.NamedChild(i)
			if p.Kind() != "object_property" || p.NamedChildCount() < 2 {
				continue
			}
			m[f.literal(p.NamedChild(0))] = bicepValue(f, p.NamedChild(p.NamedChildCount()-1))
		}
		return m
	case "array":
		out := []any{}
		for i := uint(0); i < n.NamedChildCount(); i++ {
			if c := n.NamedChild(i); c.Kind() != "comment" {
				out = append(out, bicepValue(f, c))
			}
		}
		return out
	case "string":
		s := f.literal(n)
		return interpolation.ReplaceAllStringFunc(s, func(m string) string {
			v, _ := bicepDecl(f, "variable_declaration", m[2:len(m)-1]).(string)
			return v
		})
	case "number":
		v, err := strconv.ParseFloat(f.text(n), 64)
		if err != nil {
			return "<" + f.text(n) + ">"
		}
		return v
	case "boolean":
		return f.text(n) == "true"
	case "identifier":
		if v := bicepDecl(f, "variable_declaration", f.text(n)); v != nil {
			return v
		}
		if v := bicepDecl(f, "parameter_declaration", f.text(n)); v != nil {
			return v
		}
	}
	return "<" + f.text(n) + ">"
}

var interpolation = regexp.MustCompile(`\$\{[A-Za-z_][A-Za-z0-9_]*\}`)

// bicepDecl returns the value of a top-level `var name = ...` or the default
// of `param name type = ...`, nil when there is none.
func bicepDecl(f *bicepFile, kind, name string) any {
	root := f.root()
	for i := uint(0); i < root.NamedChildCount(); i++ {
		c := root.NamedChild(i)
		if c.Kind() != kind || c.NamedChildCount() < 2 || f.text(c.NamedChild(0)) != name {
			continue
		}
		last := c.NamedChild(c.NamedChildCount() - 1)
		if kind == "parameter_declaration" && c.NamedChildCount() < 3 {
			return nil // no default
		}
		return bicepValue(f, last)
	}
	return nil
}

// guardrailDoc is a policy definition's properties as Bicep declares them.
type guardrailDoc struct {
	rule   map[string]any
	params map[string]any // name -> defaultValue
}

func loadPolicy(t *testing.T, src string) guardrailDoc {
	t.Helper()
	f, problems, err := parseBicepSource(t, sloPolicyBicep, src)
	if err != nil || len(problems) > 0 {
		t.Fatalf("%s: %v %v", sloPolicyBicep, err, problems)
	}
	for _, r := range f.resources() {
		if r.typ != "Microsoft.Authorization/policyDefinitions" {
			continue
		}
		props, _ := bicepValue(f, r.body).(map[string]any)["properties"].(map[string]any)
		rule, _ := props["policyRule"].(map[string]any)
		params := map[string]any{}
		for name, p := range asMap(props["parameters"]) {
			params[name] = asMap(p)["defaultValue"]
		}
		return guardrailDoc{rule: rule, params: params}
	}
	t.Fatalf("%s declares no policy definition", sloPolicyBicep)
	return guardrailDoc{}
}

// parseBicepSource parses src as if it were the file at path.
func parseBicepSource(t *testing.T, path, src string) (*bicepFile, []string, error) {
	t.Helper()
	dir := t.TempDir()
	p := dir + "/" + strings.ReplaceAll(path, "/", "_")
	writeFile(t, p, []byte(src))
	f, problems, err := parseBicep(p)
	if f != nil {
		t.Cleanup(f.close)
	}
	return f, problems, err
}

func asMap(v any) map[string]any {
	m, _ := v.(map[string]any)
	return m
}

// armResource is a resource as Azure Policy sees it.
type armResource struct {
	typ, id, name string
	properties    map[string]any
}

// policyMatches evaluates a policy rule's `if` on r.
func policyMatches(doc guardrailDoc, r armResource) (bool, error) {
	return evalCondition(doc, asMap(doc.rule["if"]), r)
}

func evalCondition(doc guardrailDoc, c map[string]any, r armResource) (bool, error) {
	if all, ok := c["allOf"].([]any); ok {
		for _, x := range all {
			ok, err := evalCondition(doc, asMap(x), r)
			if err != nil || !ok {
				return false, err
			}
		}
		return true, nil
	}
	if any_, ok := c["anyOf"].([]any); ok {
		for _, x := range any_ {
			ok, err := evalCondition(doc, asMap(x), r)
			if err != nil || ok {
				return ok, err
			}
		}
		return false, nil
	}
	var subject any
	switch {
	case c["field"] != nil:
		subject = policyField(r, c["field"].(string))
	case c["value"] != nil:
		v, err := policyExpr(doc, r, c["value"])
		if err != nil {
			return false, err
		}
		subject = v
	default:
		return false, fmt.Errorf("condition %v: want allOf, anyOf, field or value", c)
	}
	switch {
	case c["equals"] != nil:
		return strings.EqualFold(fmt.Sprint(subject), fmt.Sprint(c["equals"])), nil
	case c["greater"] != nil:
		a, aok := subject.(float64)
		b, bok := c["greater"].(float64)
		return aok && bok && a > b, nil
	case c["in"] != nil:
		list, err := policyExpr(doc, r, c["in"])
		if err != nil {
			return false, err
		}
		items, _ := list.([]any)
		return slices.ContainsFunc(items, func(x any) bool { return strings.EqualFold(fmt.Sprint(x), fmt.Sprint(subject)) }), nil
	}
	return false, fmt.Errorf("condition %v: operator not in the evaluated subset (equals, greater, in)", c)
}

// policyField reads type, id, name or an alias (<type>/<property path>).
func policyField(r armResource, field string) any {
	switch field {
	case "type":
		return r.typ
	case "id":
		return r.id
	case "name":
		return r.name
	}
	path, ok := strings.CutPrefix(field, r.typ+"/")
	if !ok {
		return nil // an alias of another type reads as absent
	}
	var v any = r.properties
	for _, k := range strings.Split(path, ".") {
		v = asMap(v)[k]
	}
	return v
}

var (
	splitField = regexp.MustCompile(`^\[split\(field\('(id|name|type)'\), '(.)'\)\[(\d+)\]\]$`)
	paramRef   = regexp.MustCompile(`^\[parameters\('([A-Za-z]+)'\)\]$`)
)

// policyExpr evaluates the template expressions the rule uses; other values are literals.
func policyExpr(doc guardrailDoc, r armResource, v any) (any, error) {
	s, ok := v.(string)
	if !ok || !strings.HasPrefix(s, "[") {
		return v, nil
	}
	if m := splitField.FindStringSubmatch(s); m != nil {
		parts := strings.Split(fmt.Sprint(policyField(r, m[1])), m[2])
		i, _ := strconv.Atoi(m[3])
		if i >= len(parts) {
			return "", nil
		}
		return parts[i], nil
	}
	if m := paramRef.FindStringSubmatch(s); m != nil {
		p, ok := doc.params[m[1]]
		if !ok {
			return nil, fmt.Errorf("parameter %s is not declared", m[1])
		}
		return p, nil
	}
	return nil, fmt.Errorf("expression %s is not in the evaluated subset", s)
}

// projectDiagnostics are the project's own API Management diagnostics, as
// Azure would see them once deployed.
func projectDiagnostics(t *testing.T) []armResource {
	t.Helper()
	const svc = "/subscriptions/s/resourceGroups/rg/providers/Microsoft.ApiManagement/service/apim-x"
	var out []armResource
	for _, d := range []struct{ file, symbol, api string }{
		{"modules/apim.bicep", "diagnostics", ""},
		{"modules/apim-mcp.bicep", "mcpDiagnostics", "snippets-mcp"},
		{"modules/apim-mcp.bicep", "prmDiagnostics", "snippets-mcp-prm"},
	} {
		f, problems, err := parseBicep(d.file)
		if err != nil || len(problems) > 0 {
			t.Fatalf("%s: %v %v", d.file, err, problems)
		}
		t.Cleanup(f.close)
		found := false
		for _, r := range f.resources() {
			if r.symbol != d.symbol {
				continue
			}
			found = true
			body := asMap(bicepValue(f, r.body))
			name, _ := body["name"].(string)
			ar := armResource{typ: r.typ, name: name, properties: asMap(body["properties"])}
			ar.id = svc + "/diagnostics/" + name
			if d.api != "" {
				ar.id = svc + "/apis/" + d.api + "/diagnostics/" + name
			}
			out = append(out, ar)
		}
		if !found {
			t.Fatalf("%s has no resource %s", d.file, d.symbol)
		}
	}
	return out
}

// withBody returns a copy of r logging n bytes of the body at side (frontend|backend).(request|response).
func withBody(r armResource, side string, n float64) armResource {
	c := r
	c.properties = deepCopy(r.properties).(map[string]any)
	a, b, _ := strings.Cut(side, ".")
	asMap(asMap(asMap(c.properties[a])[b])["body"])["bytes"] = n
	return c
}

func deepCopy(v any) any {
	switch v := v.(type) {
	case map[string]any:
		m := maps.Clone(v)
		for k, x := range m {
			m[k] = deepCopy(x)
		}
		return m
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = deepCopy(x)
		}
		return out
	}
	return v
}

type policyCase struct {
	name    string
	r       func([]armResource) armResource
	matches bool
}

func policyCases() []policyCase {
	svc := func(d []armResource) armResource { return d[0] }
	mcp := func(d []armResource) armResource { return d[1] }
	other := func(d []armResource) armResource {
		c := d[1]
		c.id = strings.Replace(c.id, "/apis/snippets-mcp/", "/apis/echo-api/", 1)
		return withBody(c, "frontend.response", 1024)
	}
	return []policyCase{
		{"the service diagnostic as deployed is compliant", svc, false},
		{"the MCP API diagnostic as deployed is compliant", mcp, false},
		{"the PRM API diagnostic as deployed is compliant", func(d []armResource) armResource { return d[2] }, false},
		{"service-wide frontend response body", func(d []armResource) armResource { return withBody(d[0], "frontend.response", 1024) }, true},
		{"service-wide backend response body", func(d []armResource) armResource { return withBody(d[0], "backend.response", 8192) }, true},
		{"MCP API frontend response body", func(d []armResource) armResource { return withBody(d[1], "frontend.response", 1) }, true},
		{"MCP API backend response body", func(d []armResource) armResource { return withBody(d[1], "backend.response", 1) }, true},
		{"PRM API frontend response body", func(d []armResource) armResource { return withBody(d[2], "frontend.response", 1) }, true},
		{"a request body only is left to other rules", func(d []armResource) armResource { return withBody(d[1], "frontend.request", 1024) }, false},
		{"another API's response body is not the MCP API's", other, false},
	}
}

// TestSLOPolicy: the guardrail flags exactly the diagnostics that would log
// MCP response bodies, and its effect can deny.
func TestSLOPolicy(t *testing.T) {
	t.Parallel()
	src := readFileT(t, sloPolicyBicep)
	doc := loadPolicy(t, src)
	diags := projectDiagnostics(t)
	for _, tc := range policyCases() {
		t.Run(tc.name, func(t *testing.T) {
			got, err := policyMatches(doc, tc.r(diags))
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.matches {
				t.Errorf("policy matches %v, want %v", got, tc.matches)
			}
		})
	}
	t.Run("effect", func(t *testing.T) {
		if got := asMap(doc.rule["then"])["effect"]; got != "[parameters('effect')]" {
			t.Errorf("then.effect %v, want [parameters('effect')]", got)
		}
		if doc.params["effect"] != "Audit" {
			t.Errorf("effect default %v, want Audit", doc.params["effect"])
		}
		if !strings.Contains(src, "'Deny'") || !strings.Contains(src, "description: 'Why: ") {
			t.Error("the definition must allow Deny and give its reason in the description")
		}
	})
}

// TestSLOPolicyFixtures: the cases fail on planted mistakes in the rule.
func TestSLOPolicyFixtures(t *testing.T) {
	t.Parallel()
	src := readFileT(t, sloPolicyBicep)
	diags := projectDiagnostics(t)
	for _, tc := range []struct{ name, old, new string }{
		{"backend bodies ignored", "{\n                    field: '${api}/backend.response.body.bytes'\n                    greater: 0\n                  }", "{\n                    field: '${api}/frontend.request.body.bytes'\n                    greater: 1000000\n                  }"},
		{"wrong id segment", `split(field(\'id\'), \'/\')[10]`, `split(field(\'id\'), \'/\')[9]`},
		{"service scope forgotten", "equals: service", "equals: 'Microsoft.ApiManagement/service/nothing'"},
		{"request instead of response", "'${api}/frontend.response.body.bytes'", "'${api}/frontend.request.body.bytes'"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			doc := loadPolicy(t, mustReplace(t, src, tc.old, tc.new))
			failed := 0
			for _, c := range policyCases() {
				got, err := policyMatches(doc, c.r(diags))
				if err != nil || got != c.matches {
					failed++
				}
			}
			if failed == 0 {
				t.Errorf("every policy case passed with the planted mistake")
			}
		})
	}
}

func readFileT(t *testing.T, path string) string {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}
