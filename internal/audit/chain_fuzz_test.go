package audit

import (
	"crypto/sha256"
	"encoding/json"
	"testing"
	"time"
)

// FuzzContentDigest: for any field values, the digest the server computes
// from the Event equals the one the verifier computes from the JSON line,
// and from the Application Insights property bag of the same event.
func FuzzContentDigest(f *testing.F) {
	f.Add("save_snippet", "tools/call", "ok", "approval required", "s-1", int64(87), 42, true, int64(1764666000123))
	f.Add("bad\xffutf8", "", "denied", "tab\tquote\"nul\x00 \u2028 é", "", int64(-1), 0, false, int64(0))
	f.Fuzz(func(t *testing.T, tool, method, code, msg, session string, latency int64, argBytes int, approval bool, ms int64) {
		e := Event{ToolName: tool, Method: method, ResultCode: code, Message: msg, MCPSessionID: session,
			LatencyMS: latency, ArgumentsBytes: argBytes, ApprovalRequired: approval, Timestamp: time.UnixMilli(ms % (1 << 45))}
		e.normalize("srv", time.Now())
		b, err := json.Marshal(e)
		if err != nil {
			t.Skip()
		}
		m, err := decodeObject(b)
		if err != nil {
			t.Fatalf("the line does not decode: %v", err)
		}
		want := e.contentDigest()
		if got := sha256.Sum256(canonicalFields(m)); got != want {
			t.Fatalf("digest from the line differs:\n%s", canonicalFields(m))
		}
		props, err := properties(e)
		if err != nil {
			t.Fatal(err)
		}
		bag := map[string]any{}
		for k, v := range props {
			bag[k] = v
		}
		if got := sha256.Sum256(canonicalFields(bag)); got != want {
			t.Fatalf("digest from the property bag differs:\n%s\n%s", canonicalFields(bag), canonicalFields(m))
		}
	})
}
