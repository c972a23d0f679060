// Package bench measures the server against baselines on loopback: the
// driver (TestBench, run by `make bench`) starts the real binaries,
// drives them with bench/load and writes a report under bench/results/.
// This file holds the process plumbing the driver needs.
package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
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

// Mem is a process's memory as the kernel reports it.
type Mem struct {
	RSS    int64 `json:"rss_bytes"`    // VmRSS: resident now
	Peak   int64 `json:"peak_bytes"`   // VmHWM: highest resident so far
	FDs    int   `json:"open_fds"`     // open file descriptors
	Heap   int64 `json:"heap_bytes"`   // live heap after the last GC (gctrace); -1 when unknown
	Goal   int64 `json:"goal_bytes"`   // heap size the collector lets the heap reach next (gctrace)
	Stacks int64 `json:"stacks_bytes"` // goroutine stacks at the last GC (gctrace)
	// HeapInUse is the heap when a GC cycle ended; set (as a peak) only
	// for the many-connections phase.
	HeapInUse int64 `json:"heap_in_use_bytes,omitempty"`
	GCs       int   `json:"gc_cycles"` // GC cycles so far (gctrace)
	Alive     bool  `json:"alive"`
}

// ReadMem reads VmRSS and VmHWM from /proc/PID/status and counts open
// file descriptors.
func ReadMem(pid int) (Mem, error) {
	m := Mem{Heap: -1}
	f, err := os.Open(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return m, fmt.Errorf("read memory of %d: %w", pid, err)
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		k, v, ok := strings.Cut(sc.Text(), ":")
		if !ok {
			continue
		}
		fields := strings.Fields(v)
		if len(fields) != 2 || fields[1] != "kB" {
			continue
		}
		n, _ := strconv.ParseInt(fields[0], 10, 64)
		switch k {
		case "VmRSS":
			m.RSS = n << 10
		case "VmHWM":
			m.Peak = n << 10
		}
	}
	if ents, err := os.ReadDir(fmt.Sprintf("/proc/%d/fd", pid)); err == nil {
		m.FDs = len(ents)
	}
	m.Alive = true
	return m, sc.Err()
}

// CPUTime returns the user plus system CPU time a process has used, from
// /proc/PID/stat (clock ticks of 10 ms on Linux).
func CPUTime(pid int) (time.Duration, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return 0, fmt.Errorf("read cpu time of %d: %w", pid, err)
	}
	// The command name, in parentheses, may hold spaces: fields start after it.
	s := string(b)
	i := strings.LastIndexByte(s, ')')
	if i < 0 {
		return 0, fmt.Errorf("cpu time of %d: unexpected stat %q", pid, s)
	}
	f := strings.Fields(s[i+1:])
	if len(f) < 13 {
		return 0, fmt.Errorf("cpu time of %d: unexpected stat %q", pid, s)
	}
	utime, err1 := strconv.ParseInt(f[11], 10, 64)
	stime, err2 := strconv.ParseInt(f[12], 10, 64)
	if err1 != nil || err2 != nil {
		return 0, fmt.Errorf("cpu time of %d: unexpected stat %q", pid, s)
	}
	return time.Duration(utime+stime) * 10 * time.Millisecond, nil
}

// gcLine matches a GODEBUG=gctrace=1 line's heap figures: "gc 12 @1.2s
// 1%: ... ms cpu, 4->5->2 MB, 5 MB goal, 1 MB stacks, ...": heap at GC
// start, at GC end, live heap marked, the next goal, and stacks. The
// runtime prints whole MiB, so small heaps read as 0 or 1.
var gcLine = regexp.MustCompile(`^gc (\d+) @.* (\d+)->(\d+)->(\d+) MB, (\d+) MB goal, (\d+) MB stacks`)

// GCInfo is what a gctrace line says (or, from PeakGC, the largest
// figures of several lines).
type GCInfo struct {
	Cycles int
	Heap   int64 // heap in use when the GC cycle ended, bytes
	Live   int64 // live heap marked
	Goal   int64 // the next cycle's goal
	Stacks int64
}

// PeakGC returns the largest heap, live heap, goal and stacks over the
// gctrace lines of cycles after cycle since.
func PeakGC(stderr string, since int) (GCInfo, bool) {
	var peak GCInfo
	found := false
	for _, l := range strings.Split(stderr, "\n") {
		g, ok := parseGC(l)
		if !ok || g.Cycles <= since {
			continue
		}
		found = true
		peak.Cycles = max(peak.Cycles, g.Cycles)
		peak.Heap, peak.Live = max(peak.Heap, g.Heap), max(peak.Live, g.Live)
		peak.Goal, peak.Stacks = max(peak.Goal, g.Goal), max(peak.Stacks, g.Stacks)
	}
	return peak, found
}

func parseGC(line string) (GCInfo, bool) {
	m := gcLine.FindStringSubmatch(line)
	if m == nil {
		return GCInfo{}, false
	}
	mb := func(s string) int64 { n, _ := strconv.ParseInt(s, 10, 64); return n << 20 }
	var g GCInfo
	g.Cycles, _ = strconv.Atoi(m[1])
	g.Heap, g.Live, g.Goal, g.Stacks = mb(m[3]), mb(m[4]), mb(m[5]), mb(m[6])
	return g, true
}

// LastGC reads the last gctrace line in stderr. ok is false when there is
// none.
func LastGC(stderr string) (g GCInfo, ok bool) {
	lines := strings.Split(stderr, "\n")
	for i := len(lines) - 1; i >= 0; i-- {
		if g, ok := parseGC(lines[i]); ok {
			return g, true
		}
	}
	return g, false
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
