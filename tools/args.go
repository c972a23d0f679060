package tools

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"unicode/utf8"

	"github.com/mark3labs/mcp-go/mcp"
)

// argCheck validates one call's arguments and says, in words, what is
// wrong ("" when nothing is). mcp-go's own validator reports Go structs
// ("&{Got:number Want:[string]}"), which is no message for a person.
type argCheck func(raw any) string

// compileArgs builds the argument check of a tool from its input schema,
// once, when the tool is registered: the property rules are read out of
// the schema's maps here, not on every call. Only the schema features the
// tools use are checked: required, type, minLength/maxLength,
// minimum/maximum, and no unknown properties.
func compileArgs(t mcp.Tool) argCheck {
	props := make(map[string]valueCheck, len(t.InputSchema.Properties))
	for name, p := range t.InputSchema.Properties {
		if m, ok := p.(map[string]any); ok {
			props[name] = compileValue(name, m)
		}
	}
	required := t.InputSchema.Required
	takes := known(props)
	unknown := func(name string) string {
		return fmt.Sprintf("unknown argument %q; %s takes: %s", name, t.Name, takes)
	}
	return func(raw any) string {
		var args map[string]any
		switch v := raw.(type) {
		case nil:
		case map[string]any:
			args = v
		default:
			return "arguments must be a JSON object"
		}
		names := make([]string, 0, len(args))
		for name := range args {
			names = append(names, name)
		}
		sort.Strings(names)
		// Unknown names first: a misspelt argument ("name" for "snippetname")
		// is the cause, the missing one only its consequence.
		for _, name := range names {
			if _, ok := props[name]; !ok {
				return unknown(name)
			}
		}
		for _, name := range required {
			if v, ok := args[name]; !ok || v == nil {
				return fmt.Sprintf("missing required argument %q", name)
			}
		}
		for _, name := range names {
			if msg := props[name](args[name]); msg != "" {
				return msg
			}
		}
		return ""
	}
}

// valueCheck validates one argument's value.
type valueCheck func(v any) string

func compileValue(name string, p map[string]any) valueCheck {
	want, _ := p["type"].(string)
	switch want {
	case "string":
		min, hasMin := number(p["minLength"])
		max, hasMax := number(p["maxLength"])
		return func(v any) string {
			s, ok := v.(string)
			if !ok {
				return fmt.Sprintf("argument %q must be a string, not %s", name, jsonType(v))
			}
			n := utf8.RuneCountInString(s)
			if hasMin && float64(n) < min {
				return fmt.Sprintf("argument %q must not be empty", name)
			}
			if hasMax && float64(n) > max {
				return fmt.Sprintf("argument %q is %d characters; at most %d are allowed", name, n, int(max))
			}
			return ""
		}
	case "boolean":
		return func(v any) string {
			if _, ok := v.(bool); !ok {
				return fmt.Sprintf("argument %q must be true or false, not %s", name, jsonType(v))
			}
			return ""
		}
	case "integer", "number":
		article := map[bool]string{true: "n"}[want == "integer"]
		min, hasMin := number(p["minimum"])
		max, hasMax := number(p["maximum"])
		return func(v any) string {
			f, ok := v.(float64)
			if !ok || want == "integer" && f != math.Trunc(f) {
				return fmt.Sprintf("argument %q must be a%s %s, not %s", name, article, want, jsonType(v))
			}
			if hasMin && f < min || hasMax && f > max {
				return fmt.Sprintf("argument %q must be between %v and %v", name, min, max)
			}
			return ""
		}
	}
	return func(any) string { return "" }
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

func known(props map[string]valueCheck) string {
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
