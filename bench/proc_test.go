package bench

import (
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

func TestJudge(t *testing.T) {
	r := &Report{Settings: Settings{MemRequests: 100_000, Connections: 1000}}
	r.ColdStart = &ColdStart{Server: []time.Duration{40 * time.Millisecond}, Baseline: []time.Duration{30 * time.Millisecond}}
	r.Memory = &Memory{Server: MemRun{
		After1: load.Mem{RSS: 20 << 20, Heap: 1 << 20}, After2: load.Mem{RSS: 22 << 20, Heap: 1 << 20, Peak: 23 << 20}, ConnsPeak: 70 << 20,
	}}
	r.Judge()
	met := map[string]bool{}
	for _, tg := range r.Targets {
		met[tg.Goal] = tg.Met
	}
	if !met["median <= 50 ms"] || !met["median <= 2x bare mcp-go"] {
		t.Errorf("cold start: %+v", r.Targets)
	}
	if met["no growth from 100k to 200k requests (within 5%)"] { // RSS grew 10%
		t.Errorf("growth judged as none: %+v", r.Targets)
	}
	if met["RSS < 64 MiB (peak, including 1000 connections)"] {
		t.Errorf("70 MiB judged under 64 MiB")
	}
}

func TestParseBench(t *testing.T) {
	out := "goos: linux\npkg: github.com/snippets-mcp/server/internal/auth\nBenchmarkPolicyAllows-2   \t 2000\t       111.0 ns/op\t       0 B/op\t       0 allocs/op\nPASS\n"
	m := parseBench(out)
	if len(m) != 1 || m[0].Package != "internal/auth" || m[0].NsPerOp != 111 {
		t.Fatalf("%+v", m)
	}
}
