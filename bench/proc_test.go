package bench

import (
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/load"
)

func TestMedian(t *testing.T) {
	if got := Median([]time.Duration{5, 1, 3}); got != 3 {
		t.Errorf("odd: %d", got)
	}
	if got := Median([]time.Duration{4, 1, 3, 2}); got != 2 {
		t.Errorf("even: %d", got)
	}
	if Median(nil) != 0 {
		t.Error("empty")
	}
}

// judged runs Judge and returns each target's verdict and figure by goal
// and area.
func judged(r *Report) map[string]Target {
	r.Judge()
	out := map[string]Target{}
	for _, tg := range r.Targets {
		out[tg.Area+": "+tg.Goal] = tg
	}
	return out
}

func peerRun(name string, rps float64, cpu, p99 time.Duration) PeerRun {
	return PeerRun{Peer: name, Stats: load.Stats{Requests: 1000, Throughput: rps, P50: p99 / 4, P99: p99}, CPU: cpu}
}

func TestJudgeIssue16Targets(t *testing.T) {
	r := &Report{Settings: Settings{MemRequests: 100_000, Connections: 1000, Concurrency: []int{8, 64}}}
	r.Overhead = &Overhead{Runs: []OverheadRun{
		{Concurrency: 8, Peers: []PeerRun{ // every ratio just inside its target
			peerRun(PeerServer, 810, 124*time.Microsecond, 1490*time.Microsecond),
			peerRun(PeerMCPGo, 1000, 100*time.Microsecond, 1000*time.Microsecond),
			peerRun(PeerTSSDK, 300, 400*time.Microsecond, 5000*time.Microsecond),
		}},
		{Concurrency: 64, Peers: []PeerRun{ // every ratio just outside
			peerRun(PeerServer, 790, 126*time.Microsecond, 1510*time.Microsecond),
			peerRun(PeerMCPGo, 1000, 100*time.Microsecond, 1000*time.Microsecond),
		}},
	}}
	r.ColdStart = &ColdStart{Starts: map[string][]time.Duration{
		PeerServer: {30 * time.Millisecond, 39 * time.Millisecond, 50 * time.Millisecond},
		PeerMCPGo:  {20 * time.Millisecond, 20 * time.Millisecond, 10 * time.Millisecond},
	}}
	r.Storage = &Storage{
		ServerSave: load.Stats{Requests: 10, P50: 3900 * time.Microsecond},
		DirectSave: load.Stats{Requests: 10, P50: 3000 * time.Microsecond},
	}
	r.Memory = &Memory{Runs: map[string]MemRun{
		PeerServer: {ConnsPeak: 121 << 20},
		PeerMCPGo:  {ConnsPeak: 100 << 20},
	}}
	got := judged(r)
	want := map[string]bool{
		"framework overhead, 8 connections: throughput >= 0.8x bare mcp-go":                        true,
		"framework overhead, 8 connections: CPU per call <= 1.25x bare mcp-go":                     true,
		"framework overhead, 8 connections: p99 <= 1.5x bare mcp-go":                               true,
		"framework overhead, 64 connections: throughput >= 0.8x bare mcp-go":                       false,
		"framework overhead, 64 connections: CPU per call <= 1.25x bare mcp-go":                    false,
		"framework overhead, 64 connections: p99 <= 1.5x bare mcp-go":                              false,
		"cold start: start to first answered initialize, median <= 2x bare mcp-go":                 true, // 39 ms vs 20 ms
		"storage path: save_snippet <= +1.00 ms over the same blob operations done directly (p50)": true,
		"memory: RSS at 1000 concurrent calls <= 1.2x bare mcp-go's":                               false,
	}
	if len(got) != len(want) {
		t.Errorf("judged %d targets, want %d: %+v", len(got), len(want), r.Targets)
	}
	for goal, met := range want {
		tg, ok := got[goal]
		if !ok {
			t.Errorf("no target %q", goal)
			continue
		}
		if tg.Met != met {
			t.Errorf("%s: met=%v (%s), want %v", goal, tg.Met, tg.Actual, met)
		}
	}
	if a := got["framework overhead, 8 connections: CPU per call <= 1.25x bare mcp-go"].Actual; a != "1.24x (124 ms vs 100 ms per 1,000 calls)" {
		t.Errorf("CPU figure: %q", a)
	}

	// Past the save and memory limits, and a run without 64 connections.
	r.Storage.ServerSave.P50 = 4100 * time.Microsecond
	r.Memory.Runs[PeerServer] = MemRun{ConnsPeak: 119 << 20}
	r.Overhead.Runs = r.Overhead.Runs[:1]
	r.ColdStart.Starts[PeerServer] = []time.Duration{41 * time.Millisecond}
	got = judged(r)
	for goal, met := range map[string]bool{
		"storage path: save_snippet <= +1.00 ms over the same blob operations done directly (p50)": false,
		"memory: RSS at 1000 concurrent calls <= 1.2x bare mcp-go's":                               true,
		"cold start: start to first answered initialize, median <= 2x bare mcp-go":                 false,
		"framework overhead, 64 connections: throughput, CPU per call and p99 against bare mcp-go": false,
	} {
		if tg, ok := got[goal]; !ok || tg.Met != met {
			t.Errorf("%s: %+v (present %v), want met=%v", goal, tg, ok, met)
		}
	}
}

// TestJudgeOnlyPhasesRun: a phase that did not run is not judged, and a
// peer missing from a phase leaves "-" in the peers table, not a panic.
func TestJudgeOnlyPhasesRun(t *testing.T) {
	r := &Report{Settings: Settings{MemRequests: 1000, Connections: 10, Concurrency: []int{8}}}
	r.ColdStart = &ColdStart{Starts: map[string][]time.Duration{PeerServer: {3}, PeerMCPGo: {1}, PeerTSSDK: {9}}}
	r.Judge()
	if len(r.Targets) != 1 || r.Targets[0].Area != "cold start" || r.Targets[0].Met {
		t.Fatalf("%+v", r.Targets)
	}
	var md strings.Builder
	r.Markdown(&md)
	for _, want := range []string{"| " + peerLabels[PeerTSSDK] + " | 0.00 ms (9.00x) | - | - |", "**missed**"} {
		if !strings.Contains(md.String(), want) {
			t.Errorf("report lacks %q:\n%s", want, md.String())
		}
	}
	if strings.Contains(md.String(), peerLabels[PeerGoSDK]) {
		t.Errorf("a peer that was not measured has a row:\n%s", md.String())
	}
}

func TestParseBench(t *testing.T) {
	out := "goos: linux\npkg: github.com/snippets-mcp/server/internal/policy\nBenchmarkPolicyAllows-2   \t 2000\t       111.0 ns/op\t       0 B/op\t       0 allocs/op\nPASS\n"
	m := parseBench(out)
	if len(m) != 1 || m[0].Package != "internal/policy" || m[0].NsPerOp != 111 {
		t.Fatalf("%+v", m)
	}
}
