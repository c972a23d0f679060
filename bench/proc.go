// Package bench measures the server against baselines on loopback: the
// driver (TestBench, run by `make bench`) starts the real binaries,
// drives them with bench/load and writes a report under bench/results/.
// This file holds the process plumbing the driver needs.
package bench

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"
)

// Proc is a child process whose stdout and stderr go to files.
type Proc struct {
	Name       string
	Cmd        *exec.Cmd
	StdoutPath string
	StderrPath string
	Started    time.Time // just before exec
	done       chan struct{}
	err        error
}

// Start runs bin with env (and nothing else from this process's
// environment) in its own process group. stdout and stderr go to files in
// dir named after name; an empty dir sends them to /dev/null.
func Start(name, bin string, env []string, dir string, args ...string) (*Proc, error) {
	p := &Proc{Name: name, done: make(chan struct{})}
	cmd := exec.Command(bin, args...)
	cmd.Env = env
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if dir != "" {
		p.StdoutPath = filepath.Join(dir, name+".stdout")
		p.StderrPath = filepath.Join(dir, name+".stderr")
		out, err := os.Create(p.StdoutPath)
		if err != nil {
			return nil, err
		}
		defer out.Close()
		errf, err := os.Create(p.StderrPath)
		if err != nil {
			return nil, err
		}
		defer errf.Close()
		cmd.Stdout, cmd.Stderr = out, errf
	}
	p.Cmd = cmd
	p.Started = time.Now()
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	return p, nil
}

// Pid is the process id.
func (p *Proc) Pid() int { return p.Cmd.Process.Pid }

// Exited reports whether the process has ended.
func (p *Proc) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop sends SIGTERM and waits up to d for the exit, then kills the
// process group. It returns the exit error, if the process failed.
func (p *Proc) Stop(d time.Duration) error {
	if p == nil || p.Cmd.Process == nil {
		return nil
	}
	_ = p.Cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return p.err
	case <-time.After(d):
	}
	_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
	<-p.done
	return fmt.Errorf("%s did not stop within %s after SIGTERM", p.Name, d)
}

// Kill ends the whole process group at once.
func (p *Proc) Kill() {
	if p == nil || p.Cmd.Process == nil {
		return
	}
	_ = syscall.Kill(-p.Pid(), syscall.SIGKILL)
	<-p.done
}

// Stderr returns what the process wrote to stderr so far.
func (p *Proc) Stderr() string {
	if p.StderrPath == "" {
		return ""
	}
	b, _ := os.ReadFile(p.StderrPath)
	return string(b)
}

// FreePort asks the kernel for a free loopback port.
func FreePort() (int, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return 0, err
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port, nil
}

// WaitHealthy polls url until it answers 200, p exits, or d passes.
func WaitHealthy(p *Proc, url string, d time.Duration) error {
	c := &http.Client{Timeout: time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	deadline := time.Now().Add(d)
	for time.Now().Before(deadline) {
		if p.Exited() {
			return fmt.Errorf("%s exited at start: %v\n%s", p.Name, p.err, p.Stderr())
		}
		if resp, err := c.Get(url); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		time.Sleep(20 * time.Millisecond)
	}
	return fmt.Errorf("%s not healthy at %s after %s\n%s", p.Name, url, d, p.Stderr())
}

// WaitTCP waits until something accepts connections on addr.
func WaitTCP(ctx context.Context, addr string) error {
	for {
		c, err := net.DialTimeout("tcp", addr, 200*time.Millisecond)
		if err == nil {
			c.Close()
			return nil
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("nothing listens on %s: %w", addr, errors.Join(err, ctx.Err()))
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// MinimalEnv is the environment children get: no settings leak in from
// the developer's shell (proxies, credentials, MCP_* variables).
func MinimalEnv(extra ...string) []string {
	return append([]string{"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir()}, extra...)
}

// TSScript is the TypeScript SDK baseline, relative to the repository root.
const TSScript = "bench/node/baseline-ts.mjs"

// StartTS starts the TypeScript SDK baseline (TSScript) with the pinned
// Node that `make tools` installs (node_modules/.bin/node, from the node
// package in package.json), not whatever node is on PATH. root is the
// repository root; env should set FUNCTIONS_CUSTOMHANDLER_PORT. The
// process is Node itself (the .bin entry links to the binary), so its
// CPU time and RSS are the server's.
func StartTS(root, name string, env []string, dir string) (*Proc, error) {
	node := filepath.Join(root, "node_modules", ".bin", "node")
	if _, err := os.Stat(node); err != nil {
		return nil, fmt.Errorf("the pinned Node is not installed (%w): run `make tools`", err)
	}
	if _, err := os.Stat(filepath.Join(root, "node_modules", "@modelcontextprotocol", "sdk", "package.json")); err != nil {
		return nil, fmt.Errorf("the TypeScript SDK is not installed (%w): run `make tools`", err)
	}
	return Start(name, node, env, dir, filepath.Join(root, TSScript))
}
