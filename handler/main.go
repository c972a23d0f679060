// Package handler is the Azure Functions custom handler that serves the
// snippets MCP server over stateless Streamable HTTP. It listens on
// FUNCTIONS_CUSTOMHANDLER_PORT as the Functions host expects, and runs the
// same way standalone (make run). The command is the repository root's
// main.go, because azd's `language: go` builds `go build -o app .` there.
package handler

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"runtime/debug"
	"syscall"
	"time"

	"github.com/snippets-mcp/server/internal/config"
)

// Version may be set at build time with
// -ldflags "-X github.com/snippets-mcp/server/handler.Version=...". azd
// passes no ldflags, so otherwise the VCS revision Go stamps is used.
var Version = ""

// version is what the server reports: Version, else the VCS revision
// stamped by `go build`, else "dev".
func version() string {
	if Version != "" {
		return Version
	}
	if bi, ok := debug.ReadBuildInfo(); ok {
		rev, dirty := "", false
		for _, s := range bi.Settings {
			switch s.Key {
			case "vcs.revision":
				rev = s.Value
			case "vcs.modified":
				dirty = s.Value == "true"
			}
		}
		if len(rev) > 12 {
			rev = rev[:12]
		}
		if rev != "" && dirty {
			return rev + "-dirty"
		}
		if rev != "" {
			return rev
		}
	}
	return "dev"
}

// Main runs the server and exits the process with status 1 on error.
func Main() {
	if code, done := command(os.Args[1:], os.Stdout, os.Stderr); done {
		os.Exit(code)
	}
	log := slog.New(slog.NewJSONHandler(os.Stderr, nil))
	if err := run(log); err != nil {
		// One line, naming the variable for configuration mistakes.
		fmt.Fprintln(os.Stderr, "snippets-mcp:", err)
		os.Exit(1)
	}
}

func run(log *slog.Logger) error {
	cfg, err := config.Load(os.Getenv)
	if err != nil {
		return err
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	app, err := build(ctx, cfg, log, os.Stdout, os.Stderr)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", cfg.ListenAddr)
	if err != nil {
		return fmt.Errorf("listen on %s (FUNCTIONS_CUSTOMHANDLER_PORT): %w", cfg.ListenAddr, err)
	}
	srv := &http.Server{
		Handler:           app.handler,
		ReadHeaderTimeout: 10 * time.Second,
		// A body must arrive in time: slow-body clients cannot hold a worker.
		ReadTimeout:    30 * time.Second,
		WriteTimeout:   cfg.ToolTimeout + 15*time.Second,
		IdleTimeout:    120 * time.Second,
		MaxHeaderBytes: 64 << 10,
		ErrorLog:       slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	log.Info("listening", "addr", ln.Addr().String(), "mcp", "http://"+ln.Addr().String()+"/mcp",
		"auth_mode", cfg.AuthMode, "server_id", cfg.Audit.ServerID, "appinsights", cfg.Audit.AppInsights != nil, "version", version())

	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	stop() // a second signal now kills the process the default way
	log.Info("shutting down: finishing in-flight requests")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownTimeout)
	defer cancel()
	err = srv.Shutdown(sctx)
	if cerr := app.close(sctx); cerr != nil {
		err = errors.Join(err, cerr)
	}
	if err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	log.Info("stopped")
	return nil
}

// shutdownTimeout bounds a graceful stop; the platform sends SIGKILL
// some time after SIGTERM, and audit events must be flushed before that.
const shutdownTimeout = 20 * time.Second
