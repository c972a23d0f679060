package bench

import (
	"bytes"
	"context"
	"fmt"
	"net/http"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/load"
)

// TestTSBaseline starts the TypeScript SDK baseline the way the driver
// does and checks its answers the way the driver does: tools/call echo
// and initialize each answer 200 with the request's id and no error, no
// session id is handed out, and SIGTERM ends it with exit status 0. It
// needs `make tools` (the pinned Node and the SDK) and skips without it.
func TestTSBaseline(t *testing.T) {
	root, err := filepath.Abs("..")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", ".bin", "node")); err != nil {
		t.Skip("the pinned Node is not installed (make tools)")
	}
	port, err := FreePort()
	if err != nil {
		t.Fatal(err)
	}
	p, err := StartTS(root, "ts-baseline", MinimalEnv("FUNCTIONS_CUSTOMHANDLER_PORT="+strconv.Itoa(port)), t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(p.Kill)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := WaitHealthy(p, url+"/healthz", 60*time.Second); err != nil {
		t.Fatal(err)
	}
	h := http.Header{"Mcp-Protocol-Version": {"2025-06-18"}}
	res, err := load.Run(context.Background(), load.Config{
		Targets: []load.Target{
			{Name: "echo", URL: url + "/mcp", Header: h, Body: load.ToolCall("echo", map[string]any{"message": "hello"})},
			{Name: "initialize", URL: url + "/mcp", Header: h, Body: initialize},
		},
		Concurrency: 4, Requests: 40, Duration: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total.Requests != 40 || res.Total.Errors != 0 {
		t.Fatalf("%d requests, %d errors: %v", res.Total.Requests, res.Total.Errors, res.Total.ErrorKinds)
	}
	// A tool error must count as an error: the driver's checks apply here too.
	bad, err := load.Run(context.Background(), load.Config{
		Targets:  []load.Target{{Name: "echo without message", URL: url + "/mcp", Header: h, Body: load.ToolCall("echo", map[string]any{})}},
		Requests: 1, Duration: time.Minute,
	})
	if err != nil {
		t.Fatal(err)
	}
	if bad.Total.Errors != 1 {
		t.Errorf("a call without its required argument was counted as a success: %+v", bad.Total)
	}
	// Stateless with JSON responses: no session id, no event stream.
	req, _ := http.NewRequest(http.MethodPost, url+"/mcp", bytes.NewReader(initialize(1)))
	req.Header = h.Clone()
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.Header.Get("Mcp-Session-Id") != "" || !strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json") {
		t.Errorf("initialize answered with %v", resp.Header)
	}
	if err := p.Stop(20 * time.Second); err != nil {
		t.Errorf("after SIGTERM: %v\n%s", err, p.Stderr())
	}
}
