package httpx

import (
	"bufio"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"testing/iotest"
	"time"
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

func TestLimitBodyClosesOn413(t *testing.T) {
	cases := []struct {
		name   string
		body   io.Reader
		length int64
		want   int
		close  bool
	}{
		{"within", strings.NewReader("0123456789"), 10, 200, false},
		{"declared over", strings.NewReader("0123456789X"), 11, 413, true},
		{"undeclared over", strings.NewReader("0123456789X"), -1, 413, true},
		{"broken", iotest.ErrReader(io.ErrUnexpectedEOF), -1, 400, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/mcp", c.body)
			r.ContentLength = c.length
			w := do(LimitBody(10, ok), r)
			if got := w.Code; got != c.want {
				t.Errorf("status: got %d, want %d", got, c.want)
			}
			if got := w.Header().Get("Connection") == "close"; got != c.close {
				t.Errorf("Connection: close: got %v, want %v", got, c.close)
			}
		})
	}
}

func TestRequireJSON(t *testing.T) {
	cases := []struct {
		method, contentType string
		want                int
	}{
		{"POST", "application/json", 200},
		{"POST", "application/json; charset=utf-8", 200},
		{"POST", "Application/JSON", 200},
		{"POST", "text/plain", 400},
		{"POST", "application/x-www-form-urlencoded", 400},
		{"POST", "", 400},
		{"POST", "application/json;;", 400},
		{"GET", "", 200},
	}
	for _, c := range cases {
		t.Run(c.method+" "+c.contentType, func(t *testing.T) {
			var read bool
			h := RequireJSON(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { read = true }))
			r := httptest.NewRequest(c.method, "/mcp", strings.NewReader("{}"))
			if c.contentType != "" {
				r.Header.Set("Content-Type", c.contentType)
			}
			w := do(h, r)
			if got := w.Code; got != c.want {
				t.Errorf("status: got %d, want %d", got, c.want)
			}
			if got := read; got != (c.want == 200) {
				t.Errorf("next ran: got %v, want %v", got, c.want == 200)
			}
			if c.want == 400 && !strings.Contains(w.Body.String(), "application/json") {
				t.Errorf("body does not name application/json: %s", w.Body)
			}
		})
	}
}

func TestCloseUnread(t *testing.T) {
	refuse := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { http.Error(w, "no", http.StatusUnauthorized) })
	readAll := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadAll(r.Body)
		w.Write([]byte("ok"))
	})
	readExact := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.ReadFull(r.Body, make([]byte, r.ContentLength))
		w.WriteHeader(http.StatusNoContent)
	})
	cases := []struct {
		name   string
		h      http.Handler
		method string
		body   string
		length int64
		close  bool
	}{
		{"refused unread", refuse, "POST", "abc", 3, true},
		{"refused unread, undeclared length", refuse, "POST", "abc", -1, true},
		{"read to EOF", readAll, "POST", "abc", 3, false},
		{"read to EOF, undeclared length", readAll, "POST", "abc", -1, false},
		{"read exactly Content-Length", readExact, "POST", "abc", 3, false},
		{"no body", refuse, "GET", "", 0, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest(c.method, "/mcp", strings.NewReader(c.body))
			r.ContentLength = c.length
			w := do(CloseUnread(c.h), r)
			if got := w.Header().Get("Connection") == "close"; got != c.close {
				t.Errorf("Connection: close: got %v, want %v", got, c.close)
			}
		})
	}
}

// TestCloseUnreadAnswersAStalledBody is the reason for CloseUnread: a
// handler that refuses a request without reading it must answer at once,
// even when the client stops sending its body, and close the connection.
// Without it net/http tries to drain the body first and waits.
func TestCloseUnreadAnswersAStalledBody(t *testing.T) {
	srv := httptest.NewServer(CloseUnread(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		http.Error(w, "no", http.StatusUnauthorized)
	})))
	defer srv.Close()
	c, err := net.Dial("tcp", srv.Listener.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// 100 KiB declared (under net/http's 256 KiB drain limit), 10 bytes sent.
	if _, err := io.WriteString(c, "POST /mcp HTTP/1.1\r\nHost: localhost\r\nContent-Length: 102400\r\n\r\n0123456789"); err != nil {
		t.Fatal(err)
	}
	_ = c.SetReadDeadline(time.Now().Add(3 * time.Second))
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("no answer while the body stalls: %v", err)
	}
	resp.Body.Close()
	if got, want := resp.StatusCode, http.StatusUnauthorized; got != want {
		t.Errorf("status: got %d, want %d", got, want)
	}
	if !resp.Close {
		t.Errorf("the connection stays open for more of the body: %v", resp.Header)
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
		"http://localhost.evil.example": 403, "https://evil.example": 403, "http://user@localhost:6274": 403,
		"http://localhost:6274/": 403, "http://localhost:6274?x": 403, "http://localhost:evil.example": 403,
		"http://127.evil.com": 403} {
		r := httptest.NewRequest("POST", "/mcp", nil)
		r.Header.Set("Origin", origin)
		if w := do(dev, r); w.Code != want {
			t.Errorf("dev Origin %q: %d, want %d", origin, w.Code, want)
		}
	}
}

func TestCheckHost(t *testing.T) {
	h := CheckHost([]string{"app.azurewebsites.net", "127.evil.com"}, ok)
	cases := []struct {
		host string
		want int
	}{
		{"127.0.0.1:7071", 200},
		{"127.1.2.3", 200},
		{"localhost", 200},
		{"LOCALHOST:7071", 200},
		{"[::1]:80", 200},
		{"[::1]", 200},
		{"app.azurewebsites.net", 200},
		{"APP.azurewebsites.net:443", 200},
		{"127.evil.com", 200}, // allowed by name, not as loopback
		{"evil.example", 403},
		{"127.0.0.1.evil.example", 403},
		{"127.evil.com.example", 403},
		{"localhost:evil.example", 400},
		{"app.azurewebsites.net:evil.example", 400},
		{"localhost:70000", 400},
		{"localhost:0", 400},
		{"localhost:", 400},
		{"localhost:80:80", 400},
		{"localhost:+80", 400},
		{"user@localhost", 400},
		{"user:pass@localhost:7071", 400},
		{"localhost/evil", 400},
		{"localhost%2fevil", 400},
		{"::1", 400},
		{"[::1", 400},
		{"[::1]x", 400},
		{"[127.0.0.1]", 400},
		{"[fe80::1%25eth0]", 400},
		{"", 400},
		{"localhost.", 400},
	}
	for _, c := range cases {
		t.Run(c.host, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/mcp", nil)
			r.Host = c.host
			w := do(h, r)
			if got := w.Code; got != c.want {
				t.Errorf("Host %q: got %d, want %d", c.host, got, c.want)
			}
			if c.host != "" && w.Code != 200 && strings.Contains(w.Body.String(), c.host) {
				t.Errorf("Host %q is echoed in the refusal: %q", c.host, w.Body)
			}
		})
	}
}

func TestParseHost(t *testing.T) {
	cases := []struct {
		in       string
		want     string // String() of the result; "" for an error
		loopback bool
	}{
		{"localhost", "localhost", true},
		{"LocalHost:07071", "localhost:7071", true},
		{"127.0.0.1:1", "127.0.0.1:1", true},
		{"127.255.255.254:65535", "127.255.255.254:65535", true},
		{"[::1]:8080", "[::1]:8080", true},
		{"[::FFFF:127.0.0.1]", "[::ffff:127.0.0.1]", true},
		{"app.example", "app.example", false},
		{"127.evil.com", "127.evil.com", false},
		{"127.0.0.1.nip.io", "127.0.0.1.nip.io", false},
		{"localhost.evil.example", "localhost.evil.example", false},
		{"127.1", "127.1", false}, // a name: net.ParseIP refuses the short form
		{"localhost:evil.example", "", false},
		{"localhost:65536", "", false},
		{"localhost:999999", "", false},
		{"localhost:-1", "", false},
		{"localhost: 80", "", false},
		{"user@localhost", "", false},
		{"localhost@evil.example", "", false},
		{"localhost/x", "", false},
		{"localhost?x", "", false},
		{"localhost#x", "", false},
		{"a..b", "", false},
		{strings.Repeat("a", 64) + ".example", "", false},
		{"[::1]:", "", false},
		{"[]", "", false},
		{"[::1]]", "", false},
	}
	for _, c := range cases {
		t.Run(c.in, func(t *testing.T) {
			h, err := ParseHost(c.in)
			got := h.String()
			if err != nil {
				got = ""
			}
			if got != c.want {
				t.Fatalf("ParseHost(%q) = %q, %v; want %q", c.in, got, err, c.want)
			}
			if err == nil && h.Loopback() != c.loopback {
				t.Errorf("ParseHost(%q).Loopback() = %v, want %v", c.in, h.Loopback(), c.loopback)
			}
		})
	}
}

// IsLoopback is the one loopback test: names and addresses, IPv6 with or
// without brackets, and look-alikes that are not loopback.
func TestIsLoopback(t *testing.T) {
	for h, want := range map[string]bool{"127.0.0.1": true, "::1": true, "[::1]": true, "localhost": true, "LocalHost": true, "127.1.2.3": true,
		"0.0.0.0": false, "10.0.0.1": false, "example.com": false, "": false, "127.evil.com": false, "localhost.evil.com": false, "[::1": false} {
		if IsLoopback(h) != want {
			t.Errorf("IsLoopback(%q) != %v", h, want)
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

func TestCheckProtocol(t *testing.T) {
	served := []string{"2025-06-18", "2026-07-28"}
	next := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		_, _ = w.Write(b) // the body still reaches the next handler
	})
	cases := []struct {
		name, version, body string
		status              int
		want                string
	}{
		{"served version", "2025-06-18", `{"jsonrpc":"2.0","id":1,"method":"ping"}`, 200, `"method":"ping"`},
		{"no version (initialize)", "", `{"jsonrpc":"2.0","id":1,"method":"initialize"}`, 200, "initialize"},
		{"unknown version", "1999-01-01", `{"jsonrpc":"2.0","id":1,"method":"initialize"}`, 400, `unsupported MCP-Protocol-Version \"1999-01-01\"; this server speaks 2025-06-18, 2026-07-28`},
		{"batch", "2025-06-18", " \n[{\"jsonrpc\":\"2.0\",\"id\":1,\"method\":\"ping\"}]", 400, "batches are not supported"},
		{"not JSON passes to mcp-go", "2025-06-18", `{"jsonrpc":`, 200, `{"jsonrpc":`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(c.body))
			if c.version != "" {
				req.Header.Set("Mcp-Protocol-Version", c.version)
			}
			rec := httptest.NewRecorder()
			CheckProtocol(served, next).ServeHTTP(rec, req)
			if got := rec.Code; got != c.status {
				t.Errorf("status %d, want %d", got, c.status)
			}
			if got := rec.Body.String(); !strings.Contains(got, c.want) {
				t.Errorf("body %s, want it to contain %s", got, c.want)
			}
			if c.status == 400 && !strings.Contains(rec.Body.String(), `"code":-32600`) {
				t.Errorf("body %s, want code -32600", rec.Body.String())
			}
		})
	}
}

// TestBodyReadOnce: a body LimitBody read is seen by the handlers further in
// (a second LimitBody, RequestsOnly) without being read and copied again,
// and reaches the last handler whole.
func TestBodyReadOnce(t *testing.T) {
	const msg = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	var first []byte
	var got string
	last := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := Buffered(r)
		if !ok || &b[0] != &first[0] {
			t.Error("the body was copied on its way in")
		}
		all, _ := io.ReadAll(r.Body)
		got = string(all)
	})
	outer := LimitBody(1<<10, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		first, _ = Buffered(r)
		LimitBody(1<<10, RequestsOnly(1<<10, last)).ServeHTTP(w, r)
	}))
	req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(msg))
	req.Header.Set("Content-Type", "application/json")
	outer.ServeHTTP(httptest.NewRecorder(), req)
	if got != msg {
		t.Fatalf("last handler read %q, want %q", got, msg)
	}
	t.Run("a consumed body is not offered", func(t *testing.T) {
		r := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(msg))
		LimitBody(1<<10, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			_, _ = io.ReadAll(io.LimitReader(r.Body, 3))
			if _, ok := Buffered(r); ok {
				t.Fatal("Buffered offered a partly read body")
			}
		})).ServeHTTP(httptest.NewRecorder(), r)
	})
}
