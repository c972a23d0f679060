package audit

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// The hash chain. Every event an Auditor writes gets the next sequence
// number of this process's segment and the digest of the event before it,
// so that a missing, reordered or edited event shows. The digest is
// computed over a canonical form of the event's fields, not over the bytes
// of the stdout line, so that the same event read back from Log Analytics
// (properties as a bag of strings, keys in any order, numbers re-typed)
// verifies too. docs/AUDIT.md ("Tamper evidence") is the specification;
// this file and Digest below implement it.

// Chain field names; the KQL and the verifier use them.
const (
	FieldChainSegment = "chain_segment"
	FieldChainSeq     = "chain_seq"
	FieldChainPrev    = "chain_prev"
)

// chainDomain starts every hashed text, so that no other digest (of
// arguments, say) can be mistaken for a chain digest.
const chainDomain = "snippets-mcp audit chain v1\n"

// ignoredPrefix marks keys that Application Insights ingestion may add to a
// property bag; the server never writes a key starting with "_".
const ignoredPrefix = "_"

// Fields whose values are canonicalized by type, whatever type the export
// gives them.
var (
	numberFields = map[string]bool{"latency_ms": true, "arguments_bytes": true}
	boolFields   = map[string]bool{"approval_required": true}
)

// Genesis is the chain_prev of a segment's first event: the hex SHA-256 of
// chainDomain followed by the segment id and a newline.
func Genesis(segment string) string {
	sum := sha256.Sum256([]byte(chainDomain + segment + "\n"))
	return hex.EncodeToString(sum[:])
}

// link returns the hex digest of one event: SHA-256 over
// chainDomain, segment, seq (decimal), prev and the hex content digest,
// each followed by a newline.
func link(segment string, seq uint64, prev string, content [32]byte) string {
	var stack [256]byte
	b := append(stack[:0], chainDomain...)
	b = append(b, segment...)
	b = append(b, '\n')
	b = strconv.AppendUint(b, seq, 10)
	b = append(b, '\n')
	b = append(b, prev...)
	b = append(b, '\n')
	b = hex.AppendEncode(b, content[:])
	b = append(b, '\n')
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// chain is one segment's state. The Auditor holds its lock around link
// and the writes, so sequence order is write order.
type chain struct {
	segment string
	seq     uint64
	head    string // digest of event seq; Genesis(segment) before the first
}

func newChain() *chain {
	seg := newTraceID() // 128 random bits, hex
	return &chain{segment: seg, head: Genesis(seg)}
}

// next sets e's chain fields and advances the head. content is e's
// content digest, computed before the lock was taken.
func (c *chain) next(e *Event, content [32]byte) {
	c.seq++
	e.ChainSegment, e.ChainSeq, e.ChainPrev = c.segment, c.seq, c.head
	c.head = link(c.segment, c.seq, c.head, content)
}

// The canonical text of an event's fields: a JSON object
// with the keys in byte order, every value a JSON string, fields with an
// empty value left out, strings escaped as RFC 8785 does (only '"', '\\'
// and control characters; \b \t \n \f \r by name, others as \u00xx).
// The text is built by appendField and closed by endFields.

// appendField appends "key":"value" (with the separator) unless v is empty.
func appendField(b []byte, key, v string) []byte {
	if v == "" {
		return b
	}
	b = appendSep(b)
	b = appendQuoted(b, key)
	b = append(b, ':')
	return appendQuoted(b, v)
}

// appendFieldBytes is appendField for a value formatted into a buffer of
// the caller's (digits, a timestamp: nothing to escape).
func appendFieldBytes(b []byte, key string, v []byte) []byte {
	if len(v) == 0 {
		return b
	}
	b = appendSep(b)
	b = appendQuoted(b, key)
	b = append(b, ':', '"')
	b = append(b, v...)
	return append(b, '"')
}

func appendSep(b []byte) []byte {
	if len(b) == 0 {
		return append(b, '{')
	}
	return append(b, ',')
}

func endFields(b []byte) []byte {
	if len(b) == 0 {
		return append(b, '{', '}')
	}
	return append(b, '}')
}

// special marks the bytes appendQuoted must look at: control characters,
// '"', '\\' and the bytes of multi-byte (or invalid) UTF-8.
var special = func() (t [256]bool) {
	for i := range t {
		t[i] = i < 0x20 || i == '"' || i == '\\' || i >= utf8.RuneSelf
	}
	return t
}()

// appendQuoted appends s as a JSON string, copying runs of bytes that
// need no escape at once.
func appendQuoted(b []byte, s string) []byte {
	const hexDigits = "0123456789abcdef"
	b = append(b, '"')
	start := 0
	for i := 0; i < len(s); {
		ch := s[i]
		if !special[ch] {
			i++
			continue
		}
		if ch >= utf8.RuneSelf {
			r, size := utf8.DecodeRuneInString(s[i:])
			if r == utf8.RuneError && size == 1 {
				// encoding/json writes each invalid byte as U+FFFD, so the
				// line read back holds that: hash what the reader sees.
				b = append(b, s[start:i]...)
				b = utf8.AppendRune(b, utf8.RuneError)
				start = i + 1
			}
			i += size
			continue
		}
		b = append(b, s[start:i]...)
		switch ch {
		case '"', '\\':
			b = append(b, '\\', ch)
		case '\b':
			b = append(b, '\\', 'b')
		case '\t':
			b = append(b, '\\', 't')
		case '\n':
			b = append(b, '\\', 'n')
		case '\f':
			b = append(b, '\\', 'f')
		case '\r':
			b = append(b, '\\', 'r')
		default:
			b = append(b, '\\', 'u', '0', '0', hexDigits[ch>>4], hexDigits[ch&0xf])
		}
		i++
		start = i
	}
	b = append(b, s[start:]...)
	return append(b, '"')
}

// contentDigest is the SHA-256 of e's canonical content: every field of
// its JSON form except the chain fields. The keys are listed here in byte
// order (TestContentDigestMatchesJSON holds this list to the JSON form).
func (e *Event) contentDigest() [32]byte {
	o := e.otel()
	var stack [2048]byte // the canonical text of a normal event fits: no allocation
	var num [24]byte
	c := stack[:0]
	c = appendField(c, "actor_id", e.ActorID)
	c = appendField(c, "agent_blueprint", e.AgentBlueprint)
	c = appendField(c, "agent_id", e.AgentID)
	c = appendField(c, "agent_inventory", e.AgentInventory)
	c = appendField(c, "agent_name", e.AgentName)
	c = appendField(c, "agent_owner", e.AgentOwner)
	c = appendField(c, "approval_required", boolText(e.ApprovalRequired))
	c = appendField(c, "approval_result", e.ApprovalResult)
	c = appendFieldBytes(c, "arguments_bytes", strconv.AppendInt(num[:0], int64(e.ArgumentsBytes), 10))
	c = appendField(c, "arguments_sha256", e.ArgumentsSHA256)
	c = appendField(c, "authorization_mode", e.AuthorizationMode)
	c = appendField(c, "caller_identity", e.CallerIdentity)
	c = appendField(c, "caller_kind", e.CallerKind)
	c = appendField(c, "downstream_resource", e.DownstreamResource)
	c = appendField(c, AttrErrorType, o.ErrorType)
	c = appendField(c, "event", e.Event)
	c = appendField(c, AttrGenAIAgentID, o.GenAIAgentID)
	c = appendField(c, AttrGenAIConversationID, o.GenAIConversation)
	c = appendField(c, AttrGenAIOperationName, o.GenAIOperationName)
	c = appendField(c, AttrGenAIToolName, o.GenAIToolName)
	c = appendFieldBytes(c, "latency_ms", strconv.AppendInt(num[:0], e.LatencyMS, 10))
	c = appendField(c, AttrMCPMethodName, o.MCPMethodName)
	c = appendField(c, AttrMCPProtocolVersion, o.MCPProtocolVersion)
	c = appendField(c, AttrMCPSessionID, o.MCPSessionID)
	c = appendField(c, "mcp_session_id", e.MCPSessionID)
	c = appendField(c, "message", e.Message)
	c = appendField(c, "method", e.Method)
	c = appendField(c, "operation_id", e.OperationID)
	c = appendField(c, "policy_digest", e.PolicyDigest)
	c = appendField(c, "protocol_version", e.ProtocolVersion)
	c = appendField(c, "result_code", e.ResultCode)
	c = appendField(c, "server_id", e.ServerID)
	c = appendField(c, "subject_id", e.SubjectID)
	c = appendField(c, "tenant_id", e.TenantID)
	c = appendFieldBytes(c, "timestamp", e.Timestamp.UTC().AppendFormat(num[:0], timeLayout))
	c = appendField(c, "tool_name", e.ToolName)
	return sha256.Sum256(endFields(c))
}

func boolText(b bool) string {
	if b {
		return "true"
	}
	return "false"
}

// canonicalFields is the canonical text of a decoded event (a stdout line,
// or a Log Analytics property bag), decoded with json.Decoder.UseNumber.
// It is what contentDigest hashes, built from the other side: keys sorted,
// chain fields and ingestion keys ("_…") left out, every value turned into
// the string the server would have written.
func canonicalFields(m map[string]any) []byte {
	keys := make([]string, 0, len(m))
	for k := range m {
		if k == FieldChainSegment || k == FieldChainSeq || k == FieldChainPrev || strings.HasPrefix(k, ignoredPrefix) {
			continue
		}
		keys = append(keys, k)
	}
	slices.Sort(keys)
	c := make([]byte, 0, 1024)
	for _, k := range keys {
		c = appendField(c, k, canonicalValue(k, m[k]))
	}
	return endFields(c)
}

// canonicalValue renders v as the server writes field k: integers in
// decimal, booleans as true/false, the timestamp as RFC 3339 UTC with
// milliseconds, strings as they are; null as absent.
func canonicalValue(k string, v any) string {
	var s string
	switch v := v.(type) {
	case nil:
		return ""
	case string:
		s = v
	case bool:
		return strconv.FormatBool(v)
	case json.Number:
		return canonicalNumber(v.String())
	case float64:
		return canonicalNumber(strconv.FormatFloat(v, 'g', -1, 64))
	default:
		// The server writes no arrays or objects: keep the value
		// (its digest then differs, as an edit should).
		b, _ := json.Marshal(v)
		return string(b)
	}
	switch {
	case numberFields[k]:
		return canonicalNumber(s)
	case boolFields[k]:
		if b, err := strconv.ParseBool(s); err == nil {
			return strconv.FormatBool(b)
		}
	case k == "timestamp":
		if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
			return t.UTC().Format(timeLayout)
		}
	}
	return s
}

// canonicalNumber writes an integral number in decimal without exponent
// or fraction ("87", not "87.0" or "8.7e1"); anything else as Go's
// shortest float form, or unchanged when it is not a number.
func canonicalNumber(s string) string {
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return strconv.FormatInt(i, 10)
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil {
		return s
	}
	if f == math.Trunc(f) && math.Abs(f) < 1<<63 {
		return strconv.FormatInt(int64(f), 10)
	}
	return strconv.FormatFloat(f, 'g', -1, 64)
}

// Link is what one decoded event says of its place in a chain, and its
// own digest, recomputed from its fields.
type Link struct {
	Segment string // chain_segment
	Seq     uint64 // chain_seq
	Prev    string // chain_prev as written
	Digest  string // this event's digest: what the next event's chain_prev must be
}

// LinkOf recomputes the chain digest of a decoded event. It fails when the
// chain fields are missing or malformed.
func LinkOf(m map[string]any) (Link, error) {
	seg, _ := m[FieldChainSegment].(string)
	prev, _ := m[FieldChainPrev].(string)
	if seg == "" {
		return Link{}, fmt.Errorf("no %s", FieldChainSegment)
	}
	seqText := canonicalValue(FieldChainSeq, m[FieldChainSeq])
	seq, err := strconv.ParseUint(canonicalNumber(seqText), 10, 64)
	if err != nil || seq == 0 {
		return Link{}, fmt.Errorf("%s %q is not a positive integer", FieldChainSeq, seqText)
	}
	content := sha256.Sum256(canonicalFields(m))
	return Link{Segment: seg, Seq: seq, Prev: prev, Digest: link(seg, seq, prev, content)}, nil
}
