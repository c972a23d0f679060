package baseline

import (
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
