package tools

import (
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"

	"github.com/snippets-mcp/server/internal/identity"
)

// TestStructuredOutputMatchesSchema calls every tool (but get_my_profile,
// whose output is checked in e2e/delegate_test.go) on its success paths
// and validates the structured content against the tool's output schema.
func TestStructuredOutputMatchesSchema(t *testing.T) {
	f := newFixture(t)
	s, _ := New(Options{Snippets: f.store})
	schemas := map[string]*jsonschema.Schema{}
	for name, sp := range s.tools {
		raw, err := json.Marshal(sp.spec.OutputSchema)
		if err != nil {
			t.Fatal(err)
		}
		doc, err := jsonschema.UnmarshalJSON(strings.NewReader(string(raw)))
		if err != nil {
			t.Fatal(err)
		}
		c := jsonschema.NewCompiler()
		if err := c.AddResource(name+".json", doc); err != nil {
			t.Fatal(err)
		}
		if schemas[name], err = c.Compile(name + ".json"); err != nil {
			t.Fatalf("%s: output schema does not compile: %v", name, err)
		}
	}
	// The schemas are strict enough to catch a wrong result.
	bad, _ := jsonschema.UnmarshalJSON(strings.NewReader(`{"name":1,"shared":"no"}`))
	if schemas["save_snippet"].Validate(bad) == nil {
		t.Fatal("save_snippet's output schema accepts a malformed result")
	}
	seen := map[string]bool{}
	call := func(who *identity.Identity, name string, args map[string]any) map[string]any {
		t.Helper()
		sc, isErr, text := f.tool(t, who, name, args)
		if isErr {
			t.Fatalf("%s: %s", name, text)
		}
		return validate(t, schemas, seen, name, sc)
	}
	call(alice, "save_snippet", map[string]any{"snippetname": "s1", "snippet": "x"})
	call(alice, "get_snippet", map[string]any{"snippetname": "s1"})
	call(alice, "list_snippets", nil)
	call(alice, "whoami", nil)
	id := call(alice, "delete_snippet", map[string]any{"snippetname": "s1"})["approvalId"].(string)
	call(bob, "list_approval_requests", nil)
	call(bob, "approve_request", map[string]any{"id": id})
	call(alice, "delete_snippet", map[string]any{"snippetname": "s1", "approval_id": id})
	call(alice, "save_snippet", map[string]any{"snippetname": "s2", "snippet": "x"})
	id2 := call(alice, "delete_snippet", map[string]any{"snippetname": "s2"})["approvalId"].(string)
	call(bob, "deny_request", map[string]any{"id": id2, "reason": "keep it"})
	call(bob, "list_agents", nil) // no inventory: the client apps seen, unlisted
	for name := range s.tools {
		if !seen[name] && name != "get_my_profile" {
			t.Errorf("%s: output not checked", name)
		}
	}
}

func validate(t *testing.T, schemas map[string]*jsonschema.Schema, seen map[string]bool, name string, sc map[string]any) map[string]any {
	t.Helper()
	b, _ := json.Marshal(sc)
	v, _ := jsonschema.UnmarshalJSON(strings.NewReader(string(b)))
	if err := schemas[name].Validate(v); err != nil {
		t.Errorf("%s: structured content does not match its output schema: %v\n%s", name, err, b)
	}
	seen[name] = true
	return sc
}

// Every schema gives each field one type: a list such as ["null","array"]
// is what MCP Inspector warns about as not portable.
func TestSchemasArePortable(t *testing.T) {
	s, _ := New(Options{})
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch x := v.(type) {
		case map[string]any:
			if _, isList := x["type"].([]any); isList {
				t.Errorf("%s: type %v, want one type", path, x["type"])
			}
			for k, sub := range x {
				walk(path+"."+k, sub)
			}
		case []any:
			for i, sub := range x {
				walk(fmt.Sprintf("%s[%d]", path, i), sub)
			}
		}
	}
	for name, sp := range s.tools {
		for kind, schema := range map[string]any{"output": sp.spec.OutputSchema, "input": sp.spec.InputSchema} {
			b, _ := json.Marshal(schema)
			var doc map[string]any
			if err := json.Unmarshal(b, &doc); err != nil {
				t.Fatal(err)
			}
			walk(name+" "+kind, doc)
		}
	}
}
