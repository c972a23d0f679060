package tools

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
)

// checkArgs validates tool arguments against the tool's input schema and
// says, in words, what is wrong. mcp-go's own validator reports Go structs
// ("&{Got:number Want:[string]}"), which is no message for a person.
// Only the schema features the tools use are checked: required, type,
// minLength/maxLength, minimum/maximum, and no unknown properties.
func checkArgs(t mcp.Tool, raw any) string {
	var args map[string]any
	switch v := raw.(type) {
	case nil:
	case map[string]any:
		args = v
	default:
		return "arguments must be a JSON object"
	}
	props := t.InputSchema.Properties
	names := make([]string, 0, len(args))
	for name := range args {
		names = append(names, name)
	}
	sort.Strings(names)
	// Unknown names first: a misspelt argument ("name" for "snippetname")
	// is the cause, the missing one only its consequence.
	for _, name := range names {
		if _, ok := props[name].(map[string]any); !ok {
			return fmt.Sprintf("unknown argument %q; %s takes: %s", name, t.Name, known(props))
		}
	}
	for _, name := range t.InputSchema.Required {
		if v, ok := args[name]; !ok || v == nil {
			return fmt.Sprintf("missing required argument %q", name)
		}
	}
	for _, name := range names {
		if msg := checkValue(name, props[name].(map[string]any), args[name]); msg != "" {
			return msg
		}
	}
	return ""
}

func checkValue(name string, p map[string]any, v any) string {
	want, _ := p["type"].(string)
	switch want {
	case "string":
		s, ok := v.(string)
		if !ok {
			return fmt.Sprintf("argument %q must be a string, not %s", name, jsonType(v))
		}
		n := utf8.RuneCountInString(s)
		if min, ok := number(p["minLength"]); ok && float64(n) < min {
			return fmt.Sprintf("argument %q must not be empty", name)
		}
		if max, ok := number(p["maxLength"]); ok && float64(n) > max {
			return fmt.Sprintf("argument %q is %d characters; at most %d are allowed", name, n, int(max))
		}
	case "boolean":
		if _, ok := v.(bool); !ok {
			return fmt.Sprintf("argument %q must be true or false, not %s", name, jsonType(v))
		}
	case "integer", "number":
		f, ok := v.(float64)
		if !ok || want == "integer" && f != math.Trunc(f) {
			return fmt.Sprintf("argument %q must be a%s %s, not %s", name, map[bool]string{true: "n"}[want == "integer"], want, jsonType(v))
		}
		min, hasMin := number(p["minimum"])
		max, hasMax := number(p["maximum"])
		if hasMin && f < min || hasMax && f > max {
			return fmt.Sprintf("argument %q must be between %v and %v", name, min, max)
		}
	}
	return ""
}

func number(v any) (float64, bool) {
	switch n := v.(type) {
	case int:
		return float64(n), true
	case float64:
		return n, true
	}
	return 0, false
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case string:
		return "a string"
	case bool:
		return "a boolean"
	case float64:
		if x == math.Trunc(x) {
			return "an integer"
		}
		return "a number"
	case []any:
		return "an array"
	case map[string]any:
		return "an object"
	}
	return fmt.Sprintf("%T", v)
}

func known(props map[string]any) string {
	if len(props) == 0 {
		return "no arguments"
	}
	names := make([]string, 0, len(props))
	for n := range props {
		names = append(names, n)
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}
