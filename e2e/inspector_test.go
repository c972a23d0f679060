package e2e

import (
	"context"
	"encoding/json"
	"io"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
)

// inspector runs the MCP Inspector CLI (a client nobody here wrote)
// against url and decodes its JSON output.
func inspector(t *testing.T, url string, args ...string) map[string]any {
	t.Helper()
	all := append([]string{"--cli", url, "--transport", "http"}, args...)
	out, err := runTool(t, 90*time.Second, filepath.Join(nodeBin, "mcp-inspector"), all...)
	if err != nil {
		t.Fatalf("mcp-inspector %v: %v\n%s", args, err, out)
	}
	var v map[string]any
	start := strings.Index(out, "{")
	if start < 0 || json.NewDecoder(strings.NewReader(out[start:])).Decode(&v) != nil {
		t.Fatalf("mcp-inspector %v: no JSON in output:\n%s", args, out)
	}
	return v
}

func structured(t *testing.T, v map[string]any) map[string]any {
	t.Helper()
	if v["isError"] == true {
		t.Fatalf("tool returned an error: %v", v["content"])
	}
	sc, ok := v["structuredContent"].(map[string]any)
	if !ok {
		t.Fatalf("no structuredContent in %v", v)
	}
	return sc
}

// TestInspectorRoundTrip saves, gets and lists a snippet with MCP
// Inspector, then reads the blob straight from Azurite.
func TestInspectorRoundTrip(t *testing.T) {
	t.Parallel()
	srv, az := devServer(t)
	const content = "SELECT 1; -- saved by MCP Inspector"

	saved := structured(t, inspector(t, srv.MCPURL(), "--method", "tools/call", "--tool-name", "save_snippet",
		"--tool-arg", "snippetname=inspector-demo", "snippet="+content))
	if saved["name"] != "inspector-demo" || saved["size"] != float64(len(content)) {
		t.Fatalf("save: %v", saved)
	}

	got := inspector(t, srv.MCPURL(), "--method", "tools/call", "--tool-name", "get_snippet",
		"--tool-arg", "snippetname=inspector-demo")
	if sc := structured(t, got); sc["content"] != content || sc["sha256"] != saved["sha256"] {
		t.Fatalf("get: %v", sc)
	}

	list := structured(t, inspector(t, srv.MCPURL(), "--method", "tools/call", "--tool-name", "list_snippets",
		"--tool-arg", "prefix=inspector"))
	items, _ := list["snippets"].([]any)
	if len(items) != 1 || items[0].(map[string]any)["name"] != "inspector-demo" {
		t.Fatalf("list: %v", list)
	}

	tools := inspector(t, srv.MCPURL(), "--method", "tools/list")
	if n := len(tools["tools"].([]any)); n < 4 {
		t.Fatalf("tools/list: %d tools", n)
	}
	res := inspector(t, srv.MCPURL(), "--method", "resources/read", "--uri", "snippet://inspector-demo")
	if !strings.Contains(toJSON(res), "saved by MCP Inspector") {
		t.Fatalf("resources/read: %v", res)
	}

	// The blob is really in Azurite, under the dev identity's private space.
	client, err := azblob.NewClientFromConnectionString(az.ConnString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	pager := client.NewListBlobsFlatPager("snippets", nil)
	var names []string
	for pager.More() {
		page, err := pager.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, b := range page.Segment.BlobItems {
			names = append(names, *b.Name)
		}
	}
	if len(names) != 1 || !strings.HasSuffix(names[0], "/inspector-demo") {
		t.Fatalf("blobs in Azurite: %v", names)
	}
	dl, err := client.DownloadStream(ctx, "snippets", names[0], nil)
	if err != nil {
		t.Fatal(err)
	}
	defer dl.Body.Close()
	body, _ := io.ReadAll(dl.Body)
	if string(body) != content {
		t.Fatalf("blob content %q", body)
	}
}

func toJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}
