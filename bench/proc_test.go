package bench

import (
	"os"
	"testing"
	"time"
)

func TestLastGC(t *testing.T) {
	stderr := "listening\n" +
		"gc 1 @0.010s 2%: 0.018+1.2+0.004 ms clock, 0.036+0.30/0.61/0+0.009 ms cpu, 3->4->1 MB, 4 MB goal, 0 MB stacks, 0 MB globals, 2 P\n" +
		"gc 147 @9.527s 10%: 0.79+69+0.011 ms clock, 1.5+19/35/0+0.023 ms cpu, 35->39->18 MB, 40 MB goal, 2 MB stacks, 0 MB globals, 2 P\n" +
		`{"level":"INFO","msg":"stopped"}` + "\n"
	g, ok := LastGC(stderr)
	if !ok || g.Cycles != 147 || g.Live != 18<<20 || g.Goal != 40<<20 || g.Stacks != 2<<20 {
		t.Fatalf("LastGC = %+v, %v", g, ok)
	}
	if p, ok := PeakGC(stderr, 1); !ok || p.Heap != 39<<20 || p.Live != 18<<20 || p.Cycles != 147 {
		t.Fatalf("PeakGC = %+v, %v", p, ok)
	}
	if _, ok := LastGC("no trace here\n"); ok {
		t.Fatal("found a GC line where there is none")
	}
}

func TestReadMemSelf(t *testing.T) {
	m, err := ReadMem(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.Peak < m.RSS || m.FDs < 3 || !m.Alive {
		t.Fatalf("%+v", m)
	}
}

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
		After1: Mem{RSS: 20 << 20, Heap: 1 << 20}, After2: Mem{RSS: 22 << 20, Heap: 1 << 20, Peak: 23 << 20}, ConnsPeak: 70 << 20,
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

func TestCPUTime(t *testing.T) {
	before, err := CPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	for x, start := 0, time.Now(); time.Since(start) < 100*time.Millisecond; x++ {
		_ = x * x
	}
	after, err := CPUTime(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if after <= before {
		t.Fatalf("no CPU time used: %s then %s", before, after)
	}
}
