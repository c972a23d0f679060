package main

import (
	"go/build"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

const module = "github.com/snippets-mcp/server/"

// imports is the layering of docs/ARCHITECTURE.md ("Shape"): for each
// package, the project packages its non-test code may import. A package
// not listed may import none. Dependencies point one way: handler wires
// everything, tools uses the leaves, and a leaf in internal/ imports no
// sibling except those named here. internal/config may import the leaves
// whose options types its one Config holds.
var imports = map[string][]string{
	".":               {"handler"},
	"handler":         {"tools", "policies", "internal/approval", "internal/audit", "internal/config", "internal/delegate", "internal/httpx", "internal/identity", "internal/inventory", "internal/policy", "internal/prm", "internal/snippets", "internal/storage"},
	"tools":           {"internal/approval", "internal/audit", "internal/delegate", "internal/identity", "internal/inventory", "internal/policy", "internal/snippets", "internal/storage"},
	"cmd/azdstage":    {"internal/azdpkg"},
	"cmd/devissuer":   {"internal/httpx"},
	"cmd/auditverify": {"internal/audit"},

	"internal/config":   {"internal/approval", "internal/audit", "internal/delegate", "internal/httpx", "internal/identity", "internal/storage"},
	"internal/approval": {"internal/storage"},
	"internal/snippets": {"internal/storage"},
	// One definition of the emulator's account for the client and the fake.
	"internal/storage":          {"internal/storage/azurite"},
	"internal/storage/blobtest": {"internal/storage/azurite"},
	"internal/prm":              {"internal/httpx", "internal/identity"},
	// The engine decides over identities and the agent inventory; it also
	// fills the audit fields of its own decision (Record).
	"internal/policy": {"internal/audit", "internal/identity", "internal/inventory"},
	// The one loopback rule lives in httpx.
	"internal/identity": {"internal/httpx"},
	"internal/audit":    {"internal/httpx"},
}

// TestLayers fails when a package imports a project package the
// architecture does not allow, or when non-test code imports a test helper
// package (authtest, blobtest, ...).
func TestLayers(t *testing.T) {
	pkgs := map[string][]string{} // package dir -> project imports of its non-test files
	err := filepath.WalkDir(".", func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if !d.IsDir() {
			return nil
		}
		name := d.Name()
		if path != "." && (strings.HasPrefix(name, ".") || name == "node_modules" || name == "testdata") {
			return filepath.SkipDir
		}
		if path != "." && fileExists(filepath.Join(path, "go.mod")) {
			return filepath.SkipDir // another module (infra checks)
		}
		p, err := build.ImportDir(path, 0)
		if err != nil {
			if _, ok := err.(*build.NoGoError); ok {
				return nil
			}
			return err
		}
		var own []string
		for _, imp := range p.Imports {
			if rel, ok := strings.CutPrefix(imp, module); ok {
				own = append(own, rel)
			}
		}
		pkgs[filepath.ToSlash(path)] = own
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(pkgs) < 10 {
		t.Fatalf("found only %d packages: is the test run from the repository root?", len(pkgs))
	}
	for dir, own := range pkgs {
		t.Run(dir, func(t *testing.T) {
			for _, imp := range own {
				if isTestHelper(imp) && !isTestHelper(dir) {
					t.Errorf("%s imports the test helper %s in non-test code", dir, imp)
					continue
				}
				if !slices.Contains(imports[dir], imp) {
					t.Errorf("%s imports %s; allowed: %v (docs/ARCHITECTURE.md)", dir, imp, imports[dir])
				}
			}
		})
	}
	for dir := range imports {
		if _, ok := pkgs[dir]; !ok {
			t.Errorf("the rule for %s names no package: update the table", dir)
		}
	}
}

// isTestHelper reports whether a package exists for tests (authtest,
// blobtest, delegatetest, aitest).
func isTestHelper(dir string) bool { return strings.HasSuffix(dir, "test") }

func fileExists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
