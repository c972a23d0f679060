package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"fmt"
)

// Clients choose some of an event's fields: the tool or prompt name, the
// session id, the protocol version. None of them may turn the audit trail
// into a channel for long or hostile text, so each is validated and
// anything else is recorded as a marked, bounded stand-in: Unknown.

// Unknown stands in for a client-supplied value that is not recorded: its
// length and the first 16 hex digits of its SHA-256, so that repeats can
// still be correlated without the value itself.
func Unknown(v string) string {
	sum := sha256.Sum256([]byte(v))
	return fmt.Sprintf("unknown:%d:%s", len(v), hex.EncodeToString(sum[:8]))
}

// maxSessionID bounds a recorded Mcp-Session-Id.
const maxSessionID = 128

// SessionID is the recorded form of an Mcp-Session-Id header: the value
// when it is at most 128 visible ASCII characters (the spec's alphabet),
// otherwise Unknown.
func SessionID(v string) string {
	if v == "" {
		return ""
	}
	if len(v) > maxSessionID {
		return Unknown(v)
	}
	for i := 0; i < len(v); i++ {
		if v[i] < 0x21 || v[i] > 0x7e {
			return Unknown(v)
		}
	}
	return v
}

// ProtocolVersion is the recorded form of an MCP protocol version: a
// YYYY-MM-DD date string, otherwise Unknown.
func ProtocolVersion(v string) string {
	if len(v) != 10 || v[4] != '-' || v[7] != '-' {
		return Unknown(v)
	}
	for i, c := range []byte(v) {
		if i != 4 && i != 7 && (c < '0' || c > '9') {
			return Unknown(v)
		}
	}
	return v
}

// Name is the recorded form of a tool, prompt or resource name: the name
// when the server knows it, otherwise Unknown.
func Name(v string, known bool) string {
	if known {
		return v
	}
	return Unknown(v)
}
