package e2e

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// rawExchange writes head (request line and headers, CRLF-separated, no
// blank line) and then body on a new connection to s, and reads one
// response within wait. The body may be shorter than it declares: the
// connection stays open as a client that stalls would keep it.
func rawExchange(t *testing.T, s *Server, head, body string, wait time.Duration) (*http.Response, *bufio.Reader, error) {
	t.Helper()
	u, _ := url.Parse(s.URL)
	c, err := net.Dial("tcp", u.Host)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	if _, err := io.WriteString(c, head+"\r\n\r\n"+body); err != nil {
		t.Fatal(err)
	}
	_ = c.SetDeadline(time.Now().Add(wait))
	br := bufio.NewReader(c)
	resp, err := http.ReadResponse(br, nil)
	if err != nil {
		return nil, nil, err
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	resp.Body = io.NopCloser(strings.NewReader(string(b)))
	return resp, br, err
}

// closedAfter reports whether the server closes the connection after its
// answer: the next read ends (EOF or reset) instead of waiting.
func closedAfter(br *bufio.Reader) bool {
	_, err := br.ReadByte()
	var ne net.Error
	return err != nil && !(errors.As(err, &ne) && ne.Timeout())
}

// TestRefusedRequestsReadNoBody: authentication and every other refusal
// runs on the headers, before any body byte is read, and the refusal
// closes the connection. Most requests declare a body they never finish
// (or, with Expect: 100-continue, never start), so a server that reads
// the body before refusing answers only at its 30 s read timeout; and a
// 100 Continue would show that it asked for the body.
func TestRefusedRequestsReadNoBody(t *testing.T) {
	t.Parallel()
	srv, iss := jwtServer(t, "MCP_MAX_BODY_BYTES=8192", "SNIPPET_MAX_BYTES=4096")
	host := strings.TrimPrefix(srv.URL, "http://")
	good := "Authorization: Bearer " + iss.Mint(t, authtest.Claims{})
	const ct = "Content-Type: application/json\r\nAccept: application/json, text/event-stream"
	authed := "POST /mcp HTTP/1.1\r\nHost: " + host + "\r\n" + ct + "\r\nMcp-Protocol-Version: 2025-06-18\r\n" + good
	big := `{"jsonrpc":"2.0","id":1,"method":"ping","params":{"pad":"` + strings.Repeat("a", 9000) + `"}}`
	cases := []struct {
		name string
		head string
		body string
		want int
	}{
		{"no token, stalled body", "POST /mcp HTTP/1.1\r\nHost: " + host + "\r\n" + ct + "\r\nContent-Length: 8000", `{"jsonrpc":`, 401},
		{"no token, chunked stalled body", "POST /mcp HTTP/1.1\r\nHost: " + host + "\r\n" + ct + "\r\nTransfer-Encoding: chunked", "b\r\n{\"jsonrpc\":\r\n", 401},
		{"no token, body over the limit", "POST /mcp HTTP/1.1\r\nHost: " + host + "\r\n" + ct + "\r\nContent-Length: 1000000", `{"jsonrpc":`, 401},
		{"bad token, stalled body", "POST /mcp HTTP/1.1\r\nHost: " + host + "\r\n" + ct + "\r\nAuthorization: Bearer not-a-jwt\r\nContent-Length: 8000", `{"jsonrpc":`, 401},
		{"no token, Expect 100-continue", "POST /mcp HTTP/1.1\r\nHost: " + host + "\r\n" + ct + "\r\nExpect: 100-continue\r\nContent-Length: 8000", "", 401},
		{"valid token, wrong content type, stalled body", "POST /mcp HTTP/1.1\r\nHost: " + host + "\r\n" + good + "\r\nContent-Type: text/plain\r\nContent-Length: 8000", `{"jsonrpc":`, 400},
		{"foreign host, stalled body", "POST /mcp HTTP/1.1\r\nHost: evil.example\r\n" + ct + "\r\nContent-Length: 8000", `{"jsonrpc":`, 403},
		{"PUT, stalled body", "PUT /mcp HTTP/1.1\r\nHost: " + host + "\r\n" + ct + "\r\nContent-Length: 8000", `{"jsonrpc":`, 405},
		{"unknown path, stalled body", "POST /other HTTP/1.1\r\nHost: " + host + "\r\n" + ct + "\r\nContent-Length: 8000", `{"jsonrpc":`, 404},
		// An authenticated body over the limit still gets its 413, and the
		// connection closes with it so the rest of the body goes nowhere.
		{"valid token, declared over the limit, sent in full", authed + "\r\nContent-Length: " + strconv.Itoa(len(big)), big, 413},
		{"valid token, declared over the limit, stalled", authed + "\r\nContent-Length: 100000", big[:100], 413},
		{"valid token, chunked over the limit", authed + "\r\nTransfer-Encoding: chunked", fmt.Sprintf("%x\r\n%s\r\n0\r\n\r\n", len(big), big), 413},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			start := time.Now()
			resp, br, err := rawExchange(t, srv, c.head, c.body, 5*time.Second)
			if err != nil {
				t.Fatalf("no answer within 5 s while the body is unfinished (%v): the body is read before the refusal", err)
			}
			if got := resp.StatusCode; got != c.want {
				t.Fatalf("status: got %d, want %d (after %s)", got, c.want, time.Since(start))
			}
			if !resp.Close {
				t.Errorf("no Connection: close on a refusal: %v", resp.Header)
			}
			if !closedAfter(br) {
				t.Errorf("the connection stays open after the refusal")
			}
		})
	}
}

// TestRefusedBodiesCostNoMemory repeats the review's measurement: 60
// unauthenticated connections, each sending most of a body just under the
// default 1 MiB limit and holding the rest back. A server that buffers
// bodies before authentication holds about 60 MiB for them (more under
// the race detector); one that refuses on the headers holds none. Peak
// resident memory (VmHWM) must grow by less than 24 MiB.
func TestRefusedBodiesCostNoMemory(t *testing.T) {
	t.Parallel()
	srv, _ := jwtServer(t)
	status := fmt.Sprintf("/proc/%d/status", srv.cmd.Process.Pid)
	if _, err := os.Stat(status); err != nil {
		t.Skip("no /proc: cannot measure resident memory here")
	}
	before := peakRSS(t, status)
	u, _ := url.Parse(srv.URL)
	const conns, declared, sent = 60, 1<<20 - 4096, 1<<20 - 8192
	payload := strings.Repeat("x", sent)
	var wg sync.WaitGroup
	var mu sync.Mutex
	answered := 0
	for range conns {
		wg.Go(func() {
			c, err := net.Dial("tcp", u.Host)
			if err != nil {
				return
			}
			defer c.Close()
			_ = c.SetDeadline(time.Now().Add(8 * time.Second))
			head := fmt.Sprintf("POST /mcp HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n", u.Host, declared)
			// The write fails once the server has answered and closed.
			_, _ = io.WriteString(c, head+payload)
			if resp, err := http.ReadResponse(bufio.NewReader(c), nil); err == nil {
				resp.Body.Close()
				if resp.StatusCode == http.StatusUnauthorized {
					mu.Lock()
					answered++
					mu.Unlock()
				}
			}
		})
	}
	wg.Wait()
	after := peakRSS(t, status)
	t.Logf("VmHWM %d KiB -> %d KiB; %d of %d answered 401", before, after, answered, conns)
	if grew := after - before; grew > 24<<10 {
		t.Errorf("peak RSS grew by %d KiB for %d refused requests: their bodies were buffered", grew, conns)
	}
	if answered != conns {
		t.Errorf("%d of %d refused requests got their 401 while the body was unfinished", answered, conns)
	}
}

// peakRSS reads VmHWM (KiB) from a /proc/<pid>/status file.
func peakRSS(t *testing.T, status string) int {
	t.Helper()
	b, err := os.ReadFile(status)
	if err != nil {
		t.Fatal(err)
	}
	for line := range strings.SplitSeq(string(b), "\n") {
		if v, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			n, err := strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
			if err != nil {
				t.Fatal(err)
			}
			return n
		}
	}
	t.Fatalf("no VmHWM in %s", status)
	return 0
}

// TestHostileHosts: a Host that is not strictly host[:port] is refused
// before routing (400), on the MCP endpoint and on the metadata document,
// and is never echoed. A well-formed foreign host is 403. Go's client
// cannot send some of these, so they go over a raw connection.
func TestHostileHosts(t *testing.T) {
	t.Parallel()
	srv, _ := jwtServer(t, "MCP_ALLOWED_HOSTS=127.evil.com")
	port := strings.TrimPrefix(srv.URL, "http://127.0.0.1:")
	cases := []struct {
		host string
		want int
	}{
		{"localhost:evil.example", 400},
		{"127.0.0.1:evil.example", 400},
		{"localhost:" + port + ":evil.example", 400},
		{"localhost:70000", 400},
		{"localhost:0", 400},
		{"localhost:", 400},
		{"user@localhost:" + port, 400},
		{"user:pass@127.0.0.1:" + port, 400},
		{"localhost%2f.evil.example", 400},
		{"[::1]evil.example", 400},
		{"127.0.0.1.evil.example", 403},
		{"127.evil.com.example", 403},
		{"evil.example:" + port, 403},
	}
	for _, c := range cases {
		for _, path := range []string{"POST /mcp", "GET /.well-known/oauth-protected-resource/mcp"} {
			t.Run(c.host+" "+path, func(t *testing.T) {
				resp, _, err := rawExchange(t, srv, path+" HTTP/1.1\r\nHost: "+c.host+"\r\nContent-Type: application/json\r\nContent-Length: 2", "{}", 5*time.Second)
				if err != nil {
					t.Fatal(err)
				}
				b, _ := io.ReadAll(resp.Body)
				if got := resp.StatusCode; got != c.want {
					t.Errorf("status: got %d, want %d: %s", got, c.want, b)
				}
				if h := resp.Header.Get("WWW-Authenticate"); strings.Contains(h, c.host) || strings.Contains(string(b), c.host) {
					t.Errorf("the Host is echoed: %q %s", h, b)
				}
			})
		}
	}
}

// TestPRMFromHost: a metadata document derived from the request's Host is
// built from the parsed host only, with https for a host that merely
// starts with "127.", and is not cacheable for other hosts; a configured
// MCP_RESOURCE_URL is used whatever the Host and may be cached publicly.
func TestPRMFromHost(t *testing.T) {
	t.Parallel()
	derived, _ := jwtServer(t, "MCP_ALLOWED_HOSTS=127.evil.com")
	configured, _ := jwtServer(t, "MCP_RESOURCE_URL=https://gw.example/snippets/mcp")
	port := strings.TrimPrefix(derived.URL, "http://127.0.0.1:")
	cases := []struct {
		name         string
		srv          *Server
		host         string
		wantResource string
		wantCache    string
		wantVary     string
	}{
		{"loopback", derived, "127.0.0.1:" + port, "http://127.0.0.1:" + port + "/mcp", "private", "Host"},
		{"localhost canonical", derived, "LocalHost:" + port, "http://localhost:" + port + "/mcp", "private", "Host"},
		{"127 prefix is not loopback", derived, "127.evil.com", "https://127.evil.com/mcp", "private", "Host"},
		{"configured", configured, "localhost", "https://gw.example/snippets/mcp", "public", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			req, _ := http.NewRequest(http.MethodGet, c.srv.URL+"/.well-known/oauth-protected-resource/mcp", nil)
			req.Host = c.host
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			defer resp.Body.Close()
			var doc struct{ Resource string }
			if err := json.NewDecoder(resp.Body).Decode(&doc); err != nil || resp.StatusCode != 200 {
				t.Fatalf("%d %v", resp.StatusCode, err)
			}
			if doc.Resource != c.wantResource {
				t.Errorf("resource: got %q, want %q", doc.Resource, c.wantResource)
			}
			if got := resp.Header.Get("Cache-Control"); !strings.HasPrefix(got, c.wantCache) {
				t.Errorf("Cache-Control: got %q, want %s", got, c.wantCache)
			}
			if got := resp.Header.Get("Vary"); got != c.wantVary {
				t.Errorf("Vary: got %q, want %q", got, c.wantVary)
			}

			// The challenge points at the same origin's document.
			u, _ := url.Parse(c.wantResource)
			want := `resource_metadata="` + u.Scheme + "://" + u.Host + `/.well-known/oauth-protected-resource/mcp"`
			req, _ = http.NewRequest(http.MethodPost, c.srv.MCPURL(), strings.NewReader(pingBody))
			req.Host = c.host
			req.Header.Set("Content-Type", "application/json")
			resp2, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp2.Body.Close()
			if got := resp2.Header.Get("WWW-Authenticate"); resp2.StatusCode != 401 || !strings.Contains(got, want) {
				t.Errorf("challenge: got %d %q, want 401 with %s", resp2.StatusCode, got, want)
			}
		})
	}
}

// TestRefusalsAudited: a request refused for a missing or bad token leaves
// an audit event (result unauthenticated, the fixed reason, no identity,
// the caller's trace id) that carries no token text; a flood is rate
// limited, and the events count what they left out.
func TestRefusalsAudited(t *testing.T) {
	t.Parallel()
	srv, iss := jwtServer(t)
	tokens := map[string]string{
		"expired":        iss.Mint(t, authtest.Claims{IssuedAt: time.Now().Add(-3 * time.Hour), NotBefore: time.Now().Add(-3 * time.Hour), Expiry: time.Now().Add(-2 * time.Hour)}),
		"wrong audience": iss.Mint(t, authtest.Claims{Audience: []string{"api://someone-else"}}),
		"alg none":       iss.NoneToken(t, authtest.Claims{}),
		"not a JWT":      "not-a-jwt-but-a-secret-looking-value",
		"no token":       "",
	}
	traces := map[string]string{}
	i := 0
	for name, tok := range tokens {
		i++
		trace := fmt.Sprintf("%032x", 0xabc000+i)
		traces[trace] = name
		headers := []string{"Mcp-Protocol-Version", "2025-06-18", "Traceparent", "00-" + trace + "-00f067aa0ba902b7-01"}
		if tok != "" {
			headers = append(headers, bearer(tok)...)
		}
		if resp, body := post(t, srv.MCPURL(), pingBody, headers...); resp.StatusCode != http.StatusUnauthorized {
			t.Fatalf("%s: status %d, want 401: %s", name, resp.StatusCode, body)
		}
		time.Sleep(120 * time.Millisecond) // stay under the rate limit here
	}
	evs := waitEvents(t, srv, len(tokens))
	seen := map[string]audit.Event{}
	for _, e := range evs {
		if name, ok := traces[e.OperationID]; ok {
			seen[name] = e
		}
	}
	for name := range tokens {
		t.Run(name, func(t *testing.T) {
			e, ok := seen[name]
			if !ok {
				t.Fatalf("no audit event for the refused request")
			}
			if e.ResultCode != audit.ResultUnauthenticated || e.Message == "" {
				t.Errorf("got %q %q, want %q and a reason", e.ResultCode, e.Message, audit.ResultUnauthenticated)
			}
			if e.CallerIdentity != "" || e.TenantID != "" || e.AgentID != "" || e.ToolName != "" {
				t.Errorf("identity or tool in a refusal: %+v", e)
			}
		})
	}
	if e := seen["no token"]; e.Message != "no credentials" {
		t.Errorf("no token: message %q, want %q", e.Message, "no credentials")
	}
	for name, tok := range tokens {
		if tok == "" {
			continue
		}
		sig := tok[strings.LastIndex(tok, ".")+1:]
		for _, part := range []string{tok, sig} {
			if len(part) >= 8 && (strings.Contains(srv.Stdout(), part) || strings.Contains(srv.Stderr(), part)) {
				t.Errorf("%s: token text in the server's output", name)
			}
		}
	}

	t.Run("flood", func(t *testing.T) {
		const flood = 300
		before := len(events(t, srv))
		start := time.Now()
		var wg sync.WaitGroup
		c := newClient()
		for w := range 6 {
			wg.Go(func() {
				for j := w; j < flood; j += 6 {
					if r := send(c, srv.MCPURL(), "tools/list", nil, bearer("flood-token-value")...); r.Status != http.StatusUnauthorized {
						t.Errorf("flood: %v", r)
					}
				}
			})
		}
		wg.Wait()
		took := time.Since(start)
		time.Sleep(1100 * time.Millisecond) // a new window
		const last = "0123456789abcdef0123456789abcdef"
		if r := send(c, srv.MCPURL(), "tools/list", nil, "Traceparent", "00-"+last+"-00f067aa0ba902b7-01"); r.Status != http.StatusUnauthorized {
			t.Fatalf("after the flood: %v", r)
		}
		var evs []audit.Event
		deadline := time.Now().Add(5 * time.Second)
		for {
			evs = events(t, srv)[before:]
			if n := len(evs); n > 0 && evs[n-1].OperationID == last || time.Now().After(deadline) {
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
		limit := 10 * (int(took/time.Second) + 2)
		if len(evs) > limit || len(evs) >= flood {
			t.Errorf("%d events for %d refusals in %s: not rate limited (at most %d)", len(evs), flood+1, took, limit)
		}
		counted := regexp.MustCompile(`\(\+(\d+) refusals not recorded`)
		total := 0
		for _, e := range evs {
			total++
			if m := counted.FindStringSubmatch(e.Message); m != nil {
				n, _ := strconv.Atoi(m[1])
				total += n
			}
		}
		if total != flood+1 {
			t.Errorf("events plus the counts they carry: got %d, want %d refusals", total, flood+1)
		}
		if strings.Contains(srv.Stdout(), "flood-token-value") {
			t.Errorf("token text in the audit stream")
		}
	})
}
