package load

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"
)

// echoServer answers every JSON-RPC request with its own id and records
// the ids it saw.
func echoServer(t *testing.T, fail func(id uint64) bool) (*httptest.Server, func() []uint64) {
	var mu sync.Mutex
	var ids []uint64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, _ := io.ReadAll(r.Body)
		var req struct {
			ID     uint64 `json:"id"`
			Method string `json:"method"`
		}
		if err := json.Unmarshal(b, &req); err != nil || req.Method != "tools/call" {
			http.Error(w, "bad request", http.StatusBadRequest)
			return
		}
		mu.Lock()
		ids = append(ids, req.ID)
		mu.Unlock()
		if fail != nil && fail(req.ID) {
			fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%d,"result":{"isError":true}}`, req.ID)
			return
		}
		fmt.Fprintf(w, `{"jsonrpc":"2.0","id":%d,"result":{}}`, req.ID)
	}))
	t.Cleanup(srv.Close)
	return srv, func() []uint64 {
		mu.Lock()
		defer mu.Unlock()
		return append([]uint64(nil), ids...)
	}
}

func TestRunCountsAndUniqueIDs(t *testing.T) {
	srv, seen := echoServer(t, func(id uint64) bool { return id%10 == 0 })
	res, err := Run(context.Background(), Config{
		Targets:     []Target{{Name: "a", URL: srv.URL, Body: ToolCall("x", nil)}, {Name: "b", URL: srv.URL, Body: ToolCall("y", map[string]any{"k": 1})}},
		Concurrency: 4, Duration: time.Minute, Requests: 500, FirstID: 1000, Window: time.Hour,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total.Requests != 500 {
		t.Fatalf("requests = %d, want 500", res.Total.Requests)
	}
	ids := seen()
	if len(ids) != 500 {
		t.Fatalf("server saw %d requests", len(ids))
	}
	uniq := map[uint64]bool{}
	for _, id := range ids {
		if uniq[id] || id < 1000 || id >= 1500 {
			t.Fatalf("id %d repeated or out of range", id)
		}
		uniq[id] = true
	}
	if res.Total.Errors != 50 || res.Total.ErrorKinds["tool error"] != 50 {
		t.Errorf("errors = %d %v, want 50 tool errors", res.Total.Errors, res.Total.ErrorKinds)
	}
	if res.ByTarget["a"].Requests+res.ByTarget["b"].Requests != 500 || res.ByTarget["a"].Requests != 250 {
		t.Errorf("by target: a=%d b=%d", res.ByTarget["a"].Requests, res.ByTarget["b"].Requests)
	}
	if len(res.Latencies) != 450 || res.Total.P50 <= 0 || res.Total.P99 < res.Total.P50 || res.Total.Max < res.Total.P99 {
		t.Errorf("latencies: n=%d %+v", len(res.Latencies), res.Total)
	}
	if len(res.Windows) != 1 || res.Windows[0].Requests != 500 {
		t.Errorf("windows: %+v", res.Windows)
	}
	if m := Merge(res, res); m.Requests != 1000 || m.Errors != 100 || m.P50 != res.Total.P50 {
		t.Errorf("merge: %+v", m)
	}
}

func TestRunStopsInTime(t *testing.T) {
	srv, _ := echoServer(t, nil)
	res, err := Run(context.Background(), Config{
		Targets: []Target{{URL: srv.URL, Body: ToolCall("x", nil)}}, Concurrency: 2, Duration: 200 * time.Millisecond,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total.Requests == 0 || res.Total.Errors != 0 {
		t.Fatalf("%+v", res.Total)
	}
	if _, err := Run(context.Background(), Config{Targets: []Target{{URL: srv.URL, Body: ToolCall("x", nil)}}, Requests: 5}); err == nil {
		t.Fatal("a run without a time limit was accepted")
	}
}

func TestCheckOK(t *testing.T) {
	for _, c := range []struct {
		status int
		body   string
		ok     bool
	}{
		{200, `{"jsonrpc":"2.0","id":42,"result":{}}`, true},
		{200, `{"jsonrpc":"2.0","id":421,"result":{}}`, false},
		{200, `{"jsonrpc":"2.0","id":4,"result":{}}`, false},
		{200, `{"jsonrpc":"2.0","id":null,"result":{}}`, false},
		{200, `{"jsonrpc":"2.0","id":42,"error":{"code":-32600}}`, false},
		{200, `{"jsonrpc":"2.0","id":42,"result":{"isError":true}}`, false},
		{500, `{"jsonrpc":"2.0","id":42,"result":{}}`, false},
	} {
		if err := CheckOK(42, c.status, []byte(c.body)); (err == nil) != c.ok {
			t.Errorf("CheckOK(%d, %s) = %v, want ok=%v", c.status, c.body, err, c.ok)
		}
	}
}

func TestPercentile(t *testing.T) {
	var d []time.Duration
	for i := 1; i <= 100; i++ {
		d = append(d, time.Duration(i))
	}
	for p, want := range map[float64]time.Duration{50: 50, 99: 99, 100: 100, 1: 1, 0: 1} {
		if got := Percentile(d, p); got != want {
			t.Errorf("p%v = %d, want %d", p, got, want)
		}
	}
}

func TestRunDo(t *testing.T) {
	var mu sync.Mutex
	seen := map[uint64]bool{}
	res, err := Run(context.Background(), Config{
		Targets: []Target{{Name: "op", Do: func(_ context.Context, id uint64) error {
			mu.Lock()
			defer mu.Unlock()
			if seen[id] {
				return fmt.Errorf("id %d twice", id)
			}
			seen[id] = true
			if id%4 == 0 {
				return fmt.Errorf("unlucky")
			}
			return nil
		}}},
		Concurrency: 3, Duration: time.Minute, Requests: 100,
	})
	if err != nil {
		t.Fatal(err)
	}
	if res.Total.Requests != 100 || len(seen) != 100 || res.Total.ErrorKinds["unlucky"] != int(res.Total.Errors) || res.Total.Errors != 25 {
		t.Fatalf("%+v", res.Total)
	}
}
