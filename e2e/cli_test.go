package e2e

import (
	"context"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestHelpAndVersion: the binary answers --help and --version and exits 0
// at once, without configuration and without starting a server.
func TestHelpAndVersion(t *testing.T) {
	t.Parallel()
	cases := []struct {
		arg, want string
	}{
		{"--help", "snippets-mcp --version"},
		{"-h", "Usage:"},
		{"--version", "snippets-mcp "},
	}
	for _, c := range cases {
		t.Run(c.arg, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			cmd := exec.CommandContext(ctx, serverBin, c.arg)
			cmd.Env = []string{"PATH=/usr/bin:/bin"} // no configuration: starting would fail
			out, err := cmd.CombinedOutput()
			if err != nil || ctx.Err() != nil {
				t.Fatalf("%s: %v (%v): %s", c.arg, err, ctx.Err(), out)
			}
			if !strings.HasPrefix(string(out), "snippets-mcp") || !strings.Contains(string(out), c.want) || strings.Contains(string(out), "listening") {
				t.Errorf("%s: %q, want %q", c.arg, out, c.want)
			}
		})
	}
}
