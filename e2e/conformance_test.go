package e2e

import (
	"path/filepath"
	"regexp"
	"testing"
	"time"
)

// TestConformance runs the MCP conformance suite's server scenarios. The
// expected-failures file lists only scenarios that need fixture tools,
// resources or prompts (test_image_content, test://static-text, ...) or
// server-to-client requests, which a stateless server cannot make.
func TestConformance(t *testing.T) {
	t.Parallel()
	srv, _ := devServer(t)
	out, err := runTool(t, 5*time.Minute, filepath.Join(nodeBin, "conformance"), "server",
		"--url", srv.MCPURL(),
		"--expected-failures", filepath.Join(repoRoot, "e2e", "testdata", "conformance-expected-failures.yml"))
	t.Logf("conformance output:\n%s", regexp.MustCompile(`\x1b\[[0-9;]*m`).ReplaceAllString(out, ""))
	if err != nil {
		t.Fatalf("conformance suite failed: %v", err)
	}
	for _, must := range []string{"server-initialize", "ping", "tools-list", "resources-list", "prompts-list", "completion-complete", "dns-rebinding-protection"} {
		if !regexp.MustCompile(`✓ ` + regexp.QuoteMeta(must) + `: [1-9]\d* passed, 0 failed`).MatchString(out) {
			t.Errorf("scenario %s did not pass", must)
		}
	}
}
