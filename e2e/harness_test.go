// Package e2e starts the real server binary against a real Azurite and
// drives it with clients nobody here wrote (MCP Inspector, the MCP
// conformance suite) and with raw HTTP for protocol edge cases.
package e2e

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/storage/azurite"
)

var (
	repoRoot  string
	serverBin string
	nodeBin   string // node_modules/.bin, where the pinned npm tools live
)

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

func runMain(m *testing.M) int {
	wd, _ := os.Getwd()
	repoRoot = filepath.Dir(wd)
	nodeBin = filepath.Join(repoRoot, "node_modules", ".bin")
	if _, err := os.Stat(filepath.Join(nodeBin, "azurite-blob")); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: the pinned npm tools are missing; run `make test` (it runs npm ci first)")
		return 1
	}
	dir, err := os.MkdirTemp("", "snippets-e2e-bin")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	defer os.RemoveAll(dir)
	serverBin = filepath.Join(dir, "snippets-mcp")
	build := exec.Command("go", "build", "-race", "-o", serverBin, ".")
	build.Dir = repoRoot
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "e2e: build server:", err)
		return 1
	}
	return m.Run()
}

// waitListening waits until out holds the line in which a process reports
// the address it listens on (it was started on port 0, so the kernel chose
// a free port and no other process can take it between a check and the
// bind), and returns the first group of re. exited reports an early exit.
func waitListening(t testing.TB, what string, out *syncBuffer, re *regexp.Regexp, exited func() bool, d time.Duration) string {
	t.Helper()
	var m []string
	if !waitFor(d, func() bool { m = re.FindStringSubmatch(out.String()); return m != nil || exited() }) || m == nil {
		t.Fatalf("%s did not report its address within %s:\n%s", what, d, out.String())
	}
	return m[1]
}

// Azurite is a running Blob emulator.
type Azurite struct {
	Port   int
	cmd    *exec.Cmd
	exited chan struct{} // closed once cmd.Wait returned
}

// ConnString is the connection string of this Azurite.
func (a *Azurite) ConnString() string {
	return azurite.ConnString(fmt.Sprintf("http://127.0.0.1:%d", a.Port))
}

// startAzurite starts Azurite on a port the kernel picks, with its data in
// a temp dir.
func startAzurite(t testing.TB) *Azurite {
	t.Helper()
	a := &Azurite{}
	a.start(t, t.TempDir(), &syncBuffer{})
	return a
}

// azuriteListening is the line Azurite prints, even with --silent, once it
// listens; with --blobPort 0 it names the port it got.
var azuriteListening = regexp.MustCompile(`successfully listens on http://127\.0\.0\.1:(\d+)`)

// start runs Azurite on a.Port (0: a free one, then recorded in a.Port, so a
// restart reuses it) with its data in dir and its output in out.
func (a *Azurite) start(t testing.TB, dir string, out *syncBuffer) {
	t.Helper()
	cmd := exec.Command(filepath.Join(nodeBin, "azurite-blob"),
		"--blobHost", "127.0.0.1", "--blobPort", fmt.Sprint(a.Port),
		"--location", dir, "--skipApiVersionCheck", "--silent")
	cmd.Env = append(baseEnv(), "PATH="+nodeBin+":"+os.Getenv("PATH"))
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Stdout, cmd.Stderr = out, out
	if err := cmd.Start(); err != nil {
		t.Fatalf("start azurite: %v", err)
	}
	a.cmd, a.exited = cmd, make(chan struct{})
	go func(exited chan struct{}) { _ = cmd.Wait(); close(exited) }(a.exited)
	t.Cleanup(a.Stop)
	port := waitListening(t, "azurite", out, azuriteListening, func() bool {
		select {
		case <-a.exited:
			return true
		default:
			return false
		}
	}, 30*time.Second)
	if a.Port == 0 {
		a.Port, _ = strconv.Atoi(port)
	}
}

// Stop kills Azurite (its whole process group).
func (a *Azurite) Stop() {
	if a.cmd == nil || a.cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-a.cmd.Process.Pid, syscall.SIGKILL)
	<-a.exited
	a.cmd = nil
}

// Server is a running snippets-mcp process.
type Server struct {
	URL    string // http://127.0.0.1:PORT
	cmd    *exec.Cmd
	stdout *syncBuffer // audit lines
	stderr *syncBuffer // logs
	done   chan error
}

// MCPURL is the MCP endpoint.
func (s *Server) MCPURL() string { return s.URL + "/mcp" }

// Stdout returns what the server wrote to stdout so far.
func (s *Server) Stdout() string { return s.stdout.String() }

// Stderr returns what the server logged so far.
func (s *Server) Stderr() string { return s.stderr.String() }

// startServer runs the (race-detector) server binary with env on a free
// port and waits for /healthz.
func startServer(t testing.TB, env ...string) *Server {
	t.Helper()
	return startServerBin(t, serverBin, env...)
}

// startServerBin is startServer with another build of the server.
func startServerBin(t testing.TB, bin string, env ...string) *Server {
	t.Helper()
	s := &Server{stdout: &syncBuffer{}, stderr: &syncBuffer{}, done: make(chan error, 1)}
	cmd := exec.Command(bin)
	// Port 0: the server reports the port it got in its "listening" line.
	cmd.Env = append(baseEnv(), append([]string{"FUNCTIONS_CUSTOMHANDLER_PORT=0"}, env...)...)
	cmd.Stdout, cmd.Stderr = s.stdout, s.stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start server: %v", err)
	}
	s.cmd = cmd
	go func() { s.done <- cmd.Wait() }()
	t.Cleanup(func() {
		s.Signal(syscall.SIGTERM)
		if err := s.Wait(25 * time.Second); err != nil && !strings.Contains(err.Error(), "already") {
			t.Logf("server exit: %v", err)
		}
		if t.Failed() {
			t.Logf("server stderr:\n%s", s.Stderr())
		}
	})
	var exitErr error
	addr := waitListening(t, "server", s.stderr, serverListening, func() bool {
		select {
		case exitErr = <-s.done:
			s.done <- exitErr // for Wait in the cleanup
			return true
		default:
			return false
		}
	}, 20*time.Second)
	s.URL = "http://" + addr
	// It listens once it logged the address: one health check, no polling.
	resp, err := http.Get(s.URL + "/healthz")
	if err != nil {
		t.Fatalf("server at %s: %v\n%s", s.URL, err, s.Stderr())
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("server /healthz: got %d, want 200\n%s", resp.StatusCode, s.Stderr())
	}
	return s
}

// serverListening is the server's log line once it listens.
var serverListening = regexp.MustCompile(`"msg":"listening","addr":"([^"]+)"`)

// baseEnv is a minimal environment: no settings leak in from the developer's shell.
func baseEnv() []string {
	return []string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}
}

// Signal sends sig to the server.
func (s *Server) Signal(sig syscall.Signal) {
	if s.cmd.Process != nil {
		_ = s.cmd.Process.Signal(sig)
	}
}

// Wait waits for the process to exit and returns its error.
func (s *Server) Wait(d time.Duration) error {
	select {
	case err, ok := <-s.done:
		if !ok {
			return fmt.Errorf("already waited")
		}
		close(s.done)
		return err
	case <-time.After(d):
		_ = s.cmd.Process.Kill()
		return fmt.Errorf("server did not exit within %s", d)
	}
}

// devServer starts Azurite and the server in dev auth mode.
func devServer(t testing.TB, env ...string) (*Server, *Azurite) {
	t.Helper()
	az := startAzurite(t)
	s := startServer(t, append([]string{"MCP_AUTH_MODE=dev", "SNIPPETS_STORAGE=" + az.ConnString()}, env...)...)
	return s, az
}

// post sends a raw body to the MCP endpoint with the given headers.
func post(t testing.TB, url, body string, headers ...string) (*http.Response, []byte) {
	t.Helper()
	req, err := http.NewRequest(http.MethodPost, url, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Accept", "application/json, text/event-stream")
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("POST %s: %v", url, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, b
}

// rpc is a JSON-RPC response as the tests read it.
type rpc struct {
	ID     any             `json:"id"`
	Result json.RawMessage `json:"result"`
	Error  *struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
	} `json:"error"`
}

// toolResult is a tools/call result.
type toolResult struct {
	IsError           bool            `json:"isError"`
	StructuredContent json.RawMessage `json:"structuredContent"`
	Content           []struct {
		Type string `json:"type"`
		Text string `json:"text"`
	} `json:"content"`
}

// Text is the first text block: the message, or get_snippet's content.
// A success result's second block is its structured content as JSON.
func (r toolResult) Text() string {
	if len(r.Content) == 0 {
		return ""
	}
	return r.Content[0].Text
}

// callTool sends tools/call (protocol 2025-06-18, no session) and decodes the result.
func callTool(t testing.TB, url, name string, args map[string]any, headers ...string) (rpc, toolResult) {
	t.Helper()
	body, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
		"params": map[string]any{"name": name, "arguments": args}})
	resp, b := post(t, url, string(body), append([]string{"Mcp-Protocol-Version", "2025-06-18"}, headers...)...)
	if resp.StatusCode != 200 {
		t.Fatalf("tools/call %s: status %d: %s", name, resp.StatusCode, b)
	}
	var r rpc
	if err := json.Unmarshal(b, &r); err != nil {
		t.Fatalf("tools/call %s: %v: %s", name, err, b)
	}
	var tr toolResult
	if r.Result != nil {
		if err := json.Unmarshal(r.Result, &tr); err != nil {
			t.Fatalf("tools/call %s result: %v", name, err)
		}
	}
	return r, tr
}

// runTool runs a command with a deadline and returns its combined output.
func runTool(t testing.TB, d time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	cmd.Dir = repoRoot
	cmd.Env = append(os.Environ(), "PATH="+nodeBin+":"+os.Getenv("PATH"), "NO_COLOR=1", "CI=true")
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	cmd.Cancel = func() error { return syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL) }
	cmd.WaitDelay = 5 * time.Second
	out, err := cmd.CombinedOutput()
	return string(out), err
}

type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}
