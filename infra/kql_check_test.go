package infra

import (
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// kustoModules is where `make tools` (npm ci) installs the pinned Kusto
// language service (package.json devDependencies).
var kustoModules = filepath.Join("..", "node_modules")

// runKQLCheck runs kql/check/check.js, Microsoft's Kusto language service
// (parser and semantic analysis against the documented table schemas), over
// files. It skips the test when node or the package is missing, and fails
// it instead under CI=true.
func runKQLCheck(t *testing.T, files ...string) (string, error) {
	t.Helper()
	node, err := exec.LookPath("node")
	pkg := filepath.Join(kustoModules, "@kusto", "language-service-next", "package.json")
	if err == nil {
		_, err = os.Stat(pkg)
	}
	if err != nil {
		msg := "the Kusto language service needs node and " + pkg + " (make tools): " + err.Error()
		if os.Getenv("CI") == "true" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	modules, err := filepath.Abs(kustoModules)
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(node, append([]string{filepath.Join("kql", "check", "check.js"), modules}, files...)...).CombinedOutput()
	return string(out), err
}

// TestKQLLanguageService: every query in kql/ and kql/slo/, and every alert
// query as slo.bicep composes it, parses and type-checks against the tables'
// columns with no error.
func TestKQLLanguageService(t *testing.T) {
	t.Parallel()
	files, err := filepath.Glob(filepath.Join("kql", "*.kql"))
	if err != nil {
		t.Fatal(err)
	}
	slo, err := filepath.Glob(filepath.Join(sloDir, "*.kql"))
	if err != nil {
		t.Fatal(err)
	}
	files = append(files, slo...)
	dir := t.TempDir()
	for _, r := range sloRules {
		src := readSLO(t, r.file)
		q := alertQuery(src, []string{e2eAgent}, r.filter)
		p := filepath.Join(dir, "rule-"+r.name+".kql")
		if err := os.WriteFile(p, []byte(q), 0o644); err != nil {
			t.Fatal(err)
		}
		files = append(files, p)
	}
	if len(files) < 3+len(sloRules)+5 {
		t.Fatalf("only %d query files found: %v", len(files), files)
	}
	out, err := runKQLCheck(t, files...)
	if err != nil {
		t.Fatalf("Kusto language service: %v\n%s", err, out)
	}
	t.Logf("Kusto language service: %s", strings.TrimSpace(out))
}

// TestKQLLanguageServiceFixtures: the check fails on its planted mistakes.
func TestKQLLanguageServiceFixtures(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ file, want string }{
		{"unknown_column.kql", "ResultCode"},
		{"unknown_table.kql", "ApiManagementGatewayLog"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			out, err := runKQLCheck(t, filepath.Join("testdata", "kql", tc.file))
			var exit *exec.ExitError
			if !errors.As(err, &exit) || !strings.Contains(out, tc.want) {
				t.Errorf("check of %s: err %v, output %q; want a failure naming %s", tc.file, err, out, tc.want)
			}
		})
	}
}
