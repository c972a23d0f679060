package policy

import (
	"fmt"
	"strconv"
	"strings"
)

// CompileToolPolicy turns the legacy JSON policy document (MCP_TOOL_POLICY,
// docs/SECURITY.md) into Cedar forbid rules, one per tool it changes. The
// document is read and checked by New exactly as before (the same errors
// for the same mistakes); a tightened rule R becomes
//
//	forbid (principal, action == Action::"call", resource == Tool::"t")
//	unless { R holds };
//
// and "deny": true an unconditional forbid. Forbids only remove access, so
// the compiled rules can never loosen the default policy.
func CompileToolPolicy(tools map[string]Tool, doc []byte) (string, error) {
	classes := make(map[string]Class, len(tools))
	for n, t := range tools {
		classes[n] = t.Class
	}
	p, err := New(classes, doc)
	if err != nil {
		return "", err
	}
	var b strings.Builder
	b.WriteString("// Compiled from MCP_TOOL_POLICY (JSON): one forbid per tool it tightens.\n")
	for _, name := range p.Tools() {
		r := p.rules[name]
		if !r.FromFile {
			continue
		}
		fmt.Fprintf(&b, "\n// %s\n@id(%s)\nforbid (principal, action == Action::\"call\", resource == Tool::%s)",
			r.String(), strconv.Quote("tool-policy-"+name), strconv.Quote(name))
		if r.Deny {
			b.WriteString(";\n")
			continue
		}
		fmt.Fprintf(&b, "\nunless { %s };\n", r.cedar())
	}
	return b.String(), nil
}

// cedar is the condition under which r lets a caller call the tool.
func (r Rule) cedar() string {
	user := append([]string{"!principal.app_only"}, groups("scopes", r.Scopes)...)
	user = append(user, groups("roles", r.Roles)...)
	app := "false"
	if len(r.AppRoles) > 0 {
		app = strings.Join(append([]string{"principal.app_only"}, groups("roles", r.AppRoles)...), " && ")
	}
	return "(" + strings.Join(user, " && ") + ") || (" + app + ")"
}

// groups renders requirements (hold one name of each) as containsAny calls.
func groups(attr string, reqs [][]string) []string {
	out := make([]string, 0, len(reqs))
	for _, oneOf := range reqs {
		q := make([]string, len(oneOf))
		for i, n := range oneOf {
			q[i] = strconv.Quote(n)
		}
		out = append(out, "principal."+attr+".containsAny(["+strings.Join(q, ", ")+"])")
	}
	return out
}
