package load

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
