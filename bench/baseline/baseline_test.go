package baseline

import (
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

func post(t testing.TB, h http.Handler, body string) *httptest.ResponseRecorder {
	req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(body))
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	return rec
}

const echoCall = `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"echo","arguments":{"message":"hello"}}}`

func TestMCPEchoes(t *testing.T) {
	rec := post(t, MCP(), echoCall)
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || !strings.Contains(string(body), `"id":7`) || !strings.Contains(string(body), `"text":"hello"`) {
		t.Fatalf("%d %s", rec.Code, body)
	}
}

func TestGoSDKEchoes(t *testing.T) {
	rec := post(t, GoSDK(), echoCall)
	body, _ := io.ReadAll(rec.Body)
	if rec.Code != 200 || !strings.Contains(string(body), `"id":7`) || !strings.Contains(string(body), `"text":"hello"`) ||
		strings.Contains(string(body), `"isError":true`) || rec.Header().Get("Mcp-Session-Id") != "" {
		t.Fatalf("%d %v %s", rec.Code, rec.Header(), body)
	}
	if ct := rec.Header().Get("Content-Type"); !strings.HasPrefix(ct, "application/json") {
		t.Errorf("Content-Type %q, want a JSON response (no SSE)", ct)
	}
}

// TestSameEchoTool: both Go baselines list one tool, echo, with the same
// input schema, so the peers do the same work for the same request.
func TestSameEchoTool(t *testing.T) {
	const list = `{"jsonrpc":"2.0","id":3,"method":"tools/list"}`
	schemas := map[string]any{}
	for name, h := range map[string]http.Handler{"mcp-go": MCP(), "go-sdk": GoSDK()} {
		rec := post(t, h, list)
		var resp struct {
			Result struct {
				Tools []struct {
					Name        string         `json:"name"`
					InputSchema map[string]any `json:"inputSchema"`
				} `json:"tools"`
			} `json:"result"`
		}
		if err := json.Unmarshal(rec.Body.Bytes(), &resp); err != nil || rec.Code != 200 || len(resp.Result.Tools) != 1 || resp.Result.Tools[0].Name != "echo" {
			t.Fatalf("%s: %d %s (%v)", name, rec.Code, rec.Body, err)
		}
		schemas[name] = resp.Result.Tools[0].InputSchema
	}
	var want map[string]any
	if err := json.Unmarshal([]byte(EchoSchema), &want); err != nil {
		t.Fatal(err)
	}
	for name, got := range schemas {
		g, _ := json.Marshal(got)
		w, _ := json.Marshal(want)
		if string(g) != string(w) {
			t.Errorf("%s lists %s, want %s", name, g, w)
		}
	}
}

func TestHTTPFixed(t *testing.T) {
	rec := post(t, HTTP(), echoCall)
	if rec.Code != 200 || rec.Body.String() != HTTPResponse {
		t.Fatalf("%d %s", rec.Code, rec.Body)
	}
}

// BenchmarkMCPEcho is the in-process cost of one tools/call in bare mcp-go,
// the counterpart of handler's BenchmarkFrontDoorWhoami.
func BenchmarkMCPEcho(b *testing.B) {
	h := MCP()
	b.ReportAllocs()
	for b.Loop() {
		if rec := post(b, h, echoCall); rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}

// BenchmarkGoSDKEcho is the same call in the official Go SDK.
func BenchmarkGoSDKEcho(b *testing.B) {
	h := GoSDK()
	b.ReportAllocs()
	for b.Loop() {
		if rec := post(b, h, echoCall); rec.Code != 200 {
			b.Fatal(rec.Code)
		}
	}
}
