package handler

import (
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"

	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// benchFrontDoor builds the whole handler in process (hardening, jwt
// authentication with a real RS256 token, policy, mcp-go, audit to a
// discarded stdout; storage is an in-memory fake that answers at once) and
// returns a function that sends one tools/call with a fresh id.
func benchFrontDoor(b *testing.B) func(tool, args string) {
	iss := authtest.NewIssuer(b)
	h, _ := frontDoor(b, io.Discard, map[string]string{
		"MCP_AUTH_MODE": "jwt", "MCP_AUTH_ISSUER": iss.URL(), "MCP_AUTH_AUDIENCE": authtest.Audience,
	})
	authz := "Bearer " + iss.Mint(b, authtest.Claims{})
	id := 0
	return func(tool, args string) {
		id++
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:7071/mcp", strings.NewReader(
			`{"jsonrpc":"2.0","id":`+strconv.Itoa(id)+`,"method":"tools/call","params":{"name":"`+tool+`","arguments":`+args+`}}`))
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("Accept", "application/json, text/event-stream")
		req.Header.Set("Mcp-Protocol-Version", "2025-06-18")
		req.Header.Set("Authorization", authz)
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusOK || strings.Contains(rec.Body.String(), `"isError":true`) {
			b.Fatalf("%s: %d %s", tool, rec.Code, rec.Body)
		}
	}
}

// BenchmarkFrontDoorWhoami is the in-process cost of one tools/call whoami
// through the whole handler, without the network. Compare with
// bench/baseline's BenchmarkMCPEcho; run with -cpuprofile to see where the
// difference goes.
func BenchmarkFrontDoorWhoami(b *testing.B) {
	call := benchFrontDoor(b)
	b.ReportAllocs()
	for b.Loop() {
		call("whoami", "{}")
	}
}

// BenchmarkFrontDoorSaveSnippet is the server's own work for save_snippet
// (1 KiB): everything but the storage round trips, which the fake answers
// at once. Both blob requests still go through the azblob pipeline.
func BenchmarkFrontDoorSaveSnippet(b *testing.B) {
	call := benchFrontDoor(b)
	args := `{"snippetname":"bench","snippet":"` + strings.Repeat("x", 1024) + `"}`
	b.ReportAllocs()
	for b.Loop() {
		call("save_snippet", args)
	}
}

// BenchmarkFrontDoorGetSnippet is the server's own work for get_snippet
// of a 1 KiB snippet.
func BenchmarkFrontDoorGetSnippet(b *testing.B) {
	call := benchFrontDoor(b)
	call("save_snippet", `{"snippetname":"bench","snippet":"`+strings.Repeat("x", 1024)+`"}`)
	b.ReportAllocs()
	for b.Loop() {
		call("get_snippet", `{"snippetname":"bench"}`)
	}
}
