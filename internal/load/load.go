// Package load is a small closed-loop HTTP load generator for JSON-RPC
// endpoints: a fixed number of workers, each with its own keep-alive
// connection, send requests back to back until a count or a time limit is
// reached. Every request carries a unique JSON-RPC id, and every response
// is checked, so a fast wrong answer never counts as a success. proc.go
// reads what a process under load uses (CPU time, RSS, gctrace figures)
// from /proc and its stderr.
//
// The server binary does not use it: the end-to-end soak test (e2e) and
// the benchmark module (bench/, its own Go module) do. It lives in the
// server's module so that e2e needs nothing from bench, and it imports
// only the standard library.
package load

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// Target is one kind of request. Body renders the request for a JSON-RPC
// id; Check judges the response (nil: status 200 and the id echoed back,
// with no JSON-RPC error and no tool error). A Target with Do instead
// runs that function as its operation (a direct storage call, say), so
// other work can be measured the same way as HTTP requests.
type Target struct {
	Name   string
	URL    string
	Header http.Header
	Body   func(id uint64) []byte
	Check  func(id uint64, status int, body []byte) error
	Do     func(ctx context.Context, id uint64) error
}

// Config bounds a run. Duration is required: every run stops by itself
// in time, whatever Requests says.
type Config struct {
	Targets     []Target      // requests cycle through these (mixed load)
	Concurrency int           // workers, each with its own connection; default 1
	Duration    time.Duration // time limit; required
	Requests    int64         // also stop after this many requests; 0 means no count limit
	Window      time.Duration // width of the per-window statistics; 0 means none
	Timeout     time.Duration // per request; default 30 s
	FirstID     uint64        // ids start here; default 1
	Client      *http.Client  // nil: a keep-alive client sized for Concurrency
}

// Stats summarise a set of requests.
type Stats struct {
	Requests   int64          `json:"requests"`
	Errors     int64          `json:"errors"`
	Throughput float64        `json:"throughput_rps"`
	P50        time.Duration  `json:"p50_ns"`
	P90        time.Duration  `json:"p90_ns"`
	P99        time.Duration  `json:"p99_ns"`
	Max        time.Duration  `json:"max_ns"`
	Mean       time.Duration  `json:"mean_ns"`
	ErrorKinds map[string]int `json:"error_kinds,omitempty"`
}

// Window is the statistics of the requests that started in one interval.
type Window struct {
	Start time.Duration `json:"start_ns"` // offset from the run's start
	Stats
}

// Result is a finished run.
type Result struct {
	Elapsed  time.Duration     `json:"elapsed_ns"`
	LastID   uint64            `json:"last_id"`
	Total    Stats             `json:"total"`
	ByTarget map[string]*Stats `json:"by_target"`
	Windows  []Window          `json:"windows,omitempty"`
	// Latencies of successful requests, sorted; kept so runs can be merged.
	Latencies []time.Duration `json:"-"`
}

// sample is one finished request.
type sample struct {
	at      time.Duration // start, relative to the run's start
	latency time.Duration
	target  int
	err     string // "" on success
}

// maxErrorKinds bounds the distinct error texts kept per run.
const maxErrorKinds = 20

// NewClient returns a keep-alive client for n concurrent connections that
// never uses a proxy (loopback only) and never asks for compression.
func NewClient(n int) *http.Client {
	if n < 1 {
		n = 1
	}
	return &http.Client{Transport: &http.Transport{
		Proxy:               nil,
		DialContext:         (&net.Dialer{Timeout: 5 * time.Second}).DialContext,
		MaxIdleConns:        n,
		MaxIdleConnsPerHost: n,
		MaxConnsPerHost:     n,
		IdleConnTimeout:     90 * time.Second,
		DisableCompression:  true,
	}}
}

// Run drives the targets until ctx ends, the time limit passes or the
// request count is reached, and returns what it measured.
func Run(ctx context.Context, cfg Config) (*Result, error) {
	if len(cfg.Targets) == 0 {
		return nil, errors.New("load: no targets")
	}
	if cfg.Duration <= 0 {
		return nil, errors.New("load: Duration is required: every run must be bounded in time")
	}
	for i, t := range cfg.Targets {
		if t.Do == nil && (t.URL == "" || t.Body == nil) {
			return nil, fmt.Errorf("load: target %d (%s) needs URL and Body, or Do", i, t.Name)
		}
	}
	if cfg.Concurrency < 1 {
		cfg.Concurrency = 1
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = 30 * time.Second
	}
	if cfg.FirstID == 0 {
		cfg.FirstID = 1
	}
	client := cfg.Client
	if client == nil {
		client = NewClient(cfg.Concurrency)
		defer client.CloseIdleConnections()
	}
	ctx, cancel := context.WithTimeout(ctx, cfg.Duration)
	defer cancel()

	var next atomic.Uint64
	next.Store(cfg.FirstID)
	var issued atomic.Int64
	start := time.Now()
	per := make([][]sample, cfg.Concurrency)
	var wg sync.WaitGroup
	for w := range cfg.Concurrency {
		wg.Go(func() {
			var out []sample
			for ctx.Err() == nil {
				if cfg.Requests > 0 && issued.Add(1) > cfg.Requests {
					break
				}
				id := next.Add(1) - 1
				ti := int(id % uint64(len(cfg.Targets)))
				t0 := time.Now()
				err := do(ctx, client, cfg.Timeout, cfg.Targets[ti], id)
				if err != nil && ctx.Err() != nil {
					break // cut short by the end of the run: not a server failure
				}
				s := sample{at: t0.Sub(start), latency: time.Since(t0), target: ti}
				if err != nil {
					s.err = err.Error()
				}
				out = append(out, s)
			}
			per[w] = out
		})
	}
	wg.Wait()
	elapsed := time.Since(start)

	var all []sample
	for _, s := range per {
		all = append(all, s...)
	}
	res := &Result{Elapsed: elapsed, LastID: next.Load() - 1, ByTarget: map[string]*Stats{}}
	res.Total, res.Latencies = summarise(all, elapsed)
	for i, t := range cfg.Targets {
		var mine []sample
		for _, s := range all {
			if s.target == i {
				mine = append(mine, s)
			}
		}
		st, _ := summarise(mine, elapsed)
		name := t.Name
		if name == "" {
			name = strconv.Itoa(i)
		}
		res.ByTarget[name] = &st
	}
	if cfg.Window > 0 {
		res.Windows = windows(all, cfg.Window, elapsed)
	}
	return res, nil
}

func do(ctx context.Context, c *http.Client, timeout time.Duration, t Target, id uint64) error {
	rctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	if t.Do != nil {
		return t.Do(rctx, id)
	}
	req, err := http.NewRequestWithContext(rctx, http.MethodPost, t.URL, bytes.NewReader(t.Body(id)))
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	for k, v := range t.Header {
		req.Header[k] = v
	}
	if req.Header.Get("Content-Type") == "" {
		req.Header.Set("Content-Type", "application/json")
	}
	if req.Header.Get("Accept") == "" {
		req.Header.Set("Accept", "application/json, text/event-stream")
	}
	resp, err := c.Do(req)
	if err != nil {
		return err
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return fmt.Errorf("read response: %w", err)
	}
	check := t.Check
	if check == nil {
		check = CheckOK
	}
	return check(id, resp.StatusCode, body)
}

// CheckOK accepts status 200 with the request's id echoed back and neither
// a JSON-RPC error nor a tool error in the body.
func CheckOK(id uint64, status int, body []byte) error {
	if status != http.StatusOK {
		return fmt.Errorf("status %d", status)
	}
	if !EchoesID(body, id) {
		return errors.New("response does not carry the request id")
	}
	if bytes.Contains(body, []byte(`"error":{`)) {
		return errors.New("JSON-RPC error")
	}
	if bytes.Contains(body, []byte(`"isError":true`)) {
		return errors.New("tool error")
	}
	return nil
}

// EchoesID reports whether a JSON-RPC response body carries id as its id.
// It is a byte search, not a parse: cheap enough to run on every response
// without the generator's own cost drowning the server's.
func EchoesID(body []byte, id uint64) bool {
	var buf [32]byte
	pat := strconv.AppendUint(append(buf[:0], `"id":`...), id, 10)
	for i := 0; ; {
		j := bytes.Index(body[i:], pat)
		if j < 0 {
			return false
		}
		end := i + j + len(pat)
		if end == len(body) || body[end] < '0' || body[end] > '9' {
			return true
		}
		i = end
	}
}
