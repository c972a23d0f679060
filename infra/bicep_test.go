package infra

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

func TestBicep(t *testing.T) {
	t.Parallel()
	problems, err := checkBicep(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestBicepFixtures proves each check can fail: every archive under
// testdata/bicep holds a small deployment with one planted mistake and a
// `want` file listing substrings the reported problems must contain.
func TestBicepFixtures(t *testing.T) {
	t.Parallel()
	for _, name := range fixtures(t, "testdata/bicep") {
		t.Run(filepath.Base(name), func(t *testing.T) {
			t.Parallel()
			dir, want := extract(t, name)
			problems, err := checkBicep(dir)
			if err != nil {
				t.Fatal(err)
			}
			expectProblems(t, problems, want)
		})
	}
}

func TestForGrammarKeepsPositions(t *testing.T) {
	t.Parallel()
	src := "extension microsoftGraphV1\nvar a = {\n  ...b\n  c: [\n    ...d\n  ]\n  s: '...not a spread'\n}\n"
	got := string(forGrammar([]byte(src)))
	want := "//tension microsoftGraphV1\nvar a = {\n  x: b\n  c: [\n       d\n  ]\n  s: '...not a spread'\n}\n"
	if got != want {
		t.Fatalf("forGrammar:\n%s\nwant:\n%s", got, want)
	}
}

func fixtures(t *testing.T, dir string) []string {
	t.Helper()
	names, err := filepath.Glob(filepath.Join(dir, "*.txtar"))
	if err != nil || len(names) == 0 {
		t.Fatalf("no fixtures in %s (%v)", dir, err)
	}
	return names
}

// extract writes an archive's files into a fresh directory and returns it with
// the non-empty lines of its `want` file.
func extract(t *testing.T, name string) (string, []string) {
	t.Helper()
	ar, err := txtar.ParseFile(name)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	var want []string
	for _, f := range ar.Files {
		if f.Name == "want" {
			for _, l := range strings.Split(string(f.Data), "\n") {
				if l = strings.TrimSpace(l); l != "" {
					want = append(want, l)
				}
			}
			continue
		}
		p := filepath.Join(dir, filepath.FromSlash(f.Name))
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, f.Data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	if len(want) == 0 {
		t.Fatalf("%s has no want file", name)
	}
	return dir, want
}

func expectProblems(t *testing.T, problems, want []string) {
	t.Helper()
	all := strings.Join(problems, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("no problem mentions %q; got:\n%s", w, all)
		}
	}
}
