// Package policy decides which tools a caller may use: one rule per tool,
// from the tool's class, optionally tightened (never loosened) by an
// operator's policy document. It is the only place such decisions are made,
// and knows nothing of how the identity was established.
package policy

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"slices"
	"sort"
	"strings"

	"github.com/snippets-mcp/server/internal/identity"
)

// Class is what a tool does, which sets its default permission.
type Class string

const (
	ClassRead        Class = "read"
	ClassWrite       Class = "write"
	ClassDestructive Class = "destructive"
	ClassAdmin       Class = "admin"
)

// classRank orders the classes from least to most strict. A policy entry may
// only move a tool up, and then the tool needs both classes' defaults.
var classRank = map[Class]int{ClassRead: 0, ClassWrite: 1, ClassDestructive: 2, ClassAdmin: 3}

// The names a policy file may use; anything else is a typo that would
// otherwise lock callers out (or be taken for a permission nobody holds).
var (
	knownRoles  = []string{identity.RoleRead, identity.RoleWrite, identity.RoleDelete, identity.RoleApprove}
	knownScopes = []string{identity.ScopeUser}
)

// Rule says who may call one tool. Each requirement is a list of names of
// which the caller must hold at least one, and every requirement must hold:
// a delegated caller (a signed-in user) all of Scopes and all of Roles; an
// app-only caller all of AppRoles, and is refused when AppRoles is empty.
type Rule struct {
	Class    Class
	Scopes   [][]string
	Roles    [][]string
	AppRoles [][]string
	Deny     bool
	FromFile bool // MCP_TOOL_POLICY changed this rule
}

// DefaultRule is the built-in rule of a tool class (see docs/SECURITY.md).
func DefaultRule(c Class) Rule {
	r := Rule{Class: c, Scopes: [][]string{{identity.ScopeUser}}}
	switch c {
	case ClassRead:
		r.AppRoles = [][]string{{identity.RoleRead, identity.RoleWrite}}
	case ClassWrite:
		r.AppRoles = [][]string{{identity.RoleWrite}}
	case ClassDestructive:
		r.Roles = [][]string{{identity.RoleDelete}}
		r.AppRoles = [][]string{{identity.RoleDelete}}
	case ClassAdmin:
		r.Roles = [][]string{{identity.RoleApprove}}
		r.AppRoles = [][]string{{identity.RoleApprove}}
	default:
		r.Deny = true
	}
	return r
}

// entry is one tool's object in the policy file.
type entry struct {
	Class    Class    `json:"class"`
	Scopes   []string `json:"scopes"`
	Roles    []string `json:"roles"`
	AppRoles []string `json:"appRoles"`
	Deny     bool     `json:"deny"`
}

// Policy holds one rule per tool. A tool without a rule is denied.
type Policy struct{ rules map[string]Rule }

// New builds the default policy for the given tools and their classes,
// then applies the entries of overrides, a JSON policy document (nil for
// none; see docs/SECURITY.md). The caller reads the document, so the error
// names neither a file nor a variable.
//
// An entry can only tighten the tool's default rule, never replace it: each
// of scopes, roles and appRoles is one more requirement (hold one of the
// listed names) on top of the default ones; deny hides the tool; class may
// name the tool's class or a stricter one (read < write < destructive <
// admin), and then that class's default requirements are added too. Unknown
// tools, classes, fields, role or scope names, empty lists, repeated keys,
// looser classes and entries that add nothing stop the server at start.
func New(classes map[string]Class, overrides []byte) (*Policy, error) {
	p := &Policy{rules: make(map[string]Rule, len(classes))}
	for name, c := range classes {
		if !validClass(c) {
			return nil, fmt.Errorf("tool %q has unknown class %q", name, c)
		}
		p.rules[name] = DefaultRule(c)
	}
	if overrides == nil {
		return p, nil
	}
	if err := p.apply(overrides); err != nil {
		return nil, err
	}
	return p, nil
}

// apply merges the entries of a policy document into p.
func (p *Policy) apply(data []byte) error {
	if err := checkKeys(data); err != nil {
		return err
	}
	var doc struct {
		Tools map[string]entry `json:"tools"`
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&doc); err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	names := make([]string, 0, len(doc.Tools))
	for name := range doc.Tools {
		names = append(names, name)
	}
	sort.Strings(names) // the same file always reports the same first error
	for _, name := range names {
		r, ok := p.rules[name]
		if !ok {
			return fmt.Errorf("unknown tool %q (known: %v)", name, p.Tools())
		}
		merged, err := r.tighten(doc.Tools[name])
		if err != nil {
			return fmt.Errorf("tool %q: %w", name, err)
		}
		p.rules[name] = merged
	}
	return nil
}

// tighten returns r with the entry's requirements added.
func (r Rule) tighten(e entry) (Rule, error) {
	before := r.String()
	if e.Class != "" && e.Class != r.Class {
		switch {
		case !validClass(e.Class):
			return r, fmt.Errorf("unknown class %q", e.Class)
		case classRank[e.Class] < classRank[r.Class]:
			return r, fmt.Errorf("class %q is looser than the tool's class %q; an entry can only tighten (read < write < destructive < admin)", e.Class, r.Class)
		}
		d := DefaultRule(e.Class)
		r.Class = e.Class
		r.Scopes = requireAll(r.Scopes, d.Scopes...)
		r.Roles = requireAll(r.Roles, d.Roles...)
		r.AppRoles = requireAll(r.AppRoles, d.AppRoles...)
	}
	for _, f := range []struct {
		field       string
		names       []string
		known       []string
		requirement *[][]string
	}{
		{"scopes", e.Scopes, knownScopes, &r.Scopes},
		{"roles", e.Roles, knownRoles, &r.Roles},
		{"appRoles", e.AppRoles, knownRoles, &r.AppRoles},
	} {
		if f.names == nil {
			continue
		}
		if len(f.names) == 0 {
			return r, fmt.Errorf("%s is empty; leave it out, or use \"deny\": true", f.field)
		}
		for _, n := range f.names {
			if !slices.Contains(f.known, n) {
				return r, fmt.Errorf("%s: unknown name %q (known: %s)", f.field, n, strings.Join(f.known, ", "))
			}
		}
		*f.requirement = requireAll(*f.requirement, f.names)
	}
	r.Deny = r.Deny || e.Deny
	if r.String() == before {
		return r, errors.New("the entry adds nothing to the default rule; entries can only tighten it (docs/SECURITY.md)")
	}
	r.FromFile = true
	return r, nil
}

// requireAll adds requirements to reqs, dropping whichever of two is implied
// by the other: holding one of {A} implies holding one of {A, B}.
func requireAll(reqs [][]string, add ...[]string) [][]string {
	out := slices.Clone(reqs)
	for _, a := range add {
		a = slices.Compact(slices.Sorted(slices.Values(a)))
		if slices.ContainsFunc(out, func(have []string) bool { return subset(have, a) }) {
			continue // an existing requirement is at least as strict
		}
		out = slices.DeleteFunc(out, func(have []string) bool { return subset(a, have) })
		out = append(out, a)
	}
	return out
}

// subset reports whether every name in a is in b.
func subset(a, b []string) bool {
	for _, n := range a {
		if !slices.Contains(b, n) {
			return false
		}
	}
	return true
}

// checkKeys refuses what encoding/json would silently accept: a repeated
// key (it keeps the last, so {"deny":true,"deny":false} means false; field
// names match case-insensitively, so "Deny" repeats "deny"), a document
// that is not an object, and anything after the object.
func checkKeys(data []byte) error {
	dec := json.NewDecoder(bytes.NewReader(data))
	tok, err := dec.Token()
	if err != nil {
		return fmt.Errorf("decode: %w", err)
	}
	if tok != json.Delim('{') {
		return errors.New("not a JSON object")
	}
	if err := checkObject(dec); err != nil {
		if errors.Is(err, io.EOF) { // Token says EOF for a document cut short
			err = io.ErrUnexpectedEOF
		}
		return fmt.Errorf("decode: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return errors.New("data after the policy object")
	}
	return nil
}

// checkObject reads the rest of an object whose '{' was read.
func checkObject(dec *json.Decoder) error {
	var seen []string
	for dec.More() {
		tok, err := dec.Token()
		if err != nil {
			return err
		}
		key, _ := tok.(string)
		if slices.ContainsFunc(seen, func(s string) bool { return strings.EqualFold(s, key) }) {
			return fmt.Errorf("key %q appears twice", key)
		}
		seen = append(seen, key)
		if err := checkValue(dec); err != nil {
			return err
		}
	}
	_, err := dec.Token() // '}'
	return err
}

func checkValue(dec *json.Decoder) error {
	tok, err := dec.Token()
	if err != nil {
		return err
	}
	switch tok {
	case json.Delim('{'):
		return checkObject(dec)
	case json.Delim('['):
		for dec.More() {
			if err := checkValue(dec); err != nil {
				return err
			}
		}
		_, err = dec.Token() // ']'
		return err
	}
	return nil
}

func validClass(c Class) bool {
	_, ok := classRank[c]
	return ok
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

// Allows reports whether id may call tool. Deny by default: no identity,
// no rule, or a rule marked deny all refuse.
func (p *Policy) Allows(id *identity.Identity, tool string) bool {
	r, ok := p.rules[tool]
	if !ok || r.Deny || id == nil || id.TenantID == "" || id.ObjectID == "" {
		return false
	}
	if id.AppOnly {
		return len(r.AppRoles) > 0 && holdsAll(id.Roles, r.AppRoles)
	}
	return holdsAll(id.Scopes, r.Scopes) && holdsAll(id.Roles, r.Roles)
}

// holdsAll reports whether have meets every requirement: one name of each.
func holdsAll(have []string, reqs [][]string) bool {
	for _, want := range reqs {
		if !slices.ContainsFunc(want, func(w string) bool { return slices.Contains(have, w) }) {
			return false
		}
	}
	return true
}

// String renders the rule in one line, e.g. "write: user needs scope
// user_impersonation and role Snippets.Write; app needs role Snippets.Write".
func (r Rule) String() string {
	if r.Deny {
		return string(r.Class) + ": denied to everyone"
	}
	user := append(describeReqs("scope", r.Scopes), describeReqs("role", r.Roles)...)
	userPart := "user needs " + strings.Join(user, " and ")
	if len(user) == 0 {
		userPart = "any signed-in user"
	}
	appPart := "app-only callers refused"
	if app := describeReqs("role", r.AppRoles); len(app) > 0 {
		appPart = "app needs " + strings.Join(app, " and ")
	}
	return string(r.Class) + ": " + userPart + "; " + appPart
}

func describeReqs(kind string, reqs [][]string) []string {
	out := make([]string, 0, len(reqs))
	for _, oneOf := range reqs {
		out = append(out, kind+" "+strings.Join(oneOf, "|"))
	}
	return out
}

// Describe is the effective policy, one line per tool in name order, for
// the start-up log: "save_snippet write: user needs ... (MCP_TOOL_POLICY)".
func (p *Policy) Describe() []string {
	lines := make([]string, 0, len(p.rules))
	for _, name := range p.Tools() {
		lines = append(lines, name+" "+p.describe(name))
	}
	return lines
}

// LogValue makes a *Policy log as a group of tool = rule attributes.
func (p *Policy) LogValue() slog.Value {
	attrs := make([]slog.Attr, 0, len(p.rules))
	for _, name := range p.Tools() {
		attrs = append(attrs, slog.String(name, p.describe(name)))
	}
	return slog.GroupValue(attrs...)
}

func (p *Policy) describe(tool string) string {
	r := p.rules[tool]
	if r.FromFile {
		return r.String() + " (MCP_TOOL_POLICY)"
	}
	return r.String()
}
