package audit

import (
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"strings"
)

// OperationID returns the trace id of a W3C traceparent header, or a fresh
// random trace id when the header is absent or malformed. A malformed header
// is never trusted, not even in part.
func OperationID(traceparent string) string {
	if id, ok := TraceID(traceparent); ok {
		return id
	}
	return newTraceID()
}

// TraceID parses a W3C traceparent ("00-<32 hex>-<16 hex>-<2 hex>") and
// returns its trace id. It accepts future versions as the W3C Trace Context
// recommendation asks (same four fields, optionally followed by "-..."), and
// rejects version ff, upper-case hex, and all-zero trace or parent ids.
func TraceID(traceparent string) (string, bool) {
	s := strings.TrimSpace(traceparent)
	if len(s) < 55 {
		return "", false
	}
	version := s[0:2]
	if !isHex(version) || version == "ff" {
		return "", false
	}
	switch {
	case version == "00" && len(s) != 55:
		return "", false
	case len(s) > 55 && s[55] != '-':
		return "", false
	}
	if s[2] != '-' || s[35] != '-' || s[52] != '-' {
		return "", false
	}
	traceID, parentID, flags := s[3:35], s[36:52], s[53:55]
	if !isHex(traceID) || !isHex(parentID) || !isHex(flags) {
		return "", false
	}
	if allZero(traceID) || allZero(parentID) {
		return "", false
	}
	return traceID, true
}

// isHex reports whether s is non-empty lower-case hexadecimal.
func isHex(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'f') {
			return false
		}
	}
	return s != ""
}

func allZero(s string) bool { return strings.Trim(s, "0") == "" }

// newTraceID returns 16 random bytes in hex, never all zeros.
func newTraceID() string {
	var b [16]byte
	for {
		rand.Read(b[:]) // never fails (crypto/rand documents it panics instead)
		if id := hex.EncodeToString(b[:]); !allZero(id) {
			return id
		}
	}
}

// ArgumentsDigest returns the size and the SHA-256 (hex) of the canonical
// JSON form of a tool call's arguments: object keys sorted, no insignificant
// white space, numbers as written. It lets an investigator match a call to
// known arguments without the event holding their values. args may be a
// json.RawMessage, a []byte, a string of JSON, or any value encoding/json
// accepts (typically map[string]any). Absent arguments (nil, empty, JSON
// null) give (0, ""). Bytes that are not JSON are digested as they are.
func ArgumentsDigest(args any) (int, string) {
	var raw []byte
	switch v := args.(type) {
	case nil:
		return 0, ""
	case json.RawMessage:
		raw = v
	case []byte:
		raw = v
	case string:
		raw = []byte(v)
	default:
		b, err := json.Marshal(v)
		if err != nil {
			// Not encodable (a channel, a func): nothing to digest, and
			// nothing of the value must leak into the event either.
			return 0, ""
		}
		raw = b
	}
	canon := canonicalJSON(raw)
	if len(canon) == 0 {
		return 0, ""
	}
	sum := sha256.Sum256(canon)
	return len(canon), hex.EncodeToString(sum[:])
}

// ReceivedArgumentsDigest returns the size and the SHA-256 (hex) of a tool
// call's arguments exactly as the client sent them: the bytes of the
// "arguments" value in the request, not re-encoded. Absent arguments (empty,
// or JSON null) give (0, ""). It is what a tools/call event records: hashing
// what arrived costs a pass over the bytes, where ArgumentsDigest decodes and
// encodes them again.
func ReceivedArgumentsDigest(raw []byte) (int, string) {
	if len(raw) == 0 || string(raw) == "null" {
		return 0, ""
	}
	sum := sha256.Sum256(raw)
	return len(raw), hex.EncodeToString(sum[:])
}

// canonicalJSON re-encodes raw with sorted keys and no spaces; input that is
// not one JSON value is returned unchanged. null and empty give nil.
func canonicalJSON(raw []byte) []byte {
	raw = bytes.TrimSpace(raw)
	if len(raw) == 0 || bytes.Equal(raw, []byte("null")) {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber() // keep numbers exactly as written
	var v any
	if err := dec.Decode(&v); err != nil || dec.More() {
		return raw
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return raw
	}
	return bytes.TrimSuffix(buf.Bytes(), []byte("\n"))
}
