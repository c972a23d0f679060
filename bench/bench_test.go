package bench

import (
	"bufio"
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/snippets-mcp/server/bench/baseline"
	"github.com/snippets-mcp/server/internal/identity/authtest"
	"github.com/snippets-mcp/server/internal/load"
	"github.com/snippets-mcp/server/internal/snippets"
	"github.com/snippets-mcp/server/internal/storage"
	"github.com/snippets-mcp/server/internal/storage/azurite"
)

// TestBench is the benchmark driver behind `make bench`. It builds the
// server and the baselines, starts them on loopback next to Azurite and
// a local OpenID issuer, measures framework overhead against bare mcp-go
// and the official Go and TypeScript SDKs (the peers), the storage path,
// cold start and memory, runs the in-process Go benchmarks, and writes a
// report (markdown and JSON) to bench/results/. It runs only with
// BENCH=1, so `go test ./...` skips it.
//
// Knobs (environment): BENCH_DURATION (each measured run, default 2.5s),
// BENCH_ROUNDS (interleaved rounds, 6), BENCH_CONCURRENCY (connections of
// the overhead runs, a comma-separated list, 8,64; the first is also the
// memory phase's), BENCH_COLD_STARTS (20 per peer), BENCH_MEM_REQUESTS (100000),
// BENCH_CONNS (1000), BENCH_PHASES (overhead,storage,cold,memory,micro),
// BENCH_OUT (bench/results).
func TestBench(t *testing.T) {
	if os.Getenv("BENCH") != "1" {
		t.Skip("the benchmark driver runs with BENCH=1 (make bench)")
	}
	wd, err := os.Getwd()
	if err != nil {
		t.Fatal(err)
	}
	d := &driver{t: t, root: filepath.Dir(wd), work: t.TempDir(), nextID: 1}
	d.report = &Report{Started: time.Now(), Settings: Settings{
		Duration:     envDuration(t, "BENCH_DURATION", 2500*time.Millisecond),
		Rounds:       envInt(t, "BENCH_ROUNDS", 6),
		Concurrency:  envInts(t, "BENCH_CONCURRENCY", []int{8, 64}),
		ColdStarts:   envInt(t, "BENCH_COLD_STARTS", 20),
		MemRequests:  int64(envInt(t, "BENCH_MEM_REQUESTS", 100_000)),
		Connections:  envInt(t, "BENCH_CONNS", 1000),
		AuditSink:    "a file (the server's stdout redirected to a regular file)",
		AuthMode:     "jwt (RS256 token from a local issuer, verified once, then cached by the server)",
		SnippetBytes: 1024,
	}}
	out := os.Getenv("BENCH_OUT")
	if out == "" {
		out = filepath.Join(d.root, "bench", "results")
	}
	phases := os.Getenv("BENCH_PHASES")
	if phases == "" {
		phases = "overhead,storage,cold,memory,micro"
	}
	d.report.Machine = machine()
	d.build()
	d.iss = authtest.NewIssuer(t)
	d.token = d.iss.Mint(t, authtest.Claims{Expiry: time.Now().Add(3 * time.Hour)})
	d.startAzurite()

	for _, ph := range strings.Split(phases, ",") {
		start := time.Now()
		switch strings.TrimSpace(ph) {
		case "overhead":
			d.overhead()
		case "storage":
			d.storagePath()
		case "cold":
			d.coldStart()
		case "memory":
			d.memory()
		case "micro":
			d.micro(out)
		default:
			t.Fatalf("BENCH_PHASES: unknown phase %q", ph)
		}
		t.Logf("phase %s took %s", ph, time.Since(start).Round(time.Second))
	}
	d.report.Machine.LoadAfter = loadavg()
	d.report.Elapsed = time.Since(d.report.Started)
	d.report.Judge()
	path, err := d.report.Write(out)
	if err != nil {
		t.Fatal(err)
	}
	var md strings.Builder
	d.report.Markdown(&md)
	fmt.Println(md.String())
	t.Logf("report: %s (and latest.md, latest.json)", path)
}

type driver struct {
	t      *testing.T
	root   string
	work   string
	report *Report
	nextID uint64

	serverBin, mcpBin, gosdkBin, httpBin string
	iss                                  *authtest.Issuer
	token                                string
	azurite                              *Proc
	azPort                               int
}

func (d *driver) build() {
	d.t.Helper()
	d.serverBin = filepath.Join(d.work, "snippets-mcp")
	d.mcpBin = filepath.Join(d.work, "baseline-mcp")
	d.gosdkBin = filepath.Join(d.work, "baseline-gosdk")
	d.httpBin = filepath.Join(d.work, "baseline-http")
	// The server is built without the race detector, with trimmed paths and
	// stripped symbols (azd's `go build -o app .` differs only by size).
	// The baselines are built in this module (bench/), the server in its own.
	bench := filepath.Join(d.root, "bench")
	for _, b := range []struct{ out, dir, pkg string }{{d.serverBin, d.root, "."}, {d.mcpBin, bench, "./cmd/baseline-mcp"},
		{d.gosdkBin, bench, "./cmd/baseline-gosdk"}, {d.httpBin, bench, "./cmd/baseline-http"}} {
		cmd := exec.Command("go", "build", "-trimpath", "-ldflags", "-s -w", "-o", b.out, b.pkg)
		cmd.Dir = b.dir
		if out, err := cmd.CombinedOutput(); err != nil {
			d.t.Fatalf("build %s: %v\n%s", b.pkg, err, out)
		}
	}
	d.report.Machine.ServerBuild = "go build -trimpath -ldflags '-s -w' . (the root main package; no race detector)"
}

func (d *driver) startAzurite() {
	d.t.Helper()
	port, err := FreePort()
	if err != nil {
		d.t.Fatal(err)
	}
	nodeBin := filepath.Join(d.root, "node_modules", ".bin")
	dir := filepath.Join(d.work, "azurite")
	p, err := Start("azurite", filepath.Join(nodeBin, "azurite-blob"),
		append(MinimalEnv(), "PATH="+nodeBin+":"+os.Getenv("PATH")), d.work,
		"--blobHost", "127.0.0.1", "--blobPort", strconv.Itoa(port), "--location", dir, "--skipApiVersionCheck", "--silent")
	if err != nil {
		d.t.Fatalf("%v (run `make tools` first)", err)
	}
	d.t.Cleanup(p.Kill)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := WaitTCP(ctx, fmt.Sprintf("127.0.0.1:%d", port)); err != nil {
		d.t.Fatalf("azurite: %v\n%s", err, p.Stderr())
	}
	d.azurite, d.azPort = p, port
}

func (d *driver) connString() string {
	return azurite.ConnString(fmt.Sprintf("http://127.0.0.1:%d", d.azPort))
}

// serverEnv is the real server's environment in jwt mode on port.
func (d *driver) serverEnv(port int, extra ...string) []string {
	return MinimalEnv(append([]string{
		"FUNCTIONS_CUSTOMHANDLER_PORT=" + strconv.Itoa(port),
		"MCP_AUTH_MODE=jwt", "MCP_AUTH_ISSUER=" + d.iss.URL(), "MCP_AUTH_AUDIENCE=" + authtest.Audience,
		"MCP_AUTH_TENANTS=" + authtest.TenantID, "MCP_SERVER_ID=bench", "SNIPPETS_STORAGE=" + d.connString(),
	}, extra...)...)
}

// peer is one MCP server the benchmark measures, as a process.
type peer struct {
	name string // PeerServer, PeerMCPGo, ...
	// launch starts it on port without waiting for it; dir is where its
	// stdout and stderr go ("" for nowhere).
	launch func(name string, port int, dir string, extra ...string) (*Proc, error)
	// target is the request measured on it, at base URL url.
	target func(url string) load.Target
	auth   bool // whether its requests carry the bearer token
}

// peer returns the named peer.
func (d *driver) peer(name string) peer {
	bin := func(path string) func(string, int, string, ...string) (*Proc, error) {
		return func(name string, port int, dir string, extra ...string) (*Proc, error) {
			return Start(name, path, MinimalEnv(append([]string{"FUNCTIONS_CUSTOMHANDLER_PORT=" + strconv.Itoa(port)}, extra...)...), dir)
		}
	}
	switch name {
	case PeerServer:
		return peer{name: name, target: d.whoami, auth: true, launch: func(name string, port int, dir string, extra ...string) (*Proc, error) {
			return Start(name, d.serverBin, d.serverEnv(port, extra...), dir)
		}}
	case PeerMCPGo:
		return peer{name: name, target: d.echo, launch: bin(d.mcpBin)}
	case PeerGoSDK:
		return peer{name: name, target: d.echo, launch: bin(d.gosdkBin)}
	case PeerTSSDK:
		return peer{name: name, target: d.echo, launch: func(name string, port int, dir string, extra ...string) (*Proc, error) {
			return StartTS(d.root, name, MinimalEnv(append([]string{"FUNCTIONS_CUSTOMHANDLER_PORT=" + strconv.Itoa(port)}, extra...)...), dir)
		}}
	case PeerHTTP:
		return peer{name: name, target: d.fixed, launch: bin(d.httpBin)}
	}
	d.t.Fatalf("no peer %q", name)
	return peer{}
}

// mcpPeers are the peers that answer MCP: the server and the three
// stateless echo servers it is compared with.
var mcpPeers = []string{PeerServer, PeerMCPGo, PeerGoSDK, PeerTSSDK}

// start runs pe on a free port, waits until /healthz answers, and returns
// the process and its base URL; the process is killed at the end of the
// test if still running.
func (d *driver) start(pe peer, name string, extra ...string) (*Proc, string) {
	d.t.Helper()
	port, err := FreePort()
	if err != nil {
		d.t.Fatal(err)
	}
	p, err := pe.launch(name, port, d.work, extra...)
	if err != nil {
		d.t.Fatal(err)
	}
	d.t.Cleanup(p.Kill)
	url := fmt.Sprintf("http://127.0.0.1:%d", port)
	if err := WaitHealthy(p, url+"/healthz", 60*time.Second); err != nil {
		d.t.Fatal(err)
	}
	return p, url
}

// The kinds of request compared.
func (d *driver) whoami(url string) load.Target {
	return load.Target{Name: "whoami", URL: url + "/mcp", Header: d.headers(true), Body: load.ToolCall("whoami", nil)}
}

func (d *driver) echo(url string) load.Target {
	return load.Target{Name: "echo", URL: url + "/mcp", Header: d.headers(false), Body: load.ToolCall("echo", map[string]any{"message": "hello"})}
}

func (d *driver) fixed(url string) load.Target {
	return load.Target{Name: "fixed", URL: url + "/mcp", Header: d.headers(false), Body: load.ToolCall("echo", map[string]any{"message": "hello"}),
		Check: func(_ uint64, status int, body []byte) error {
			if status != http.StatusOK || string(body) != baseline.HTTPResponse {
				return fmt.Errorf("status %d, unexpected body", status)
			}
			return nil
		}}
}

func (d *driver) headers(auth bool) http.Header {
	h := http.Header{"Mcp-Protocol-Version": {"2025-06-18"}}
	if auth {
		h.Set("Authorization", "Bearer "+d.token)
	}
	return h
}

// run drives targets and keeps JSON-RPC ids unique across the whole run.
func (d *driver) run(cfg load.Config) *load.Result {
	d.t.Helper()
	cfg.FirstID = d.nextID
	if cfg.Duration == 0 {
		cfg.Duration = d.report.Settings.Duration
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = 1
	}
	res, err := load.Run(context.Background(), cfg)
	if err != nil {
		d.t.Fatal(err)
	}
	d.nextID = res.LastID + 1
	return res
}

// measured is one target's merged runs, the CPU its server process used
// per request (0 when the target has none), and each round's throughput.
type measured struct {
	load.Stats
	cpuPerReq time.Duration
	perRound  []float64
}

// rounds measures each target for one run per round, rotating the order
// every round so that none always runs first or last (other work on a
// shared machine drifts), and merges each target's runs. procs[i] is the
// process serving targets[i], or nil; its CPU time is read around each run.
func (d *driver) rounds(targets []load.Target, procs []*Proc, concurrency int) []measured {
	res := make([][]*load.Result, len(targets))
	cpu := make([]time.Duration, len(targets))
	out := make([]measured, len(targets))
	for r := range d.report.Settings.Rounds {
		for k := range targets {
			i := (k + r) % len(targets)
			var before time.Duration
			if procs[i] != nil {
				before, _ = load.CPUTime(procs[i].Pid())
			}
			run := d.run(load.Config{Targets: targets[i : i+1], Concurrency: concurrency})
			if procs[i] != nil {
				after, _ := load.CPUTime(procs[i].Pid())
				cpu[i] += after - before
			}
			res[i] = append(res[i], run)
			out[i].perRound = append(out[i].perRound, run.Total.Throughput)
		}
	}
	for i := range targets {
		out[i].Stats = load.Merge(res[i]...)
		if procs[i] != nil && out[i].Requests > 0 {
			out[i].cpuPerReq = cpu[i] / time.Duration(out[i].Requests)
		}
	}
	return out
}

// overhead measures tools/call on every peer and the net/http floor in
// interleaved rounds, at each concurrency of the run, on the same
// processes (started once, warmed up once).
func (d *driver) overhead() {
	names := append(slices.Clone(mcpPeers), PeerHTTP)
	procs := make([]*Proc, len(names))
	targets := make([]load.Target, len(names))
	var calls int64
	for i, name := range names {
		pe := d.peer(name)
		var u string
		procs[i], u = d.start(pe, "overhead-"+strings.ReplaceAll(name, "/", "-"))
		targets[i] = pe.target(u)
		// Warm up: connections, caches, heaps grown to their working size.
		res := d.run(load.Config{Targets: targets[i : i+1], Duration: 2 * time.Second, Concurrency: slices.Max(d.report.Settings.Concurrency)})
		if name == PeerServer {
			calls += res.Total.Requests
		}
	}
	o := &Overhead{}
	for _, c := range d.report.Settings.Concurrency {
		st := d.rounds(targets, procs, c)
		run := OverheadRun{Concurrency: c}
		for i, name := range names {
			run.Peers = append(run.Peers, PeerRun{Peer: name, Stats: st[i].Stats, CPU: st[i].cpuPerReq, RoundThroughput: st[i].perRound})
			if name == PeerServer {
				calls += st[i].Requests
			}
		}
		o.Runs = append(o.Runs, run)
	}
	for i := len(procs) - 1; i >= 0; i-- { // the server last: its audit file is complete then
		d.stop(procs[i])
	}
	srv := procs[0]
	o.AuditEvents, o.ServerCalls = countLines(d.t, srv.StdoutPath), calls
	var errs int64
	for _, run := range o.Runs {
		sv, _ := run.Peer(PeerServer)
		errs += sv.Errors
	}
	if int64(o.AuditEvents) < calls-errs {
		d.report.Notes = append(d.report.Notes, fmt.Sprintf("the server wrote %d audit events for %d answered calls: events were dropped (see its stderr)", o.AuditEvents, calls))
	}
	d.report.Overhead = o
}

func (d *driver) storagePath() {
	srv, su := d.start(d.peer(PeerServer), "storage-server")
	defer d.stop(srv)
	content := strings.Repeat("snippet text. ", d.report.Settings.SnippetBytes/14+1)[:d.report.Settings.SnippetBytes]

	client, err := storage.Connect(storage.Options{ConnectionString: d.connString()})
	if err != nil {
		d.t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := storage.EnsureContainer(ctx, client, snippets.Container); err != nil {
		d.t.Fatal(err)
	}
	cc := client.ServiceClient().NewContainerClient(snippets.Container)
	sum := sha256.Sum256([]byte(content))
	digest := hex.EncodeToString(sum[:])
	meta := func() map[string]*string {
		now := time.Now().UTC().Format(time.RFC3339Nano)
		return map[string]*string{"created": &now, "sha256": &digest, "createdby": to.Ptr("bench"), "updatedby": to.Ptr("bench")}
	}
	upload := func(ctx context.Context, name string, cond *blob.ModifiedAccessConditions) error {
		_, err := cc.NewBlockBlobClient(name).Upload(ctx, streaming.NopCloser(bytes.NewReader([]byte(content))), &blockblob.UploadOptions{
			Metadata:         meta(),
			HTTPHeaders:      &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain; charset=utf-8")},
			AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: cond},
		})
		return err
	}
	if err := upload(ctx, "bench-direct/get", nil); err != nil {
		d.t.Fatal(err)
	}
	seed := d.run(load.Config{Targets: []load.Target{{Name: "seed", URL: su + "/mcp", Header: d.headers(true),
		Body: load.ToolCall("save_snippet", map[string]any{"snippetname": "bench-get", "snippet": content})}}, Requests: 1, Concurrency: 1})
	if seed.Total.Errors != 0 {
		d.t.Fatalf("seed snippet: %v", seed.Total.ErrorKinds)
	}

	directGet := func(ctx context.Context, _ uint64) error {
		resp, err := cc.NewBlockBlobClient("bench-direct/get").DownloadStream(ctx, nil)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && len(b) != len(content) {
			err = fmt.Errorf("read %d bytes, want %d", len(b), len(content))
		}
		return err
	}
	// What the store does for a save without an etag: read the current
	// version, then write on condition that it is still that version.
	directSave := func(ctx context.Context, _ uint64) error {
		bc := cc.NewBlockBlobClient("bench-direct/save")
		cond := &blob.ModifiedAccessConditions{}
		props, err := bc.GetProperties(ctx, nil)
		switch {
		case err == nil:
			cond.IfMatch = props.ETag
		case storage.IsNotFound(err):
			cond.IfNoneMatch = to.Ptr(azcore.ETagAny)
		default:
			return err
		}
		return upload(ctx, "bench-direct/save", cond)
	}
	directUpload := func(ctx context.Context, _ uint64) error { return upload(ctx, "bench-direct/upload", nil) }

	targets := []load.Target{
		{Name: "server get", URL: su + "/mcp", Header: d.headers(true), Body: load.ToolCall("get_snippet", map[string]any{"snippetname": "bench-get"})},
		{Name: "direct get", Do: directGet},
		{Name: "server save", URL: su + "/mcp", Header: d.headers(true), Body: load.ToolCall("save_snippet", map[string]any{"snippetname": "bench-save", "snippet": content})},
		{Name: "direct save", Do: directSave},
		{Name: "direct upload", Do: directUpload},
	}
	for _, tg := range targets { // warm up
		d.run(load.Config{Targets: []load.Target{tg}, Duration: time.Second, Concurrency: 1})
	}
	// No CPU figures here: at concurrency 1 the server is mostly idle, and
	// tick-based accounting plus the runtime's spinning on each wake-up
	// would make CPU per call meaningless.
	st := d.rounds(targets, make([]*Proc, len(targets)), 1)
	d.report.Storage = &Storage{ServerGet: st[0].Stats, DirectGet: st[1].Stats, ServerSave: st[2].Stats, DirectSave: st[3].Stats, DirectUpload: st[4].Stats}
}

// initialize is the first request any client sends.
var initialize = load.RPC("initialize", map[string]any{
	"protocolVersion": "2025-06-18", "capabilities": map[string]any{},
	"clientInfo": map[string]any{"name": "bench", "version": "1"},
})

// coldStart starts every MCP peer ColdStarts times, the peers taking
// turns in a rotating order, and times exec to the first successful
// initialize of each start.
func (d *driver) coldStart() {
	n := d.report.Settings.ColdStarts
	c := &ColdStart{Starts: map[string][]time.Duration{}}
	for i := range n {
		for k := range mcpPeers {
			pe := d.peer(mcpPeers[(k+i)%len(mcpPeers)])
			port, err := FreePort()
			if err != nil {
				d.t.Fatal(err)
			}
			name := "cold-" + pe.name
			p, err := pe.launch(name, port, "")
			if err != nil {
				d.t.Fatal(err)
			}
			took, err := d.firstInitialize(p, fmt.Sprintf("http://127.0.0.1:%d/mcp", port), pe.auth)
			if serr := p.Stop(25 * time.Second); serr != nil && err == nil {
				err = serr
			}
			if err != nil {
				d.t.Fatalf("%s start %d: %v", name, i+1, err)
			}
			c.Starts[pe.name] = append(c.Starts[pe.name], took)
		}
	}
	d.report.ColdStart = c
}

// firstInitialize polls url with initialize from the moment p was
// started until one succeeds, and returns how long that took.
func (d *driver) firstInitialize(p *Proc, url string, auth bool) (time.Duration, error) {
	client := &http.Client{Timeout: 5 * time.Second, Transport: &http.Transport{Proxy: nil, DisableKeepAlives: true}}
	deadline := p.Started.Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if p.Exited() {
			return 0, fmt.Errorf("exited before answering")
		}
		id := d.nextID
		d.nextID++
		req, _ := http.NewRequest(http.MethodPost, url, bytes.NewReader(initialize(id)))
		req.Header = d.headers(auth)
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		resp, err := client.Do(req)
		if err == nil {
			body, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if load.CheckOK(id, resp.StatusCode, body) == nil && bytes.Contains(body, []byte(`"protocolVersion"`)) {
				return time.Since(p.Started), nil
			}
		}
		time.Sleep(time.Millisecond)
	}
	return 0, fmt.Errorf("no successful initialize within 20s")
}

// memory drives each MCP peer, one after the other on a fresh process,
// with two batches of MemRequests calls and then Connections clients at
// once, reading RSS (and, for Go, gctrace) at each point.
func (d *driver) memory() {
	m := &Memory{Runs: map[string]MemRun{}}
	for _, name := range mcpPeers {
		pe := d.peer(name)
		m.Runs[name] = d.memRun("memory-"+name, func() (*Proc, load.Target) {
			p, u := d.start(pe, "memory-"+name, "GODEBUG=gctrace=1")
			return p, pe.target(u)
		})
	}
	// The same connection load on a fresh server with a soft memory limit:
	// it shows how much of the RSS is the collector's headroom (GOGC=100
	// lets the heap grow to twice the live heap) rather than live data.
	p, u := d.start(d.peer(PeerServer), "memory-server-memlimit", "GODEBUG=gctrace=1", "GOMEMLIMIT="+memLimit)
	st, mm, peak, fds := d.connections("memory-server-memlimit", p, d.whoami(u))
	m.Limited = &MemLimited{Limit: memLimit, Load: st, At: mm, Peak: peak, FDs: fds, Exit: d.stop(p)}
	d.report.Memory = m
}

// memBatchLimit bounds one memory batch in time. The TypeScript peer is
// the slowest: 100k calls at a few hundred per second on a loaded machine
// take minutes.
const memBatchLimit = 10 * time.Minute

// memLimit is the GOMEMLIMIT of the informational limited run.
const memLimit = "40MiB"

func (d *driver) memRun(name string, start func() (*Proc, load.Target)) MemRun {
	p, target := start()
	n := d.report.Settings.MemRequests
	var r MemRun
	batch := func() (load.Stats, load.Mem) {
		res := d.run(load.Config{Targets: []load.Target{target}, Requests: n, Duration: memBatchLimit, Concurrency: d.report.Settings.Concurrency[0]})
		if res.Total.Requests < n {
			d.t.Errorf("%s: only %d of %d requests in %s", name, res.Total.Requests, n, memBatchLimit)
		}
		return res.Total, d.mem(p)
	}
	r.Batch1, r.After1 = batch()
	r.Batch2, r.After2 = batch()
	r.ConnLoad, r.Conns, r.ConnsPeak, r.ConnsFDs = d.connections(name, p, target)
	r.Exit = d.stop(p)
	r.Calls = r.Batch1.Requests + r.Batch2.Requests + r.ConnLoad.Requests
	if p.StdoutPath != "" {
		r.StdoutLines = countLines(d.t, p.StdoutPath)
	}
	return r
}

// connections drives p with Settings.Connections clients at once, each
// worker on its own connection, sampling RSS and open descriptors.
func (d *driver) connections(name string, p *Proc, target load.Target) (load.Stats, load.Mem, int64, int) {
	k := d.report.Settings.Connections
	startGC, _ := load.LastGC(p.Stderr())
	client := load.NewClient(k)
	defer client.CloseIdleConnections()
	var peak int64
	var fds int
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(50 * time.Millisecond)
		defer tick.Stop()
		for {
			select {
			case <-stop:
				return
			case <-tick.C:
				if mm, err := load.ReadMem(p.Pid()); err == nil {
					peak, fds = max(peak, mm.RSS), max(fds, mm.FDs)
				}
			}
		}
	})
	res := d.run(load.Config{Targets: []load.Target{target}, Concurrency: k, Duration: 8 * time.Second, Client: client, Timeout: 30 * time.Second})
	close(stop)
	wg.Wait()
	if fds < k {
		d.report.Notes = append(d.report.Notes, fmt.Sprintf("%s: at most %d file descriptors were open during the %d-connection phase", name, fds, k))
	}
	m := d.mem(p)
	// The figures at the busiest moment of the phase, not after it.
	if g, ok := load.PeakGC(p.Stderr(), startGC.Cycles); ok {
		m.Heap, m.Goal, m.Stacks, m.HeapInUse = g.Live, g.Goal, g.Stacks, g.Heap
	}
	return res.Total, m, peak, fds
}

// stop ends p with SIGTERM and returns how it exited: "ok", or the error
// and the last line it wrote to stderr (which says why). A failed exit is
// a finding for the report, not a reason to abandon the run.
func (d *driver) stop(p *Proc) string {
	err := p.Stop(25 * time.Second)
	if err == nil {
		return "ok"
	}
	last := strings.TrimSpace(p.Stderr())
	if i := strings.LastIndexByte(last, '\n'); i >= 0 {
		last = last[i+1:]
	}
	exit := fmt.Sprintf("%v: %s", err, last)
	d.report.Notes = append(d.report.Notes, fmt.Sprintf("%s exited after SIGTERM with %s", p.Name, exit))
	return exit
}

// mem reads RSS and, from the gctrace lines on stderr, the live heap.
func (d *driver) mem(p *Proc) load.Mem {
	m, err := load.ReadMem(p.Pid())
	if err != nil {
		d.t.Fatal(err)
	}
	if g, ok := load.LastGC(p.Stderr()); ok {
		m.GCs, m.Heap, m.Goal, m.Stacks = g.Cycles, g.Live, g.Goal, g.Stacks
	}
	return m
}

// micro runs the in-process Go benchmarks of the hot paths and keeps a CPU
// profile of the full stack, which explains the overhead figures.
func (d *driver) micro(out string) {
	// The server's packages are in the root module, the baselines in this one.
	for _, m := range []struct {
		dir  string
		pkgs []string
	}{
		{d.root, []string{"./internal/identity", "./internal/policy", "./tools", "./internal/audit", "./handler"}},
		{filepath.Join(d.root, "bench"), []string{"./baseline"}},
	} {
		args := append([]string{"test", "-run", "^$", "-bench", ".", "-benchmem", "-benchtime", "1s", "-count", "1"}, m.pkgs...)
		cmd := exec.Command("go", args...)
		cmd.Dir = m.dir
		b, err := cmd.CombinedOutput()
		if err != nil {
			d.t.Errorf("go %s: %v\n%s", strings.Join(args, " "), err, b)
		}
		d.report.Micro = append(d.report.Micro, parseBench(string(b))...)
	}

	if err := os.MkdirAll(out, 0o755); err != nil {
		d.t.Fatal(err)
	}
	prof := filepath.Join(out, "frontdoor.cpu.prof")
	memProf := filepath.Join(out, "frontdoor.mem.prof")
	testBin := filepath.Join(d.work, "handler.test")
	cmd := exec.Command("go", "test", "-run", "^$", "-bench", "^BenchmarkFrontDoorWhoami$", "-benchtime", "3s", "-count", "1",
		"-cpuprofile", prof, "-memprofile", memProf, "-o", testBin, "./handler")
	cmd.Dir = d.root
	if b, err := cmd.CombinedOutput(); err != nil {
		d.t.Errorf("profile: %v\n%s", err, b)
		return
	}
	pprof := func(args ...string) string {
		cmd := exec.Command("go", append([]string{"tool", "pprof"}, args...)...)
		cmd.Dir = d.root
		b, err := cmd.Output()
		if err != nil {
			d.t.Errorf("pprof %v: %v", args, err)
		}
		return string(b)
	}
	d.report.Profile = pprof("-top", "-cum", "-nodecount", "40", "-focus", "ServeHTTP", testBin, prof)
	d.report.MemProfile = pprof("-top", "-sample_index", "alloc_space", "-nodecount", "25", testBin, memProf)
	d.report.Notes = append(d.report.Notes, "profiles kept as bench/results/frontdoor.cpu.prof and frontdoor.mem.prof (go tool pprof -http=: <profile>)")
}

// parseBench reads `go test -bench` output lines.
func parseBench(s string) []Micro {
	var out []Micro
	pkg := ""
	sc := bufio.NewScanner(strings.NewReader(s))
	for sc.Scan() {
		line := sc.Text()
		if p, ok := strings.CutPrefix(line, "pkg: "); ok {
			pkg = strings.TrimPrefix(p, "github.com/snippets-mcp/server/")
			continue
		}
		f := strings.Fields(line)
		if len(f) < 4 || !strings.HasPrefix(f[0], "Benchmark") || f[3] != "ns/op" {
			continue
		}
		name := f[0]
		if i := strings.LastIndexByte(name, '-'); i > 0 {
			if _, err := strconv.Atoi(name[i+1:]); err == nil {
				name = name[:i] // the -GOMAXPROCS suffix
			}
		}
		m := Micro{Package: pkg, Name: name}
		m.NsPerOp, _ = strconv.ParseFloat(f[2], 64)
		for i := 4; i+1 < len(f); i += 2 {
			v, _ := strconv.ParseFloat(f[i], 64)
			switch f[i+1] {
			case "B/op":
				m.BytesPerOp = v
			case "allocs/op":
				m.AllocsPerOp = v
			}
		}
		out = append(out, m)
	}
	return out
}

func countLines(t *testing.T, path string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	return bytes.Count(b, []byte("\n"))
}

func machine() Machine {
	m := Machine{CPUs: runtime.NumCPU(), GoVersion: runtime.Version(), LoadBefore: loadavg()}
	if b, err := os.ReadFile("/proc/cpuinfo"); err == nil {
		for _, l := range strings.Split(string(b), "\n") {
			if k, v, ok := strings.Cut(l, ":"); ok && strings.TrimSpace(k) == "model name" {
				m.CPUModel = strings.TrimSpace(v)
				break
			}
		}
	}
	if b, err := os.ReadFile("/proc/sys/kernel/osrelease"); err == nil {
		m.Kernel = strings.TrimSpace(string(b))
	}
	if b, err := os.ReadFile("/proc/meminfo"); err == nil {
		if l, _, ok := strings.Cut(string(b), "\n"); ok {
			if f := strings.Fields(l); len(f) == 3 {
				kb, _ := strconv.ParseInt(f[1], 10, 64)
				m.MemTotal = fmt.Sprintf("%.1f GiB RAM", float64(kb)/(1<<20))
			}
		}
	}
	return m
}

func loadavg() string {
	b, err := os.ReadFile("/proc/loadavg")
	if err != nil {
		return "?"
	}
	f := strings.Fields(string(b))
	if len(f) < 3 {
		return "?"
	}
	return strings.Join(f[:3], " ")
}

func envInt(t *testing.T, name string, def int) int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 {
		t.Fatalf("%s: %q is not a positive integer", name, v)
	}
	return n
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	dur, err := time.ParseDuration(v)
	if err != nil || dur <= 0 {
		t.Fatalf("%s: %q is not a positive duration", name, v)
	}
	return dur
}

func envInts(t *testing.T, name string, def []int) []int {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	var out []int
	for _, f := range strings.Split(v, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || n < 1 || slices.Contains(out, n) {
			t.Fatalf("%s: %q is not a list of distinct positive integers", name, v)
		}
		out = append(out, n)
	}
	return out
}
