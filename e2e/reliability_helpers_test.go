package e2e

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"os/exec"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/storage/azurite"
)

// nextRPCID hands out JSON-RPC ids unique across every request these
// tests send, so a response can never be matched to the wrong request.
var nextRPCID atomic.Int64

// reply is one JSON-RPC exchange as the reliability tests see it. Unlike
// the harness's post, sending never calls t.Fatal, so it is safe in
// goroutines; transport failures are in Err.
type reply struct {
	ID     int64
	Status int
	Body   []byte
	RPC    rpc
	Tool   toolResult
	Err    error
	Start  time.Time
	Took   time.Duration
}

// ok reports a 200 with a tool result that is not an error.
func (r reply) ok() bool {
	return r.Err == nil && r.Status == http.StatusOK && r.RPC.Error == nil && r.RPC.Result != nil && !r.Tool.IsError
}

func (r reply) String() string {
	if r.Err != nil {
		return fmt.Sprintf("id %d: %v", r.ID, r.Err)
	}
	return fmt.Sprintf("id %d: %d %s", r.ID, r.Status, r.Body)
}

// newClient is a keep-alive client that never uses a proxy from the
// environment: everything here is loopback.
func newClient() *http.Client {
	return &http.Client{Timeout: 60 * time.Second, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 4}}
}

// send posts one JSON-RPC request (protocol 2025-06-18) with a fresh id.
func send(c *http.Client, mcpURL, method string, params any, headers ...string) reply {
	r := reply{ID: nextRPCID.Add(1), Start: time.Now()}
	msg := map[string]any{"jsonrpc": "2.0", "id": r.ID, "method": method}
	if params != nil {
		msg["params"] = params
	}
	body, err := json.Marshal(msg)
	if err != nil {
		r.Err = err
		return r
	}
	req, err := http.NewRequest(http.MethodPost, mcpURL, bytes.NewReader(body))
	if err != nil {
		r.Err = err
		return r
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := c.Do(req)
	if err != nil {
		r.Err, r.Took = err, time.Since(r.Start)
		return r
	}
	r.Body, r.Err = io.ReadAll(resp.Body)
	resp.Body.Close()
	r.Status, r.Took = resp.StatusCode, time.Since(r.Start)
	if r.Err != nil || r.Status != http.StatusOK {
		return r
	}
	if err := json.Unmarshal(r.Body, &r.RPC); err != nil {
		r.Err = fmt.Errorf("response is not JSON-RPC: %w", err)
		return r
	}
	var id struct {
		ID json.RawMessage `json:"id"`
	}
	if json.Unmarshal(r.Body, &id) != nil || string(id.ID) != strconv.FormatInt(r.ID, 10) {
		r.Err = fmt.Errorf("response id %s for request id %d", id.ID, r.ID)
		return r
	}
	if r.RPC.Result != nil {
		if err := json.Unmarshal(r.RPC.Result, &r.Tool); err != nil {
			r.Err = fmt.Errorf("result: %w", err)
		}
	}
	return r
}

// tool sends tools/call.
func tool(c *http.Client, mcpURL, name string, args map[string]any, headers ...string) reply {
	p := map[string]any{"name": name}
	if args != nil {
		p["arguments"] = args
	}
	return send(c, mcpURL, "tools/call", p, headers...)
}

// structuredSnippet is the structured result of save_snippet and get_snippet.
type structuredSnippet struct {
	Name    string `json:"name"`
	Size    int64  `json:"size"`
	SHA256  string `json:"sha256"`
	ETag    string `json:"etag"`
	Content string `json:"content"`
}

func (r reply) snippet() (structuredSnippet, error) {
	var s structuredSnippet
	err := json.Unmarshal(r.Tool.StructuredContent, &s)
	return s, err
}

// loggedAzurite is an Azurite whose stdout is kept, so a graceful stop can
// wait for its "successfully closed" line.
type loggedAzurite struct {
	*Azurite
	dir string
	out *syncBuffer
}

// startAzuriteIn starts Azurite on a port the kernel picks, with its data in dir.
func startAzuriteIn(t *testing.T, dir string) *loggedAzurite {
	t.Helper()
	a := &loggedAzurite{Azurite: &Azurite{}, dir: dir}
	a.restart(t)
	return a
}

// restart starts Azurite again on the same port and data directory.
func (a *loggedAzurite) restart(t *testing.T) {
	t.Helper()
	a.out = &syncBuffer{}
	a.start(t, a.dir, a.out)
}

// stopGracefully stops Azurite with SIGTERM, as an orderly outage would,
// and waits until it has closed (and saved) its store. Azurite persists
// metadata on a 5 s timer and when it closes; SIGKILL alone (the harness's
// Stop) can lose writes it acknowledged, a property of the emulator, not
// of Blob Storage. After closing, Azurite lingers while clients keep idle
// connections open, so the process group is killed then.
func (a *loggedAzurite) stopGracefully(t *testing.T) {
	t.Helper()
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGTERM)
	if !waitFor(15*time.Second, func() bool { return strings.Contains(a.out.String(), "successfully closed") }) {
		t.Errorf("azurite did not close within 15s of SIGTERM:\n%s", a.out.String())
	}
	a.Stop()
}

// connStringVia is an Azurite connection string whose blob endpoint is
// addr (a proxy in front of Azurite).
func connStringVia(addr string) string {
	return azurite.ConnString("http://" + addr)
}

// delayProxy is a TCP proxy that can hold every chunk coming back from its
// target for a while: slow storage, on demand.
type delayProxy struct {
	ln     net.Listener
	target string
	delay  atomic.Int64 // nanoseconds each response chunk waits
	done   chan struct{}

	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

func newDelayProxy(t *testing.T, target string) *delayProxy {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &delayProxy{ln: ln, target: target, done: make(chan struct{}), conns: map[net.Conn]bool{}}
	p.wg.Go(p.accept)
	t.Cleanup(p.close)
	return p
}

func (p *delayProxy) Addr() string { return p.ln.Addr().String() }

// SetDelay sets how long every chunk from the target is held.
func (p *delayProxy) SetDelay(d time.Duration) { p.delay.Store(int64(d)) }

func (p *delayProxy) accept() {
	for {
		c, err := p.ln.Accept()
		if err != nil {
			return
		}
		up, err := net.Dial("tcp", p.target)
		if err != nil {
			c.Close()
			continue
		}
		if !p.track(c, up) {
			return
		}
		p.wg.Go(func() { p.pipe(up, c, false) })
		p.wg.Go(func() { p.pipe(c, up, true) })
	}
}

func (p *delayProxy) track(cs ...net.Conn) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	select {
	case <-p.done:
		for _, c := range cs {
			c.Close()
		}
		return false
	default:
	}
	for _, c := range cs {
		p.conns[c] = true
	}
	return true
}

// pipe copies src to dst, holding each chunk for the delay when delayed.
// Either side failing closes both.
func (p *delayProxy) pipe(dst, src net.Conn, delayed bool) {
	defer dst.Close()
	defer src.Close()
	buf := make([]byte, 32<<10)
	for {
		n, err := src.Read(buf)
		if n > 0 {
			if d := time.Duration(p.delay.Load()); delayed && d > 0 {
				select {
				case <-time.After(d):
				case <-p.done:
					return
				}
			}
			if _, werr := dst.Write(buf[:n]); werr != nil {
				return
			}
		}
		if err != nil {
			return
		}
	}
}

func (p *delayProxy) close() {
	p.mu.Lock()
	select {
	case <-p.done:
	default:
		close(p.done)
	}
	p.ln.Close()
	for c := range p.conns {
		c.Close()
	}
	p.mu.Unlock()
	p.wg.Wait()
}

// roundRobin is an HTTP reverse proxy that sends each request to the next
// backend in turn: a load balancer without session affinity, as Flex
// Consumption scales out.
type roundRobin struct {
	srv      *httptest.Server
	backends []*url.URL
	next     atomic.Uint64
	hits     []atomic.Int64
	order    chan int // backend index of each request, in arrival order
}

func newRoundRobin(t *testing.T, backends ...string) *roundRobin {
	t.Helper()
	rr := &roundRobin{hits: make([]atomic.Int64, len(backends)), order: make(chan int, 10000)}
	for _, b := range backends {
		u, err := url.Parse(b)
		if err != nil {
			t.Fatal(err)
		}
		rr.backends = append(rr.backends, u)
	}
	proxy := &httputil.ReverseProxy{
		Rewrite: func(pr *httputil.ProxyRequest) {
			i := int((rr.next.Add(1) - 1) % uint64(len(rr.backends)))
			rr.hits[i].Add(1)
			select {
			case rr.order <- i:
			default:
			}
			pr.SetURL(rr.backends[i])
		},
		Transport: &http.Transport{Proxy: nil},
	}
	rr.srv = httptest.NewServer(proxy)
	t.Cleanup(rr.srv.Close)
	return rr
}

// events reads the audit events a server wrote to stdout.
func events(t *testing.T, s *Server) []audit.Event {
	t.Helper()
	var out []audit.Event
	sc := bufio.NewScanner(strings.NewReader(s.Stdout()))
	sc.Buffer(make([]byte, 1<<20), 1<<20)
	for sc.Scan() {
		var e audit.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("stdout line is not an audit event: %q", sc.Text())
		}
		out = append(out, e)
	}
	return out
}

// waitFor polls cond until it holds or d passes, and reports whether it
// held. Audit lines reach the tests through the server's stdout pipe, so a
// line written before a reply may be read a moment after it.
func waitFor(d time.Duration, cond func() bool) bool {
	deadline := time.Now().Add(d)
	for !cond() {
		if time.Now().After(deadline) {
			return false
		}
		time.Sleep(20 * time.Millisecond)
	}
	return true
}

// waitEvents waits up to 5 s until the server's stdout holds at least n
// audit events, and returns what it holds then.
func waitEvents(t *testing.T, s *Server, n int) []audit.Event {
	t.Helper()
	var evs []audit.Event
	waitFor(5*time.Second, func() bool { evs = events(t, s); return len(evs) >= n })
	return evs
}

// noPanics fails the test when a server's log mentions a panic or a data race.
func noPanics(t *testing.T, s *Server) {
	t.Helper()
	for _, bad := range []string{"panic", "DATA RACE", "fatal error"} {
		if strings.Contains(s.Stderr(), bad) {
			t.Errorf("server log contains %q:\n%s", bad, s.Stderr())
		}
	}
}

// connRefused reports whether a new TCP connection to the server's port is
// refused (nothing listens).
func connRefused(s *Server) bool {
	u, _ := url.Parse(s.URL)
	c, err := net.DialTimeout("tcp", u.Host, 500*time.Millisecond)
	if err == nil {
		c.Close()
		return false
	}
	return errors.Is(err, syscall.ECONNREFUSED)
}

// healthy reports whether /healthz answers 200.
func healthy(s *Server) bool {
	c := &http.Client{Timeout: 2 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	resp, err := c.Get(s.URL + "/healthz")
	if err != nil {
		return false
	}
	resp.Body.Close()
	return resp.StatusCode == http.StatusOK
}

// buildServer builds the handler without the race detector (the soak's
// long form measures memory, which the race detector multiplies).
func buildServer(t *testing.T) string {
	t.Helper()
	bin := t.TempDir() + "/snippets-mcp"
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-trimpath", "-o", bin, ".")
	cmd.Dir = repoRoot
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build server: %v\n%s", err, out)
	}
	return bin
}
