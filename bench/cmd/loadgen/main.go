// Command loadgen drives one MCP endpoint with JSON-RPC requests, each with
// a unique id, and prints throughput, latency percentiles and errors as
// JSON. It is the command-line face of internal/load, for trying a running
// server by hand (make run), for example:
//
//	cd bench && go run ./cmd/loadgen -url http://127.0.0.1:7071/mcp -tool whoami -c 8 -d 10s
//	cd bench && go run ./cmd/loadgen -url ... -tool get_snippet -args '{"snippetname":"a"}' -H 'Authorization: Bearer ...'
//
// A run always ends by itself: -d bounds it in time, -n in requests.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"time"

	"github.com/snippets-mcp/server/internal/load"
)

type headers http.Header

func (h headers) String() string { return "" }
func (h headers) Set(v string) error {
	k, val, ok := strings.Cut(v, ":")
	if !ok {
		return errors.New(`want "Name: value"`)
	}
	http.Header(h).Add(strings.TrimSpace(k), strings.TrimSpace(val))
	return nil
}

func main() {
	h := headers{}
	url := flag.String("url", "http://127.0.0.1:7071/mcp", "MCP endpoint")
	method := flag.String("method", "tools/call", "JSON-RPC method")
	tool := flag.String("tool", "whoami", "tool name, for tools/call")
	args := flag.String("args", "", "tool arguments as a JSON object")
	params := flag.String("params", "", "params as JSON, for methods other than tools/call")
	c := flag.Int("c", 8, "concurrent connections")
	d := flag.Duration("d", 10*time.Second, "time limit")
	n := flag.Int64("n", 0, "request limit (0: none)")
	version := flag.String("protocol", "2025-06-18", "Mcp-Protocol-Version header")
	flag.Var(h, "H", `extra header "Name: value" (repeatable)`)
	flag.Parse()

	if err := run(*url, *method, *tool, *args, *params, *version, http.Header(h), *c, *d, *n); err != nil {
		fmt.Fprintln(os.Stderr, "loadgen:", err)
		os.Exit(1)
	}
}

func run(url, method, tool, args, params, version string, h http.Header, c int, d time.Duration, n int64) error {
	var body func(uint64) []byte
	if method == "tools/call" {
		var a map[string]any
		if args != "" {
			if err := json.Unmarshal([]byte(args), &a); err != nil {
				return fmt.Errorf("-args: %w", err)
			}
		}
		body = load.ToolCall(tool, a)
	} else {
		var p any
		if params != "" {
			if err := json.Unmarshal([]byte(params), &p); err != nil {
				return fmt.Errorf("-params: %w", err)
			}
		}
		body = load.RPC(method, p)
	}
	if h.Get("Mcp-Protocol-Version") == "" && version != "" {
		h.Set("Mcp-Protocol-Version", version)
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt)
	defer stop()
	res, err := load.Run(ctx, load.Config{
		Targets:     []load.Target{{Name: method + " " + tool, URL: url, Header: h, Body: body}},
		Concurrency: c, Duration: d, Requests: n,
	})
	if err != nil {
		return err
	}
	out := map[string]any{
		"requests": res.Total.Requests, "errors": res.Total.Errors, "error_kinds": res.Total.ErrorKinds,
		"throughput_rps": res.Total.Throughput, "elapsed": res.Elapsed.String(),
		"p50": res.Total.P50.String(), "p90": res.Total.P90.String(), "p99": res.Total.P99.String(), "max": res.Total.Max.String(),
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	return enc.Encode(out)
}
