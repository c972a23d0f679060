package main

import (
	"bytes"
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/snippets-mcp/server/internal/identity"
)

func TestCheckLoopback(t *testing.T) {
	t.Parallel()
	for addr, ok := range map[string]bool{
		"127.0.0.1:7072": true,
		"[::1]:7072":     true,
		"localhost:7072": true,
		"127.0.0.2:0":    true,
		"0.0.0.0:7072":   false,
		":7072":          false,
		"[::]:7072":      false,
		"10.1.2.3:7072":  false,
		"example.test:1": false,
		"127.0.0.1":      false,
		"127.0.0.1:":     false,
	} {
		if err := checkLoopback(addr); (err == nil) != ok {
			t.Errorf("checkLoopback(%q) = %v, want ok=%v", addr, err, ok)
		}
	}
}

func TestCommandsRefuseNonLoopback(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"-addr", "0.0.0.0:0", "-dir", dir},
		{"serve", "-addr", ":0", "-dir", dir},
		{"mint", "-addr", "192.0.2.1:7072", "-dir", dir},
		{"env", "-addr", "192.0.2.1:7072"},
		{"mint", "-issuer", "http://192.0.2.1:7072", "-dir", dir},
	} {
		var out, errOut bytes.Buffer
		err := run(t.Context(), args, &out, &errOut)
		if err == nil || !strings.Contains(err.Error(), "loopback only") {
			t.Errorf("%v: got %v, want a loopback refusal", args, err)
		}
	}
	if _, err := os.Stat(filepath.Join(dir, keyFile)); err == nil {
		t.Error("a refused command still created a key")
	}
}

func TestKeyPersists(t *testing.T) {
	t.Parallel()
	dir := filepath.Join(t.TempDir(), ".devissuer")
	k1, err := loadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	k2, err := loadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	if k1.kid != k2.kid || !k1.priv.Equal(k2.priv) {
		t.Fatal("second load made a different key")
	}
	st, err := os.Stat(filepath.Join(dir, keyFile))
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o600 {
		t.Errorf("key file mode %v, want 0600", st.Mode().Perm())
	}
	if b, err := os.ReadFile(filepath.Join(dir, ".gitignore")); err != nil || !strings.Contains(string(b), "*") {
		t.Errorf("key folder not ignored: %q, %v", b, err)
	}
	os.WriteFile(filepath.Join(dir, keyFile), []byte("garbage"), 0o600)
	if _, err := loadOrCreateKey(dir); err == nil {
		t.Error("a corrupt key file was accepted")
	}
}

// TestServeAndMintWithTheRealValidator runs the issuer on a loopback port,
// mints a token with the mint command and checks it with identity.NewJWT, the
// code the server uses in jwt mode.
func TestServeAndMintWithTheRealValidator(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := startIssuer(t, dir)
	var env, tok, errOut bytes.Buffer
	if err := run(t.Context(), []string{"env", "-addr", addr}, &env, &errOut); err != nil {
		t.Fatal(err)
	}
	settings := map[string]string{}
	for _, line := range strings.Split(strings.TrimSpace(env.String()), "\n") {
		k, v, _ := strings.Cut(line, "=")
		settings[k] = v
	}
	if err := run(t.Context(), []string{"mint", "-addr", addr, "-dir", dir, "-oid", "user-1",
		"-roles", "Snippets.Read, Snippets.Write", "-scp", "user_impersonation"}, &tok, &errOut); err != nil {
		t.Fatalf("mint: %v (%s)", err, errOut.String())
	}

	a, err := identity.NewJWT(t.Context(), identity.JWTConfig{
		Issuer:    settings["MCP_AUTH_ISSUER"],
		Audiences: []string{settings["MCP_AUTH_AUDIENCE"]},
		Tenants:   []string{settings["MCP_AUTH_TENANTS"]},
	})
	if err != nil {
		t.Fatalf("NewJWT against the dev issuer: %v", err)
	}
	r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
	r.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok.String()))
	id, err := a.Authenticate(r)
	if err != nil {
		t.Fatalf("dev token rejected: %v", err)
	}
	if id.ObjectID != "user-1" || id.TenantID != DefaultTenant || id.ClientID != DefaultClientID ||
		!slices.Equal(id.Roles, []string{"Snippets.Read", "Snippets.Write"}) || !id.HasScope("user_impersonation") || id.AppOnly {
		t.Fatalf("identity = %+v", id)
	}

	tok.Reset()
	if err := run(t.Context(), []string{"mint", "-issuer", "http://" + addr, "-dir", dir, "-app", "-roles", "Snippets.Read"}, &tok, &errOut); err != nil {
		t.Fatal(err)
	}
	r.Header.Set("Authorization", "Bearer "+strings.TrimSpace(tok.String()))
	if id, err := a.Authenticate(r); err != nil || !id.AppOnly {
		t.Fatalf("app-only dev token: %+v, %v", id, err)
	}
}

// startIssuer serves the issuer with dir's key on a free loopback port
// until the test ends and returns its host:port.
func startIssuer(t *testing.T, dir string) string {
	t.Helper()
	key, err := loadOrCreateKey(dir)
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(t.Context())
	done := make(chan error, 1)
	go func() { done <- serve(ctx, ln, key, &bytes.Buffer{}) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("serve: %v", err)
		}
	})
	return ln.Addr().String()
}

func TestMintFlags(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	for _, args := range [][]string{
		{"mint", "-dir", dir, "-ttl", "0s"},
		{"mint", "-dir", dir, "-ttl", "48h"},
		{"mint", "-dir", dir, "stray"},
		{"mint", "-dir", dir, "-nope"},
		{"mint", "-dir", dir, "-issuer", "https://127.0.0.1:7072"},
		{"mint", "-dir", dir, "-issuer", "http://127.0.0.1:7072/path"},
		{"bogus"},
	} {
		var out, errOut bytes.Buffer
		if err := run(t.Context(), args, &out, &errOut); err == nil {
			t.Errorf("%v: accepted", args)
		}
		if out.Len() != 0 {
			t.Errorf("%v: printed %q on failure", args, out.String())
		}
	}
}
