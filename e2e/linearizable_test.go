package e2e

import (
	"context"
	"encoding/binary"
	"fmt"
	"math/rand"
	"net/http"
	"os"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/storage/blobtest"
)

const (
	linToolTimeout = 3 * time.Second
	// A save whose write storage did not confirm reads the blob for up to
	// 5 s after the tool deadline (snippets.settleTimeout), so a call may
	// take that much longer; the rest is scheduling slack on a busy machine.
	linHangBound = linToolTimeout + 5*time.Second + 4*time.Second
	linClients   = 6
	linKills     = 2
	// Bounds the checker's search per key: far above what a linearizable
	// history of a few hundred operations needs, so hitting it is a finding.
	linSearchBudget = 20_000_000
)

var linKeys = []string{"lin-a", "lin-b", "lin-c"}

type opKind int

const (
	opGet opKind = iota
	opBlindSave
	opCondSave
)

func (k opKind) String() string {
	return [...]string{"get", "blind-save", "etag-save"}[k]
}

type answer int

const (
	ansOK          answer = iota
	ansConflict           // definite: this call's content was not stored
	ansNotFound           // definite: no such snippet
	ansUnavailable        // definite for a save: nothing was changed; for a get: no read
	ansAmbiguous          // the server says the save may or may not have happened
	ansNoAnswer           // timeout, transport error, non-200: may have happened
)

func (a answer) String() string {
	return [...]string{"ok", "conflict", "not-found", "unavailable", "ambiguous", "no-answer"}[a]
}

// linOp is one recorded call. Times are offsets from the test's start
// (time.Since, so monotonic).
type linOp struct {
	client  int
	key     string
	kind    opKind
	content string // saves: the content sent; gets: the content read
	from    string // etag saves: the content of the version the etag named
	etag    string // etag saves: the etag sent; ok answers: the etag returned
	answer  answer
	inv     time.Duration
	ret     time.Duration
	gen     int // server process the call went to
	status  int
	text    string // tool text or transport error, for messages
}

func (o linOp) String() string {
	what := o.kind.String()
	switch o.kind {
	case opBlindSave:
		what += fmt.Sprintf(" %q", o.content)
	case opCondSave:
		what += fmt.Sprintf(" %q (etag of %q)", o.content, o.from)
	}
	res := o.answer.String()
	if o.kind == opGet && o.answer == ansOK {
		res += fmt.Sprintf(" %q", o.content)
	}
	return fmt.Sprintf("client %d %s %s [%s–%s] answered %s", o.client, o.key, what,
		o.inv.Round(time.Millisecond), o.ret.Round(time.Millisecond), res)
}

// mayHaveHappened reports a save whose outcome the answer leaves open.
func (o linOp) mayHaveHappened() bool {
	return o.kind != opGet && (o.answer == ansAmbiguous || o.answer == ansNoAnswer)
}

// classify turns a reply into an answer. The texts are tools/results.go's;
// the old server's "either fully happened or not at all" is not a definite
// answer, so it counts as ambiguous.
func classify(kind opKind, r reply) (answer, string) {
	switch {
	case r.Err != nil:
		return ansNoAnswer, r.Err.Error()
	case r.Status != http.StatusOK:
		return ansNoAnswer, fmt.Sprintf("HTTP %d: %s", r.Status, r.Body)
	case r.RPC.Error != nil:
		return ansNoAnswer, fmt.Sprintf("JSON-RPC error %d: %s", r.RPC.Error.Code, r.RPC.Error.Message)
	case r.RPC.Result == nil:
		return ansNoAnswer, "no result: " + string(r.Body)
	}
	text := r.Tool.Text()
	switch {
	case !r.Tool.IsError:
		return ansOK, text
	case strings.Contains(text, "changed by someone else"):
		return ansConflict, text
	case strings.Contains(text, "does not exist"):
		return ansNotFound, text
	case strings.Contains(text, "may or may not have been changed"):
		return ansAmbiguous, text
	case strings.Contains(text, "(retryable)") && (kind == opGet || strings.Contains(text, "Nothing was changed.")):
		return ansUnavailable, text
	case strings.Contains(text, "(retryable)"):
		return ansAmbiguous, text
	}
	return ansNoAnswer, "unexpected tool error: " + text
}

// faultKind is one kind of phase of the fault schedule.
type faultKind int

const (
	fNone faultKind = iota
	fDropAfter
	fDropFirst
	fDelay
	f503
	f500
	nFaultKinds
)

func (f faultKind) String() string {
	return [...]string{"none", "drop-after", "drop-first", "delay", "503", "500"}[f]
}

// faults makes the proxy's rules and counts what they did. Only requests
// on snippet blobs are faulted: the server's container setup at each
// restart is not what this test is about.
type faults struct {
	mu      sync.Mutex
	rng     *rand.Rand
	phases  [nFaultKinds]int
	seen    [nFaultKinds]int // snippet blob requests while the kind was on
	applied [nFaultKinds]int
}

var blobOps = []func(*http.Request) bool{
	blobtest.Match(http.MethodGet, "/snippets/"),
	blobtest.Match(http.MethodHead, "/snippets/"),
	blobtest.Match(http.MethodPut, "/snippets/"),
}

func isBlobOp(r *http.Request) bool {
	for _, m := range blobOps {
		if m(r) {
			return true
		}
	}
	return false
}

func (f *faults) rule(kind faultKind) blobtest.Rule {
	f.mu.Lock()
	f.phases[kind]++
	f.mu.Unlock()
	return func(r *http.Request) blobtest.Fault {
		if !isBlobOp(r) {
			return blobtest.Fault{}
		}
		f.mu.Lock()
		defer f.mu.Unlock()
		f.seen[kind]++
		p := f.rng.Float64()
		var fault blobtest.Fault
		switch {
		case kind == fDropAfter && r.Method == http.MethodPut && p < 0.5:
			fault = blobtest.Fault{Action: blobtest.DropAfter}
		case kind == fDropFirst && p < 0.3:
			fault = blobtest.Fault{Action: blobtest.DropFirst}
		case kind == fDelay && p < 0.3:
			// Mostly past the tool deadline (the call times out and storage
			// never acts), sometimes inside it; some delayed writes act and
			// then lose their reply.
			fault = blobtest.Fault{Delay: time.Second + time.Duration(f.rng.Int63n(int64(4*time.Second)))}
			if r.Method == http.MethodPut && f.rng.Intn(3) == 0 {
				fault.Action = blobtest.DropAfter
			}
		case kind == f503 && p < 0.5:
			fault = blobtest.Fault{Status: http.StatusServiceUnavailable, Code: "ServerBusy"}
		case kind == f500 && p < 0.4:
			fault = blobtest.Fault{Status: http.StatusInternalServerError, Code: "OperationTimedOut"}
		default:
			return blobtest.Fault{}
		}
		f.applied[kind]++
		return fault
	}
}

// fleet is the current server process; a kill replaces it.
type fleet struct {
	mu      sync.Mutex
	servers []*Server
	killAt  map[int]time.Duration // generation -> when SIGKILL was sent
}

func (f *fleet) current() (int, string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	return len(f.servers) - 1, f.servers[len(f.servers)-1].MCPURL()
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s=%q: %v", name, v, err)
	}
	return d
}

// TestSavesAreLinearizable: under lost replies, refused and dropped
// requests, delays past the tool deadline and SIGKILLed server processes,
// the answers of concurrent saves and gets on three snippets fit one
// order of the operations: every definite answer is exactly what
// happened, and ambiguous ones are all that is left open.
func TestSavesAreLinearizable(t *testing.T) {
	seed := time.Now().UnixNano()
	if v := os.Getenv("LINEARIZE_SEED"); v != "" {
		var err error
		if seed, err = strconv.ParseInt(v, 10, 64); err != nil {
			t.Fatalf("LINEARIZE_SEED=%q: %v", v, err)
		}
	}
	duration := envDuration(t, "LINEARIZE_DURATION", 20*time.Second)
	t.Logf("seed %d (LINEARIZE_SEED=%d repeats the fault schedule; timing still varies), load for %s", seed, seed, duration)
	sched := rand.New(rand.NewSource(seed))

	az := startAzurite(t)
	proxy := blobtest.NewProxy(t, fmt.Sprintf("http://127.0.0.1:%d", az.Port))
	env := []string{"MCP_AUTH_MODE=dev", "SNIPPETS_STORAGE=" + proxy.ConnString(), "MCP_TOOL_TIMEOUT=" + linToolTimeout.String()}
	fl := &fleet{servers: []*Server{startServer(t, env...)}, killAt: map[int]time.Duration{}}
	fs := &faults{rng: rand.New(rand.NewSource(sched.Int63()))}
	phases := rand.New(rand.NewSource(sched.Int63())) // the switching goroutine's own
	kills := max(linKills, int(duration/(10*time.Second)))
	killAt := make([]time.Duration, kills)
	for k := range killAt {
		// Spread over the run, jittered, so each lands under load and faults.
		killAt[k] = duration*time.Duration(k+1)/time.Duration(kills+1) +
			time.Duration(sched.Int63n(int64(duration/10))) - duration/20
	}

	start := time.Now()
	ctx, stop := context.WithTimeout(context.Background(), duration)
	var wg sync.WaitGroup
	histories := make([][]linOp, linClients)
	for c := range linClients {
		crng := rand.New(rand.NewSource(sched.Int63()))
		wg.Go(func() { histories[c] = runClient(ctx, c, crng, fl, start) })
	}
	// Switches the proxy's rule: every kind once per round, in a random order.
	wg.Go(func() {
		for {
			for _, k := range phases.Perm(int(nFaultKinds)) {
				proxy.SetRule(fs.rule(faultKind(k)))
				select {
				case <-ctx.Done():
					proxy.SetRule(nil)
					return
				case <-time.After(400*time.Millisecond + time.Duration(phases.Int63n(int64(1200*time.Millisecond)))):
				}
			}
		}
	})
	defer func() { stop(); wg.Wait() }() // also when a restart fails the test

	for _, at := range killAt {
		time.Sleep(time.Until(start.Add(at)))
		fl.mu.Lock()
		gen, old := len(fl.servers)-1, fl.servers[len(fl.servers)-1]
		fl.killAt[gen] = time.Since(start)
		fl.mu.Unlock()
		old.Signal(syscall.SIGKILL)
		if err := old.Wait(10 * time.Second); err == nil || !strings.Contains(err.Error(), "killed") {
			t.Errorf("server %d after SIGKILL: %v", gen, err)
		}
		next := startServer(t, env...)
		fl.mu.Lock()
		fl.servers = append(fl.servers, next)
		fl.mu.Unlock()
	}
	<-ctx.Done()
	stop()
	wg.Wait()
	proxy.SetRule(nil)

	var all []linOp
	for _, h := range histories {
		all = append(all, h...)
	}
	// A last read of each snippet, with no faults, after every call ended:
	// what storage holds must fit the history too.
	hc := newClient()
	gen, url := fl.current()
	for _, key := range linKeys {
		all = append(all, doOp(hc, url, gen, -1, key, opGet, "", linOp{}, start))
	}
	sort.Slice(all, func(i, j int) bool { return all[i].inv < all[j].inv })

	problems, perKey := checkHistory(all, fl.killAt)
	for _, s := range fl.servers {
		noPanics(t, s)
	}
	for i, p := range problems {
		if i == 30 {
			t.Errorf("... and %d more problems", len(problems)-i)
			break
		}
		t.Error(p)
	}
	t.Log(linSummary(seed, duration, fs, proxy, all, len(fl.servers)-1, perKey, problems))
}

// runClient performs random operations until ctx ends and returns them.
func runClient(ctx context.Context, id int, rng *rand.Rand, fl *fleet, start time.Time) []linOp {
	hc := newClient()
	hc.Timeout = 2 * linHangBound // past the bound it is a hang, reported by the checker
	type read struct{ content, etag string }
	last := map[string]read{} // this client's last successful get per key
	var out []linOp
	follow := "" // a key just read: an etag save of it right away mostly wins
	for n := 1; ctx.Err() == nil; n++ {
		key, kind := linKeys[rng.Intn(len(linKeys))], opKind(rng.Intn(3))
		if follow != "" && rng.Intn(2) == 0 {
			key, kind = follow, opCondSave
		}
		follow = ""
		if kind == opCondSave && last[key].etag == "" {
			kind = opBlindSave
		}
		// Unique per write, so every stored version names its save.
		content := fmt.Sprintf("client %d write %d", id, n)
		gen, url := fl.current()
		o := doOp(hc, url, gen, id, key, kind, content, linOp{from: last[key].content, etag: last[key].etag}, start)
		if o.kind == opGet && o.answer == ansOK {
			last[key] = read{o.content, o.etag}
			follow = key
		}
		out = append(out, o)
		if o.answer == ansNoAnswer {
			time.Sleep(100 * time.Millisecond) // the server is being replaced: do not spin
		} else {
			time.Sleep(time.Duration(rng.Intn(15)) * time.Millisecond)
		}
	}
	return out
}

// doOp performs one call and records it. cond carries the etag (and the
// content it named) for an etag save.
func doOp(hc *http.Client, url string, gen, client int, key string, kind opKind, content string, cond linOp, start time.Time) linOp {
	o := linOp{client: client, key: key, kind: kind, gen: gen}
	args := map[string]any{"snippetname": key}
	if kind != opGet {
		o.content = content
		args["snippet"] = content
	}
	if kind == opCondSave {
		o.from, o.etag = cond.from, cond.etag
		args["etag"] = cond.etag
	}
	name := "save_snippet"
	if kind == opGet {
		name = "get_snippet"
	}
	o.inv = time.Since(start)
	r := tool(hc, url, name, args)
	o.ret = time.Since(start)
	o.status = r.Status
	o.answer, o.text = classify(kind, r)
	if o.answer == ansOK {
		sn, err := r.snippet()
		if err != nil {
			o.answer, o.text = ansNoAnswer, fmt.Sprintf("unreadable result %s: %v", r.Tool.StructuredContent, err)
			return o
		}
		o.etag = sn.ETag
		if kind == opGet {
			o.content = sn.Content
		}
	}
	return o
}

// keyResult is the checker's verdict on one snippet's history.
type keyResult struct {
	ops, checked, pruned int
	openSeen             int // saves with an open answer whose content was read or named by an etag
	err                  error
}

// checkHistory checks the simple invariants, then each key's history
// against a register. killAt says when each server generation was killed,
// for telling expected transport errors from a server that dropped calls.
func checkHistory(all []linOp, killAt map[int]time.Duration) ([]string, map[string]keyResult) {
	var problems []string
	saves := map[string]linOp{} // content -> its save
	for _, o := range all {
		if o.kind != opGet {
			saves[o.content] = o
		}
	}
	for _, o := range all {
		if o.status >= 500 {
			problems = append(problems, fmt.Sprintf("HTTP %d from the server: %s: %s", o.status, o, o.text))
		}
		if d := o.ret - o.inv; d > linHangBound {
			problems = append(problems, fmt.Sprintf("call took %s (bound %s): %s: %s", d.Round(time.Millisecond), linHangBound, o, o.text))
		}
		if o.answer == ansNoAnswer {
			at, killed := killAt[o.gen]
			if !killed || at > o.ret {
				problems = append(problems, fmt.Sprintf("no answer from a server that was not killed: %s: %s", o, o.text))
			}
		}
		if o.kind == opBlindSave && o.answer == ansNotFound {
			problems = append(problems, fmt.Sprintf("a save without etag answered not found: %s", o))
		}
		if o.kind != opGet || o.answer != ansOK {
			continue
		}
		s, ok := saves[o.content]
		switch {
		case !ok:
			problems = append(problems, fmt.Sprintf("get read content no save wrote: %s", o))
		case s.answer == ansConflict || s.answer == ansUnavailable || s.answer == ansNotFound:
			// The symptom: a save that happened, reported as not.
			problems = append(problems, fmt.Sprintf("get read the content of a save answered %s (%q): %s; the save: %s",
				s.answer, s.text, o, s))
		case s.answer == ansOK && s.etag != "" && o.etag != "" && o.etag != s.etag:
			problems = append(problems, fmt.Sprintf("get read %q with etag %s, but its save answered etag %s: %s",
				o.content, o.etag, s.etag, s))
		}
	}
	byKey := map[string][]linOp{}
	for _, o := range all {
		byKey[o.key] = append(byKey[o.key], o)
	}
	results := map[string]keyResult{}
	keys := make([]string, 0, len(byKey))
	for k := range byKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		r := checkRegister(byKey[k])
		results[k] = r
		if r.err != nil {
			problems = append(problems, fmt.Sprintf("snippet %s: %v", k, r.err))
		}
	}
	return problems, results
}

// Register operations, as the search sees them.
type regKind int

const (
	regRead  regKind = iota // the value must be v
	regWrite                // the value becomes v
	regCAS                  // when the value is from, it becomes v; otherwise the op cannot go here
)

type regOp struct {
	kind     regKind
	v, from  int // value ids; 0 is "no snippet"
	optional bool
	inv, ret time.Duration // ret is meaningless when optional: it may take effect any time after inv
	src      linOp
}

// checkRegister looks for an order of one key's operations that a single
// register allows and that respects real time (Wing & Gong's search with
// Lowe's memoization, as in Knossos and Porcupine). Saves answered
// conflict or unavailable are left out: they did not happen. Saves whose
// outcome is open may take effect at any time after their invocation, or
// never. Failed gets are left out.
func checkRegister(hist []linOp) keyResult {
	ids := map[string]int{"": 0}
	id := func(content string) int {
		if i, ok := ids[content]; ok {
			return i
		}
		ids[content] = len(ids)
		return ids[content]
	}
	// A possibly-happened save whose content nothing observed can always be
	// left out (whatever follows it until the next write observes nothing),
	// so the search need not try it: that keeps it small.
	observed := map[string]bool{}
	for _, o := range hist {
		switch {
		case o.kind == opGet && o.answer == ansOK:
			observed[o.content] = true
		case o.kind == opCondSave && (o.answer == ansOK || o.mayHaveHappened()):
			observed[o.from] = true
		}
	}
	res := keyResult{ops: len(hist)}
	var ops []regOp
	for _, o := range hist {
		op := regOp{inv: o.inv, ret: o.ret, src: o}
		switch {
		case o.kind == opGet && o.answer == ansOK:
			op.kind, op.v = regRead, id(o.content)
		case o.kind == opGet && o.answer == ansNotFound, o.kind == opCondSave && o.answer == ansNotFound:
			op.kind, op.v = regRead, 0
		case o.kind == opGet:
			continue // no read happened
		case o.answer == ansConflict, o.answer == ansUnavailable, o.answer == ansNotFound:
			continue // definitely not stored
		case o.mayHaveHappened() && !observed[o.content]:
			res.pruned++
			continue
		default:
			op.kind, op.v, op.optional = regWrite, id(o.content), o.answer != ansOK
			if o.kind == opCondSave {
				op.kind, op.from = regCAS, id(o.from)
			}
			if op.optional {
				res.openSeen++
			}
		}
		ops = append(ops, op)
	}
	res.checked = len(ops)
	res.err = linearize(ops, hist)
	return res
}

type event struct {
	op         int
	call       bool
	at         time.Duration
	prev, next *event
	match      *event // a call's return event; nil when the op is optional
}

func linearize(ops []regOp, hist []linOp) error {
	var evs []*event
	for i, o := range ops {
		c := &event{op: i, call: true, at: o.inv}
		evs = append(evs, c)
		if !o.optional {
			c.match = &event{op: i, at: o.ret}
			evs = append(evs, c.match)
		}
	}
	// By time; at equal times calls first, so touching ops count as concurrent.
	sort.SliceStable(evs, func(i, j int) bool {
		if evs[i].at != evs[j].at {
			return evs[i].at < evs[j].at
		}
		return evs[i].call && !evs[j].call
	})
	head := &event{}
	prev := head
	for _, e := range evs {
		prev.next, e.prev = e, prev
		prev = e
	}
	unlink := func(e *event) {
		e.prev.next = e.next
		if e.next != nil {
			e.next.prev = e.prev
		}
	}
	relink := func(e *event) {
		e.prev.next = e
		if e.next != nil {
			e.next.prev = e
		}
	}
	definite := 0
	for _, o := range ops {
		if !o.optional {
			definite++
		}
	}
	done := make([]uint64, (len(ops)+63)/64)
	seen := map[string]struct{}{}
	stateKey := func(v int) string {
		b := make([]byte, 0, len(done)*8+8)
		for _, w := range done {
			b = binary.LittleEndian.AppendUint64(b, w)
		}
		return string(binary.LittleEndian.AppendUint64(b, uint64(v)))
	}
	type frame struct {
		e     *event
		value int
	}
	var stack []frame
	value, left := 0, definite
	best, blocker, blockedValue := -1, -1, 0
	e := head.next
	for steps := 0; ; steps++ {
		if left == 0 {
			return nil
		}
		if steps == linSearchBudget {
			return fmt.Errorf("search gave up after %d steps over %d operations", steps, len(ops))
		}
		if e != nil && e.call {
			o := ops[e.op]
			next, ok := value, true
			switch o.kind {
			case regRead:
				ok = value == o.v
			case regWrite:
				next = o.v
			case regCAS:
				ok, next = value == o.from, o.v
			}
			if ok {
				done[e.op/64] |= 1 << (e.op % 64)
				if k := stateKey(next); !has(seen, k) {
					seen[k] = struct{}{}
					stack = append(stack, frame{e, value})
					value = next
					unlink(e)
					if e.match != nil {
						unlink(e.match)
						left--
					}
					e = head.next
					continue
				}
				done[e.op/64] &^= 1 << (e.op % 64)
			}
			e = e.next
			continue
		}
		// A return (or the end) reached with its op not placed: undo the last choice.
		if e != nil && definite-left > best {
			best, blocker, blockedValue = definite-left, e.op, value
		}
		if len(stack) == 0 {
			return describeFailure(ops, hist, best, definite, blocker, blockedValue)
		}
		f := stack[len(stack)-1]
		stack = stack[:len(stack)-1]
		if f.e.match != nil {
			relink(f.e.match)
			left++
		}
		relink(f.e)
		done[f.e.op/64] &^= 1 << (f.e.op % 64)
		value = f.value
		e = f.e.next
	}
}

func has(m map[string]struct{}, k string) bool { _, ok := m[k]; return ok }

// describeFailure names the operation the longest partial order could not
// place, the value it met, the save of what it read, and the operations
// just before and during it.
func describeFailure(ops []regOp, hist []linOp, best, definite, blocker, value int) error {
	if blocker < 0 {
		return fmt.Errorf("not linearizable")
	}
	b := ops[blocker]
	valueName := "no snippet"
	for _, o := range ops {
		switch {
		case value != 0 && o.v == value:
			valueName = fmt.Sprintf("%q", o.src.content)
		case value != 0 && o.kind == regCAS && o.from == value:
			valueName = fmt.Sprintf("%q", o.src.from)
		}
	}
	var writer string
	if b.kind == regRead && b.src.content != "" {
		for _, o := range hist {
			if o.kind != opGet && o.content == b.src.content {
				writer = "\nthe save that wrote what it read: " + o.String()
			}
		}
	}
	var around []string
	for _, o := range ops {
		end := o.ret
		if o.optional {
			end = 1 << 62
		}
		if o.inv <= b.ret && end >= b.inv-time.Second && o.src != b.src {
			around = append(around, "  "+o.src.String())
		}
	}
	if n := len(around); n > 12 {
		around = append([]string{fmt.Sprintf("  ... %d earlier", n-12)}, around[n-12:]...)
	}
	return fmt.Errorf("not linearizable: the longest order placing %d of %d definite operations cannot place\n  %s\nwhen the snippet holds %s%s\noperations during it and in the second before:\n%s",
		best, definite, b.src, valueName, writer, strings.Join(around, "\n"))
}

func linSummary(seed int64, d time.Duration, fs *faults, proxy *blobtest.Server, all []linOp, kills int, perKey map[string]keyResult, problems []string) string {
	var b strings.Builder
	result := "linearizable, all invariants hold"
	if len(problems) > 0 {
		result = fmt.Sprintf("FAILED with %d problems", len(problems))
	}
	fmt.Fprintf(&b, "linearizability summary: seed %d, %s of load, %d clients, %d keys, %d SIGKILL restarts; result: %s\n",
		seed, d, linClients, len(linKeys), kills, result)
	fs.mu.Lock()
	b.WriteString("  faults (phases / snippet blob requests seen / faulted):")
	for k := range nFaultKinds {
		fmt.Fprintf(&b, " %s %d/%d/%d;", k, fs.phases[k], fs.seen[k], fs.applied[k])
	}
	fs.mu.Unlock()
	fmt.Fprintf(&b, " proxy saw %d requests in all\n", len(proxy.Requests()))
	counts := map[opKind]map[answer]int{}
	for _, o := range all {
		if counts[o.kind] == nil {
			counts[o.kind] = map[answer]int{}
		}
		counts[o.kind][o.answer]++
	}
	for k := opGet; k <= opCondSave; k++ {
		total := 0
		var parts []string
		for a := ansOK; a <= ansNoAnswer; a++ {
			if n := counts[k][a]; n > 0 {
				total += n
				parts = append(parts, fmt.Sprintf("%s %d", a, n))
			}
		}
		fmt.Fprintf(&b, "  %s: %d (%s)\n", k, total, strings.Join(parts, ", "))
	}
	keys := make([]string, 0, len(perKey))
	for k := range perKey {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	b.WriteString("  per key (ops / checked / open saves left out as unobserved / open saves observed):")
	for _, k := range keys {
		r := perKey[k]
		verdict := "linearizable"
		if r.err != nil {
			verdict = "NOT linearizable"
		}
		fmt.Fprintf(&b, " %s %d/%d/%d/%d %s;", k, r.ops, r.checked, r.pruned, r.openSeen, verdict)
	}
	return b.String()
}

// TestLinearizabilityChecker: the checker accepts what a register allows
// and rejects stale reads and reads of writes answered as not stored.
func TestLinearizabilityChecker(t *testing.T) {
	ms := func(n int) time.Duration { return time.Duration(n) * time.Millisecond }
	save := func(c string, a answer, inv, ret int) linOp {
		return linOp{key: "k", kind: opBlindSave, content: c, answer: a, inv: ms(inv), ret: ms(ret)}
	}
	cas := func(from, c string, a answer, inv, ret int) linOp {
		return linOp{key: "k", kind: opCondSave, content: c, from: from, answer: a, inv: ms(inv), ret: ms(ret)}
	}
	get := func(c string, inv, ret int) linOp {
		a := ansOK
		if c == "" {
			a = ansNotFound
		}
		return linOp{key: "k", kind: opGet, content: c, answer: a, inv: ms(inv), ret: ms(ret)}
	}
	cases := []struct {
		name    string
		hist    []linOp
		wantErr string // "" means the history must pass
	}{
		{"linearizable", []linOp{
			get("", 0, 5), save("A", ansOK, 10, 20), get("A", 15, 25), get("", 12, 14),
			save("B", ansOK, 30, 40), get("B", 35, 38), get("A", 34, 36),
			cas("B", "C", ansOK, 45, 50), cas("B", "D", ansConflict, 46, 52), get("C", 55, 60),
		}, ""},
		{"stale read", []linOp{
			save("A", ansOK, 0, 10), save("B", ansOK, 20, 30), get("A", 35, 40),
		}, "not linearizable"},
		{"read of a conflicted write", []linOp{
			save("A", ansOK, 0, 10), save("B", ansConflict, 20, 30), get("B", 35, 40),
		}, "answered conflict"},
		{"read of a write answered unavailable", []linOp{
			save("A", ansOK, 0, 10), save("B", ansUnavailable, 20, 30), get("B", 35, 40),
		}, "answered unavailable"},
		{"ambiguous write omitted", []linOp{
			save("A", ansOK, 0, 10), save("B", ansAmbiguous, 20, 30), get("A", 35, 40), get("A", 50, 60),
		}, ""},
		{"ambiguous write taking effect after its answer", []linOp{
			save("A", ansOK, 0, 10), save("B", ansNoAnswer, 20, 30), get("A", 35, 40), get("B", 50, 60),
		}, ""},
		{"ambiguous write read, then read over", []linOp{
			save("A", ansOK, 0, 10), save("B", ansAmbiguous, 20, 30), get("B", 35, 40), get("A", 50, 60),
		}, "not linearizable"},
		{"etag save applied to another version", []linOp{
			save("A", ansOK, 0, 10), save("B", ansOK, 20, 30), cas("A", "C", ansOK, 40, 50), get("C", 55, 60),
		}, "not linearizable"},
		{"lost write", []linOp{
			save("A", ansOK, 0, 10), get("", 20, 30),
		}, "not linearizable"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			// Calls without an answer went to server 0, killed at the start.
			problems, _ := checkHistory(tc.hist, map[int]time.Duration{0: 0})
			got := strings.Join(problems, "\n")
			switch {
			case tc.wantErr == "" && got != "":
				t.Fatalf("linearizable history rejected:\n%s", got)
			case tc.wantErr != "" && !strings.Contains(got, tc.wantErr):
				t.Fatalf("want a problem containing %q, got:\n%s", tc.wantErr, got)
			}
		})
	}
}
