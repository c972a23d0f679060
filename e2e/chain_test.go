package e2e

import (
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// buildVerifier builds cmd/auditverify once per test binary.
var buildVerifier = sync.OnceValues(func() (string, error) {
	dir, err := os.MkdirTemp("", "auditverify")
	if err != nil {
		return "", err
	}
	bin := filepath.Join(dir, "auditverify")
	cmd := exec.Command("go", "build", "-o", bin, "./cmd/auditverify")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", errors.New("go build ./cmd/auditverify: " + err.Error() + "\n" + string(out))
	}
	return bin, nil
})

// verify runs auditverify on the events lines and the anchors folder and
// returns its exit status and report.
func verify(t *testing.T, anchors string, lines []string) (int, string) {
	t.Helper()
	bin, err := buildVerifier()
	if err != nil {
		t.Fatal(err)
	}
	events := filepath.Join(t.TempDir(), "events.jsonl")
	if err := os.WriteFile(events, []byte(strings.Join(lines, "\n")+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(bin, "-anchors", anchors, events).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
		return 0, string(out)
	case errors.As(err, &exit):
		return exit.ExitCode(), string(out)
	}
	t.Fatalf("run auditverify: %v", err)
	return 0, ""
}

// downloadAnchors copies every blob of the anchors container into a
// folder, by name, as an auditor's download would.
func downloadAnchors(t *testing.T, client *azblob.Client) (string, []audit.Anchor) {
	t.Helper()
	dir := t.TempDir()
	var all []audit.Anchor
	pager := client.NewListBlobsFlatPager(audit.DefaultAnchorContainer, nil)
	for pager.More() {
		page, err := pager.NextPage(t.Context())
		if err != nil {
			t.Fatalf("list anchors: %v", err)
		}
		for _, b := range page.Segment.BlobItems {
			if b.Properties.BlobType == nil || *b.Properties.BlobType != "AppendBlob" {
				t.Errorf("anchor blob %s is a %v, want an append blob", *b.Name, b.Properties.BlobType)
			}
			resp, err := client.DownloadStream(t.Context(), audit.DefaultAnchorContainer, *b.Name, nil)
			if err != nil {
				t.Fatalf("download %s: %v", *b.Name, err)
			}
			data, err := io.ReadAll(resp.Body)
			resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(dir, filepath.FromSlash(*b.Name))
			if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
				t.Fatal(err)
			}
			if err := os.WriteFile(p, data, 0o644); err != nil {
				t.Fatal(err)
			}
			got, err := audit.ReadAnchors(*b.Name, strings.NewReader(string(data)))
			if err != nil {
				t.Fatal(err)
			}
			all = append(all, got...)
		}
	}
	return dir, all
}

// TestAuditChainEndToEnd: the real binary chains every event it writes
// (tool calls, reads, refused requests, concurrent calls), anchors the
// head in Blob Storage while running and at SIGTERM, and auditverify
// accepts the trail as written and reports each kind of tampering.
func TestAuditChainEndToEnd(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	az := startAzurite(t)
	srv := startServer(t,
		"MCP_AUTH_MODE=jwt", "MCP_AUTH_ISSUER="+iss.URL(), "MCP_AUTH_AUDIENCE="+authtest.Audience,
		"SNIPPETS_STORAGE="+az.ConnString(), "MCP_SERVER_ID=chain-e2e", "MCP_AUDIT_ANCHOR_INTERVAL=1s")
	client, err := azblob.NewClientFromConnectionString(az.ConnString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	user := iss.Mint(t, authtest.Claims{})
	reader := iss.Mint(t, authtest.Claims{ObjectID: "cccccccc-0000-0000-0000-000000000003", AppOnly: true, Roles: []string{"Snippets.Read"}})

	callTool(t, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": "chained", "snippet": "text"}, bearer(user)...)
	rpcCall(t, srv, "resources/read", map[string]any{"uri": "snippet://chained"}, bearer(user)...)
	callTool(t, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": "x", "snippet": "y"}, bearer(reader)...) // denied
	if resp, _ := post(t, srv.MCPURL(), `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`); resp.StatusCode != 401 {
		t.Fatalf("request without a token: status %d, want 401", resp.StatusCode)
	}
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() { callTool(t, srv.MCPURL(), "whoami", nil, bearer(user)...) })
	}
	wg.Wait()
	const firstBatch = 12

	// A periodic anchor covers the first batch while the server runs.
	anchored := func() bool {
		_, as := downloadAnchors(t, client)
		return slices.ContainsFunc(as, func(a audit.Anchor) bool { return a.Seq >= firstBatch && !a.Final })
	}
	if !waitFor(20*time.Second, anchored) {
		t.Fatalf("no periodic anchor of seq %d after 20s\n%s", firstBatch, srv.Stderr())
	}
	for range 3 {
		callTool(t, srv.MCPURL(), "list_snippets", nil, bearer(user)...)
	}
	srv.Signal(syscall.SIGTERM)
	if err := srv.Wait(20 * time.Second); err != nil {
		t.Fatalf("server exit: %v\n%s", err, srv.Stderr())
	}

	lines := strings.Split(strings.TrimSpace(srv.Stdout()), "\n")
	if len(lines) != firstBatch+3 {
		t.Fatalf("%d audit lines, want %d:\n%s", len(lines), firstBatch+3, srv.Stdout())
	}
	// Every event is in the chain, in write order, and carries the
	// OpenTelemetry names API Management uses.
	var segment string
	for i, l := range lines {
		var m map[string]any
		if err := json.Unmarshal([]byte(l), &m); err != nil {
			t.Fatal(err)
		}
		if segment == "" {
			segment, _ = m["chain_segment"].(string)
		}
		if m["chain_segment"] != segment || m["chain_seq"] != float64(i+1) || len(m["chain_prev"].(string)) != 64 {
			t.Errorf("line %d: chain fields %v %v %v, want segment %s, seq %d", i+1, m["chain_segment"], m["chain_seq"], m["chain_prev"], segment, i+1)
		}
		method, _ := m["method"].(string)
		if m["gen_ai.operation.name"] != method || m["mcp.method.name"] != method || m["gen_ai.agent.id"] != m["agent_id"] || m["mcp.protocol.version"] != m["protocol_version"] {
			t.Errorf("line %d: OpenTelemetry fields disagree with the seed fields: %s", i+1, l)
		}
		_, hasTool := m["gen_ai.tool.name"]
		if hasTool != (method == "tools/call") || (hasTool && m["gen_ai.tool.name"] != m["tool_name"]) {
			t.Errorf("line %d: gen_ai.tool.name %v for method %q", i+1, m["gen_ai.tool.name"], method)
		}
		if et, ok := m["error.type"]; ok == (m["result_code"] == "ok") || (ok && et != m["result_code"]) {
			t.Errorf("line %d: error.type %v with result_code %v", i+1, et, m["result_code"])
		}
	}
	kinds := map[string]bool{}
	for _, l := range lines {
		var e audit.Event
		_ = json.Unmarshal([]byte(l), &e)
		kinds[e.Method+"/"+e.ResultCode] = true
	}
	for _, k := range []string{"tools/call/ok", "resources/read/ok", "tools/call/denied", "/unauthenticated"} {
		if !kinds[k] {
			t.Errorf("no %s event in the chain (have %v)", k, kinds)
		}
	}

	anchorDir, anchors := downloadAnchors(t, client)
	last := anchors[len(anchors)-1]
	for _, a := range anchors {
		if a.Seq > last.Seq || (a.Seq == last.Seq && a.Final) {
			last = a
		}
	}
	if !last.Final || last.Seq != uint64(len(lines)) || last.Segment != segment || last.ServerID != "chain-e2e" {
		t.Fatalf("last anchor %+v, want the final one at seq %d of segment %s", last, len(lines), segment)
	}

	tamper := func(f func(l []string) []string) []string { return f(slices.Clone(lines)) }
	edit := func(l []string, i int, key, value string) []string {
		var m map[string]any
		_ = json.Unmarshal([]byte(l[i]), &m)
		m[key] = value
		b, _ := json.Marshal(m)
		l[i] = string(b)
		return l
	}
	tests := []struct {
		name  string
		lines []string
		code  int
		want  string
	}{
		{"as written", lines, 0, "15 events, seq 1-15"},
		{"one deleted", tamper(func(l []string) []string { return slices.Delete(l, 4, 5) }), 1, "missing: seq 5 absent"},
		{"one edited", tamper(func(l []string) []string { return edit(l, 2, "result_code", "ok") }), 1, "changed: its digest is not the chain_prev of seq 4"},
		{"two reordered", tamper(func(l []string) []string { l[6], l[7] = l[7], l[6]; return l }), 1, "reordered: seq 7"},
		{"tail cut before the final anchor", tamper(func(l []string) []string { return l[:len(l)-2] }), 1, "truncated: seq 14-15 (2 events) absent"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			code, out := verify(t, anchorDir, tt.lines)
			if code != tt.code || !strings.Contains(out, tt.want) {
				t.Errorf("auditverify exit %d, want %d, with %q:\n%s", code, tt.code, tt.want, out)
			}
			if tt.code == 0 && !strings.Contains(out, "final: OK") {
				t.Errorf("clean trail not reported final and OK:\n%s", out)
			}
		})
	}
}

// TestAnchorWithoutItsContainer: the final anchor of a run whose anchor
// container is missing (the server creates its containers in the
// background, so a short run can stop before; here it is deleted under
// the server) creates the container, is written, and the server still
// exits cleanly. Before, the shutdown failed with ContainerNotFound and
// the process exited 1.
func TestAnchorWithoutItsContainer(t *testing.T) {
	t.Parallel()
	srv, az := devServer(t)
	client, err := azblob.NewClientFromConnectionString(az.ConnString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	exists := func() bool {
		_, err := client.ServiceClient().NewContainerClient(audit.DefaultAnchorContainer).GetProperties(t.Context(), nil)
		return err == nil
	}
	if !waitFor(20*time.Second, exists) {
		t.Fatalf("the server did not create %s", audit.DefaultAnchorContainer)
	}
	if _, err := client.DeleteContainer(t.Context(), audit.DefaultAnchorContainer, nil); err != nil {
		t.Fatal(err)
	}
	// Azurite removes a deleted container at once; the name is free again.
	if !waitFor(10*time.Second, func() bool { return !exists() }) {
		t.Fatal("container still there after delete")
	}
	callTool(t, srv.MCPURL(), "whoami", nil)
	srv.Signal(syscall.SIGTERM)
	if err := srv.Wait(20 * time.Second); err != nil {
		t.Fatalf("server exit: got %v, want a clean exit\n%s", err, srv.Stderr())
	}
	if _, anchors := downloadAnchors(t, client); len(anchors) == 0 {
		t.Errorf("no anchor written after the container was gone:\n%s", srv.Stderr())
	}
}
