// Command devissuer is a development-only OpenID issuer: it serves discovery
// and a JWKS on a loopback address and mints signed access tokens, so the
// server can run in jwt mode locally. It has no login, no consent and no
// client authentication; never expose it beyond the local machine.
//
//	go run ./cmd/devissuer -addr 127.0.0.1:7072          # serve
//	go run ./cmd/devissuer mint -roles Snippets.Read     # print a token
//	go run ./cmd/devissuer mint -as approver             # a ready-made caller
//	go run ./cmd/devissuer env                           # print MCP_AUTH_* settings
//	go run ./cmd/devissuer -h                            # every command and flag
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"github.com/snippets-mcp/server/internal/httpx"
)

// Defaults shared by serve, mint and env, so their outputs agree.
const (
	defaultAddr     = "127.0.0.1:7072"
	defaultDir      = ".devissuer"
	DefaultAudience = "api://snippets-mcp-local"
	DefaultTenant   = "d5e6f7a8-0000-4000-8000-00000000de01"
	DefaultObjectID = "d5e6f7a8-0000-4000-8000-00000000de02"
	DefaultClientID = "d5e6f7a8-0000-4000-8000-00000000de03"
)

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if err := run(ctx, os.Args[1:], os.Stdout, os.Stderr); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			os.Exit(0) // asked for help: not a failure
		}
		fmt.Fprintln(os.Stderr, "devissuer:", err)
		os.Exit(2)
	}
}

func run(ctx context.Context, args []string, stdout, stderr io.Writer) error {
	// Help without a command is help for all of them: serve is only the
	// default, and `devissuer -h` listing serve's flags alone hid mint and env.
	if len(args) > 0 && (args[0] == "help" || isHelpFlag(args[0])) {
		usage(stdout)
		return flag.ErrHelp
	}
	cmd := "serve"
	if len(args) > 0 && !strings.HasPrefix(args[0], "-") {
		cmd, args = args[0], args[1:]
	}
	switch cmd {
	case "serve":
		return runServe(ctx, args, stderr)
	case "mint":
		return runMint(args, stdout, stderr)
	case "env":
		return runEnv(args, stdout, stderr)
	}
	return fmt.Errorf("unknown command %q: use serve, mint or env (devissuer -h lists them)", cmd)
}

func isHelpFlag(a string) bool {
	switch a {
	case "-h", "-help", "--help", "--h":
		return true
	}
	return false
}

// usage lists every command with its flags.
func usage(w io.Writer) {
	fmt.Fprint(w, `devissuer: a development-only token issuer for jwt mode (loopback only, no login).

Usage:
  devissuer [serve] [flags]   serve discovery and the key set (the default command)
  devissuer mint [flags]      print a signed access token
  devissuer env [flags]       print the MCP_AUTH_* settings for the server
  devissuer help              this text (also -h); devissuer <command> -h for one command

`)
	for _, c := range []struct {
		name string
		fs   *flag.FlagSet
	}{
		{"serve", func() *flag.FlagSet { fs, _ := flags("serve", w); return fs }()},
		{"mint", func() *flag.FlagSet { fs, _, _ := mintFlags(w); return fs }()},
		{"env", func() *flag.FlagSet { fs, _ := flags("env", w); return fs }()},
	} {
		fmt.Fprintf(w, "Flags of %s:\n", c.name)
		c.fs.SetOutput(w)
		c.fs.PrintDefaults()
		fmt.Fprintln(w)
	}
	fmt.Fprintf(w, "Callers for mint -as:\n")
	for _, n := range personaNames() {
		p := personas[n]
		fmt.Fprintf(w, "  %-9s %s; roles %s\n", n, p.about, p.roles)
	}
}

// common are the flags every command takes.
type common struct {
	addr, dir string
}

// flags returns a command's flag set with the common flags registered;
// the caller adds its own before parsing.
func flags(name string, stderr io.Writer) (*flag.FlagSet, *common) {
	fs := flag.NewFlagSet("devissuer "+name, flag.ContinueOnError)
	fs.SetOutput(stderr)
	c := &common{}
	fs.StringVar(&c.addr, "addr", defaultAddr, "loopback host:port the issuer listens on (part of the issuer URL)")
	fs.StringVar(&c.dir, "dir", defaultDir, "folder holding the signing key (created with a .gitignore)")
	return fs, c
}

// parseLoopback parses args and refuses a non-loopback -addr.
func parseLoopback(fs *flag.FlagSet, c *common, args []string) error {
	if err := fs.Parse(args); err != nil {
		return err
	}
	return checkLoopback(c.addr)
}

func runServe(ctx context.Context, args []string, stderr io.Writer) error {
	fs, c := flags("serve", stderr)
	if err := parseLoopback(fs, c, args); err != nil {
		return err
	}
	key, err := loadOrCreateKey(c.dir)
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", c.addr)
	if err != nil {
		return fmt.Errorf("listen on %s: %w", c.addr, err)
	}
	return serve(ctx, ln, key, stderr)
}

// serve answers on ln until ctx ends. The issuer URL comes from the
// listener's address, so port 0 works.
func serve(ctx context.Context, ln net.Listener, key *signingKey, stderr io.Writer) error {
	issuer := "http://" + ln.Addr().String()
	srv := &http.Server{
		Handler:           newHandler(issuer, key),
		ReadHeaderTimeout: 5 * time.Second,
	}
	fmt.Fprintf(stderr, "devissuer: issuer %s (dev only), key id %s\n", issuer, key.kid)
	fmt.Fprintf(stderr, "devissuer: run the server with MCP_AUTH_MODE=jwt MCP_AUTH_ISSUER=%s MCP_AUTH_AUDIENCE=%s MCP_AUTH_TENANTS=%s\n", issuer, DefaultAudience, DefaultTenant)
	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return fmt.Errorf("shut down: %w", err)
	}
	return nil
}

func runEnv(args []string, stdout, stderr io.Writer) error {
	fs, c := flags("env", stderr)
	if err := parseLoopback(fs, c, args); err != nil {
		return err
	}
	fmt.Fprintf(stdout, "MCP_AUTH_MODE=jwt\nMCP_AUTH_ISSUER=http://%s\nMCP_AUTH_AUDIENCE=%s\nMCP_AUTH_TENANTS=%s\n", c.addr, DefaultAudience, DefaultTenant)
	return nil
}

// checkLoopback refuses any address another machine could reach: this
// issuer signs whatever it is asked to.
func checkLoopback(addr string) error {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return fmt.Errorf("-addr %q: %w", addr, err)
	}
	if port == "" {
		return fmt.Errorf("-addr %q: no port", addr)
	}
	if httpx.IsLoopback(host) {
		return nil
	}
	return fmt.Errorf("-addr %q: the dev issuer listens on loopback only (127.0.0.1, ::1 or localhost)", addr)
}
