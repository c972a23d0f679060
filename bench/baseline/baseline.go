// Package baseline holds the two servers the framework-overhead benchmark
// compares the full server with: a bare mark3labs/mcp-go stateless server
// with one echo tool, and a bare net/http handler with a fixed JSON-RPC
// response. bench/cmd/baseline-mcp and bench/cmd/baseline-http serve them
// as processes; in-process benchmarks use them directly.
package baseline

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"syscall"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// MCP is the bare mcp-go server: stateless Streamable HTTP with JSON
// responses (no streaming), one tool "echo" that returns its "message"
// argument, and nothing else: no authentication, policy, audit or
// hardening middleware. /healthz answers for readiness checks.
func MCP() http.Handler {
	m := server.NewMCPServer("baseline-mcp", "1.0.0", server.WithToolCapabilities(false))
	m.AddTool(mcp.NewTool("echo",
		mcp.WithDescription("Returns its message."),
		mcp.WithString("message", mcp.Required()),
	), func(_ context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		return mcp.NewToolResultText(req.GetString("message", "")), nil
	})
	mux := http.NewServeMux()
	mux.Handle("/mcp", server.NewStreamableHTTPServer(m, server.WithStateLess(true), server.WithDisableStreaming(true)))
	mux.HandleFunc("/healthz", health)
	return mux
}

// HTTPResponse is the fixed body every POST /mcp gets from HTTP.
const HTTPResponse = `{"jsonrpc":"2.0","id":1,"result":{"content":[{"type":"text","text":"hello"}]}}` + "\n"

// HTTP is the floor: it reads the request body, as any JSON-RPC server
// must before answering, and writes HTTPResponse. It parses nothing, so
// it measures only Go's HTTP server and the loopback connection.
func HTTP() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /mcp", func(w http.ResponseWriter, r *http.Request) {
		if _, err := io.Copy(io.Discard, r.Body); err != nil {
			http.Error(w, "read body", http.StatusBadRequest)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(HTTPResponse)))
		_, _ = io.WriteString(w, HTTPResponse)
	})
	mux.HandleFunc("/healthz", health)
	return mux
}

func health(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"status":"ok"}`)
}

// Serve listens on 127.0.0.1 at FUNCTIONS_CUSTOMHANDLER_PORT (or
// defaultPort), the way the Functions host starts the real server, and
// serves h until SIGTERM or SIGINT.
func Serve(h http.Handler, defaultPort string) error {
	port := os.Getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if port == "" {
		port = defaultPort
	}
	ln, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", port))
	if err != nil {
		return fmt.Errorf("listen (FUNCTIONS_CUSTOMHANDLER_PORT): %w", err)
	}
	srv := &http.Server{Handler: h, ReadHeaderTimeout: 10 * time.Second}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil && !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("shutdown: %w", err)
	}
	return nil
}
