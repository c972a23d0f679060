package e2e

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// policyMarker is the line just before a fenced policy-file example in the docs.
var policyMarker = regexp.MustCompile(`^<!-- policy-example: ([a-z0-9-]+) -->$`)

// policyExamples returns the policy-file examples of README.md and docs/*.md
// by name. A JSON block that mentions "tools" without a marker fails the
// test, so no example escapes it.
func policyExamples(t *testing.T) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	examples := map[string]string{}
	for _, f := range append(files, filepath.Join(repoRoot, "README.md")) {
		raw, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		lines := strings.Split(string(raw), "\n")
		for i := 0; i < len(lines); i++ {
			name := ""
			if m := policyMarker.FindStringSubmatch(lines[i]); m != nil {
				if i+1 == len(lines) || lines[i+1] != "```json" {
					t.Fatalf("%s:%d: policy-example marker not followed by a json block", f, i+1)
				}
				name, i = m[1], i+1
			}
			if !strings.HasPrefix(lines[i], "```") {
				continue
			}
			start := i
			for i++; i < len(lines) && !strings.HasPrefix(lines[i], "```"); i++ {
			}
			body := strings.Join(lines[start+1:min(i, len(lines))], "\n")
			switch {
			case name != "" && examples[name] != "":
				t.Fatalf("%s:%d: policy example %q appears twice", f, start+1, name)
			case name != "":
				examples[name] = body
			case lines[start] == "```json" && strings.Contains(body, `"tools"`):
				t.Fatalf("%s:%d: a policy-file example without a <!-- policy-example: name --> marker", f, start+1)
			}
		}
	}
	return examples
}

// TestPolicyFileExamples runs every policy-file example of the docs
// against the binary and checks that it does what the text next to it says:
// each entry only tightens the default rule.
func TestPolicyFileExamples(t *testing.T) {
	t.Parallel()
	user := authtest.Claims{ObjectID: "a0000000-0000-4000-8000-000000000001"}
	writer := authtest.Claims{ObjectID: "a0000000-0000-4000-8000-000000000002", Roles: []string{"Snippets.Write"}}
	// Every role, but a delegated scope other than user_impersonation.
	noScope := authtest.Claims{ObjectID: "a0000000-0000-4000-8000-000000000003", Scope: "other",
		Roles: []string{"Snippets.Write", "Snippets.Delete", "Snippets.Approve"}}
	deleter := authtest.Claims{ObjectID: "a0000000-0000-4000-8000-000000000004", Roles: []string{"Snippets.Delete"}}
	delApprover := authtest.Claims{ObjectID: "a0000000-0000-4000-8000-000000000005", Roles: []string{"Snippets.Delete", "Snippets.Approve"}}
	appReader := authtest.Claims{ObjectID: "a0000000-0000-4000-8000-000000000006", AppOnly: true, Roles: []string{"Snippets.Read"}}
	appWriter := authtest.Claims{ObjectID: "a0000000-0000-4000-8000-000000000007", AppOnly: true, Roles: []string{"Snippets.Write"}}

	type sees struct {
		caller  string
		claims  authtest.Claims
		tool    string
		visible bool
	}
	want := map[string][]sees{
		"readme-tighten": {
			{"user", user, "save_snippet", false},
			{"user", user, "get_snippet", true},
			{"user", user, "get_my_profile", false},
			{"writer", writer, "save_snippet", true},
			{"writer without the scope", noScope, "save_snippet", false},
			{"app writer", appWriter, "save_snippet", true},
			{"app reader", appReader, "save_snippet", false},
			{"app reader", appReader, "get_my_profile", false},
		},
		"security-tighten": {
			{"app reader", appReader, "get_snippet", false},
			{"app writer", appWriter, "get_snippet", true},
			{"app writer", appWriter, "save_snippet", true},
			{"user", user, "get_snippet", true},
			{"user", user, "save_snippet", false},
			{"writer", writer, "save_snippet", true},
			{"writer without the scope", noScope, "get_snippet", false},
			{"writer without the scope", noScope, "delete_snippet", false},
			{"deleter", deleter, "delete_snippet", false},
			{"deleter and approver", delApprover, "delete_snippet", true},
			{"deleter and approver", delApprover, "get_my_profile", false},
		},
	}
	examples := policyExamples(t)
	for name := range want {
		if _, ok := examples[name]; !ok {
			t.Errorf("expectations for %q, which no document has", name)
		}
	}
	for name, doc := range examples {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			checks, ok := want[name]
			if !ok {
				t.Fatalf("the docs say what policy example %q does, but this test does not check it", name)
			}
			file := filepath.Join(t.TempDir(), "policy.json")
			if err := os.WriteFile(file, []byte(doc), 0o600); err != nil {
				t.Fatal(err)
			}
			srv, iss := jwtServer(t, "MCP_TOOL_POLICY="+file)
			for _, c := range checks {
				tools := toolNames(t, srv.MCPURL(), iss.Mint(t, c.claims))
				if got := slices.Contains(tools, c.tool); got != c.visible {
					t.Errorf("%s sees %s: %v, want %v (tools %v)", c.caller, c.tool, got, c.visible, tools)
				}
			}
		})
	}
}
