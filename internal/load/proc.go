package load

import (
	"bufio"
	"fmt"
	"os"
	"regexp"
	"strconv"
	"strings"
	"time"
)

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
