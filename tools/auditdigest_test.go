package tools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"net/http/httptest"
	"testing"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity"
)

// TestCallEventDigestsArgumentsAsReceived: a tools/call event's
// arguments_bytes and arguments_sha256 are the size and SHA-256 of the
// arguments exactly as the client sent them (white space and key order
// included), not of a re-encoding; absent or null arguments give none.
func TestCallEventDigestsArgumentsAsReceived(t *testing.T) {
	f := newFixture(t)
	cases := []struct {
		args string // the "arguments" member as sent, "" for none
		want string // what is digested, "" for no digest
	}{
		{`{ "snippetname" : "a",  "snippet":"x\u0041", "n": 1.0 }`, `{ "snippetname" : "a",  "snippet":"x\u0041", "n": 1.0 }`},
		{`{"snippet":"<x>","snippetname":"b"}`, `{"snippet":"<x>","snippetname":"b"}`},
		{`null`, ``},
		{``, ``},
	}
	for _, c := range cases {
		params := `{"name":"save_snippet"}`
		if c.args != "" {
			params = `{"name":"save_snippet","arguments":` + c.args + `}`
		}
		msg := `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":` + params + `}`
		ctx := ContextFunc(identity.NewContext(context.Background(), alice), httptest.NewRequest("POST", "/mcp", nil))
		before := len(f.auditor.all())
		f.mcp.HandleMessage(ctx, []byte(msg))
		evs := f.auditor.all()
		if len(evs) != before+1 {
			t.Fatalf("arguments %s: %d events, want 1", c.args, len(evs)-before)
		}
		e := evs[len(evs)-1]
		wantN, wantSum := 0, ""
		if c.want != "" {
			sum := sha256.Sum256([]byte(c.want))
			wantN, wantSum = len(c.want), hex.EncodeToString(sum[:])
		}
		if e.ArgumentsBytes != wantN || e.ArgumentsSHA256 != wantSum {
			t.Errorf("arguments %s: event (%d, %s), want (%d, %s)", c.args, e.ArgumentsBytes, e.ArgumentsSHA256, wantN, wantSum)
		}
	}
}

// The reads that are not tool calls have no arguments on the wire to hash:
// their events keep the canonical digest of what names the read.
func TestReadEventDigestIsCanonical(t *testing.T) {
	f := newFixture(t)
	uri := "snippet://nosuch"
	f.call(t, alice, "resources/read", map[string]any{"uri": uri})
	evs := f.auditor.all()
	if len(evs) != 1 {
		t.Fatalf("%d events, want 1", len(evs))
	}
	n, sum := audit.ArgumentsDigest(map[string]any{"uri": uri})
	if evs[0].ArgumentsBytes != n || evs[0].ArgumentsSHA256 != sum {
		t.Errorf("event (%d, %s), want (%d, %s)", evs[0].ArgumentsBytes, evs[0].ArgumentsSHA256, n, sum)
	}
}
