package infra

import (
	"bytes"
	"context"
	"os/exec"
	"path/filepath"
	"reflect"
	"testing"
	"time"
)

// bicepCLI returns the command prefix that runs the Bicep CLI: `bicep` when
// on PATH, else `az bicep`, else nil.
func bicepCLI(lookPath func(string) (string, error)) []string {
	if p, err := lookPath("bicep"); err == nil {
		return []string{p}
	}
	if p, err := lookPath("az"); err == nil {
		return []string{p, "bicep"}
	}
	return nil
}

// bicepArgs spells build and lint for either front end: `az bicep` takes
// the file as --file.
func bicepArgs(cli []string, verb, file, outdir string) []string {
	args := append([]string{}, cli...)
	args = append(args, verb)
	if len(cli) == 2 {
		args = append(args, "--file")
	}
	args = append(args, file)
	if verb == "build" {
		args = append(args, "--outdir", outdir)
	}
	return args
}

// TestBicepCLI runs the compiler itself where it is installed: what the
// offline checks approximate, `bicep build` and `bicep lint` decide. Our
// build machines do not have it, so there this test is skipped visibly.
func TestBicepCLI(t *testing.T) {
	t.Parallel()
	cli := bicepCLI(exec.LookPath)
	if cli == nil {
		t.Skip("neither bicep nor az is on PATH: bicep build and bicep lint of infra/main.bicep not run")
	}
	if len(cli) == 2 {
		// `az bicep` installs the CLI on first use; only use one already there.
		if out, err := exec.Command(cli[0], "bicep", "version").CombinedOutput(); err != nil {
			t.Skipf("az is on PATH but `az bicep version` fails (%v): bicep build and lint not run\n%s", err, out)
		}
	}
	out := t.TempDir()
	for _, verb := range []string{"build", "lint"} {
		t.Run(verb, func(t *testing.T) {
			// Restoring the Graph extension from its registry can take a while.
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
			defer cancel()
			args := bicepArgs(cli, verb, filepath.Join(".", "main.bicep"), out)
			cmd := exec.CommandContext(ctx, args[0], args[1:]...)
			var stdout, stderr bytes.Buffer
			cmd.Stdout, cmd.Stderr = &stdout, &stderr
			err := cmd.Run()
			t.Logf("%v\n%s%s", args, stdout.Bytes(), stderr.Bytes())
			if err != nil {
				t.Fatalf("%v: %v (errors above)", args, err)
			}
		})
	}
}

func TestBicepCLIChoice(t *testing.T) {
	t.Parallel()
	on := func(names ...string) func(string) (string, error) {
		return func(name string) (string, error) {
			for _, n := range names {
				if n == name {
					return "/bin/" + name, nil
				}
			}
			return "", exec.ErrNotFound
		}
	}
	for _, tc := range []struct {
		name      string
		lookPath  func(string) (string, error)
		wantBuild []string
		wantLint  []string
	}{
		{"bicep first", on("bicep", "az"), []string{"/bin/bicep", "build", "main.bicep", "--outdir", "o"}, []string{"/bin/bicep", "lint", "main.bicep"}},
		{"az bicep", on("az"), []string{"/bin/az", "bicep", "build", "--file", "main.bicep", "--outdir", "o"}, []string{"/bin/az", "bicep", "lint", "--file", "main.bicep"}},
		{"none", on(), nil, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cli := bicepCLI(tc.lookPath)
			if cli == nil {
				if tc.wantBuild != nil {
					t.Fatalf("got no CLI, want %v", tc.wantBuild)
				}
				return
			}
			if got := bicepArgs(cli, "build", "main.bicep", "o"); !reflect.DeepEqual(got, tc.wantBuild) {
				t.Errorf("build: got %v, want %v", got, tc.wantBuild)
			}
			if got := bicepArgs(cli, "lint", "main.bicep", "o"); !reflect.DeepEqual(got, tc.wantLint) {
				t.Errorf("lint: got %v, want %v", got, tc.wantLint)
			}
		})
	}
}
