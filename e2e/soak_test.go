package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/identity/authtest"
	"github.com/snippets-mcp/server/internal/load"
)

// soakLong reports whether the long forms run (make soak sets SOAK=1).
func soakLong() bool { return os.Getenv("SOAK") == "1" }

// soakSample is the server's memory at one moment of a soak.
type soakSample struct {
	At   time.Duration `json:"at_ns"`
	RSS  int64         `json:"rss_bytes"`
	Heap int64         `json:"live_heap_bytes"`
}

// soakReport is what a soak measured.
type soakReport struct {
	Started     time.Time      `json:"started"`
	Duration    time.Duration  `json:"duration_ns"`
	Workers     int            `json:"workers"`
	Binary      string         `json:"binary"`
	Total       load.Stats     `json:"total"`
	ByTool      map[string]any `json:"by_tool"`
	Windows     []load.Window  `json:"windows"`
	Memory      []soakSample   `json:"memory"`
	ErrorRate   float64        `json:"error_rate"`
	P99Drift    float64        `json:"p99_drift"`    // p99 of the last window / p99 of the first full window
	RSSDrift    float64        `json:"rss_drift"`    // RSS at the end / RSS after the first window
	HeapGrowth  int64          `json:"heap_growth"`  // live heap at the end minus after the first window
	AuditEvents int            `json:"audit_events"` // lines on the server's stdout
	Answered    int64          `json:"answered_calls"`
}

// TestSoak runs sustained mixed load (whoami, save, get, list, in jwt mode
// with a real token) and reports error rate, p99 drift and memory drift.
// The short form (make test) runs 20 s against the race-detector build; the
// long form (make soak: SOAK=1, SOAK_DURATION default 10m) runs a normal
// build and writes bench/results/soak-latest.md.
func TestSoak(t *testing.T) {
	t.Parallel()
	dur, window, workers, bin := 20*time.Second, 5*time.Second, 4, serverBin
	if soakLong() {
		dur, window, workers = 10*time.Minute, time.Minute, 8
		if v := os.Getenv("SOAK_DURATION"); v != "" {
			d, err := time.ParseDuration(v)
			if err != nil || d < 2*time.Minute {
				t.Fatalf("SOAK_DURATION=%q: want a duration of at least 2m", v)
			}
			dur = d
		}
		bin = buildServer(t)
	}
	iss := authtest.NewIssuer(t)
	az := startAzurite(t)
	srv := startServerBin(t, bin, "MCP_AUTH_MODE=jwt", "MCP_AUTH_ISSUER="+iss.URL(), "MCP_AUTH_AUDIENCE="+authtest.Audience,
		"MCP_AUTH_TENANTS="+authtest.TenantID, "SNIPPETS_STORAGE="+az.ConnString(), "GODEBUG=gctrace=1")
	token := iss.Mint(t, authtest.Claims{Expiry: time.Now().Add(dur + time.Hour)})
	c := newClient()
	waitStorage(t, c, srv.MCPURL(), bearer(token)...)
	if r := tool(c, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": "soak-fixed", "snippet": strings.Repeat("s", 1024)}, bearer(token)...); !r.ok() {
		t.Fatal(r)
	}

	hdr := map[string][]string{"Authorization": {"Bearer " + token}, "Mcp-Protocol-Version": {"2025-06-18"}}
	u := srv.MCPURL()
	// Saves cycle through 500 names; two saves of one name in flight at once
	// conflict, which the server reports (that is not an error here).
	save := func(id uint64) []byte {
		return load.ToolCall("save_snippet", map[string]any{"snippetname": fmt.Sprintf("soak-%d", id%500),
			"snippet": fmt.Sprintf("%d %s", id, strings.Repeat("x", 1000))})(id)
	}
	conflictOK := func(id uint64, status int, body []byte) error {
		if err := load.CheckOK(id, status, body); err != nil && !strings.Contains(string(body), "was changed by someone else") {
			return err
		}
		return nil
	}
	targets := []load.Target{
		{Name: "whoami", URL: u, Header: hdr, Body: load.ToolCall("whoami", nil)},
		{Name: "save_snippet", URL: u, Header: hdr, Body: save, Check: conflictOK},
		{Name: "get_snippet", URL: u, Header: hdr, Body: load.ToolCall("get_snippet", map[string]any{"snippetname": "soak-fixed"})},
		{Name: "list_snippets", URL: u, Header: hdr, Body: load.ToolCall("list_snippets", map[string]any{"limit": 20})},
	}

	rep := &soakReport{Started: time.Now(), Duration: dur, Workers: workers, Binary: map[bool]string{true: "go build (no race detector)", false: "race-detector build"}[soakLong()]}
	var mu sync.Mutex
	stop := make(chan struct{})
	var wg sync.WaitGroup
	pid := srv.cmd.Process.Pid
	wg.Go(func() {
		tick := time.NewTicker(window / 4)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				m, err := load.ReadMem(pid)
				if err != nil {
					continue
				}
				g, _ := load.LastGC(srv.Stderr())
				mu.Lock()
				rep.Memory = append(rep.Memory, soakSample{At: time.Since(rep.Started), RSS: m.RSS, Heap: g.Live})
				mu.Unlock()
			}
		}
	})
	res, err := load.Run(context.Background(), load.Config{Targets: targets, Concurrency: workers, Duration: dur, Window: window, FirstID: uint64(nextRPCID.Add(1 << 40))})
	close(stop)
	wg.Wait()
	if err != nil {
		t.Fatal(err)
	}
	if !healthy(srv) {
		t.Fatalf("server unhealthy after the soak:\n%s", srv.Stderr())
	}
	rep.Total, rep.Windows = res.Total, res.Windows
	rep.ByTool = map[string]any{}
	for k, v := range res.ByTarget {
		rep.ByTool[k] = v
	}
	if res.Total.Requests > 0 {
		rep.ErrorRate = float64(res.Total.Errors) / float64(res.Total.Requests)
	}
	full := fullWindows(res.Windows, window)
	if len(full) >= 2 && full[0].P99 > 0 {
		rep.P99Drift = float64(full[len(full)-1].P99) / float64(full[0].P99)
	}
	if first, last, ok := memDrift(rep.Memory, window); ok {
		rep.RSSDrift = float64(last.RSS) / float64(first.RSS)
		rep.HeapGrowth = last.Heap - first.Heap
	}
	rep.Answered = res.Total.Requests - res.Total.Errors
	rep.AuditEvents = strings.Count(srv.Stdout(), "\n")

	summary := soakSummary(rep)
	t.Log(summary)
	if soakLong() {
		writeSoakReport(t, rep, summary)
	}

	if res.Total.Errors > 0 {
		t.Errorf("%d of %d requests failed: %v", res.Total.Errors, res.Total.Requests, res.Total.ErrorKinds)
	}
	if int64(rep.AuditEvents) < rep.Answered {
		t.Errorf("%d audit events for %d answered calls", rep.AuditEvents, rep.Answered)
	}
	if soakLong() {
		// Memory must not creep: the live heap may not grow by more than
		// half its early size plus 2 MiB over the run (a leak of even a few
		// hundred bytes a request would pass that within minutes).
		first, last, ok := memDrift(rep.Memory, window)
		if !ok || first.Heap < 0 {
			t.Errorf("no memory samples with a live heap")
		} else if last.Heap > first.Heap+first.Heap/2+2<<20 {
			t.Errorf("live heap grew from %d to %d bytes", first.Heap, last.Heap)
		}
	}
	noPanics(t, srv)
}

// fullWindows drops a trailing window shorter than the others.
func fullWindows(ws []load.Window, w time.Duration) []load.Window {
	if n := len(ws); n > 1 && ws[n-1].Requests < ws[n-2].Requests/2 {
		return ws[:n-1]
	}
	return ws
}

// memDrift returns the first sample after the first window (warm) and the last.
func memDrift(ms []soakSample, window time.Duration) (first, last soakSample, ok bool) {
	for _, m := range ms {
		if m.At >= window {
			return m, ms[len(ms)-1], true
		}
	}
	return first, last, false
}

func soakSummary(r *soakReport) string {
	var b strings.Builder
	fmt.Fprintf(&b, "soak: %s, %d workers, %s; %d requests, %d errors (rate %.5f), %.0f req/s, p50 %s, p99 %s; p99 drift %.2fx; RSS drift %.2fx; live heap growth %+d KiB; audit events %d for %d answered calls\n",
		r.Duration, r.Workers, r.Binary, r.Total.Requests, r.Total.Errors, r.ErrorRate, r.Total.Throughput,
		r.Total.P50.Round(10*time.Microsecond), r.Total.P99.Round(10*time.Microsecond), r.P99Drift, r.RSSDrift, r.HeapGrowth>>10, r.AuditEvents, r.Answered)
	b.WriteString("| window start | requests | errors | req/s | p50 | p99 |\n| --- | --- | --- | --- | --- | --- |\n")
	for _, w := range r.Windows {
		fmt.Fprintf(&b, "| %s | %d | %d | %.0f | %s | %s |\n", w.Start, w.Requests, w.Errors, w.Throughput, w.P50.Round(10*time.Microsecond), w.P99.Round(10*time.Microsecond))
	}
	b.WriteString("\n| at | RSS | live heap |\n| --- | --- | --- |\n")
	step := max(1, len(r.Memory)/12)
	for i, m := range r.Memory {
		if i%step == 0 || i == len(r.Memory)-1 {
			fmt.Fprintf(&b, "| %s | %.1f MiB | %.1f MiB |\n", m.At.Round(time.Second), float64(m.RSS)/(1<<20), float64(m.Heap)/(1<<20))
		}
	}
	return b.String()
}

func writeSoakReport(t *testing.T, r *soakReport, summary string) {
	dir := filepath.Join(repoRoot, "bench", "results")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	js, _ := json.MarshalIndent(r, "", "  ")
	stamp := r.Started.UTC().Format("20060102-150405")
	md := "# Soak report " + r.Started.UTC().Format(time.RFC3339) + "\n\n" + summary
	for _, name := range []string{"soak-" + stamp, "soak-latest"} {
		if err := os.WriteFile(filepath.Join(dir, name+".json"), append(js, '\n'), 0o644); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, name+".md"), []byte(md), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	t.Logf("soak report: %s", filepath.Join(dir, "soak-"+stamp+".md"))
}

// TestSlowBodyCut is a long form (SOAK=1): a client that sends its body one
// byte every two seconds is cut off at the server's 30 s read timeout.
func TestSlowBodyCut(t *testing.T) {
	if !soakLong() {
		t.Skip("long form: runs with SOAK=1 (make soak); TestSlowBodiesDoNotStarveOthers is the short form")
	}
	t.Parallel()
	srv, _ := devServer(t)
	body := call(q("whoami"), "")
	u := strings.TrimPrefix(srv.URL, "http://")
	head := fmt.Sprintf("POST /mcp HTTP/1.1\r\nHost: %s\r\nContent-Type: application/json\r\nAccept: application/json, text/event-stream\r\nContent-Length: %d\r\n\r\n", u, len(body))
	took, how := slowClient(t, srv, head, body, 2*time.Second, 60*time.Second)
	t.Logf("slow body: %s after %s", how, took.Round(100*time.Millisecond))
	if how == "" {
		t.Fatalf("a slow body was still being read after %s", took)
	}
	if took < 29*time.Second || took > 40*time.Second {
		t.Errorf("cut after %s; the read timeout is 30s", took)
	}
	if !healthy(srv) {
		t.Fatal("server unhealthy")
	}
}
