package audit

import (
	"bytes"
	"crypto/sha256"
	"encoding/json"
	"fmt"
	"maps"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"
)

// decodeLine decodes one stdout line as the verifier does.
func decodeLine(t *testing.T, line []byte) map[string]any {
	t.Helper()
	m, err := decodeObject(line)
	if err != nil {
		t.Fatalf("decode %s: %v", line, err)
	}
	return m
}

func TestOTelFields(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name string
		e    Event
		want map[string]any // the OpenTelemetry fields; nil value: absent
	}{
		{"tool call ok", Event{Method: "tools/call", ToolName: "save_snippet", ResultCode: ResultOK, AgentID: "app-1", MCPSessionID: "s-1", ProtocolVersion: "2025-11-25"},
			map[string]any{AttrGenAIOperationName: "tools/call", AttrMCPMethodName: "tools/call", AttrGenAIToolName: "save_snippet",
				AttrGenAIAgentID: "app-1", AttrMCPSessionID: "s-1", AttrMCPProtocolVersion: "2025-11-25", AttrErrorType: nil}},
		{"tool call denied", Event{Method: "tools/call", ToolName: "delete_snippet", ResultCode: ResultDenied},
			map[string]any{AttrGenAIOperationName: "tools/call", AttrGenAIToolName: "delete_snippet", AttrErrorType: "denied"}},
		{"read is no tool call", Event{Method: "resources/read", ToolName: "snippet", ResultCode: ResultNotFound},
			map[string]any{AttrGenAIOperationName: "resources/read", AttrMCPMethodName: "resources/read", AttrGenAIToolName: nil, AttrErrorType: "not_found"}},
		{"refused before the protocol", Event{ResultCode: ResultUnauthenticated},
			map[string]any{AttrGenAIOperationName: "", AttrMCPMethodName: "", AttrGenAIAgentID: "", AttrGenAIToolName: nil, AttrErrorType: "unauthenticated"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			b, err := json.Marshal(tt.e)
			if err != nil {
				t.Fatal(err)
			}
			m := decodeLine(t, b)
			for k, want := range tt.want {
				got, ok := m[k]
				switch {
				case want == nil && ok:
					t.Errorf("%s = %v, want it absent", k, got)
				case want != nil && got != want:
					t.Errorf("%s = %v (present %v), want %q", k, got, ok, want)
				}
			}
			// The OTel names repeat the seed's values, never others.
			if m[AttrMCPSessionID] != m["mcp_session_id"] || m[AttrMCPProtocolVersion] != m["protocol_version"] || m[AttrGenAIAgentID] != m["agent_id"] {
				t.Errorf("OTel fields disagree with the seed fields: %s", b)
			}
		})
	}
}

// chainEvents returns events that exercise every canonicalization rule.
func chainEvents() []Event {
	full := fullEvent()
	// Every string field set, so that a field added to Event but not to
	// contentDigest's list changes the JSON digest and fails the test.
	every := full
	v := reflect.ValueOf(&every).Elem()
	for i := range v.NumField() {
		if f := v.Field(i); f.Kind() == reflect.String && f.String() == "" && !strings.HasPrefix(v.Type().Field(i).Name, "Chain") {
			f.SetString("x-" + v.Type().Field(i).Name)
		}
	}
	odd := full
	odd.Message = "quote \" backslash \\ tab \t newline \n nul \x00 bell \x07 del \x7f é € 𝄞 <>& \u2028"
	odd.ToolName = "bad\xffutf8\xc3"
	odd.ApprovalRequired = false
	odd.LatencyMS = 0
	odd.ArgumentsBytes = 0
	odd.ArgumentsSHA256 = ""
	odd.Timestamp = time.Date(2026, 1, 2, 3, 4, 5, 999999999, time.UTC)
	return []Event{full, every, odd, {ResultCode: ResultUnauthenticated, Message: "no credentials"}, {Method: "resources/read", ToolName: "snippet", ResultCode: ResultOK, LatencyMS: 1 << 40}}
}

// The server hashes an Event's fields directly; the verifier hashes the
// decoded line. Both must give the same bytes, for every field: a field
// added to Event but not to contentDigest (or listed out of order) fails.
func TestContentDigestMatchesJSON(t *testing.T) {
	t.Parallel()
	for i, e := range chainEvents() {
		t.Run(fmt.Sprint(i), func(t *testing.T) {
			e.normalize("srv", time.Now())
			b, err := json.Marshal(e)
			if err != nil {
				t.Fatal(err)
			}
			m := decodeLine(t, b)
			if got, want := e.contentDigest(), sha256.Sum256(canonicalFields(m)); got != want {
				t.Fatalf("content digest from the Event %x, from its JSON %x\ncanonical JSON form: %s", got, want, canonicalFields(m))
			}
			// The canonical text is itself valid JSON holding the same values.
			var back map[string]string
			if err := json.Unmarshal(canonicalFields(m), &back); err != nil {
				t.Fatalf("canonical form is not JSON: %v", err)
			}
			if back["message"] != m["message"] {
				t.Errorf("canonical message %q, line message %q", back["message"], m["message"])
			}
		})
	}
}

// An event read back from Log Analytics has all values as strings (the
// Application Insights property bag), possibly numbers as floats, a
// timestamp with more digits, empty fields dropped and ingestion keys
// added; its digest must not change. Any change of a value must.
func TestDigestSurvivesExport(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	aud := New(Options{ServerID: "srv", Warn: &syncBuffer{}}, NewJSONSink(&out))
	for _, e := range chainEvents() {
		aud.Record(e)
	}
	lines := strings.Split(strings.TrimSpace(out.String()), "\n")
	for i, line := range lines {
		m := decodeLine(t, []byte(line))
		want, err := LinkOf(m)
		if err != nil {
			t.Fatal(err)
		}
		props, err := properties(mustEvent(t, line))
		if err != nil {
			t.Fatal(err)
		}
		bag := map[string]any{}
		for k, v := range props {
			if v != "" {
				bag[k] = v // Application Insights: strings only, empty ones possibly dropped
			}
		}
		exported := maps.Clone(bag)
		exported["latency_ms"] = json.Number(props["latency_ms"] + ".0") // re-typed as a real
		exported["chain_seq"] = json.Number(props["chain_seq"])
		exported["timestamp"] = strings.TrimSuffix(props["timestamp"], "Z") + "0000Z" // seven fractional digits
		exported["_MS.ProcessedByMetricExtractors"] = "(Name:'Requests', Ver:'1.1')"

		for name, form := range map[string]map[string]any{"stdout line": m, "property bag": bag, "re-typed export": exported} {
			t.Run(fmt.Sprintf("event %d %s", i, name), func(t *testing.T) {
				got, err := LinkOf(form)
				if err != nil {
					t.Fatal(err)
				}
				if got != want {
					t.Fatalf("got %+v, want %+v", got, want)
				}
			})
		}
		t.Run(fmt.Sprintf("event %d edited", i), func(t *testing.T) {
			for k := range m {
				if k == FieldChainSegment || k == FieldChainSeq || k == FieldChainPrev {
					continue
				}
				edited := maps.Clone(m)
				edited[k] = "x" + fmt.Sprint(m[k])
				if got, _ := LinkOf(edited); got.Digest == want.Digest {
					t.Errorf("changing %s left the digest unchanged", k)
				}
			}
			// The chain fields are hashed too: the digest commits to the
			// event's place and to everything before it.
			for _, k := range []string{FieldChainSegment, FieldChainPrev} {
				edited := maps.Clone(m)
				edited[k] = strings.Repeat("0", 64)
				if got, _ := LinkOf(edited); got.Digest == want.Digest {
					t.Errorf("changing %s left the digest unchanged", k)
				}
			}
			edited := maps.Clone(m)
			edited[FieldChainSeq] = json.Number("12345")
			if got, _ := LinkOf(edited); got.Digest == want.Digest {
				t.Error("changing chain_seq left the digest unchanged")
			}
			added := maps.Clone(m)
			added["injected"] = "value"
			if got, _ := LinkOf(added); got.Digest == want.Digest {
				t.Error("adding a field left the digest unchanged")
			}
		})
	}
}

func mustEvent(t *testing.T, line string) Event {
	t.Helper()
	var e Event
	if err := json.Unmarshal([]byte(line), &e); err != nil {
		t.Fatal(err)
	}
	return e
}

func TestChainLinks(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	aud := New(Options{ServerID: "srv", Warn: &syncBuffer{}}, NewJSONSink(&out))
	seg, seq, head := aud.Head()
	if len(seg) != 32 || seq != 0 || head != Genesis(seg) {
		t.Fatalf("new Auditor head = %q %d %q, want a 32-hex segment, 0, its genesis", seg, seq, head)
	}
	other := New(Options{Warn: &syncBuffer{}})
	if s2, _, _ := other.Head(); s2 == seg {
		t.Fatal("two Auditors share a segment id")
	}
	for range 3 {
		aud.Record(Event{ToolName: "whoami", ChainSeq: 99, ChainSegment: "forged", ChainPrev: "forged"}) // callers cannot set the chain
	}
	prev := Genesis(seg)
	for i, line := range strings.Split(strings.TrimSpace(out.String()), "\n") {
		l, err := LinkOf(decodeLine(t, []byte(line)))
		if err != nil {
			t.Fatal(err)
		}
		if l.Segment != seg || l.Seq != uint64(i+1) || l.Prev != prev {
			t.Errorf("line %d: segment %q seq %d prev %q; want %q %d %q", i+1, l.Segment, l.Seq, l.Prev, seg, i+1, prev)
		}
		prev = l.Digest
	}
	if _, seq, head := aud.Head(); seq != 3 || head != prev {
		t.Errorf("head = %d %q, want 3 %q", seq, head, prev)
	}
}

// Concurrent calls: the stdout lines must be in chain order, 1, 2, 3 ...,
// because the chain is assigned under the lock that writes the line.
func TestChainOrderIsWriteOrder(t *testing.T) {
	t.Parallel()
	var out syncBuffer
	aud := New(Options{ServerID: "srv", Warn: &syncBuffer{}}, NewJSONSink(&out))
	const writers, each = 32, 50
	var wg sync.WaitGroup
	for w := range writers {
		wg.Go(func() {
			for i := range each {
				aud.Record(Event{ToolName: fmt.Sprintf("t%d-%d", w, i), ResultCode: ResultOK})
			}
		})
	}
	wg.Wait()
	in, err := ReadEvents("stdout", strings.NewReader(out.String()))
	if err != nil {
		t.Fatal(err)
	}
	if len(in.Records) != writers*each {
		t.Fatalf("%d lines, want %d", len(in.Records), writers*each)
	}
	for i, r := range in.Records {
		if got := canonicalValue(FieldChainSeq, r.Fields[FieldChainSeq]); got != fmt.Sprint(i+1) {
			t.Fatalf("line %d has chain_seq %s, want %d: stdout order and chain order disagree", i+1, got, i+1)
		}
	}
	if rep := Verify(in, nil); rep.Findings() != 0 {
		var b bytes.Buffer
		rep.WriteText(&b)
		t.Fatalf("verify found problems in a clean concurrent run:\n%s", b.String())
	}
}
