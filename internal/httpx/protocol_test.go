package httpx

import (
	"bytes"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const protocolBody = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`

// TestCheckProtocolKeepsTheBuffer: behind LimitBody, CheckProtocol hands on
// the very bytes LimitBody read (no second copy), still readable in full,
// so RequestsOnly and mcp-go further in see the same body.
func TestCheckProtocolKeepsTheBuffer(t *testing.T) {
	var outer []byte
	inner := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		b, ok := Buffered(r)
		if !ok {
			t.Fatal("body not buffered after CheckProtocol")
		}
		if &b[0] != &outer[0] {
			t.Error("CheckProtocol copied the body")
		}
		got, err := io.ReadAll(r.Body)
		if err != nil || string(got) != protocolBody {
			t.Errorf("body %q, %v", got, err)
		}
	})
	h := LimitBody(1<<20, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		outer, _ = Buffered(r)
		CheckProtocol([]string{"2025-06-18"}, inner).ServeHTTP(w, r)
	}))
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(protocolBody)))
	if rec.Code != http.StatusOK {
		t.Fatalf("status %d", rec.Code)
	}

	// Without LimitBody in front, CheckProtocol reads the body itself and
	// leaves it buffered.
	outer = nil
	inner2 := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if b, ok := Buffered(r); !ok || string(b) != protocolBody {
			t.Errorf("unbuffered request: %q, %v", b, ok)
		}
	})
	CheckProtocol([]string{"2025-06-18"}, inner2).ServeHTTP(httptest.NewRecorder(),
		httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(protocolBody)))
}

// checkProtocolCopying is the batch check as it was: it copied the body
// LimitBody had read, which also made RequestsOnly read it a third time.
func checkProtocolCopying(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		body, _ := io.ReadAll(r.Body)
		r.Body = io.NopCloser(bytes.NewReader(body))
		if t := bytes.TrimLeft(body, " \t\r\n"); len(t) > 0 && t[0] == '[' {
			w.WriteHeader(http.StatusBadRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// BenchmarkBodyChain is LimitBody, the batch check and RequestsOnly, as the
// front door wires them, with the old copying check and with CheckProtocol.
func BenchmarkBodyChain(b *testing.B) {
	sink := http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) })
	run := func(b *testing.B, check func(http.Handler) http.Handler) {
		h := LimitBody(1<<20, check(RequestsOnly(1<<20, sink)))
		b.ReportAllocs()
		for b.Loop() {
			req := httptest.NewRequest(http.MethodPost, "/mcp", strings.NewReader(protocolBody))
			req.Header.Set("Content-Type", "application/json")
			h.ServeHTTP(httptest.NewRecorder(), req)
		}
	}
	b.Run("copying", func(b *testing.B) { run(b, checkProtocolCopying) })
	b.Run("shared", func(b *testing.B) {
		run(b, func(next http.Handler) http.Handler { return CheckProtocol([]string{"2025-06-18"}, next) })
	})
}
