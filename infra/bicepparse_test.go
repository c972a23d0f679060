package infra

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strings"

	bicep "github.com/tree-sitter-grammars/tree-sitter-bicep/bindings/go"
	sitter "github.com/tree-sitter/go-tree-sitter"
)

// bicepFile is one parsed Bicep file. The tree-sitter grammar (v1.1.0) predates
// the `extension` statement and the spread operator, so the source is first
// rewritten by forGrammar; positions are unchanged, so reported lines and
// columns match the file on disk.
type bicepFile struct {
	path string
	raw  []byte // the file as written (spreads and extensions intact)
	src  []byte // rewritten source the tree refers to
	tree *sitter.Tree
}

func (f *bicepFile) root() *sitter.Node { return f.tree.RootNode() }

func (f *bicepFile) text(n *sitter.Node) string {
	return string(f.src[n.StartByte():n.EndByte()])
}

func (f *bicepFile) pos(n *sitter.Node) string {
	p := n.StartPosition()
	return fmt.Sprintf("%s:%d:%d", f.path, p.Row+1, p.Column+1)
}

// parseBicep parses path and returns the file with every ERROR or MISSING node
// reported as a problem.
func parseBicep(path string) (*bicepFile, []string, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, nil, fmt.Errorf("read bicep %s: %w", path, err)
	}
	src := forGrammar(raw)
	p := sitter.NewParser()
	defer p.Close()
	if err := p.SetLanguage(sitter.NewLanguage(bicep.Language())); err != nil {
		return nil, nil, fmt.Errorf("load bicep grammar: %w", err)
	}
	f := &bicepFile{path: path, raw: raw, src: src, tree: p.Parse(src, nil)}
	var problems []string
	walk(f.root(), func(n *sitter.Node) bool {
		switch {
		case n.IsError():
			problems = append(problems, fmt.Sprintf("%s: syntax error near %q", f.pos(n), clip(f.text(n))))
			return false
		case n.IsMissing():
			problems = append(problems, fmt.Sprintf("%s: missing %s", f.pos(n), n.Kind()))
		}
		return true
	})
	return f, problems, nil
}

func (f *bicepFile) close() { f.tree.Close() }

func clip(s string) string {
	if s = strings.TrimSpace(s); len(s) > 40 {
		return s[:40] + "..."
	}
	return s
}

// walk visits n and its descendants depth-first; visit returns false to skip
// a node's children.
func walk(n *sitter.Node, visit func(*sitter.Node) bool) {
	if !visit(n) {
		return
	}
	for i := uint(0); i < n.ChildCount(); i++ {
		walk(n.Child(i), visit)
	}
}

var extensionLine = regexp.MustCompile(`(?m)^([ \t]*)extension[ \t]`)

// forGrammar rewrites, without moving any byte, the two constructs the grammar
// does not know: an `extension x` statement becomes a line comment ("//" over
// its first two letters), and a spread `...expr` becomes `x: expr` inside an
// object or `   expr` inside an array.
func forGrammar(src []byte) []byte {
	out := bytes.Clone(src)
	for _, m := range extensionLine.FindAllSubmatchIndex(out, -1) {
		at := m[3] // end of indentation = start of "extension"
		out[at], out[at+1] = '/', '/'
	}
	var stack []byte // open brackets outside strings and comments
	for i := 0; i < len(out); i++ {
		switch c := out[i]; {
		case c == '/' && i+1 < len(out) && out[i+1] == '/':
			for i < len(out) && out[i] != '\n' {
				i++
			}
		case c == '/' && i+1 < len(out) && out[i+1] == '*':
			if end := bytes.Index(out[i+2:], []byte("*/")); end >= 0 {
				i += end + 3
			} else {
				i = len(out)
			}
		case c == '\'':
			i = skipString(out, i)
		case c == '{' || c == '[' || c == '(':
			stack = append(stack, c)
		case c == '}' || c == ']' || c == ')':
			if len(stack) > 0 {
				stack = stack[:len(stack)-1]
			}
		case c == '.' && bytes.HasPrefix(out[i:], []byte("...")) && len(stack) > 0:
			if stack[len(stack)-1] == '{' {
				copy(out[i:], "x: ")
			} else {
				copy(out[i:], "   ")
			}
			i += 2
		}
	}
	return out
}

// skipString returns the index of the quote closing the string opened at i:
// '...' with \' escapes, or a ”'multi-line”' string. Interpolations hold no
// quotes that matter to the bracket scan above.
func skipString(b []byte, i int) int {
	if bytes.HasPrefix(b[i:], []byte("'''")) {
		if end := bytes.Index(b[i+3:], []byte("'''")); end >= 0 {
			return i + 3 + end + 2
		}
		return len(b)
	}
	for j := i + 1; j < len(b); j++ {
		switch b[j] {
		case '\\':
			j++
		case '\'', '\n':
			return j
		}
	}
	return len(b)
}

// bicepFiles parses every *.bicep under dir, skipping testdata.
func bicepFiles(dir string) ([]*bicepFile, []string, error) {
	var files []*bicepFile
	var problems []string
	err := filepath.WalkDir(dir, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && d.Name() == "testdata" && path != dir {
			return filepath.SkipDir
		}
		if d.IsDir() || filepath.Ext(path) != ".bicep" {
			return nil
		}
		f, p, err := parseBicep(path)
		if err != nil {
			return err
		}
		files = append(files, f)
		problems = append(problems, p...)
		return nil
	})
	if err != nil {
		return nil, nil, fmt.Errorf("walk %s: %w", dir, err)
	}
	if len(files) == 0 {
		return nil, nil, fmt.Errorf("no .bicep files under %s", dir)
	}
	return files, problems, nil
}

// resource is one `resource` declaration.
type resource struct {
	file     *bicepFile
	node     *sitter.Node
	symbol   string
	typ      string // e.g. Microsoft.Web/sites
	version  string // after '@'; "" when absent
	existing bool
	body     *sitter.Node // the object literal, through if/for wrappers
}

func (r resource) String() string {
	return fmt.Sprintf("%s: resource %s '%s'", r.file.pos(r.node), r.symbol, r.typ)
}

func (f *bicepFile) resources() []resource {
	var out []resource
	walk(f.root(), func(n *sitter.Node) bool {
		if n.Kind() != "resource_declaration" {
			return true
		}
		r := resource{file: f, node: n}
		for i := uint(0); i < n.NamedChildCount(); i++ {
			c := n.NamedChild(i)
			switch c.Kind() {
			case "identifier":
				if r.symbol == "" {
					r.symbol = f.text(c)
				}
			case "string":
				if r.typ == "" {
					r.typ, r.version, _ = strings.Cut(f.literal(c), "@")
				}
			case "object", "if_statement":
				r.body = firstObject(c)
			case "for_statement":
				// The body follows the colon; the iterated expression before
				// it can hold object literals of its own.
				if c.NamedChildCount() > 0 {
					r.body = firstObject(c.NamedChild(c.NamedChildCount() - 1))
				}
			}
		}
		r.existing = bytes.Contains(f.src[n.StartByte():r.bodyStart()], []byte(" existing "))
		out = append(out, r)
		return true
	})
	return out
}

func (r resource) bodyStart() uint {
	if r.body == nil {
		return r.node.EndByte()
	}
	return r.body.StartByte()
}

func firstObject(n *sitter.Node) *sitter.Node {
	var found *sitter.Node
	walk(n, func(c *sitter.Node) bool {
		if found != nil {
			return false
		}
		if c.Kind() == "object" {
			found = c
			return false
		}
		return true
	})
	return found
}

// literal returns a string literal's content, or its source text when it is
// not a plain literal (interpolations are kept as written).
func (f *bicepFile) literal(n *sitter.Node) string {
	t := f.text(n)
	if n.Kind() == "string" && strings.HasPrefix(t, "'") && strings.HasSuffix(t, "'") && len(t) >= 2 {
		return strings.ReplaceAll(t[1:len(t)-1], `\'`, `'`)
	}
	return t
}

// prop follows a dotted path of keys through nested object literals. A
// union() of objects, or a ternary between objects, is searched in each part.
func (f *bicepFile) prop(obj *sitter.Node, path string) *sitter.Node {
	key, rest, deeper := strings.Cut(path, ".")
	for _, o := range f.objects(obj) {
		for i := uint(0); i < o.NamedChildCount(); i++ {
			p := o.NamedChild(i)
			if p.Kind() != "object_property" || p.NamedChildCount() < 2 || f.literal(p.NamedChild(0)) != key {
				continue
			}
			v := p.NamedChild(p.NamedChildCount() - 1)
			if !deeper {
				return v
			}
			if found := f.prop(v, rest); found != nil {
				return found
			}
		}
	}
	return nil
}

// objects returns the object literals n stands for: itself, the parts of a
// union(), or both branches of a ternary.
func (f *bicepFile) objects(n *sitter.Node) []*sitter.Node {
	if n == nil {
		return nil
	}
	switch n.Kind() {
	case "object":
		return []*sitter.Node{n}
	case "parenthesized_expression":
		if n.NamedChildCount() > 0 {
			return f.objects(n.NamedChild(0))
		}
	case "ternary_expression":
		return append(f.objects(n.ChildByFieldName("consequence")), f.objects(n.ChildByFieldName("alternative"))...)
	case "call_expression":
		fn, args := n.ChildByFieldName("function"), n.ChildByFieldName("arguments")
		if fn == nil || args == nil || f.text(fn) != "union" {
			return nil
		}
		var out []*sitter.Node
		for i := uint(0); i < args.NamedChildCount(); i++ {
			out = append(out, f.objects(args.NamedChild(i))...)
		}
		return out
	}
	return nil
}

// value returns the source text of a property (string literals unquoted), with
// `ok` false when the property is absent.
func (r resource) value(path string) (string, bool) {
	n := r.file.prop(r.body, path)
	if n == nil {
		return "", false
	}
	return r.file.literal(n), true
}

// resolve returns a string literal, following one `var x = '...'` indirection.
func (f *bicepFile) resolve(n *sitter.Node) string {
	if n == nil {
		return ""
	}
	if n.Kind() == "identifier" {
		name := f.text(n)
		var v string
		walk(f.root(), func(c *sitter.Node) bool {
			if c.Kind() == "variable_declaration" && c.NamedChildCount() >= 2 && f.text(c.NamedChild(0)) == name {
				v = f.literal(c.NamedChild(c.NamedChildCount() - 1))
			}
			return c.Kind() == "infrastructure"
		})
		return v
	}
	return f.literal(n)
}
