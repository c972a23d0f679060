package audit

import (
	"bytes"
	"context"
	"encoding/csv"
	"encoding/json"
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// memAnchors is an AnchorStore in memory; err fails every Append, and
// block (when set) holds every Append until it is closed or ctx ends.
type memAnchors struct {
	err   error
	block chan struct{}

	mu    sync.Mutex
	blobs map[string][]byte
	calls int
}

func (m *memAnchors) Append(ctx context.Context, name string, line []byte) error {
	m.mu.Lock()
	m.calls++
	block := m.block
	m.mu.Unlock()
	if block != nil {
		select {
		case <-block:
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	if m.err != nil {
		return m.err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.blobs == nil {
		m.blobs = map[string][]byte{}
	}
	m.blobs[name] = append(m.blobs[name], line...)
	return nil
}

func (m *memAnchors) anchors(t *testing.T) []Anchor {
	t.Helper()
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []Anchor
	for name, b := range m.blobs {
		got, err := ReadAnchors(name, bytes.NewReader(b))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, got...)
	}
	return out
}

// trail records n events through a real Auditor, anchoring after event
// anchorAt (0: never) and at Close, and returns the stdout lines and the
// anchors.
func trail(t *testing.T, n, anchorAt int) ([]string, []Anchor) {
	t.Helper()
	var out syncBuffer
	store := &memAnchors{}
	aud := New(Options{ServerID: "srv-verify", Warn: &syncBuffer{}}, NewJSONSink(&out))
	aud.StartAnchors(AnchorOptions{Store: store, Interval: time.Hour})
	for i := 1; i <= n; i++ {
		aud.Record(Event{Method: "tools/call", ToolName: fmt.Sprint("tool", i), ResultCode: ResultOK, LatencyMS: int64(i)})
		if i == anchorAt {
			if err := aud.anchors.write(t.Context(), false); err != nil {
				t.Fatal(err)
			}
		}
	}
	if err := aud.Close(testCtx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimSpace(out.String()), "\n"), store.anchors(t)
}

func verifyLines(t *testing.T, lines []string, anchors []Anchor) (Report, string) {
	t.Helper()
	in, err := ReadEvents("events.jsonl", strings.NewReader(strings.Join(lines, "\n")+"\n"))
	if err != nil {
		t.Fatal(err)
	}
	rep := Verify(in, anchors)
	var b bytes.Buffer
	rep.WriteText(&b)
	return rep, b.String()
}

// setField rewrites one field of a stdout line, as an editor would.
func setField(t *testing.T, line, key string, v any) string {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal([]byte(line), &m); err != nil {
		t.Fatal(err)
	}
	m[key] = v
	b, _ := json.Marshal(m)
	return string(b)
}

func digestOf(t *testing.T, line string) string {
	t.Helper()
	l, err := LinkOf(decodeLine(t, []byte(line)))
	if err != nil {
		t.Fatal(err)
	}
	return l.Digest
}

func kinds(rep Report) []string {
	var out []string
	for _, s := range rep.Segments {
		for _, f := range s.Findings {
			out = append(out, fmt.Sprintf("%s@%d", f.Kind, f.Seq))
		}
	}
	for _, f := range rep.Unchained {
		out = append(out, f.Kind)
	}
	for range rep.Malformed {
		out = append(out, "malformed")
	}
	return out
}

func TestVerifyFindsTampering(t *testing.T) {
	t.Parallel()
	lines, anchors := trail(t, 8, 4) // anchors at seq 4 and, final, at seq 8
	if len(anchors) != 2 || anchors[0].Seq != 4 || anchors[1].Seq != 8 || !anchors[1].Final || anchors[0].Final {
		t.Fatalf("anchors = %+v, want seq 4 and a final one at seq 8", anchors)
	}
	tests := []struct {
		name   string
		tamper func(l []string) []string
		want   []string // finding kinds @ seq
		text   string   // a phrase of the report
	}{
		{"clean", func(l []string) []string { return l }, nil, "8 events, seq 1-8; 2 anchors, the newest at seq 8"},
		{"one deleted", func(l []string) []string { return slices.Delete(l, 2, 3) }, []string{"missing@3"}, "missing: seq 3 absent"},
		{"first deleted", func(l []string) []string { return l[1:] }, []string{"missing@1"}, "missing: seq 1 absent"},
		{"one edited", func(l []string) []string { l[4] = setField(t, l[4], "result_code", "denied"); return l }, []string{"edited@5"}, "seq 5 (events.jsonl:5) changed"},
		{"anchored event edited", func(l []string) []string { l[3] = setField(t, l[3], "tool_name", "other"); return l }, []string{"edited@4", "edited@4"}, "does not match the anchor"},
		{"edited and the next link rewritten", func(l []string) []string {
			l[2] = setField(t, l[2], "latency_ms", 9999)
			l[3] = setField(t, l[3], FieldChainPrev, digestOf(t, l[2]))
			return l
		}, []string{"edited@4", "edited@4"}, "seq 4 (events.jsonl:4) changed"},
		{"two reordered", func(l []string) []string { l[1], l[2] = l[2], l[1]; return l }, []string{"reordered@2"}, "seq 2 (events.jsonl:3) comes after seq 3"},
		{"renumbered after a deletion", func(l []string) []string {
			l = slices.Delete(l, 2, 3)
			for i := 2; i < len(l); i++ {
				l[i] = setField(t, l[i], FieldChainSeq, i+1)
			}
			return l
		}, nil, "changed"},
		{"tail cut before the final anchor", func(l []string) []string { return l[:6] }, []string{"truncated@7"}, "truncated: seq 7-8 (2 events) absent after the last event present"},
		{"whole segment deleted", func(l []string) []string {
			return []string{`{"event":"tool_call","chain_segment":"` + strings.Repeat("a", 32) + `","chain_seq":1,"chain_prev":"` + Genesis(strings.Repeat("a", 32)) + `"}`}
		}, []string{"truncated@1"}, "all 8 events of the segment absent"},
		{"duplicate copy", func(l []string) []string { return append(l, l[5]) }, []string{"reordered@6"}, "1 duplicate copies ignored"},
		{"forged event without chain", func(l []string) []string { return append(l, `{"event":"tool_call","tool_name":"x"}`) }, []string{"unchained"}, "unchained: events.jsonl:9: no chain_segment"},
		{"broken line", func(l []string) []string { return append(l, `{"event":"tool_call",`) }, []string{"malformed"}, "malformed: events.jsonl:9"},
		{"other log lines", func(l []string) []string { return append([]string{"starting host", "[info] ready"}, l...) }, nil, "2 lines or rows skipped"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rep, text := verifyLines(t, tt.tamper(slices.Clone(lines)), anchors)
			got := kinds(rep)
			if tt.name == "renumbered after a deletion" {
				if len(got) == 0 {
					t.Fatalf("renumbering went unnoticed:\n%s", text)
				}
			} else if !slices.Equal(got, tt.want) {
				t.Errorf("findings %v, want %v\n%s", got, tt.want, text)
			}
			if !strings.Contains(text, tt.text) {
				t.Errorf("report lacks %q:\n%s", tt.text, text)
			}
			if (rep.Findings() == 0) != (len(tt.want) == 0 && tt.name != "renumbered after a deletion") {
				t.Errorf("Findings() = %d with findings %v", rep.Findings(), got)
			}
		})
	}
}

// Events after the newest anchor are reported, not counted as findings:
// only an anchor proves how far a segment went.
func TestVerifyUnanchoredTail(t *testing.T) {
	t.Parallel()
	lines, anchors := trail(t, 6, 3)
	anchors = slices.DeleteFunc(anchors, func(a Anchor) bool { return a.Final }) // the process died: no final anchor
	rep, text := verifyLines(t, lines[:5], anchors)                              // and the last event is gone
	if rep.Findings() != 0 || rep.Segments[0].Unanchored != 2 || !strings.Contains(text, "unanchored: 2 events after seq 3") {
		t.Errorf("findings %v, unanchored %d; want none and 2\n%s", kinds(rep), rep.Segments[0].Unanchored, text)
	}
	rep, text = verifyLines(t, lines, nil)
	if rep.Findings() != 0 || !strings.Contains(text, "no anchor covers this segment") {
		t.Errorf("without anchors: findings %v\n%s", kinds(rep), text)
	}
}

func TestVerifyAnchorContradictions(t *testing.T) {
	t.Parallel()
	lines, anchors := trail(t, 3, 0)
	forged := anchors[0]
	forged.Head = strings.Repeat("f", 64)
	rep, text := verifyLines(t, lines, append(anchors, forged))
	if got := kinds(rep); !slices.Contains(got, "anchor@3") || !slices.Contains(got, "edited@3") {
		t.Errorf("findings %v, want a contradiction at seq 3\n%s", got, text)
	}
}

// exportRows turns stdout lines into Log Analytics rows: the Application
// Insights property bag (strings only), as an object (AppEvents.Properties)
// or as a string of JSON (customEvents.customDimensions), in reverse order.
func exportRows(t *testing.T, lines []string, column string, asString bool) []map[string]any {
	t.Helper()
	var rows []map[string]any
	for _, l := range slices.Backward(lines) {
		props, err := properties(mustEvent(t, l))
		if err != nil {
			t.Fatal(err)
		}
		var bag any = props
		if asString {
			b, _ := json.Marshal(props)
			bag = string(b)
		}
		rows = append(rows, map[string]any{"TimeGenerated": "2026-12-02T09:00:00Z", "Name": AppInsightsEventName, column: bag})
	}
	return rows
}

func TestVerifyExports(t *testing.T) {
	t.Parallel()
	lines, anchors := trail(t, 5, 0)
	appEvents, _ := json.Marshal(exportRows(t, lines, "Properties", false))
	customEvents, _ := json.Marshal(exportRows(t, lines, "customDimensions", true))
	var jsonLines bytes.Buffer
	for _, r := range exportRows(t, lines, "Properties", true) {
		b, _ := json.Marshal(r)
		jsonLines.Write(append(b, '\n'))
	}
	var csvOut bytes.Buffer
	w := csv.NewWriter(&csvOut)
	_ = w.Write([]string{"TimeGenerated [UTC]", "Name", "Properties"})
	for _, r := range exportRows(t, lines, "Properties", true) {
		_ = w.Write([]string{"12/2/2026, 9:00:00.000 AM", AppInsightsEventName, r["Properties"].(string)})
	}
	w.Flush()
	edited := bytes.Replace(appEvents, []byte(`"result_code":"ok"`), []byte(`"result_code":"denied"`), 1)

	tests := []struct {
		name, data string
		findings   int
	}{
		{"AppEvents JSON array", string(appEvents), 0},
		{"customEvents JSON array, bag as a string", string(customEvents), 0},
		{"export as JSON lines", jsonLines.String(), 0},
		{"CSV with a byte order mark", "\xef\xbb\xbf" + csvOut.String(), 0},
		{"export with one bag edited", string(edited), 1},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in, err := ReadEvents("export", strings.NewReader(tt.data))
			if err != nil {
				t.Fatal(err)
			}
			if len(in.Records) != 5 {
				t.Fatalf("read %d records, want 5", len(in.Records))
			}
			rep := Verify(in, anchors)
			var b bytes.Buffer
			rep.WriteText(&b)
			if rep.Findings() != tt.findings || !rep.Segments[0].Final {
				t.Errorf("findings %v, want %d (row order of an export is no finding)\n%s", kinds(rep), tt.findings, b.String())
			}
		})
	}
	// The stdout lines and an export of the same events together: copies.
	in1, _ := ReadEvents("stdout", strings.NewReader(strings.Join(lines, "\n")))
	in2, _ := ReadEvents("export", bytes.NewReader(appEvents))
	in1.Records = append(in1.Records, in2.Records...)
	if rep := Verify(in1, anchors); rep.Findings() != 0 || rep.Segments[0].Duplicates != 5 {
		t.Errorf("stdout plus export: findings %v, duplicates %d; want none and 5", kinds(rep), rep.Segments[0].Duplicates)
	}
}

func TestReadInputErrors(t *testing.T) {
	t.Parallel()
	if in, err := ReadEvents("x", strings.NewReader("a,b\n1,2\n")); err != nil || len(in.Records) != 0 || in.Skipped != 2 {
		t.Errorf("CSV without a bag column: %d records, %d skipped, err %v; want 0, 2 (no events: the command refuses)", len(in.Records), in.Skipped, err)
	}
	for name, data := range map[string]string{
		"JSON array of numbers": "[1,2]",
		"CSV row not closed":    "Properties\n\"{\n",
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := ReadEvents("x", strings.NewReader(data)); err == nil {
				t.Error("got no error")
			}
		})
	}
	if _, err := ReadAnchors("a", strings.NewReader(`{"chain_segment":"s"}`)); err == nil || !strings.Contains(err.Error(), "a:1") {
		t.Errorf("anchor without head: err = %v, want one naming a:1", err)
	}
}
