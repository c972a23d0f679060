package bench

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/snippets-mcp/server/internal/load"
)

// Report is everything one `make bench` run measured. Every figure comes
// with the baseline measured in the same run.
type Report struct {
	Started  time.Time     `json:"started"`
	Elapsed  time.Duration `json:"elapsed_ns"`
	Machine  Machine       `json:"machine"`
	Settings Settings      `json:"settings"`

	Overhead   *Overhead  `json:"overhead,omitempty"`
	Storage    *Storage   `json:"storage,omitempty"`
	ColdStart  *ColdStart `json:"cold_start,omitempty"`
	Memory     *Memory    `json:"memory,omitempty"`
	Micro      []Micro    `json:"micro,omitempty"`
	Profile    string     `json:"profile,omitempty"`     // pprof -top of the full stack, in process
	MemProfile string     `json:"mem_profile,omitempty"` // allocations per request, in process

	Targets []Target `json:"targets"`
	Notes   []string `json:"notes,omitempty"`
}

// Machine is where the run happened.
type Machine struct {
	CPUs        int    `json:"cpus"`
	CPUModel    string `json:"cpu_model"`
	GoVersion   string `json:"go_version"`
	Kernel      string `json:"kernel"`
	MemTotal    string `json:"mem_total"`
	LoadBefore  string `json:"loadavg_before"`
	LoadAfter   string `json:"loadavg_after"`
	ServerBuild string `json:"server_build"`
}

// Settings are the knobs of the run.
type Settings struct {
	Duration     time.Duration `json:"run_duration_ns"` // each measured run
	Rounds       int           `json:"rounds"`          // interleaved rounds per comparison
	Concurrency  int           `json:"concurrency"`
	ColdStarts   int           `json:"cold_starts"`
	MemRequests  int64         `json:"mem_requests"`
	Connections  int           `json:"connections"`
	AuditSink    string        `json:"audit_sink"`
	AuthMode     string        `json:"auth_mode"`
	SnippetBytes int           `json:"snippet_bytes"`
}

// Overhead compares tools/call through the full stack with the baselines.
type Overhead struct {
	Server       load.Stats `json:"server_whoami"`
	BaselineMCP  load.Stats `json:"baseline_mcp_echo"`
	BaselineHTTP load.Stats `json:"baseline_http_fixed"`
	AuditEvents  int        `json:"audit_events"` // lines the server wrote to its stdout file
	ServerCalls  int64      `json:"server_calls"` // tools/call requests it answered (warm-up included)
	// CPU time (user+system) each process used per request, from
	// /proc/PID/stat: unlike throughput, barely moved by other work on
	// the machine.
	ServerCPU       time.Duration `json:"server_cpu_per_request_ns"`
	BaselineMCPCPU  time.Duration `json:"baseline_mcp_cpu_per_request_ns"`
	BaselineHTTPCPU time.Duration `json:"baseline_http_cpu_per_request_ns"`
	RoundRatios     []float64     `json:"round_throughput_ratios"` // server/bare mcp-go, per round
}

// Storage compares snippet operations through the server with the same
// blob operations done directly with azblob.
type Storage struct {
	ServerGet    load.Stats `json:"server_get"`
	DirectGet    load.Stats `json:"direct_get"`
	ServerSave   load.Stats `json:"server_save"`
	DirectSave   load.Stats `json:"direct_save"`   // GetProperties + conditional Upload, as the store does
	DirectUpload load.Stats `json:"direct_upload"` // one unconditional Upload, for reference
}

// ColdStart is time from exec to the first successful initialize.
type ColdStart struct {
	Server   []time.Duration `json:"server_ns"`
	Baseline []time.Duration `json:"baseline_ns"`
}

// Median returns the median of d.
func Median(d []time.Duration) time.Duration {
	if len(d) == 0 {
		return 0
	}
	s := slices.Clone(d)
	slices.Sort(s)
	if len(s)%2 == 1 {
		return s[len(s)/2]
	}
	return (s[len(s)/2-1] + s[len(s)/2]) / 2
}

// Memory is the memory of one process at the points the issue names.
type Memory struct {
	Server   MemRun      `json:"server"`
	Baseline MemRun      `json:"baseline_mcp"`
	Limited  *MemLimited `json:"server_memlimit,omitempty"`
}

// MemLimited is the connection phase again, on a fresh server with
// GOMEMLIMIT set: information, not a target.
type MemLimited struct {
	Limit string     `json:"gomemlimit"`
	Load  load.Stats `json:"load"`
	At    load.Mem   `json:"at_connections"`
	Peak  int64      `json:"rss_peak_bytes"`
	FDs   int        `json:"max_fds"`
	Exit  string     `json:"exit"`
}

// MemRun is one process's memory through the memory phase.
type MemRun struct {
	After1    load.Mem   `json:"after_first_batch"`  // after MemRequests stateless requests
	After2    load.Mem   `json:"after_second_batch"` // after twice that
	Conns     load.Mem   `json:"at_connections"`     // while Connections clients were connected
	ConnsPeak int64      `json:"conns_rss_peak_bytes"`
	ConnsFDs  int        `json:"conns_max_fds"`
	Batch1    load.Stats `json:"batch1"`
	Batch2    load.Stats `json:"batch2"`
	ConnLoad  load.Stats `json:"conn_load"`
	// Calls is every request sent; StdoutLines what the process wrote to
	// stdout (the server: one audit event per answered call).
	Calls       int64  `json:"calls"`
	StdoutLines int    `json:"stdout_lines"`
	Exit        string `json:"exit"` // "ok", or how it failed after SIGTERM
}

// Micro is one Go benchmark line.
type Micro struct {
	Package     string  `json:"package"`
	Name        string  `json:"name"`
	NsPerOp     float64 `json:"ns_per_op"`
	BytesPerOp  float64 `json:"bytes_per_op"`
	AllocsPerOp float64 `json:"allocs_per_op"`
}

// Target is one goal of the issue, judged.
type Target struct {
	Area   string `json:"area"`
	Goal   string `json:"goal"`
	Actual string `json:"actual"`
	Met    bool   `json:"met"`
}

// ratio is a/b, or 0 when b is 0.
func ratio(a, b float64) float64 {
	if b == 0 {
		return 0
	}
	return a / b
}

func us(d time.Duration) string { return fmt.Sprintf("%.0f µs", float64(d)/float64(time.Microsecond)) }

func ms(d time.Duration) string { return fmt.Sprintf("%.2f ms", float64(d)/float64(time.Millisecond)) }

func mib(b int64) string { return fmt.Sprintf("%.1f MiB", float64(b)/(1<<20)) }

// heapMiB prints a gctrace figure, which has whole-MiB resolution.
func heapMiB(b int64) string {
	switch {
	case b < 0:
		return "?"
	case b == 0:
		return "<1 MiB"
	}
	return fmt.Sprintf("%d MiB", b>>20)
}

// growthTolerance is how much a figure may rise between the first and the
// second batch of requests and still count as "no growth": GC timing and
// the 1 MB resolution of gctrace make smaller changes noise, not a leak.
// It is fixed here, before any measurement, and printed in the report.
const growthTolerance = 0.05

// Judge evaluates the targets from what was measured.
func (r *Report) Judge() {
	r.Targets = nil
	add := func(area, goal, actual string, met bool) {
		r.Targets = append(r.Targets, Target{Area: area, Goal: goal, Actual: actual, Met: met})
	}
	if o := r.Overhead; o != nil {
		tr := ratio(o.Server.Throughput, o.BaselineMCP.Throughput)
		add("framework overhead", "throughput >= 0.8x bare mcp-go",
			fmt.Sprintf("%.2fx (%.0f vs %.0f req/s)", tr, o.Server.Throughput, o.BaselineMCP.Throughput), tr >= 0.8)
		pr := ratio(float64(o.Server.P99), float64(o.BaselineMCP.P99))
		add("framework overhead", "p99 <= 1.5x bare mcp-go",
			fmt.Sprintf("%.2fx (%s vs %s)", pr, ms(o.Server.P99), ms(o.BaselineMCP.P99)), pr > 0 && pr <= 1.5)
	}
	if s := r.Storage; s != nil {
		for _, c := range []struct {
			op             string
			server, direct load.Stats
		}{{"get_snippet", s.ServerGet, s.DirectGet}, {"save_snippet", s.ServerSave, s.DirectSave}} {
			added := c.server.P50 - c.direct.P50
			add("storage path", c.op+": server adds <= 1 ms at p50",
				fmt.Sprintf("+%s (%s vs %s direct)", ms(added), ms(c.server.P50), ms(c.direct.P50)),
				c.server.Requests > 0 && c.direct.Requests > 0 && added <= time.Millisecond)
		}
	}
	if c := r.ColdStart; c != nil && len(c.Server) > 0 {
		sm, bm := Median(c.Server), Median(c.Baseline)
		add("cold start", "median <= 50 ms", ms(sm), sm <= 50*time.Millisecond)
		cr := ratio(float64(sm), float64(bm))
		add("cold start", "median <= 2x bare mcp-go", fmt.Sprintf("%.2fx (%s vs %s)", cr, ms(sm), ms(bm)), cr > 0 && cr <= 2)
	}
	if m := r.Memory; m != nil {
		s := m.Server
		grow := func(a, b int64) bool { return float64(b) <= float64(a)*(1+growthTolerance) }
		heapOK := s.After1.Heap >= 0 && s.After2.Heap >= 0 && grow(s.After1.Heap, s.After2.Heap)
		rssOK := grow(s.After1.RSS, s.After2.RSS)
		add("memory", fmt.Sprintf("no growth from %dk to %dk requests (within %.0f%%)", r.Settings.MemRequests/1000, 2*r.Settings.MemRequests/1000, growthTolerance*100),
			fmt.Sprintf("RSS %s -> %s, live heap %s -> %s", mib(s.After1.RSS), mib(s.After2.RSS), heapMiB(s.After1.Heap), heapMiB(s.After2.Heap)), heapOK && rssOK)
		peak := max(s.After2.Peak, s.ConnsPeak, s.Conns.Peak)
		add("memory", fmt.Sprintf("RSS < 64 MiB (peak, including %d connections)", r.Settings.Connections),
			fmt.Sprintf("%s peak (%s after %dk; %s at %d connections)", mib(peak), mib(s.After2.RSS), 2*r.Settings.MemRequests/1000, mib(s.ConnsPeak), r.Settings.Connections),
			peak > 0 && peak < 64<<20)
	}
}

// Write stores the report as JSON and markdown in dir, under a name with
// the start time, and as latest.json and latest.md.
func (r *Report) Write(dir string) (string, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", err
	}
	stamp := r.Started.UTC().Format("20060102-150405")
	js, err := json.MarshalIndent(r, "", "  ")
	if err != nil {
		return "", fmt.Errorf("encode report: %w", err)
	}
	var md strings.Builder
	r.Markdown(&md)
	for _, name := range []string{"bench-" + stamp, "latest"} {
		if err := os.WriteFile(filepath.Join(dir, name+".json"), append(js, '\n'), 0o644); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(dir, name+".md"), []byte(md.String()), 0o644); err != nil {
			return "", err
		}
	}
	return filepath.Join(dir, "bench-"+stamp+".md"), nil
}

// Markdown renders the report for people.
func (r *Report) Markdown(w io.Writer) {
	p := func(format string, a ...any) { fmt.Fprintf(w, format+"\n", a...) }
	m := r.Machine
	p("# Benchmark report %s", r.Started.UTC().Format(time.RFC3339))
	p("")
	p("Machine: %d CPUs (%s), %s, Go %s, kernel %s. Load average before %s, after %s. Run took %s.",
		m.CPUs, m.CPUModel, m.MemTotal, m.GoVersion, m.Kernel, m.LoadBefore, m.LoadAfter, r.Elapsed.Round(time.Second))
	s := r.Settings
	p("Settings: %d interleaved rounds of %s per measurement, concurrency %d; auth %s; audit to %s; server build: %s.",
		s.Rounds, s.Duration, s.Concurrency, s.AuthMode, s.AuditSink, m.ServerBuild)
	p("")
	p("## Targets")
	p("")
	p("| area | target | measured | |")
	p("| --- | --- | --- | --- |")
	for _, t := range r.Targets {
		verdict := "met"
		if !t.Met {
			verdict = "**missed**"
		}
		p("| %s | %s | %s | %s |", t.Area, t.Goal, t.Actual, verdict)
	}
	row := func(name string, st load.Stats, base load.Stats) {
		p("| %s | %d | %d | %.0f | %.2fx | %s | %s | %.2fx | %s |", name, st.Requests, st.Errors, st.Throughput,
			ratio(st.Throughput, base.Throughput), ms(st.P50), ms(st.P99), ratio(float64(st.P99), float64(base.P99)), ms(st.Max))
	}
	head := func() {
		p("| what | requests | errors | req/s | req/s vs baseline | p50 | p99 | p99 vs baseline | max |")
		p("| --- | --- | --- | --- | --- | --- | --- | --- | --- |")
	}
	if o := r.Overhead; o != nil {
		p("")
		p("## Framework overhead: tools/call on loopback (baseline: bare mcp-go)")
		p("")
		head()
		row("full stack, whoami (jwt, policy, audit)", o.Server, o.BaselineMCP)
		row("bare mcp-go stateless, echo", o.BaselineMCP, o.BaselineMCP)
		row("bare net/http, fixed response", o.BaselineHTTP, o.BaselineMCP)
		p("")
		var rr []string
		for _, x := range o.RoundRatios {
			rr = append(rr, fmt.Sprintf("%.2fx", x))
		}
		p("Throughput ratio to bare mcp-go in each round: %s. CPU time per request (user+system, from /proc): server %s, bare mcp-go %s (%.2fx), bare net/http %s.",
			strings.Join(rr, ", "), us(o.ServerCPU), us(o.BaselineMCPCPU), ratio(float64(o.ServerCPU), float64(o.BaselineMCPCPU)), us(o.BaselineHTTPCPU))
		p("")
		p("Audit events written by the server: %d for %d tools/call requests answered.", o.AuditEvents, o.ServerCalls)
	}
	if st := r.Storage; st != nil {
		p("")
		p("## Storage path against Azurite, concurrency 1 (baseline: the same blob operations with azblob)")
		p("")
		head()
		row("server get_snippet", st.ServerGet, st.DirectGet)
		row("direct DownloadStream", st.DirectGet, st.DirectGet)
		row("server save_snippet", st.ServerSave, st.DirectSave)
		row("direct GetProperties + conditional Upload", st.DirectSave, st.DirectSave)
		row("direct Upload (unconditional, reference)", st.DirectUpload, st.DirectSave)
		p("")
		p("Added at p50: get %s, save %s (save vs one plain Upload: %s).",
			ms(st.ServerGet.P50-st.DirectGet.P50), ms(st.ServerSave.P50-st.DirectSave.P50), ms(st.ServerSave.P50-st.DirectUpload.P50))
	}
	if c := r.ColdStart; c != nil {
		p("")
		p("## Cold start: exec to first successful initialize")
		p("")
		p("| binary | starts | median | min | max | median vs baseline |")
		p("| --- | --- | --- | --- | --- | --- |")
		for _, x := range []struct {
			name string
			d    []time.Duration
		}{{"server (jwt mode: discovery + keys fetched at start)", c.Server}, {"bare mcp-go", c.Baseline}} {
			if len(x.d) == 0 {
				continue
			}
			p("| %s | %d | %s | %s | %s | %.2fx |", x.name, len(x.d), ms(Median(x.d)), ms(slices.Min(x.d)), ms(slices.Max(x.d)),
				ratio(float64(Median(x.d)), float64(Median(c.Baseline))))
		}
	}
	if mm := r.Memory; mm != nil {
		p("")
		p("## Memory (RSS from /proc, live heap from GODEBUG=gctrace=1)")
		p("")
		p("| process | after %dk: RSS / live heap | after %dk: RSS / live heap | at %d connections: RSS peak / fds | there, peaks: heap in use / live / GC goal / stacks | peak RSS (VmHWM) |",
			s.MemRequests/1000, 2*s.MemRequests/1000, s.Connections)
		p("| --- | --- | --- | --- | --- | --- |")
		for _, x := range []struct {
			name string
			m    MemRun
		}{{"server", mm.Server}, {"bare mcp-go", mm.Baseline}} {
			p("| %s | %s / %s | %s / %s | %s / %d | %s / %s / %s / %s | %s |", x.name, mib(x.m.After1.RSS), heapMiB(x.m.After1.Heap),
				mib(x.m.After2.RSS), heapMiB(x.m.After2.Heap), mib(x.m.ConnsPeak), x.m.ConnsFDs,
				heapMiB(x.m.Conns.HeapInUse), heapMiB(x.m.Conns.Heap), heapMiB(x.m.Conns.Goal), heapMiB(x.m.Conns.Stacks), mib(max(x.m.Conns.Peak, x.m.After2.Peak)))
		}
		p("")
		if l := mm.Limited; l != nil {
			p("")
			p("Informational: the %d-connection load on a fresh server with GOMEMLIMIT=%s: RSS peak %s; peaks of heap in use %s, live heap %s, GC goal %s, stacks %s; %.0f req/s, %d errors; exit: %s.",
				s.Connections, l.Limit, mib(l.Peak), heapMiB(l.At.HeapInUse), heapMiB(l.At.Heap), heapMiB(l.At.Goal), heapMiB(l.At.Stacks), l.Load.Throughput, l.Load.Errors, l.Exit)
		}
		p("")
		p("Audit: the server wrote %d events for %d calls sent in the memory phase (exit after SIGTERM: %s).",
			mm.Server.StdoutLines, mm.Server.Calls, mm.Server.Exit)
		p("")
		p("Server RSS vs bare mcp-go after %dk requests: %.2fx; at %d connections: %.2fx. Load during the phases: server %.0f/%.0f/%.0f req/s, baseline %.0f/%.0f/%.0f req/s (errors: server %d, baseline %d).",
			2*s.MemRequests/1000, ratio(float64(mm.Server.After2.RSS), float64(mm.Baseline.After2.RSS)),
			s.Connections, ratio(float64(mm.Server.ConnsPeak), float64(mm.Baseline.ConnsPeak)),
			mm.Server.Batch1.Throughput, mm.Server.Batch2.Throughput, mm.Server.ConnLoad.Throughput,
			mm.Baseline.Batch1.Throughput, mm.Baseline.Batch2.Throughput, mm.Baseline.ConnLoad.Throughput,
			mm.Server.Batch1.Errors+mm.Server.Batch2.Errors+mm.Server.ConnLoad.Errors,
			mm.Baseline.Batch1.Errors+mm.Baseline.Batch2.Errors+mm.Baseline.ConnLoad.Errors)
	}
	if len(r.Micro) > 0 {
		p("")
		p("## Go benchmarks (in process, hot paths)")
		p("")
		p("| package | benchmark | ns/op | B/op | allocs/op |")
		p("| --- | --- | --- | --- | --- |")
		for _, b := range r.Micro {
			p("| %s | %s | %.0f | %.0f | %.0f |", b.Package, b.Name, b.NsPerOp, b.BytesPerOp, b.AllocsPerOp)
		}
	}
	if r.Profile != "" {
		p("")
		p("## CPU profile of the full stack (in process, BenchmarkFrontDoorWhoami)")
		p("")
		p("```")
		p("%s", strings.TrimSpace(r.Profile))
		p("```")
	}
	if r.MemProfile != "" {
		p("")
		p("## Allocations of the full stack (in process, BenchmarkFrontDoorWhoami, alloc_space)")
		p("")
		p("```")
		p("%s", strings.TrimSpace(r.MemProfile))
		p("```")
	}
	notes := slices.Clone(r.Notes)
	for _, e := range r.errorKinds() {
		notes = append(notes, "errors in "+e)
	}
	if len(notes) > 0 {
		p("")
		p("## Notes")
		p("")
		for _, n := range notes {
			p("- %s", n)
		}
	}
}

// errorKinds lists every run that had errors, with their kinds.
func (r *Report) errorKinds() []string {
	var out []string
	add := func(name string, st load.Stats) {
		if st.Errors > 0 {
			out = append(out, fmt.Sprintf("%s: %d (%v)", name, st.Errors, st.ErrorKinds))
		}
	}
	if o := r.Overhead; o != nil {
		add("server whoami", o.Server)
		add("baseline mcp", o.BaselineMCP)
		add("baseline http", o.BaselineHTTP)
	}
	if s := r.Storage; s != nil {
		add("server get", s.ServerGet)
		add("direct get", s.DirectGet)
		add("server save", s.ServerSave)
		add("direct save", s.DirectSave)
		add("direct upload", s.DirectUpload)
	}
	if m := r.Memory; m != nil {
		for _, x := range []struct {
			n string
			m MemRun
		}{{"server", m.Server}, {"baseline", m.Baseline}} {
			add(x.n+" memory batch 1", x.m.Batch1)
			add(x.n+" memory batch 2", x.m.Batch2)
			add(x.n+" connections", x.m.ConnLoad)
		}
	}
	return out
}
