package e2e

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// TestMissingContainerIsAnOutage: storage that is not set up (a missing
// container) is reported as a retryable storage problem, never as "the
// snippet does not exist", which would send a user looking for a typo.
func TestMissingContainerIsAnOutage(t *testing.T) {
	t.Parallel()
	srv, az := devServer(t)
	if _, tr := callTool(t, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": "a", "snippet": "x"}); tr.IsError {
		t.Fatal(tr.Text())
	}
	client, err := azblob.NewClientFromConnectionString(az.ConnString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := client.DeleteContainer(ctx, "snippets", nil); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		tool string
		args map[string]any
	}{
		{"save_snippet", map[string]any{"snippetname": "b", "snippet": "x"}},
		{"get_snippet", map[string]any{"snippetname": "a"}},
	} {
		_, tr := callTool(t, srv.MCPURL(), c.tool, c.args)
		if !tr.IsError || !strings.Contains(tr.Text(), "unavailable") || strings.Contains(tr.Text(), "does not exist") {
			t.Errorf("%s with the container gone: %q", c.tool, tr.Text())
		}
	}
}
