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
// testdata/bicep plants one mistake into a copy of the deployment.
func TestBicepFixtures(t *testing.T) {
	t.Parallel()
	for _, name := range fixtures(t, "testdata/bicep") {
		t.Run(filepath.Base(name), func(t *testing.T) {
			t.Parallel()
			dir, want := plant(t, name, map[string]string{".": "."})
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

// plant copies the real deployment files into a fresh directory and plants
// one mistake described by the archive `name`:
//
//   - want: substrings the reported problems must contain, one per line;
//   - <path>.replace: blocks "old\n====\nnew" separated by "\n----\n"; every
//     occurrence of old in <path> becomes new, and old must occur;
//   - any other file is written as given (added or overwritten).
//
// Planting into a copy of the real files, rather than into a toy deployment,
// shows each check catches the mistake in the files it guards.
func plant(t *testing.T, name string, copies map[string]string) (string, []string) {
	t.Helper()
	ar, err := txtar.ParseFile(name)
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	for from, to := range copies {
		copyTree(t, from, filepath.Join(dir, to))
	}
	var want []string
	for _, f := range ar.Files {
		switch {
		case f.Name == "want":
			for _, l := range strings.Split(string(f.Data), "\n") {
				if l = strings.TrimSpace(l); l != "" {
					want = append(want, l)
				}
			}
		case strings.HasSuffix(f.Name, ".replace"):
			target := filepath.Join(dir, filepath.FromSlash(strings.TrimSuffix(f.Name, ".replace")))
			src, err := os.ReadFile(target)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			text := string(src)
			for _, block := range strings.Split(string(f.Data), "\n----\n") {
				old, repl, ok := strings.Cut(block, "\n====\n")
				old, repl = strings.TrimSuffix(old, "\n"), strings.TrimSuffix(repl, "\n")
				if !ok || !strings.Contains(text, old) {
					t.Fatalf("%s: %q not found in %s (fixture out of date)", name, old, f.Name)
				}
				text = strings.ReplaceAll(text, old, repl)
			}
			if err := os.WriteFile(target, []byte(text), 0o644); err != nil {
				t.Fatal(err)
			}
		default:
			p := filepath.Join(dir, filepath.FromSlash(f.Name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, f.Data, 0o644); err != nil {
				t.Fatal(err)
			}
		}
	}
	if len(want) == 0 {
		t.Fatalf("%s has no want file", name)
	}
	return dir, want
}

// copyTree copies a file, or a directory without its testdata and Go files.
func copyTree(t *testing.T, from, to string) {
	t.Helper()
	err := filepath.WalkDir(from, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(from, path)
		if err != nil {
			return err
		}
		if d.IsDir() {
			if d.Name() == "testdata" && path != from {
				return filepath.SkipDir
			}
			return os.MkdirAll(filepath.Join(to, rel), 0o755)
		}
		if filepath.Ext(path) == ".go" {
			return nil
		}
		data, err := os.ReadFile(path)
		if err != nil {
			return err
		}
		return os.WriteFile(filepath.Join(to, rel), data, 0o644)
	})
	if err != nil {
		t.Fatalf("copy %s: %v", from, err)
	}
}

func expectProblems(t *testing.T, problems, want []string) {
	t.Helper()
	if len(problems) == 0 {
		t.Fatal("the planted mistake was not reported")
	}
	all := strings.Join(problems, "\n")
	for _, w := range want {
		if !strings.Contains(all, w) {
			t.Errorf("no problem mentions %q; got:\n%s", w, all)
		}
	}
}
