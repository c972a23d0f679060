package e2e

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// badCase is one malformed or hostile request and exactly what the server
// must answer: the HTTP status, and for a JSON-RPC answer either the error
// code or the tool result (an error whose text contains toolErr, or a
// success).
type badCase struct {
	name    string
	method  string            // HTTP method; POST when empty
	path    string            // /mcp when empty
	headers map[string]string // added to, or replacing, the defaults; "" removes one
	body    string
	host    string // Host header; the server's own when empty

	status  int    // exact HTTP status
	code    int    // JSON-RPC error code, when the answer is one
	toolErr string // the answer is a tool error containing this
	toolOK  bool   // the answer is a successful tool result
	has     string // the body contains this
}

// call renders a tools/call body; args is raw JSON (or "" for none).
func call(tool, args string) string {
	if args == "" {
		return fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%s}}`, tool)
	}
	return fmt.Sprintf(`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":%s,"arguments":%s}}`, tool, args)
}

func q(s string) string { b, _ := json.Marshal(s); return string(b) }

// badInputCases: at least 50 client mistakes and attacks. Limits in force:
// MCP_MAX_BODY_BYTES=65536, SNIPPET_MAX_BYTES=4096.
func badInputCases() []badCase {
	const notAllowed = "has a character that is not allowed at position"
	deep := func(n int) string { return strings.Repeat("[", n) + strings.Repeat("]", n) }
	return []badCase{
		// HTTP method, path, headers.
		{name: "GET is not the stateless transport", method: "GET", status: 405, code: -32600},
		{name: "DELETE has no session to end", method: "DELETE", status: 405, code: -32600},
		{name: "PUT", method: "PUT", body: call(q("whoami"), ""), status: 405, code: -32600},
		{name: "PATCH", method: "PATCH", body: call(q("whoami"), ""), status: 405, code: -32600},
		{name: "unknown path", path: "/mcp/../admin", body: call(q("whoami"), ""), status: 404},
		{name: "text/plain body", headers: map[string]string{"Content-Type": "text/plain"}, body: call(q("whoami"), ""), status: 400, has: "application/json"},
		{name: "form body", headers: map[string]string{"Content-Type": "application/x-www-form-urlencoded"}, body: "a=b", status: 400, has: "application/json"},
		{name: "no content type", headers: map[string]string{"Content-Type": ""}, body: call(q("whoami"), ""), status: 400, has: "application/json"},
		{name: "foreign Host", host: "evil.example", body: call(q("whoami"), ""), status: 403},
		{name: "foreign Origin", headers: map[string]string{"Origin": "https://evil.example"}, body: call(q("whoami"), ""), status: 403},
		{name: "Origin null", headers: map[string]string{"Origin": "null"}, body: call(q("whoami"), ""), status: 403},
		{name: "unsupported protocol version", headers: map[string]string{"Mcp-Protocol-Version": "1999-01-01"}, body: call(q("whoami"), ""), status: 400},
		{name: "malformed traceparent is ignored", headers: map[string]string{"Traceparent": "00-zz-not-a-trace-context"}, body: call(q("whoami"), ""), status: 200, toolOK: true},
		{name: "header block over 64 KiB", headers: map[string]string{"X-Big": strings.Repeat("a", 80<<10)}, body: call(q("whoami"), ""), status: 431},

		// Sizes.
		{name: "body over the limit, declared", body: `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"` + strings.Repeat("a", 70<<10) + `"}}`, status: 413, code: -32600},
		{name: "snippet over SNIPPET_MAX_BYTES", body: call(q("save_snippet"), `{"snippetname":"big","snippet":"`+strings.Repeat("x", 5000)+`"}`), status: 200, toolErr: "snippet is too large: 5000 bytes, the limit is 4096 bytes"},
		{name: "name of 10,000 characters", body: call(q("get_snippet"), `{"snippetname":"`+strings.Repeat("a", 10000)+`"}`), status: 200, toolErr: `argument "snippetname" is 10000 characters; at most 128 are allowed`},
		{name: "name of 129 characters", body: call(q("get_snippet"), `{"snippetname":"`+strings.Repeat("a", 129)+`"}`), status: 200, toolErr: "at most 128 are allowed"},
		{name: "name of 128 characters is fine", body: call(q("save_snippet"), `{"snippetname":"`+strings.Repeat("b", 128)+`","snippet":"edge"}`), status: 200, toolOK: true},
		{name: "method name of 30,000 characters", body: `{"jsonrpc":"2.0","id":1,"method":"` + strings.Repeat("m", 30000) + `"}`, status: 200, code: -32601},
		{name: "tool name of 30,000 characters", body: call(q(strings.Repeat("t", 30000)), ""), status: 200, code: -32602},
		{name: "id of 30,000 characters is echoed", body: `{"jsonrpc":"2.0","id":"` + strings.Repeat("i", 30000) + `","method":"tools/call","params":{"name":"whoami"}}`, status: 200, toolOK: true},

		// Broken JSON.
		{name: "empty body", body: "", status: 400, code: -32700},
		{name: "lone brace", body: "{", status: 400, code: -32700},
		{name: "not JSON", body: "hello", status: 400, code: -32700},
		{name: "truncated", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami"`, status: 400, code: -32700},
		{name: "trailing garbage", body: call(q("whoami"), "") + " x", status: 400, code: -32700},
		{name: "single quotes", body: `{'jsonrpc':'2.0','id':1,'method':'ping'}`, status: 400, code: -32700},
		{name: "comments", body: `{"jsonrpc":"2.0", /* c */ "id":1,"method":"ping"}`, status: 400, code: -32700},
		{name: "byte order mark", body: "\xef\xbb\xbf" + call(q("whoami"), ""), status: 400, code: -32700},
		{name: "JSON null", body: "null", status: 200, code: -32600},
		{name: "JSON string", body: `"tools/call"`, status: 400, code: -32700},
		{name: "JSON number", body: "123", status: 400, code: -32700},
		{name: "empty batch", body: "[]", status: 400, code: -32600, has: "batches are not supported"},
		{name: "raw NUL inside a string", body: call(q("get_snippet"), "{\"snippetname\":\"a\x00b\"}"), status: 400, code: -32700},
		{name: "number out of range", body: call(q("list_snippets"), `{"limit":1e999}`), status: 200, code: -32600},

		// Deep nesting.
		{name: "nesting beyond the decoder's depth limit", body: call(q("whoami"), `{"x":`+deep(20000)+`}`), status: 400, code: -32700},
		{name: "deep but decodable arguments", body: call(q("whoami"), `{"x":`+deep(5000)+`}`), status: 200, toolErr: `unknown argument "x"`},
		// mcp-go accepts any JSON value as an id and echoes it (JSON-RPC allows
		// only strings, numbers and null); the body limit bounds the echo.
		{name: "deep id is echoed", body: `{"jsonrpc":"2.0","id":` + deep(5000) + `,"method":"ping"}`, status: 200, has: `"result":{}`},

		// Wrong types and shapes.
		{name: "name is a number", body: call(q("get_snippet"), `{"snippetname":42}`), status: 200, toolErr: `argument "snippetname" must be a string, not an integer`},
		{name: "snippet is an object", body: call(q("save_snippet"), `{"snippetname":"a","snippet":{"x":1}}`), status: 200, toolErr: `argument "snippet" must be a string, not an object`},
		{name: "shared is a string", body: call(q("get_snippet"), `{"snippetname":"a","shared":"true"}`), status: 200, toolErr: `argument "shared" must be true or false, not a string`},
		{name: "limit is a string", body: call(q("list_snippets"), `{"limit":"10"}`), status: 200, toolErr: `argument "limit" must be an integer, not a string`},
		{name: "limit is fractional", body: call(q("list_snippets"), `{"limit":1.5}`), status: 200, toolErr: `argument "limit" must be an integer, not a number`},
		{name: "limit below range", body: call(q("list_snippets"), `{"limit":0}`), status: 200, toolErr: `argument "limit" must be between 1 and 100`},
		{name: "limit above range", body: call(q("list_snippets"), `{"limit":1000000}`), status: 200, toolErr: `argument "limit" must be between 1 and 100`},
		{name: "missing required argument", body: call(q("save_snippet"), `{"snippetname":"a"}`), status: 200, toolErr: `missing required argument "snippet"`},
		{name: "unknown argument", body: call(q("get_snippet"), `{"snippetname":"a","path":"/etc/passwd"}`), status: 200, toolErr: `unknown argument "path"`},
		{name: "arguments is an array", body: call(q("whoami"), `[1,2]`), status: 200, toolErr: "arguments must be a JSON object"},
		{name: "arguments is a string", body: call(q("whoami"), `"x"`), status: 200, toolErr: "arguments must be a JSON object"},
		{name: "params is an array", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":["whoami"]}`, status: 200, code: -32600},
		{name: "tool name is a number", body: call("7", ""), status: 200, code: -32600},
		{name: "id is an object is echoed", body: `{"jsonrpc":"2.0","id":{"a":1},"method":"ping"}`, status: 200, has: `"id":{"a":1},"result":{}`},
		{name: "id is a boolean is echoed", body: `{"jsonrpc":"2.0","id":true,"method":"ping"}`, status: 200, has: `"id":true,"result":{}`},
		{name: "jsonrpc 1.0", body: `{"jsonrpc":"1.0","id":1,"method":"ping"}`, status: 200, code: -32600},
		{name: "no jsonrpc member", body: `{"id":1,"method":"ping"}`, status: 200, code: -32600},
		{name: "method is a number", body: `{"jsonrpc":"2.0","id":1,"method":7}`, status: 400, code: -32700},
		{name: "unknown method", body: `{"jsonrpc":"2.0","id":1,"method":"admin/shutdown"}`, status: 200, code: -32601},

		// Invalid UTF-8 and NUL bytes: encoding/json turns invalid bytes and
		// lone surrogates into U+FFFD before the server sees them.
		{name: "invalid UTF-8 in a name", body: call(q("get_snippet"), "{\"snippetname\":\"a\xffb\"}"), status: 200, toolErr: notAllowed + " 2"},
		{name: "overlong UTF-8 slash in a name", body: call(q("get_snippet"), "{\"snippetname\":\"a\xc0\xafb\"}"), status: 200, toolErr: notAllowed + " 2"},
		{name: "invalid UTF-8 in a tool name", body: call("\"who\xffami\"", ""), status: 200, code: -32602},
		{name: "invalid UTF-8 in content is replaced, not stored raw", body: call(q("save_snippet"), "{\"snippetname\":\"utf8\",\"snippet\":\"a\xffb\"}"), status: 200, toolOK: true, has: `"size":5`},
		{name: "lone surrogate in content", body: call(q("save_snippet"), `{"snippetname":"surrogate","snippet":"a\ud800b"}`), status: 200, toolOK: true, has: `"size":5`},
		{name: "NUL in a name", body: call(q("get_snippet"), `{"snippetname":"a\u0000b"}`), status: 200, toolErr: notAllowed + " 2"},
		{name: "NUL in a tool name", body: call(q("whoami\x00"), ""), status: 200, code: -32602},
		{name: "NUL in content is text", body: call(q("save_snippet"), `{"snippetname":"nul","snippet":"a\u0000b"}`), status: 200, toolOK: true, has: `"size":3`},

		// Look-alike names.
		{name: "Cyrillic o in a name", body: call(q("get_snippet"), `{"snippetname":"n\u043etes"}`), status: 200, toolErr: notAllowed + " 2"},
		{name: "fullwidth name", body: call(q("get_snippet"), `{"snippetname":"\uff4e\uff4f\uff54\uff45\uff53"}`), status: 200, toolErr: notAllowed + " 1"},
		{name: "zero-width space in a name", body: call(q("get_snippet"), `{"snippetname":"no\u200btes"}`), status: 200, toolErr: notAllowed + " 3"},
		{name: "right-to-left override in a name", body: call(q("get_snippet"), `{"snippetname":"a\u202etxt.exe"}`), status: 200, toolErr: notAllowed + " 2"},
		{name: "combining accent in a name", body: call(q("get_snippet"), `{"snippetname":"cafe\u0301"}`), status: 200, toolErr: notAllowed + " 5"},
		{name: "Cyrillic a in a tool name", body: call(q("who\u0430mi"), ""), status: 200, code: -32602},
		{name: "tool name in upper case", body: call(q("WHOAMI"), ""), status: 200, code: -32602},
		{name: "tool name with a trailing space", body: call(q("whoami "), ""), status: 200, code: -32602},

		// Path traversal and names that mean something elsewhere.
		{name: "dot-dot slash", body: call(q("get_snippet"), `{"snippetname":"../secret"}`), status: 200, toolErr: notAllowed + " 1"},
		{name: "traversal after a name", body: call(q("get_snippet"), `{"snippetname":"a/../../b"}`), status: 200, toolErr: notAllowed + " 2"},
		{name: "slash", body: call(q("save_snippet"), `{"snippetname":"a/b","snippet":"x"}`), status: 200, toolErr: notAllowed + " 2"},
		{name: "backslash", body: call(q("get_snippet"), `{"snippetname":"..\\x"}`), status: 200, toolErr: notAllowed + " 1"},
		{name: "percent-encoded traversal", body: call(q("get_snippet"), `{"snippetname":"%2e%2e%2fx"}`), status: 200, toolErr: notAllowed + " 1"},
		{name: "leading dot", body: call(q("get_snippet"), `{"snippetname":".hidden"}`), status: 200, toolErr: notAllowed + " 1"},
		{name: "double dot inside", body: call(q("get_snippet"), `{"snippetname":"a..b"}`), status: 200, toolErr: "contains '..'"},
		{name: "list prefix with traversal", body: call(q("list_snippets"), `{"prefix":"../"}`), status: 200, toolErr: "prefix: snippet name has a character"},
		// A forged cursor cannot leave the caller's space (TestForgedCursorStaysInSpace
		// shows it across two callers): cursors name a snippet, and anything
		// else is refused.
		{name: "forged list cursor", body: call(q("list_snippets"), `{"cursor":"../../t-other/u-victim/"}`), status: 200, toolErr: "cursor is not valid here"},
		{name: "resource with traversal", body: `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"snippet://../x"}}`, status: 200, code: -32002},
		// mcp-go v1.2.1 answers every resource or prompt handler error with
		// -32603; tools.FixErrors makes a bad name what it is, invalid params.
		{name: "resource with a bad name", body: `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"snippet://a..b"}}`, status: 200, code: -32602, has: "contains '..'"},
		{name: "resource outside the server", body: `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"file:///etc/passwd"}}`, status: 200, code: -32002},
		{name: "prompt with a traversal name", body: `{"jsonrpc":"2.0","id":1,"method":"prompts/get","params":{"name":"review_snippet","arguments":{"snippetname":"../x"}}}`, status: 200, code: -32602, has: "not allowed at position 1"},

		// Duplicate keys: encoding/json keeps the last one.
		{name: "duplicate tool name key", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","name":"save_snippet"}}`, status: 200, toolErr: `missing required argument "snippetname"`},
		{name: "duplicate argument key", body: call(q("save_snippet"), `{"snippetname":"../x","snippetname":"dup-ok","snippet":"x"}`), status: 200, toolOK: true, has: `"name":"dup-ok"`},
		{name: "duplicate method key", body: `{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"admin/shutdown"}`, status: 200, code: -32601},

		// Messages that get no answer.
		{name: "notification", body: `{"jsonrpc":"2.0","method":"notifications/initialized"}`, status: 202},
		{name: "unsolicited response", body: `{"jsonrpc":"2.0","id":99,"result":{}}`, status: 202},
	}
}

// TestBadInputCorpus sends every bad input case to one server: each gets
// its exact answer, none gets a 5xx, and the server never panics.
func TestBadInputCorpus(t *testing.T) {
	t.Parallel()
	srv, _ := devServer(t, "MCP_MAX_BODY_BYTES=65536", "SNIPPET_MAX_BYTES=4096")
	waitStorage(t, newClient(), srv.MCPURL())
	cases := badInputCases()
	if len(cases) < 50 {
		t.Fatalf("only %d cases; the corpus must hold at least 50", len(cases))
	}
	c := &http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}
	for _, bc := range cases {
		t.Run(bc.name, func(t *testing.T) {
			resp, body := badRequest(t, c, srv, bc)
			if resp.StatusCode >= 500 {
				t.Fatalf("5xx for a client's mistake: %d %.300s", resp.StatusCode, body)
			}
			if resp.StatusCode != bc.status {
				t.Fatalf("status %d, want %d: %.300s", resp.StatusCode, bc.status, body)
			}
			if bc.has != "" && !strings.Contains(body, bc.has) {
				t.Errorf("body does not contain %q: %.300s", bc.has, body)
			}
			if bc.code == 0 && bc.toolErr == "" && !bc.toolOK {
				return
			}
			var r rpc
			if err := json.Unmarshal([]byte(body), &r); err != nil {
				t.Fatalf("not a JSON-RPC answer: %v: %.300s", err, body)
			}
			switch {
			case bc.code != 0:
				if r.Error == nil || r.Error.Code != bc.code {
					t.Fatalf("want JSON-RPC error %d, got %.300s", bc.code, body)
				}
			default:
				var tr toolResult
				if r.Error != nil || r.Result == nil || json.Unmarshal(r.Result, &tr) != nil {
					t.Fatalf("want a tool result, got %.300s", body)
				}
				if bc.toolOK && tr.IsError {
					t.Fatalf("want success, got tool error %q", tr.Text())
				}
				if bc.toolErr != "" && (!tr.IsError || !strings.Contains(tr.Text(), bc.toolErr)) {
					t.Fatalf("want a tool error containing %q, got isError=%v %q", bc.toolErr, tr.IsError, tr.Text())
				}
			}
		})
	}
	if !healthy(srv) {
		t.Fatal("server unhealthy after the corpus")
	}
	noPanics(t, srv)
}

func badRequest(t *testing.T, c *http.Client, srv *Server, bc badCase) (*http.Response, string) {
	t.Helper()
	method, path := bc.method, bc.path
	if method == "" {
		method = http.MethodPost
	}
	if path == "" {
		path = "/mcp"
	}
	var body io.Reader
	if bc.body != "" || method == http.MethodPost {
		body = strings.NewReader(bc.body)
	}
	req, err := http.NewRequest(method, srv.URL+path, body)
	if err != nil {
		t.Fatal(err)
	}
	if path != "/mcp" {
		req.URL.Path = path // keep the dot-dots: no client-side cleaning
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	for k, v := range bc.headers {
		if v == "" {
			req.Header.Del(k)
			continue
		}
		req.Header.Set(k, v)
	}
	if bc.host != "" {
		req.Host = bc.host
	}
	resp, err := c.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

// TestOversizedChunkedBody sends a body over the limit without a length
// (chunked): the limit holds while reading, and the answer is 413.
func TestOversizedChunkedBody(t *testing.T) {
	t.Parallel()
	srv, _ := devServer(t, "MCP_MAX_BODY_BYTES=65536", "SNIPPET_MAX_BYTES=4096")
	pr, pw := io.Pipe()
	go func() {
		_, _ = pw.Write([]byte(`{"jsonrpc":"2.0","id":1,"method":"ping","params":{"x":"`))
		for range 100 {
			if _, err := pw.Write([]byte(strings.Repeat("a", 1024))); err != nil {
				return
			}
		}
		_, _ = pw.Write([]byte(`"}}`))
		pw.Close()
	}()
	req, _ := http.NewRequest(http.MethodPost, srv.MCPURL(), pr)
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	resp, err := (&http.Client{Timeout: 30 * time.Second, Transport: &http.Transport{Proxy: nil}}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusRequestEntityTooLarge || !strings.Contains(string(b), "-32600") {
		t.Fatalf("status %d: %s", resp.StatusCode, b)
	}
}

// slowClient opens a raw connection and sends head, then trickles the
// rest one byte at a time with gap between bytes, until the server closes
// the connection or limit passes. It returns when and how it ended.
func slowClient(t *testing.T, srv *Server, head, rest string, gap, limit time.Duration) (time.Duration, string) {
	t.Helper()
	u, _ := url.Parse(srv.URL)
	conn, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	start := time.Now()
	if _, err := conn.Write([]byte(head)); err != nil {
		t.Fatal(err)
	}
	closed := make(chan string, 1)
	go func() {
		line, err := bufio.NewReader(conn).ReadString('\n')
		if err != nil && line == "" {
			closed <- "closed: " + err.Error()
			return
		}
		closed <- "answered: " + strings.TrimSpace(line)
	}()
	for i := 0; time.Since(start) < limit; i++ {
		select {
		case how := <-closed:
			return time.Since(start), how
		case <-time.After(gap):
		}
		if i < len(rest) {
			if _, err := conn.Write([]byte{rest[i]}); err != nil {
				return time.Since(start), "write failed: " + err.Error()
			}
		}
	}
	return time.Since(start), ""
}

// TestSlowlorisHeaders trickles request headers one byte a second: the
// server cuts the connection at its header timeout (10 s) instead of
// holding a worker for as long as the client likes.
func TestSlowlorisHeaders(t *testing.T) {
	t.Parallel()
	srv, _ := devServer(t)
	took, how := slowClient(t, srv, "POST /mcp HTTP/1.1\r\nHost: 127.0.0.1\r\n", strings.Repeat("X-Slow: a\r\n", 100), time.Second, 20*time.Second)
	if how == "" {
		t.Fatalf("connection still open after %s of slow headers", took)
	}
	t.Logf("slow headers: %s after %s", how, took.Round(100*time.Millisecond))
	if took < 9*time.Second {
		t.Errorf("ended after %s, before the 10 s header timeout: %s", took, how)
	}
	if !healthy(srv) {
		t.Fatal("server unhealthy")
	}
}

// TestSlowBodiesDoNotStarveOthers holds 50 connections that send a body
// one byte a second, and checks that other clients are served normally
// meanwhile. (That the server cuts such a body at its 30 s read timeout is
// the long form, TestSlowBodyCut, under SOAK=1.)
func TestSlowBodiesDoNotStarveOthers(t *testing.T) {
	t.Parallel()
	srv, _ := devServer(t)
	u, _ := url.Parse(srv.URL)
	body := call(q("whoami"), "")
	for range 50 {
		conn, err := net.Dial("tcp", u.Host)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { conn.Close() })
		fmt.Fprintf(conn, "POST /mcp HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: %d\r\n\r\n%s", u.Host, len(body), body[:5])
		go func() {
			for i := 5; i < len(body); i++ {
				time.Sleep(time.Second)
				if _, err := conn.Write([]byte{body[i]}); err != nil {
					return
				}
			}
		}()
	}
	c := newClient()
	for range 20 {
		if r := tool(c, srv.MCPURL(), "whoami", nil); !r.ok() {
			t.Fatalf("whoami while slow bodies are open: %s", r)
		}
	}
	noPanics(t, srv)
}

// TestForgedCursorStaysInSpace: a list cursor is opaque to clients, but a
// hostile one may name a position inside another caller's space. The
// listing must still show only the caller's own snippets.
func TestForgedCursorStaysInSpace(t *testing.T) {
	t.Parallel()
	srv, iss := jwtServer(t)
	const aliceOID, bobOID = "aaaaaaaa-0000-0000-0000-000000000001", "bbbbbbbb-0000-0000-0000-000000000002"
	alice := bearer(iss.Mint(t, authtest.Claims{ObjectID: aliceOID}))
	bob := bearer(iss.Mint(t, authtest.Claims{ObjectID: bobOID}))
	c := newClient()
	waitStorage(t, c, srv.MCPURL(), alice...)
	for _, n := range []string{"alice-1", "alice-2"} {
		if r := tool(c, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": n, "snippet": "private"}, alice...); !r.ok() {
			t.Fatal(r)
		}
	}
	if r := tool(c, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": "bob-1", "snippet": "mine"}, bob...); !r.ok() {
		t.Fatal(r)
	}
	space := "t-" + authtest.TenantID + "/u-" + aliceOID + "/"
	for _, cursor := range []string{space, space + "alice-1", "t-", "t-" + authtest.TenantID + "/", "~"} {
		r := tool(c, srv.MCPURL(), "list_snippets", map[string]any{"cursor": cursor}, bob...)
		if r.Err != nil || r.Status != http.StatusOK || r.RPC.Error != nil {
			t.Fatalf("cursor %q: %s", cursor, r)
		}
		if strings.Contains(string(r.Body), "alice-") {
			t.Fatalf("cursor %q shows another caller's snippets: %s", cursor, r.Body)
		}
	}
}
