package handler

import (
	"bytes"
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/snippets-mcp/server/internal/approval"
	"github.com/snippets-mcp/server/internal/config"
	"github.com/snippets-mcp/server/internal/snippets"
	"github.com/snippets-mcp/server/internal/storage/blobtest"
)

// fakeBlob is the in-memory Blob fake with the server's containers made,
// so the front door runs in process without Azurite: a fuzzed tools/call
// that reaches storage costs microseconds, not retries, and benchmarks see
// only the server's own work.
func fakeBlob(tb testing.TB) string {
	f := blobtest.New(tb)
	f.CreateContainer(snippets.Container)
	f.CreateContainer(approval.Container)
	return f.ConnString()
}

// lockedBuffer collects the server's log output from many goroutines.
type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *lockedBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

// frontDoor builds the server's whole HTTP handler in process, exactly as
// main wires it, with env on top of a fake blob endpoint. It returns the
// handler and the buffer that receives its logs (stderr).
func frontDoor(tb testing.TB, stdout io.Writer, env map[string]string) (http.Handler, *lockedBuffer) {
	tb.Helper()
	vars := map[string]string{"SNIPPETS_STORAGE": fakeBlob(tb), "MCP_SERVER_ID": "frontdoor-test"}
	for k, v := range env {
		vars[k] = v
	}
	getenv := func(k string) string { return vars[k] }
	cfg, err := config.Load(getenv)
	if err != nil {
		tb.Fatal(err)
	}
	logs := &lockedBuffer{}
	ctx, cancel := context.WithCancel(context.Background())
	a, err := build(ctx, cfg, slog.New(slog.NewJSONHandler(logs, nil)), stdout, logs)
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		cancel()
		cctx, ccancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer ccancel()
		if err := a.close(cctx); err != nil {
			tb.Errorf("close: %v", err)
		}
	})
	return a.handler, logs
}

// FuzzFrontDoor feeds arbitrary bodies, as POST /mcp with the headers a
// client sends, to the server's real HTTP handler (dev auth, a small body
// limit). Whatever the body, the server must answer: never panic, never a
// 5xx (a body is a client's mistake, not the server's), a JSON body for
// every status with one, a JSON-RPC answer for 200, and nothing logged at
// error level.
//
// go test ./handler -run '^$' -fuzz FuzzFrontDoor -fuzztime 5m
func FuzzFrontDoor(f *testing.F) {
	h, logs := frontDoor(f, io.Discard, map[string]string{
		"MCP_AUTH_MODE": "dev", "MCP_MAX_BODY_BYTES": "8192", "SNIPPET_MAX_BYTES": "2048", "MCP_TOOL_TIMEOUT": "5s",
	})
	for _, s := range []string{
		`{"jsonrpc":"2.0","id":1,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"f","version":"1"}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"save_snippet","arguments":{"snippetname":"a","snippet":"b"}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"get_snippet","arguments":{"snippetname":"../x"}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"list_snippets","arguments":{"limit":1e308,"cursor":"\u0000"}}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"delete_snippet","arguments":{"snippetname":"a","approval_id":"x"}}}`,
		`{"jsonrpc":"2.0","id":"x","method":"resources/read","params":{"uri":"snippet://a"}}`,
		`{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"summarize_snippet","arguments":{"snippetname":"a"}}}`,
		`[{"jsonrpc":"2.0","id":1,"method":"ping"},{"jsonrpc":"2.0","method":"notifications/initialized"}]`,
		`{"jsonrpc":"2.0","method":"notifications/initialized"}`,
		`{"jsonrpc":"2.0","id":1,"result":{}}`,
		`{"jsonrpc":"2.0","id":{"a":[1,2,{"b":null}]},"method":"tools/call","params":{"name":"whoami","arguments":[]}}`,
		`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","_meta":{"progressToken":1}}}`,
		`{"id":1,"id":2,"method":"ping","method":"tools/list"}`,
		`{`, `null`, `""`, `1e999`, "\xff\xfe", `{"jsonrpc":"2.0","id":1,"method":"server/discover"}`,
	} {
		f.Add(s, "2025-06-18")
	}
	f.Add(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"}}`, "2026-07-28")
	f.Add(`{"jsonrpc":"2.0","id":1,"method":"tools/list"}`, "")
	f.Fuzz(func(t *testing.T, body, version string) {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:7071/mcp", strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		if version != "" && utf8.ValidString(version) && !strings.ContainsAny(version, "\r\n\x00") {
			req.Header.Set("Mcp-Protocol-Version", version)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code >= 500 {
			t.Fatalf("status %d for a client's body %q: %s\nlogs: %s", rec.Code, body, rec.Body, logs.String())
		}
		if rec.Code != http.StatusAccepted && rec.Body.Len() > 0 && strings.HasPrefix(rec.Header().Get("Content-Type"), "application/json") && !json.Valid(rec.Body.Bytes()) {
			t.Fatalf("status %d with a body that is not JSON: %q", rec.Code, rec.Body)
		}
		if rec.Code == http.StatusOK {
			var m map[string]any
			var batch []any
			if json.Unmarshal(rec.Body.Bytes(), &m) != nil && json.Unmarshal(rec.Body.Bytes(), &batch) != nil {
				t.Fatalf("200 without a JSON-RPC answer: %q", rec.Body)
			}
		}
		if l := logs.String(); strings.Contains(l, `"level":"ERROR"`) || strings.Contains(l, "panic") {
			t.Fatalf("body %q made the server log an error or a panic:\n%s", body, l)
		}
	})
}
