package infra

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"

	sitter "github.com/tree-sitter/go-tree-sitter"
)

// platformHosts are the host names Entra refuses as https identifier URIs of
// a single-tenant app (HostNameNotOnVerifiedDomain): no tenant can verify
// them. The expressions that yield such hosts in Bicep count too.
var platformHosts = []string{"azurewebsites.net", "azure-api.net", "defaultHostName", "gatewayUrl", "hostNames"}

// checkIdentifierURIs follows each Graph application's identifierUris
// through variables, module parameters and module outputs, across files,
// and reports any platform host it can reach: one such URI fails the whole
// Entra module at deployment.
func checkIdentifierURIs(files []*bicepFile) []string {
	var problems []string
	for _, f := range files {
		for _, r := range f.resources() {
			if r.typ != "Microsoft.Graph/applications" || r.existing || r.body == nil {
				continue
			}
			n := f.prop(r.body, "identifierUris")
			if n == nil {
				continue
			}
			var text strings.Builder
			closure(files, f, n, map[string]bool{}, &text)
			for _, h := range platformHosts {
				if strings.Contains(text.String(), h) {
					problems = append(problems, fmt.Sprintf("%s: identifierUris can reach %s: an https identifier URI on *.azurewebsites.net or *.azure-api.net is refused by Entra (HostNameNotOnVerifiedDomain); use api:// or a custom domain verified in the tenant", r, h))
				}
			}
		}
	}
	return problems
}

var outputRef = regexp.MustCompile(`\b([A-Za-z_]\w*)\.outputs\.([A-Za-z_]\w*)`)

// closure appends the source text of n and of every declaration it depends
// on. seen keys are file:name, so cycles and shared variables end.
func closure(files []*bicepFile, f *bicepFile, n *sitter.Node, seen map[string]bool, out *strings.Builder) {
	if n == nil {
		return
	}
	src := f.text(n)
	out.WriteString(src)
	out.WriteByte('\n')
	for _, m := range outputRef.FindAllStringSubmatch(src, -1) {
		if g := moduleFile(files, f, m[1]); g != nil && !seen[g.path+":output:"+m[2]] {
			seen[g.path+":output:"+m[2]] = true
			closure(files, g, declaration(g, "output_declaration", m[2]), seen, out)
		}
	}
	walk(n, func(c *sitter.Node) bool {
		if c.Kind() != "identifier" {
			return true
		}
		name := f.text(c)
		if seen[f.path+":"+name] {
			return true
		}
		seen[f.path+":"+name] = true
		if v := declaration(f, "variable_declaration", name); v != nil {
			closure(files, f, v, seen, out)
		}
		if declaration(f, "parameter_declaration", name) != nil {
			for _, caller := range files {
				for _, body := range moduleBodies(caller, f.path) {
					closure(files, caller, caller.prop(body, "params."+name), seen, out)
				}
			}
		}
		return true
	})
}

// declaration returns the value expression of the top-level declaration of
// kind named name (its last named child), or nil.
func declaration(f *bicepFile, kind, name string) *sitter.Node {
	root := f.root()
	for i := uint(0); i < root.NamedChildCount(); i++ {
		d := root.NamedChild(i)
		if d.Kind() == kind && d.NamedChildCount() >= 2 && f.text(d.NamedChild(0)) == name {
			return d.NamedChild(d.NamedChildCount() - 1)
		}
	}
	return nil
}

// moduleFile is the parsed file of the module declared as symbol in f.
func moduleFile(files []*bicepFile, f *bicepFile, symbol string) *bicepFile {
	root := f.root()
	for i := uint(0); i < root.NamedChildCount(); i++ {
		d := root.NamedChild(i)
		if d.Kind() != "module_declaration" || d.NamedChildCount() < 2 || f.text(d.NamedChild(0)) != symbol {
			continue
		}
		target := filepath.Join(filepath.Dir(f.path), f.literal(d.NamedChild(1)))
		for _, g := range files {
			if filepath.Clean(g.path) == filepath.Clean(target) {
				return g
			}
		}
	}
	return nil
}

// moduleBodies are the bodies of the module declarations in f that deploy
// the file at path.
func moduleBodies(f *bicepFile, path string) []*sitter.Node {
	var out []*sitter.Node
	root := f.root()
	for i := uint(0); i < root.NamedChildCount(); i++ {
		d := root.NamedChild(i)
		if d.Kind() != "module_declaration" || d.NamedChildCount() < 3 {
			continue
		}
		if filepath.Clean(filepath.Join(filepath.Dir(f.path), f.literal(d.NamedChild(1)))) != filepath.Clean(path) {
			continue
		}
		for j := uint(2); j < d.NamedChildCount(); j++ {
			if c := d.NamedChild(j); c.Kind() == "object" || c.Kind() == "if_statement" || c.Kind() == "for_statement" {
				out = append(out, firstObject(c))
				break
			}
		}
	}
	return out
}
