package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"regexp"
	"strings"
	"testing"
)

func TestTraceID(t *testing.T) {
	const trace = "4bf92f3577b34da6a3ce929d0e0e4736"
	tests := []struct {
		name, header string
		ok           bool
	}{
		{"version 00", "00-" + trace + "-00f067aa0ba902b7-01", true},
		{"surrounding space", "  00-" + trace + "-00f067aa0ba902b7-00 ", true},
		{"future version", "01-" + trace + "-00f067aa0ba902b7-01", true},
		{"future version with more fields", "cc-" + trace + "-00f067aa0ba902b7-01-what-the-future-holds", true},
		{"future version, junk after flags", "cc-" + trace + "-00f067aa0ba902b7-01x", false},
		{"version 00 with extra field", "00-" + trace + "-00f067aa0ba902b7-01-00", false},
		{"version ff", "ff-" + trace + "-00f067aa0ba902b7-01", false},
		{"upper-case hex", "00-" + strings.ToUpper(trace) + "-00f067aa0ba902b7-01", false},
		{"zero trace id", "00-" + strings.Repeat("0", 32) + "-00f067aa0ba902b7-01", false},
		{"zero parent id", "00-" + trace + "-0000000000000000-01", false},
		{"short trace id", "00-" + trace[:31] + "-00f067aa0ba902b7-01", false},
		{"bad flags", "00-" + trace + "-00f067aa0ba902b7-0g", false},
		{"wrong separator", "00_" + trace + "-00f067aa0ba902b7-01", false},
		{"empty", "", false},
		{"garbage", "not a traceparent at all, but long enough to pass a length check", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, ok := TraceID(tt.header)
			if ok != tt.ok {
				t.Fatalf("TraceID(%q) ok = %v, want %v", tt.header, ok, tt.ok)
			}
			if ok && got != trace {
				t.Fatalf("TraceID(%q) = %q, want %q", tt.header, got, trace)
			}
			op := OperationID(tt.header)
			if tt.ok && op != trace {
				t.Fatalf("OperationID(%q) = %q, want the trace id", tt.header, op)
			}
			if !tt.ok && (op == trace || strings.Contains(tt.header, op)) {
				t.Fatalf("OperationID(%q) = %q: trusted a malformed header", tt.header, op)
			}
		})
	}
}

func TestOperationIDGeneratesFreshIDs(t *testing.T) {
	valid := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for range 100 {
		id := OperationID("")
		if !valid.MatchString(id) || allZero(id) {
			t.Fatalf("generated id %q is not a valid trace id", id)
		}
		if _, ok := TraceID("00-" + id + "-00f067aa0ba902b7-01"); !ok {
			t.Fatalf("generated id %q is not accepted back", id)
		}
		if seen[id] {
			t.Fatalf("generated id %q twice", id)
		}
		seen[id] = true
	}
}

func TestArgumentsDigest(t *testing.T) {
	want := `{"a":1,"b":{"c":[true,null,"<x>"],"d":1.50}}`
	sum := sha256.Sum256([]byte(want))
	wantHex := hex.EncodeToString(sum[:])

	same := []any{
		json.RawMessage(`{"b": {"d": 1.50, "c": [true, null, "<x>"]}, "a": 1}`),
		[]byte("\n{\"a\":1,\n \"b\":{\"c\":[true,null,\"<x>\"],\"d\":1.50}}\n"),
		want,
		map[string]any{"b": map[string]any{"d": json.Number("1.50"), "c": []any{true, nil, "<x>"}}, "a": 1},
	}
	for i, args := range same {
		n, h := ArgumentsDigest(args)
		if n != len(want) || h != wantHex {
			t.Errorf("case %d: ArgumentsDigest = (%d, %s), want (%d, %s)", i, n, h, len(want), wantHex)
		}
	}

	for _, empty := range []any{nil, json.RawMessage(nil), []byte(""), " null ", json.RawMessage("null")} {
		if n, h := ArgumentsDigest(empty); n != 0 || h != "" {
			t.Errorf("ArgumentsDigest(%#v) = (%d, %q), want (0, \"\")", empty, n, h)
		}
	}

	// Numbers are kept as written: 1 and 1.0 are different arguments.
	_, h1 := ArgumentsDigest(`{"n":1}`)
	_, h2 := ArgumentsDigest(`{"n":1.0}`)
	if h1 == h2 {
		t.Error("1 and 1.0 gave the same digest")
	}

	// Bytes that are not JSON are digested as they are, never echoed.
	notJSON := []byte("name=secret&x=1")
	n, h := ArgumentsDigest(notJSON)
	raw := sha256.Sum256(notJSON)
	if n != len(notJSON) || h != hex.EncodeToString(raw[:]) {
		t.Errorf("non-JSON: got (%d, %s)", n, h)
	}
	if n, h := ArgumentsDigest(map[string]any{"f": func() {}}); n != 0 || h != "" {
		t.Errorf("unencodable value: got (%d, %q), want (0, \"\")", n, h)
	}
}

func TestReceivedArgumentsDigest(t *testing.T) {
	for _, raw := range []string{`{"b": 1, "a":2}`, `{}`, `"not an object"`, "name=secret&x=1"} {
		sum := sha256.Sum256([]byte(raw))
		if n, h := ReceivedArgumentsDigest([]byte(raw)); n != len(raw) || h != hex.EncodeToString(sum[:]) {
			t.Errorf("%s: got (%d, %s)", raw, n, h)
		}
	}
	for _, empty := range []string{"", "null"} {
		if n, h := ReceivedArgumentsDigest([]byte(empty)); n != 0 || h != "" {
			t.Errorf("%q: got (%d, %q), want (0, \"\")", empty, n, h)
		}
	}
}
