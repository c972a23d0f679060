package httpx

import (
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
)

var ok = http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
	b, _ := io.ReadAll(r.Body)
	w.Write(b)
})

func do(h http.Handler, r *http.Request) *httptest.ResponseRecorder {
	w := httptest.NewRecorder()
	h.ServeHTTP(w, r)
	return w
}

func TestLimitBody(t *testing.T) {
	h := LimitBody(10, ok)
	if w := do(h, httptest.NewRequest("POST", "/mcp", strings.NewReader("0123456789"))); w.Code != 200 || w.Body.String() != "0123456789" {
		t.Fatalf("at the limit: %d %q", w.Code, w.Body)
	}
	if w := do(h, httptest.NewRequest("POST", "/mcp", strings.NewReader("0123456789X"))); w.Code != 413 || !strings.Contains(w.Body.String(), `"code":-32600`) {
		t.Fatalf("over the limit: %d %s", w.Code, w.Body)
	}
	// A body whose length is not declared is cut off while reading.
	r := httptest.NewRequest("POST", "/mcp", io.MultiReader(strings.NewReader(strings.Repeat("x", 8)), strings.NewReader(strings.Repeat("y", 8))))
	r.ContentLength = -1
	if w := do(h, r); w.Code != 413 {
		t.Fatalf("undeclared length: %d", w.Code)
	}
	r = httptest.NewRequest("POST", "/mcp", iotest.ErrReader(io.ErrUnexpectedEOF))
	r.ContentLength = -1
	if w := do(h, r); w.Code != 400 {
		t.Fatalf("broken body: %d", w.Code)
	}
}

func TestCheckOrigin(t *testing.T) {
	h := CheckOrigin([]string{"https://vscode.dev"}, false, ok)
	for origin, want := range map[string]int{"": 200, "https://vscode.dev": 200, "https://VSCODE.dev": 200,
		"https://evil.example": 403, "http://localhost:6274": 403, "null": 403} {
		r := httptest.NewRequest("POST", "/mcp", nil)
		if origin != "" {
			r.Header.Set("Origin", origin)
		}
		if w := do(h, r); w.Code != want {
			t.Errorf("Origin %q: %d, want %d", origin, w.Code, want)
		}
	}
	dev := CheckOrigin(nil, true, ok)
	for origin, want := range map[string]int{"http://localhost:6274": 200, "http://127.0.0.1:3000": 200, "http://[::1]": 200,
		"http://localhost.evil.example": 403, "https://evil.example": 403} {
		r := httptest.NewRequest("POST", "/mcp", nil)
		r.Header.Set("Origin", origin)
		if w := do(dev, r); w.Code != want {
			t.Errorf("dev Origin %q: %d, want %d", origin, w.Code, want)
		}
	}
}

func TestCheckHost(t *testing.T) {
	h := CheckHost([]string{"app.azurewebsites.net"}, ok)
	for host, want := range map[string]int{"127.0.0.1:7071": 200, "localhost": 200, "[::1]:80": 200,
		"app.azurewebsites.net": 200, "APP.azurewebsites.net:443": 200, "evil.example": 403, "127.0.0.1.evil.example": 403} {
		r := httptest.NewRequest("POST", "/mcp", nil)
		r.Host = host
		if w := do(h, r); w.Code != want {
			t.Errorf("Host %q: %d, want %d", host, w.Code, want)
		}
	}
}

func TestRecoverAnswersJSONRPC(t *testing.T) {
	h := Recover(slog.New(slog.NewTextHandler(io.Discard, nil)), http.HandlerFunc(func(http.ResponseWriter, *http.Request) { panic("boom") }))
	w := do(h, httptest.NewRequest("POST", "/mcp", nil))
	if w.Code != 500 || !strings.Contains(w.Body.String(), `"code":-32603`) || strings.Contains(w.Body.String(), "boom") {
		t.Fatalf("%d %s", w.Code, w.Body)
	}
}

func TestPostOnly(t *testing.T) {
	for _, m := range []string{"GET", "DELETE", "PUT", "OPTIONS"} {
		if w := do(PostOnly(ok), httptest.NewRequest(m, "/mcp", nil)); w.Code != 405 || w.Header().Get("Allow") != "POST" {
			t.Errorf("%s: %d", m, w.Code)
		}
	}
}

func TestCORSForAdmittedOrigins(t *testing.T) {
	h := CheckOrigin([]string{"http://localhost:6274"}, false, PostOnly(ok))
	r := httptest.NewRequest("OPTIONS", "/mcp", nil)
	r.Header.Set("Origin", "http://localhost:6274")
	r.Header.Set("Access-Control-Request-Method", "POST")
	w := do(h, r)
	if w.Code != 204 || w.Header().Get("Access-Control-Allow-Origin") != "http://localhost:6274" ||
		!strings.Contains(w.Header().Get("Access-Control-Allow-Headers"), "Authorization") {
		t.Fatalf("preflight: %d %v", w.Code, w.Header())
	}
	r = httptest.NewRequest("OPTIONS", "/mcp", nil)
	r.Header.Set("Origin", "https://evil.example")
	r.Header.Set("Access-Control-Request-Method", "POST")
	if w := do(h, r); w.Code != 403 || w.Header().Get("Access-Control-Allow-Origin") != "" {
		t.Fatalf("foreign preflight: %d %v", w.Code, w.Header())
	}
	r = httptest.NewRequest("POST", "/mcp", strings.NewReader("x"))
	r.Header.Set("Origin", "http://localhost:6274")
	if w := do(h, r); w.Code != 200 || w.Header().Get("Access-Control-Allow-Origin") != "http://localhost:6274" {
		t.Fatalf("simple request: %d %v", w.Code, w.Header())
	}
	if w := do(h, httptest.NewRequest("OPTIONS", "/mcp", nil)); w.Code != 405 {
		t.Fatalf("OPTIONS without Origin: %d", w.Code)
	}
}
