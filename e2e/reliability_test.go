package e2e

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"net/http"
	"regexp"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// waitStorage saves a snippet until it works: the server creates its
// containers in the background after it starts.
func waitStorage(t *testing.T, c *http.Client, mcpURL string, headers ...string) {
	t.Helper()
	var r reply
	if !waitFor(20*time.Second, func() bool {
		r = tool(c, mcpURL, "save_snippet", map[string]any{"snippetname": "ready", "snippet": "ready"}, headers...)
		return r.ok()
	}) {
		t.Fatalf("storage not ready after 20s: %s", r)
	}
}

func digest(s string) string {
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:])
}

// payload is a snippet body unique to name, big enough (32 KiB) that a
// torn write would show.
func payload(name string) string {
	unit := name + "|0123456789abcdef|"
	return strings.Repeat(unit, 32<<10/len(unit)+1)[:32<<10]
}

// TestStorageOutageMidLoad stops Azurite while clients save snippets, then
// restarts it on the same data. While it is down, calls fail fast with a
// retryable error and the server stays up; afterwards every acknowledged
// save reads back whole, and no save that failed left a partial snippet.
func TestStorageOutageMidLoad(t *testing.T) {
	t.Parallel()
	const toolTimeout = 5 * time.Second
	dir := t.TempDir()
	az := startAzuriteIn(t, dir)
	srv := startServer(t, "MCP_AUTH_MODE=dev", "SNIPPETS_STORAGE="+az.ConnString(), "MCP_TOOL_TIMEOUT="+toolTimeout.String())
	waitStorage(t, newClient(), srv.MCPURL())

	type attempt struct {
		name  string
		phase string
		r     reply
	}
	var (
		mu       sync.Mutex
		attempts []attempt
		phase    atomic.Value
		stop     = make(chan struct{})
		wg       sync.WaitGroup
	)
	phase.Store("before")
	for w := range 4 {
		wg.Go(func() {
			c := newClient()
			for n := 0; ; n++ {
				select {
				case <-stop:
					return
				default:
				}
				name := fmt.Sprintf("w%d-%d", w, n)
				ph := phase.Load().(string)
				r := tool(c, srv.MCPURL(), "save_snippet", map[string]any{"snippetname": name, "snippet": payload(name)})
				mu.Lock()
				attempts = append(attempts, attempt{name, ph, r})
				mu.Unlock()
				if !r.ok() {
					time.Sleep(50 * time.Millisecond) // do not spin on an outage
				}
			}
		})
	}
	time.Sleep(1500 * time.Millisecond)
	phase.Store("stopping")
	az.stopGracefully(t)
	phase.Store("outage")
	time.Sleep(3 * time.Second)
	if !healthy(srv) {
		t.Errorf("server not healthy during the storage outage")
	}
	phase.Store("restarting")
	az.restart(t)
	phase.Store("after")
	waitFor(20*time.Second, func() bool {
		mu.Lock()
		defer mu.Unlock()
		return slices.ContainsFunc(attempts, func(a attempt) bool { return a.phase == "after" && a.r.ok() })
	})
	time.Sleep(time.Second)
	close(stop)
	wg.Wait()

	count := map[string]int{}
	for _, a := range attempts {
		switch {
		case a.r.Err != nil:
			t.Errorf("%s save %s: no answer from the server: %v", a.phase, a.name, a.r.Err)
		case a.r.Status != http.StatusOK || a.r.RPC.Error != nil:
			t.Errorf("%s save %s: %s", a.phase, a.name, a.r)
		case a.r.ok():
			count[a.phase+" ok"]++
		default:
			count[a.phase+" failed"]++
			// A save cut off by the outage after it was sent cannot know
			// whether storage acted: it says so instead of claiming either.
			if text := a.r.Tool.Text(); !strings.Contains(text, "(retryable)") && !strings.Contains(text, "may or may not have been changed") {
				t.Errorf("%s save %s failed without a retryable or an unconfirmed-outcome error: %q", a.phase, a.name, text)
			}
			if a.r.Took > toolTimeout+3*time.Second {
				t.Errorf("%s save %s took %s to fail; the tool deadline is %s", a.phase, a.name, a.r.Took, toolTimeout)
			}
		}
	}
	var slowest time.Duration
	for _, a := range attempts {
		if a.phase == "outage" && a.r.Took > slowest {
			slowest = a.r.Took
		}
	}
	t.Logf("saves by phase: %v; slowest answer during the outage: %s", count, slowest.Round(time.Millisecond))
	if count["before ok"] == 0 || count["outage failed"] == 0 || count["after ok"] == 0 {
		t.Fatalf("the load did not cover all phases: %v", count)
	}
	if count["outage ok"] > 0 {
		t.Errorf("%d saves succeeded while storage was down", count["outage ok"])
	}

	// Every acknowledged save reads back whole; a failed one is absent or whole.
	var vwg sync.WaitGroup
	var next atomic.Int64
	for range 4 {
		vwg.Go(func() {
			c := newClient()
			for i := int(next.Add(1) - 1); i < len(attempts); i = int(next.Add(1) - 1) {
				a := attempts[i]
				g := tool(c, srv.MCPURL(), "get_snippet", map[string]any{"snippetname": a.name})
				sn, _ := g.snippet()
				switch {
				case g.ok() && sn.Content == payload(a.name) && sn.SHA256 == digest(sn.Content):
				case g.ok():
					t.Errorf("%s (%s, acknowledged=%v) reads back changed: %d bytes, sha256 %s", a.name, a.phase, a.r.ok(), len(sn.Content), sn.SHA256)
				case a.r.ok():
					t.Errorf("acknowledged save %s (%s) is not readable: %s", a.name, a.phase, g)
				case !strings.Contains(g.Tool.Text(), "does not exist"):
					t.Errorf("failed save %s (%s): get answers %s", a.name, a.phase, g)
				}
			}
		})
	}
	vwg.Wait()
	if !healthy(srv) {
		t.Fatal("server not healthy after the outage")
	}
	noPanics(t, srv)
}

// TestSlowStorageRespectsDeadline puts a proxy that holds every storage
// response for 20 s between the server and Azurite. With MCP_TOOL_TIMEOUT=2s,
// storage-bound tools answer with a clear retryable error in about 2 s
// (far inside the host's 240 s proxy timeout), other tools are unaffected,
// and the server recovers as soon as storage is fast again.
func TestSlowStorageRespectsDeadline(t *testing.T) {
	t.Parallel()
	const toolTimeout = 2 * time.Second
	az := startAzurite(t)
	px := newDelayProxy(t, fmt.Sprintf("127.0.0.1:%d", az.Port))
	srv := startServer(t, "MCP_AUTH_MODE=dev", "SNIPPETS_STORAGE="+connStringVia(px.Addr()), "MCP_TOOL_TIMEOUT="+toolTimeout.String())
	c := newClient()
	waitStorage(t, c, srv.MCPURL())

	px.SetDelay(20 * time.Second)
	calls := []struct {
		tool string
		args map[string]any
	}{
		{"save_snippet", map[string]any{"snippetname": "slow", "snippet": "x"}},
		{"get_snippet", map[string]any{"snippetname": "ready"}},
		{"list_snippets", nil},
	}
	for _, call := range calls {
		r := tool(c, srv.MCPURL(), call.tool, call.args)
		switch {
		case r.Err != nil || r.Status != http.StatusOK || r.RPC.Error != nil:
			t.Errorf("%s with slow storage: %s", call.tool, r)
		case !r.Tool.IsError || !strings.Contains(r.Tool.Text(), "did not answer in time (retryable)"):
			t.Errorf("%s with slow storage: want a retryable timeout error, got isError=%v %q", call.tool, r.Tool.IsError, r.Tool.Text())
		case r.Took > toolTimeout+3*time.Second:
			t.Errorf("%s took %s with a %s tool deadline", call.tool, r.Took, toolTimeout)
		}
		t.Logf("%s with storage held for 20s: answered in %s: %q", call.tool, r.Took.Round(time.Millisecond), r.Tool.Text())
	}
	if r := tool(c, srv.MCPURL(), "whoami", nil); !r.ok() {
		t.Errorf("whoami (no storage) failed while storage was slow: %s", r)
	}

	px.SetDelay(0)
	if !waitFor(2*time.Second, func() bool {
		return tool(c, srv.MCPURL(), "get_snippet", map[string]any{"snippetname": "ready"}).ok()
	}) {
		t.Fatal("storage calls did not recover once storage was fast again")
	}

	srv.Signal(syscall.SIGTERM)
	if err := srv.Wait(25 * time.Second); err != nil {
		t.Fatalf("server exit: %v\n%s", err, srv.Stderr())
	}
	unavailable := 0
	for _, e := range events(t, srv) {
		if e.ResultCode == audit.ResultUnavailable {
			unavailable++
		}
	}
	if unavailable != len(calls) {
		t.Errorf("%d audit events with result_code unavailable, want %d", unavailable, len(calls))
	}
	noPanics(t, srv)
}

// TestConcurrentSavesSameSnippet has many clients save one snippet at
// once. Every save either succeeds or reports a conflict (none is lost
// silently); the final content is one of the acknowledged versions, with
// its ETag and a matching digest. With an ETag from one read, exactly one
// of the concurrent writers wins.
func TestConcurrentSavesSameSnippet(t *testing.T) {
	t.Parallel()
	srv, _ := devServer(t)
	waitStorage(t, newClient(), srv.MCPURL())
	const writers, rounds = 16, 4

	saveAll := func(etag string, rounds int) (map[string]string, int) {
		var mu sync.Mutex
		acked := map[string]string{} // content -> etag the save returned
		conflicts := 0
		var wg sync.WaitGroup
		for w := range writers {
			wg.Go(func() {
				c := newClient()
				for n := range rounds {
					content := fmt.Sprintf("writer %d round %d etag %q", w, n, etag)
					args := map[string]any{"snippetname": "contended", "snippet": content}
					if etag != "" {
						args["etag"] = etag
					}
					r := tool(c, srv.MCPURL(), "save_snippet", args)
					mu.Lock()
					switch {
					case r.ok():
						sn, err := r.snippet()
						if err != nil || sn.ETag == "" || sn.SHA256 != digest(content) {
							t.Errorf("save result %s: %v", r.Tool.StructuredContent, err)
						}
						acked[content] = sn.ETag
					case r.Err == nil && r.Tool.IsError && strings.Contains(r.Tool.Text(), "was changed by someone else"):
						conflicts++
					default:
						t.Errorf("save is neither a success nor a reported conflict: %s", r)
					}
					mu.Unlock()
				}
			})
		}
		wg.Wait()
		return acked, conflicts
	}
	final := func() structuredSnippet {
		r := tool(newClient(), srv.MCPURL(), "get_snippet", map[string]any{"snippetname": "contended"})
		sn, err := r.snippet()
		if !r.ok() || err != nil {
			t.Fatalf("get: %s", r)
		}
		if sn.SHA256 != digest(sn.Content) {
			t.Errorf("final digest %s does not match its content", sn.SHA256)
		}
		return sn
	}

	acked, conflicts := saveAll("", rounds)
	t.Logf("without etag: %d saves acknowledged, %d conflicts reported", len(acked), conflicts)
	if len(acked)+conflicts != writers*rounds || len(acked) == 0 {
		t.Fatalf("%d acknowledged + %d conflicts for %d saves", len(acked), conflicts, writers*rounds)
	}
	etags := map[string]bool{}
	for _, e := range acked {
		if etags[e] {
			t.Errorf("two acknowledged saves returned the same etag %s: one overwrote the other unseen", e)
		}
		etags[e] = true
	}
	sn := final()
	if want, ok := acked[sn.Content]; !ok || want != sn.ETag {
		t.Fatalf("final content (etag %s) is not the acknowledged version with that etag (%q)", sn.ETag, want)
	}

	acked, conflicts = saveAll(sn.ETag, 1)
	if len(acked) != 1 || conflicts != writers-1 {
		t.Fatalf("with one etag, %d writers won and %d conflicts were reported; want 1 and %d", len(acked), conflicts, writers-1)
	}
	if got := final(); acked[got.Content] != got.ETag {
		t.Fatalf("final content is not the winner's: %q", got.Content)
	}
	noPanics(t, srv)
}

// TestShutdownUnderLoad sends SIGTERM while clients have calls in flight
// (storage answers slowly, so every call takes over a second). New
// connections are refused at once, the calls in flight complete, every
// answered call has its audit event on stdout, and the process exits 0
// within its shutdown deadline.
func TestShutdownUnderLoad(t *testing.T) {
	t.Parallel()
	az := startAzurite(t)
	px := newDelayProxy(t, fmt.Sprintf("127.0.0.1:%d", az.Port))
	srv := startServer(t, "MCP_AUTH_MODE=dev", "SNIPPETS_STORAGE="+connStringVia(px.Addr()), "MCP_TOOL_TIMEOUT=15s")
	waitStorage(t, newClient(), srv.MCPURL())
	px.SetDelay(500 * time.Millisecond) // a save makes two storage round trips: about 1 s

	type done struct {
		r    reply
		args map[string]any
	}
	var (
		mu       sync.Mutex
		finished []done
		inflight atomic.Int64
		sigterm  atomic.Int64 // unix nanos of SIGTERM, 0 before
		wg       sync.WaitGroup
	)
	for w := range 8 {
		wg.Go(func() {
			c := newClient()
			for n := 0; n < 1000; n++ {
				if s := sigterm.Load(); s != 0 && time.Since(time.Unix(0, s)) > 30*time.Second {
					return
				}
				name := fmt.Sprintf("sd%d-%d", w, n)
				args := map[string]any{"snippetname": name, "snippet": "content of " + name}
				inflight.Add(1)
				r := tool(c, srv.MCPURL(), "save_snippet", args)
				inflight.Add(-1)
				mu.Lock()
				finished = append(finished, done{r, args})
				mu.Unlock()
				if r.Err != nil {
					return // the server is gone: this client stops
				}
			}
		})
	}
	time.Sleep(2500 * time.Millisecond)
	atTerm := inflight.Load()
	start := time.Now()
	sigterm.Store(start.UnixNano())
	srv.Signal(syscall.SIGTERM)

	// New connections are refused while earlier calls are still running.
	refusedWithInflight := int64(-1)
	for time.Since(start) < 3*time.Second {
		if connRefused(srv) {
			refusedWithInflight = inflight.Load()
			break
		}
		time.Sleep(10 * time.Millisecond)
	}
	err := srv.Wait(25 * time.Second)
	exitAfter := time.Since(start)
	wg.Wait()
	if err != nil {
		t.Fatalf("exit after SIGTERM: %v (after %s)\n%s", err, exitAfter, srv.Stderr())
	}
	t.Logf("SIGTERM with %d calls in flight; new connections refused with %d still in flight; exit 0 after %s",
		atTerm, refusedWithInflight, exitAfter.Round(time.Millisecond))
	if atTerm == 0 {
		t.Fatal("no call was in flight at SIGTERM: the test proved nothing")
	}
	if refusedWithInflight < 0 {
		t.Errorf("new connections were still accepted 3s after SIGTERM")
	} else if refusedWithInflight == 0 {
		t.Logf("the in-flight calls finished before the first refused connection was observed")
	}
	if exitAfter > 20*time.Second+5*time.Second {
		t.Errorf("exit took %s; the shutdown deadline is 20s", exitAfter)
	}

	// Calls in flight at SIGTERM completed; later ones failed cleanly.
	evs := map[string]int{}
	for _, e := range events(t, srv) {
		evs[e.ArgumentsSHA256]++
	}
	var straddled, answered, refused int
	for _, d := range finished {
		r := d.r
		began, ended := r.Start.UnixNano(), r.Start.Add(r.Took).UnixNano()
		if began < start.UnixNano() && ended > start.UnixNano() && r.Err == nil {
			straddled++
		}
		switch {
		case r.Err == nil && r.ok():
			answered++
			sent, _ := json.Marshal(d.args) // the arguments' bytes as tool() sent them
			if _, sum := audit.ReceivedArgumentsDigest(sent); evs[sum] != 1 {
				t.Errorf("answered call %s has %d audit events, want 1", d.args["snippetname"], evs[sum])
			}
		case r.Err == nil:
			t.Errorf("call %s: %s", d.args["snippetname"], r)
		case began < start.UnixNano():
			t.Errorf("call %s in flight at SIGTERM failed: %v", d.args["snippetname"], r.Err)
		default:
			refused++
		}
	}
	t.Logf("%d calls answered (%d of them spanning SIGTERM), %d refused after SIGTERM, %d audit events", answered, straddled, refused, len(evs))
	if straddled == 0 {
		t.Errorf("no call spanned SIGTERM and completed")
	}
	noPanics(t, srv)
}

// TestScaleOutRoundRobin runs one client session through a round-robin
// proxy in front of three instances (no affinity, as Flex Consumption
// scales out) and the same session against one instance: the results are
// the same, step by step, apart from versions and times.
func TestScaleOutRoundRobin(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	az := startAzurite(t)
	env := []string{"MCP_AUTH_MODE=jwt", "MCP_AUTH_ISSUER=" + iss.URL(), "MCP_AUTH_AUDIENCE=" + authtest.Audience,
		"MCP_AUTH_TENANTS=" + authtest.TenantID, "SNIPPETS_STORAGE=" + az.ConnString()}
	a, b, c := startServer(t, env...), startServer(t, env...), startServer(t, env...)
	rr := newRoundRobin(t, a.URL, b.URL, c.URL)
	auth := bearer(iss.Mint(t, authtest.Claims{}))
	waitStorage(t, newClient(), a.MCPURL(), auth...)

	session := func(base, prefix string) []string {
		cl := newClient()
		u := base + "/mcp"
		name := prefix + "-notes"
		var out []string
		step := func(r reply) reply {
			if r.Err != nil || r.Status != http.StatusOK {
				t.Fatalf("%s: %s", prefix, r)
			}
			out = append(out, normalize(string(r.Body), prefix))
			return r
		}
		step(send(cl, u, "initialize", map[string]any{"protocolVersion": "2025-06-18", "capabilities": map[string]any{},
			"clientInfo": map[string]any{"name": "e2e", "version": "1"}}, auth...))
		step(send(cl, u, "tools/list", nil, auth...))
		saved := step(tool(cl, u, "save_snippet", map[string]any{"snippetname": name, "snippet": "first"}, auth...))
		first, _ := saved.snippet()
		step(tool(cl, u, "get_snippet", map[string]any{"snippetname": name}, auth...))
		step(tool(cl, u, "save_snippet", map[string]any{"snippetname": name, "snippet": "second", "etag": first.ETag}, auth...))
		step(tool(cl, u, "save_snippet", map[string]any{"snippetname": name, "snippet": "stale", "etag": first.ETag}, auth...))
		step(tool(cl, u, "get_snippet", map[string]any{"snippetname": name}, auth...))
		step(tool(cl, u, "list_snippets", map[string]any{"prefix": prefix}, auth...))
		step(tool(cl, u, "get_snippet", map[string]any{"snippetname": prefix + "-missing"}, auth...))
		step(tool(cl, u, "whoami", nil, auth...))
		step(send(cl, u, "resources/read", map[string]any{"uri": "snippet://" + name}, auth...))
		step(send(cl, u, "prompts/list", nil, auth...))
		return out
	}
	via := session(rr.srv.URL, "rr")
	one := session(a.URL, "one")
	if len(via) != len(one) {
		t.Fatalf("%d steps through the proxy, %d against one instance", len(via), len(one))
	}
	for i := range via {
		if via[i] != one[i] {
			t.Errorf("step %d differs:\n through 3 instances: %s\n against one:         %s", i+1, via[i], one[i])
		}
	}
	for i := range rr.backends {
		if n := rr.hits[i].Load(); n < int64(len(via))/3 {
			t.Errorf("instance %d served %d of the %d proxied requests", i, n, len(via))
		}
	}
	for _, s := range []*Server{a, b, c} {
		noPanics(t, s)
	}
}

var (
	etagRe = regexp.MustCompile(`0x[0-9A-F]+`)
	timeRe = regexp.MustCompile(`\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?Z`)
	idRe   = regexp.MustCompile(`"id":\d+`)
)

// normalize removes what legitimately differs between two runs of the same
// session: JSON-RPC ids, ETags, timestamps and the snippet name prefix.
func normalize(body, prefix string) string {
	s := idRe.ReplaceAllString(body, `"id":N`)
	s = etagRe.ReplaceAllString(s, "ETAG")
	s = timeRe.ReplaceAllString(s, "TIME")
	s = strings.ReplaceAll(s, prefix+"-", "PREFIX-")
	s = strings.ReplaceAll(s, `\"`+prefix+`\"`, `\"PREFIX\"`)
	var v any
	if json.Unmarshal([]byte(s), &v) == nil {
		b, _ := json.Marshal(v) // stable key order
		return string(b)
	}
	return s
}
