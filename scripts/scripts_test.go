// Package scripts holds the shell scripts behind the Makefile; its tests
// keep them runnable by the shells of macOS (bash 3.2 as sh) and Linux
// (dash as sh), and keep `make help` complete.
package scripts

import (
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"

	"github.com/snippets-mcp/server/internal/storage/azurite"
)

// bashOnly are constructs sh (and bash 3.2) lacks; the first one found
// made `make run` fail on stock macOS.
var bashOnly = map[string]*regexp.Regexp{
	"wait -n":              regexp.MustCompile(`\bwait\s+-n\b`),
	"process substitution": regexp.MustCompile(`[<>]\(`),
	"[[ ]]":                regexp.MustCompile(`\[\[`),
	"arrays":               regexp.MustCompile(`\w+\+?=\(|\$\{\w+\[`),
	"/dev/tcp":             regexp.MustCompile(`/dev/tcp`),
	"pipefail":             regexp.MustCompile(`pipefail`),
	"local":                regexp.MustCompile(`(?m)^\s*local\s`),
}

func TestScriptsArePOSIX(t *testing.T) {
	t.Parallel()
	for _, f := range []string{"run-local.sh", "inspect.sh"} {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if !strings.HasPrefix(string(b), "#!/bin/sh\n") {
			t.Errorf("%s: shebang is not #!/bin/sh", f)
		}
		for name, re := range bashOnly {
			for _, line := range strings.Split(string(b), "\n") {
				if code, _, _ := strings.Cut(line, "#"); re.MatchString(code) {
					t.Errorf("%s: %s (not in POSIX sh): %q", f, name, strings.TrimSpace(line))
				}
			}
		}
		for _, sh := range [][]string{{"sh", "-n"}, {"bash", "--posix", "-n"}} {
			if _, err := exec.LookPath(sh[0]); err != nil {
				continue
			}
			if out, err := exec.Command(sh[0], append(sh[1:], f)...).CombinedOutput(); err != nil {
				t.Errorf("%s %s: %v\n%s", strings.Join(sh, " "), f, err, out)
			}
		}
		if _, err := exec.LookPath("shellcheck"); err != nil {
			t.Logf("shellcheck not installed: checked %s by pattern and sh -n only", f)
			continue
		}
		if out, err := exec.Command("shellcheck", "-s", "sh", f).CombinedOutput(); err != nil {
			t.Errorf("shellcheck -s sh %s: %v\n%s", f, err, out)
		}
	}
}

// TestMakeHelpListsEveryTarget: every rule of the Makefile, and every
// "## target:" description, shows in `make help`.
func TestMakeHelpListsEveryTarget(t *testing.T) {
	t.Parallel()
	if _, err := exec.LookPath("make"); err != nil {
		t.Skip("make not installed")
	}
	mk, err := os.ReadFile("../Makefile")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command("make", "-s", "-C", "..", "help").CombinedOutput()
	if err != nil {
		t.Fatalf("make help: %v\n%s", err, out)
	}
	help := string(out)
	rules := regexp.MustCompile(`(?m)^([A-Za-z][A-Za-z0-9_-]*):([^=]|$)`).FindAllStringSubmatch(string(mk), -1)
	if len(rules) < 5 {
		t.Fatalf("found only %d rules in the Makefile", len(rules))
	}
	for _, m := range rules {
		if !regexp.MustCompile(`(?m)^` + regexp.QuoteMeta(m[1]) + `\s`).MatchString(help) {
			t.Errorf("make help lacks target %q:\n%s", m[1], help)
		}
	}
	for _, m := range regexp.MustCompile(`(?m)^## ([A-Za-z][A-Za-z0-9_-]*): (.*)$`).FindAllStringSubmatch(string(mk), -1) {
		if !strings.Contains(help, m[2]) {
			t.Errorf("make help lacks %s's description %q", m[1], m[2])
		}
	}
}

// run-local.sh cannot import Go, so its Azurite connection string is a copy
// of azurite.ConnString; a changed key or account would make `make run`
// fail to open its own emulator.
func TestRunLocalAzuriteAccount(t *testing.T) {
	t.Parallel()
	b, err := os.ReadFile("run-local.sh")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`(?m)^\s*SNIPPETS_STORAGE="(DefaultEndpointsProtocol=[^"]*)"$`).FindSubmatch(b)
	if m == nil {
		t.Fatal(`run-local.sh: no SNIPPETS_STORAGE="DefaultEndpointsProtocol=..." line`)
	}
	if got, want := string(m[1]), azurite.ConnString("http://127.0.0.1:$blob_port"); got != want {
		t.Errorf("run-local.sh SNIPPETS_STORAGE = %q, want %q (azurite.ConnString)", got, want)
	}
}
