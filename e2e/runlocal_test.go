package e2e

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// runLocal is scripts/run-local.sh (what `make run` starts) running under
// /bin/sh, with its state in a temporary folder and its own free ports.
type runLocal struct {
	cmd                        *exec.Cmd
	out                        *syncBuffer
	done                       chan struct{} // closed when the script has ended; then err is its Wait error
	err                        error
	port, blobPort, issuerPort int
}

// startRunLocal starts the script and waits for its banner's last line.
// env adds to (or, for the same name, replaces) the test's environment,
// from which every setting the script respects is removed first.
func startRunLocal(t *testing.T, env ...string) *runLocal {
	t.Helper()
	r := &runLocal{out: &syncBuffer{}, done: make(chan struct{}),
		port: freePort(t), blobPort: freePort(t), issuerPort: freePort(t)}
	// /bin/sh, not bash: the script must not need bash (macOS has 3.2).
	r.cmd = exec.Command("/bin/sh", filepath.Join(repoRoot, "scripts", "run-local.sh"))
	r.cmd.Dir = t.TempDir()
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k == "AUTH" || strings.HasPrefix(k, "MCP_") || strings.HasPrefix(k, "SNIPPETS_") || k == "AzureWebJobsStorage" {
			continue
		}
		r.cmd.Env = append(r.cmd.Env, kv)
	}
	r.cmd.Env = append(r.cmd.Env,
		fmt.Sprintf("FUNCTIONS_CUSTOMHANDLER_PORT=%d", r.port),
		fmt.Sprintf("AZURITE_BLOB_PORT=%d", r.blobPort),
		fmt.Sprintf("DEVISSUER_PORT=%d", r.issuerPort),
		"SNIPPETS_RUN_DIR="+t.TempDir(),
		"SNIPPETS_MCP_BIN="+serverBin,
	)
	r.cmd.Env = append(r.cmd.Env, env...)
	r.cmd.Stdout, r.cmd.Stderr = r.out, r.out
	// Its own process group, so the test can send the terminal's Ctrl-C.
	r.cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	// A child that left the group must not keep Wait on the output pipe.
	r.cmd.WaitDelay = 5 * time.Second
	if err := r.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() { r.err = r.cmd.Wait(); close(r.done) }()
	t.Cleanup(func() {
		syscall.Kill(-r.cmd.Process.Pid, syscall.SIGKILL)
		<-r.done
	})
	return r
}

// ready waits for the banner's "Stop:" line, or returns the early exit.
func (r *runLocal) ready(t *testing.T) (exited bool) {
	t.Helper()
	deadline := time.After(3 * time.Minute)
	for !strings.Contains(r.out.String(), "Stop:") {
		select {
		case <-r.done:
			return true
		case <-deadline:
			t.Fatalf("run-local.sh: no banner after 3 minutes:\n%s", r.out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return false
}

// interrupt sends SIGINT to the whole group, as Ctrl-C in a terminal does,
// and checks that the script ends and nothing it started still listens.
func (r *runLocal) interrupt(t *testing.T) {
	t.Helper()
	syscall.Kill(-r.cmd.Process.Pid, syscall.SIGINT)
	select {
	case <-r.done:
	case <-time.After(30 * time.Second):
		t.Fatalf("run-local.sh still running 30 s after Ctrl-C:\n%s", r.out.String())
	}
	for _, p := range []int{r.port, r.blobPort, r.issuerPort} {
		if c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", p), time.Second); err == nil {
			c.Close()
			t.Errorf("port %d still listening after Ctrl-C: a child outlived the script", p)
		}
	}
	// The group is gone: no process of it is left to signal.
	if err := syscall.Kill(-r.cmd.Process.Pid, 0); err == nil {
		t.Errorf("processes of run-local.sh's group survive Ctrl-C")
	}
}

var exportLine = regexp.MustCompile(`(?m)^\s*export ([A-Z_]+_TOKEN)='([^']+)'$`)

// TestMakeRunTokensWalkThrough starts what `make run` starts, takes the
// tokens it prints, and walks README's approval story with them: the
// writer saves and asks to delete, the approver (another person on another
// client app) approves, the writer deletes; the app-only agent saves. Then
// the printed Inspector command runs from an unrelated folder, and Ctrl-C
// stops everything.
func TestMakeRunTokensWalkThrough(t *testing.T) {
	t.Parallel()
	r := startRunLocal(t)
	if r.ready(t) {
		t.Fatalf("run-local.sh exited:\n%s", r.out.String())
	}
	banner := r.out.String()
	if !strings.Contains(banner, "Auth mode:     jwt, tokens from the local dev issuer") {
		t.Errorf("banner does not say the effective mode:\n%s", banner)
	}
	tok := map[string]string{}
	for _, m := range exportLine.FindAllStringSubmatch(banner, -1) {
		tok[m[1]] = m[2]
	}
	writer, approver, agent := bearer(tok["WRITER_TOKEN"]), bearer(tok["APPROVER_TOKEN"]), bearer(tok["AGENT_TOKEN"])
	// One token of each caller kind too (docs/SECURITY.md, "Caller kinds").
	for _, name := range []string{"WRITER_TOKEN", "APPROVER_TOKEN", "AGENT_TOKEN", "VIA_AGENT_TOKEN", "AUTONOMOUS_TOKEN", "AGENT_USER_TOKEN"} {
		if tok[name] == "" {
			t.Errorf("banner lacks %s", name)
		}
	}
	if len(tok) != 6 {
		t.Fatalf("banner printed tokens %v, want WRITER, APPROVER, AGENT, VIA_AGENT, AUTONOMOUS and AGENT_USER:\n%s", tok, banner)
	}
	url := fmt.Sprintf("http://127.0.0.1:%d/mcp", r.port)
	call := func(who []string, tool string, args map[string]any) toolResult {
		t.Helper()
		rp, tr := callTool(t, url, tool, args, who...)
		if rp.Error != nil || tr.IsError {
			t.Fatalf("%s %v: %+v %s", tool, args, rp.Error, tr.Text())
		}
		return tr
	}

	call(writer, "save_snippet", map[string]any{"snippetname": "hello", "snippet": "Hello, MCP"})
	d := decodeDelete(t, call(writer, "delete_snippet", map[string]any{"snippetname": "hello"}))
	if d.Status != "approval_required" || d.ApprovalID == "" {
		t.Fatalf("delete without approval: %+v", d)
	}
	// The agent's token must not be able to decide (app-only, no Snippets.Approve).
	if rp, tr := callTool(t, url, "approve_request", map[string]any{"id": d.ApprovalID}, agent...); rp.Error == nil && !tr.IsError {
		t.Fatal("the app-only agent approved a request")
	}
	call(approver, "approve_request", map[string]any{"id": d.ApprovalID, "reason": "an old test"})
	if got := decodeDelete(t, call(writer, "delete_snippet", map[string]any{"snippetname": "hello", "approval_id": d.ApprovalID})); got.Status != "deleted" {
		t.Fatalf("approved delete: %+v", got)
	}
	if _, tr := callTool(t, url, "get_snippet", map[string]any{"snippetname": "hello"}, writer...); !tr.IsError {
		t.Fatalf("snippet still there after the approved delete: %s", tr.Text())
	}
	call(agent, "save_snippet", map[string]any{"snippetname": "from-agent", "snippet": "app-only"})

	// The banner's Inspector line, run from a folder outside the repository.
	line := ""
	for _, l := range strings.Split(banner, "\n") {
		if l = strings.TrimSpace(l); strings.HasPrefix(l, "npm exec --prefix") {
			line = l
			break
		}
	}
	if line == "" {
		t.Fatalf("no npm exec line in the banner:\n%s", banner)
	}
	sh := exec.Command("/bin/sh", "-c", line)
	sh.Dir = t.TempDir()
	sh.Env = append(os.Environ(), "WRITER_TOKEN="+tok["WRITER_TOKEN"], "NO_COLOR=1", "CI=true")
	out, err := sh.CombinedOutput()
	if err != nil || !strings.Contains(string(out), `"save_snippet"`) || strings.Contains(string(out), `"approve_request"`) {
		t.Fatalf("%s\nfrom %s: %v\n%s", line, sh.Dir, err, out)
	}

	r.interrupt(t)
}

// TestMakeRunRespectsSettings: what the caller set is used or refused in
// a sentence, never replaced by dev mode.
func TestMakeRunRespectsSettings(t *testing.T) {
	t.Parallel()
	t.Run("refusals", func(t *testing.T) {
		t.Parallel()
		for _, c := range []struct {
			env  []string
			want string
		}{
			{[]string{"AUTH=dev", "MCP_AUTH_MODE=jwt"}, "disagree"},
			{[]string{"MCP_AUTH_MODE=easyauth"}, "no platform in front"},
			{[]string{"AUTH=none"}, "not one make run can start"},
		} {
			r := startRunLocal(t, c.env...)
			select {
			case <-r.done:
				if ee, ok := r.err.(*exec.ExitError); !ok || ee.ExitCode() != 2 || !strings.Contains(r.out.String(), c.want) {
					t.Errorf("%v: %v, output %q, want exit 2 saying %q", c.env, r.err, r.out.String(), c.want)
				}
			case <-time.After(30 * time.Second):
				t.Errorf("%v: still running", c.env)
			}
		}
	})
	t.Run("your issuer", func(t *testing.T) {
		t.Parallel()
		iss := authtest.NewIssuer(t)
		r := startRunLocal(t, "MCP_AUTH_MODE=jwt", "MCP_AUTH_ISSUER="+iss.URL(), "MCP_AUTH_AUDIENCE="+authtest.Audience)
		if r.ready(t) {
			t.Fatalf("run-local.sh exited:\n%s", r.out.String())
		}
		if !strings.Contains(r.out.String(), "Auth mode:     jwt, your MCP_AUTH_ISSUER="+iss.URL()) {
			t.Errorf("banner does not name the caller's issuer:\n%s", r.out.String())
		}
		url := fmt.Sprintf("http://127.0.0.1:%d/mcp", r.port)
		if resp, _ := post(t, url, pingBody); resp.StatusCode != 401 {
			t.Errorf("no token: status %d, want 401 (dev mode would answer 200)", resp.StatusCode)
		}
		if resp, b := post(t, url, pingBody, bearer(iss.Mint(t, authtest.Claims{}))...); resp.StatusCode != 200 {
			t.Errorf("the caller's issuer's token: status %d: %s", resp.StatusCode, b)
		}
		r.interrupt(t)
	})
	t.Run("dev says what it cannot show", func(t *testing.T) {
		t.Parallel()
		r := startRunLocal(t, "AUTH=dev")
		if r.ready(t) {
			t.Fatalf("run-local.sh exited:\n%s", r.out.String())
		}
		if out := r.out.String(); !strings.Contains(out, "Auth mode:     dev") || !strings.Contains(out, "cannot show approvals") {
			t.Errorf("dev banner:\n%s", out)
		}
		r.interrupt(t)
	})
}

// freePort asks the kernel for a free loopback port and releases it. Only
// the run-local tests use it: the script takes fixed ports the way a
// user's `make run` does (and the tests check each is free again after
// Ctrl-C), so it cannot be started on port 0. Everything else in this
// package starts on port 0 and reads the address its process reports.
func freePort(t testing.TB) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}
