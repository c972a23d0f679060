package auth

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
)

// Class is what a tool does, which sets its default permission.
type Class string

const (
	ClassRead        Class = "read"
	ClassWrite       Class = "write"
	ClassDestructive Class = "destructive"
	ClassAdmin       Class = "admin"
)

// App roles and the delegated scope defined on the server's Entra app.
const (
	RoleRead    = "Snippets.Read"
	RoleWrite   = "Snippets.Write"
	RoleDelete  = "Snippets.Delete"
	RoleApprove = "Snippets.Approve"
	ScopeUser   = "user_impersonation"
)

// Rule says who may call one tool. A delegated caller (a signed-in user)
// needs one of Scopes (when set) and one of Roles (when set); an app-only
// caller needs one of AppRoles, and is refused when AppRoles is empty.
type Rule struct {
	Class    Class    `json:"class"`
	Scopes   []string `json:"scopes,omitempty"`
	Roles    []string `json:"roles,omitempty"`
	AppRoles []string `json:"appRoles,omitempty"`
	Deny     bool     `json:"deny,omitempty"`
}

// DefaultRule is the built-in rule of a tool class (see docs/SECURITY.md).
func DefaultRule(c Class) Rule {
	r := Rule{Class: c, Scopes: []string{ScopeUser}}
	switch c {
	case ClassRead:
		r.AppRoles = []string{RoleRead, RoleWrite}
	case ClassWrite:
		r.AppRoles = []string{RoleWrite}
	case ClassDestructive:
		r.Roles = []string{RoleDelete}
		r.AppRoles = []string{RoleDelete}
	case ClassAdmin:
		r.Roles = []string{RoleApprove}
		r.AppRoles = []string{RoleApprove}
	default:
		r.Deny = true
	}
	return r
}

// Policy holds one rule per tool. A tool without a rule is denied.
type Policy struct{ rules map[string]Rule }

// NewPolicy builds the default policy for the given tools and their
// classes, then applies the overrides in file (JSON; "" for none).
func NewPolicy(classes map[string]Class, file string) (*Policy, error) {
	p := &Policy{rules: make(map[string]Rule, len(classes))}
	for name, c := range classes {
		if !validClass(c) {
			return nil, fmt.Errorf("tool %q has unknown class %q", name, c)
		}
		p.rules[name] = DefaultRule(c)
	}
	if file == "" {
		return p, nil
	}
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, fmt.Errorf("MCP_TOOL_POLICY: %w", err)
	}
	var doc struct {
		Tools map[string]Rule `json:"tools"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return nil, fmt.Errorf("MCP_TOOL_POLICY: %s: %w", file, err)
	}
	for name, r := range doc.Tools {
		if _, ok := p.rules[name]; !ok {
			return nil, fmt.Errorf("MCP_TOOL_POLICY: %s: unknown tool %q (known: %v)", file, name, p.Tools())
		}
		if r.Class == "" {
			r.Class = p.rules[name].Class
		}
		if !validClass(r.Class) {
			return nil, fmt.Errorf("MCP_TOOL_POLICY: %s: tool %q: unknown class %q", file, name, r.Class)
		}
		p.rules[name] = r
	}
	return p, nil
}

func validClass(c Class) bool {
	return c == ClassRead || c == ClassWrite || c == ClassDestructive || c == ClassAdmin
}

// Tools lists the tools the policy knows, sorted.
func (p *Policy) Tools() []string {
	names := make([]string, 0, len(p.rules))
	for n := range p.rules {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Rule returns the rule of a tool.
func (p *Policy) Rule(tool string) (Rule, bool) {
	r, ok := p.rules[tool]
	return r, ok
}

// Allows reports whether id may call tool. Deny by default: no identity,
// no rule, or a rule marked deny all refuse.
func (p *Policy) Allows(id *Identity, tool string) bool {
	r, ok := p.rules[tool]
	if !ok || r.Deny || id == nil || id.TenantID == "" || id.ObjectID == "" {
		return false
	}
	if id.AppOnly {
		return anyOf(id.Roles, r.AppRoles)
	}
	return (len(r.Scopes) == 0 || anyOf(id.Scopes, r.Scopes)) &&
		(len(r.Roles) == 0 || anyOf(id.Roles, r.Roles))
}

func anyOf(have, want []string) bool {
	for _, w := range want {
		if slices.Contains(have, w) {
			return true
		}
	}
	return false
}
