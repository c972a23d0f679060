package e2e

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/snippets-mcp/server/internal/storage/azurite"
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

// TestWrongStorageKeyIsAConfigurationError: with a wrong account key,
// Azurite refuses every request (403 AuthorizationFailure). That is no
// outage: tools say an operator must fix the storage configuration (not
// "retryable"), the log says so at error level, /healthz stays a liveness
// answer and /readyz says storage is not usable, permanently.
func TestWrongStorageKeyIsAConfigurationError(t *testing.T) {
	t.Parallel()
	az := startAzurite(t)
	wrongKey := base64.StdEncoding.EncodeToString(bytes.Repeat([]byte{7}, 64))
	srv := startServer(t, "MCP_AUTH_MODE=dev", "SNIPPETS_STORAGE="+strings.Replace(az.ConnString(), azurite.Key, wrongKey, 1))

	_, tr := callTool(t, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": "a", "snippet": "x"})
	if !tr.IsError || !strings.Contains(tr.Text(), "an operator must fix the storage configuration") || strings.Contains(tr.Text(), "(retryable)") {
		t.Errorf("save with a wrong key: isError=%v %q", tr.IsError, tr.Text())
	}
	for _, c := range []struct {
		path   string
		status int
		want   string
	}{
		{"/healthz", 200, `"status":"ok"`},
		{"/readyz", 503, `"permanent":true`},
	} {
		resp, err := http.Get(srv.URL + c.path)
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode != c.status || !strings.Contains(string(b), c.want) || strings.Contains(string(b), "devstoreaccount1") {
			t.Errorf("GET %s: %d %s, want %d with %s and no account name", c.path, resp.StatusCode, b, c.status, c.want)
		}
	}
	if !strings.Contains(srv.Stderr(), `"level":"ERROR","msg":"storage misconfigured`) {
		t.Errorf("no error-level log of the misconfiguration:\n%s", srv.Stderr())
	}
}

// TestReadyWithGoodStorage: /readyz answers ready once storage works.
func TestReadyWithGoodStorage(t *testing.T) {
	t.Parallel()
	srv, _ := devServer(t)
	deadline := time.Now().Add(20 * time.Second)
	for {
		resp, err := http.Get(srv.URL + "/readyz")
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if resp.StatusCode == 200 && strings.Contains(string(b), `"status":"ready"`) {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("/readyz: %d %s", resp.StatusCode, b)
		}
		time.Sleep(time.Second) // the containers are created in the background; the answer is cached 5 s
	}
}
