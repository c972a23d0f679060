package audit

import (
	"bufio"
	"bytes"
	"encoding/csv"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"strings"
)

// Record is one audit event read back for verification.
type Record struct {
	Source  string         // "file:line" (or "file:row N")
	File    string         // the input it came from
	Ordered bool           // a stdout stream, where input order is write order; an export's row order means nothing
	Fields  map[string]any // the event's fields, as decoded with UseNumber
}

// Input says what ReadEvents found besides the records.
type Input struct {
	Records   []Record
	Skipped   int      // lines or rows that are not audit events (other log lines, other event types)
	Malformed []string // lines that look like an event but do not decode: sources
}

// Bag columns of the Log Analytics exports: AppEvents (workspace) and
// customEvents (the Application Insights resource's own Logs blade).
var bagColumns = []string{"Properties", "customDimensions"}

// ReadEvents reads audit events from r in one of the forms the verifier
// accepts, told apart by the first byte that is not white space:
//
//   - '{': JSON lines. A line holding an event's fields (the stdout sink)
//     is an ordered record; a line holding a row with a Properties or
//     customDimensions column (an export as JSON lines) is not.
//   - '[': a JSON array of rows (az monitor log-analytics query -o json,
//     or the portal's JSON export), each with Properties or
//     customDimensions as an object or as a string of JSON.
//   - a first line naming a Properties or customDimensions column: CSV
//     with a header row (the portal's CSV export), that column holding JSON.
//   - anything else: JSON lines after other log lines.
//
// Lines that are not JSON objects (other log output) and rows without an
// "event" field are skipped and counted.
func ReadEvents(name string, r io.Reader) (Input, error) {
	br := bufio.NewReader(r)
	first, err := firstByte(br)
	if err == io.EOF {
		return Input{}, nil
	}
	if err != nil {
		return Input{}, fmt.Errorf("read %s: %w", name, err)
	}
	switch first {
	case '{':
		return readJSONLines(name, br)
	case '[':
		return readJSONArray(name, br)
	}
	if isCSVHeader(br) {
		return readCSV(name, br)
	}
	return readJSONLines(name, br) // other log lines first
}

// isCSVHeader reports whether the first line names a bag column.
func isCSVHeader(br *bufio.Reader) bool {
	head, _ := br.Peek(64 << 10)
	if i := bytes.IndexByte(head, '\n'); i >= 0 {
		head = head[:i]
	}
	for _, c := range bagColumns {
		if bytes.Contains(bytes.ToLower(head), bytes.ToLower([]byte(c))) {
			return true
		}
	}
	return false
}

func firstByte(br *bufio.Reader) (byte, error) {
	for {
		b, err := br.Peek(1)
		if err != nil {
			return 0, err
		}
		switch b[0] {
		case ' ', '\t', '\r', '\n':
			_, _ = br.ReadByte()
			continue
		case 0xEF: // a UTF-8 byte order mark, as spreadsheet exports write
			if bom, _ := br.Peek(3); bytes.Equal(bom, []byte{0xEF, 0xBB, 0xBF}) {
				_, _ = br.Discard(3)
				continue
			}
		}
		return b[0], nil
	}
}

func decodeObject(b []byte) (map[string]any, error) {
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	var m map[string]any
	if err := dec.Decode(&m); err != nil {
		return nil, err
	}
	if dec.More() {
		return nil, errors.New("more than one JSON value")
	}
	return m, nil
}

// fromRow takes the event out of an export row: the bag column, as an
// object or a string of JSON. ok is false when the row has no bag.
func fromRow(row map[string]any) (fields map[string]any, ok bool, err error) {
	for k, v := range row {
		for _, col := range bagColumns {
			if !strings.EqualFold(strings.TrimSpace(k), col) {
				continue
			}
			switch v := v.(type) {
			case map[string]any:
				return v, true, nil
			case string:
				m, err := decodeObject([]byte(v))
				if err != nil {
					return nil, true, fmt.Errorf("column %s is not a JSON object: %w", k, err)
				}
				return m, true, nil
			case nil:
				return nil, true, nil
			default:
				return nil, true, fmt.Errorf("column %s holds %T, not an object", k, v)
			}
		}
	}
	return nil, false, nil
}

// add files a decoded object: an event, an export row, or neither.
func (in *Input) add(name, source string, m map[string]any, ordered bool) {
	if bag, isRow, err := fromRow(m); isRow {
		if err != nil {
			in.Malformed = append(in.Malformed, source)
			return
		}
		m, ordered = bag, false
	}
	if m == nil || (m["event"] == nil && m[FieldChainSegment] == nil) {
		in.Skipped++
		return
	}
	in.Records = append(in.Records, Record{Source: source, File: name, Ordered: ordered, Fields: m})
}

func readJSONLines(name string, r io.Reader) (Input, error) {
	var in Input
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 16<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		source := fmt.Sprintf("%s:%d", name, n)
		if line[0] != '{' {
			in.Skipped++
			continue
		}
		m, err := decodeObject(line)
		if err != nil {
			in.Malformed = append(in.Malformed, source)
			continue
		}
		in.add(name, source, m, true)
	}
	if err := sc.Err(); err != nil {
		return Input{}, fmt.Errorf("read %s: %w", name, err)
	}
	return in, nil
}

func readJSONArray(name string, r io.Reader) (Input, error) {
	dec := json.NewDecoder(r)
	dec.UseNumber()
	var rows []map[string]any
	if err := dec.Decode(&rows); err != nil {
		return Input{}, fmt.Errorf("read %s: not a JSON array of objects: %w", name, err)
	}
	var in Input
	for i, row := range rows {
		in.add(name, fmt.Sprintf("%s:row %d", name, i+1), row, false)
	}
	return in, nil
}

func readCSV(name string, r io.Reader) (Input, error) {
	cr := csv.NewReader(r)
	cr.FieldsPerRecord = -1
	header, err := cr.Read()
	if err != nil {
		return Input{}, fmt.Errorf("read %s: not JSON lines, a JSON array or CSV: %w", name, err)
	}
	col := -1
	for i, h := range header {
		for _, c := range bagColumns {
			if strings.EqualFold(strings.TrimSpace(h), c) {
				col = i
			}
		}
	}
	if col < 0 {
		return Input{}, fmt.Errorf("read %s: the CSV header has no %s column", name, strings.Join(bagColumns, " or "))
	}
	var in Input
	for n := 1; ; n++ {
		rec, err := cr.Read()
		if err == io.EOF {
			break
		}
		source := fmt.Sprintf("%s:row %d", name, n)
		if err != nil {
			return Input{}, fmt.Errorf("read %s: %w", source, err)
		}
		if col >= len(rec) {
			in.Malformed = append(in.Malformed, source)
			continue
		}
		in.add(name, source, map[string]any{header[col]: rec[col]}, false)
	}
	return in, nil
}

// ReadAnchors reads anchor lines (the anchors blobs, downloaded), one JSON
// object a line; blank lines are skipped, anything else is an error.
func ReadAnchors(name string, r io.Reader) ([]Anchor, error) {
	var out []Anchor
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for n := 1; sc.Scan(); n++ {
		line := bytes.TrimSpace(sc.Bytes())
		if len(line) == 0 {
			continue
		}
		var a Anchor
		if err := json.Unmarshal(line, &a); err != nil {
			return nil, fmt.Errorf("%s:%d: not an anchor: %w", name, n, err)
		}
		if a.Segment == "" || len(a.Head) != 64 {
			return nil, fmt.Errorf("%s:%d: not an anchor: no %s or no 64-hex chain_head", name, n, FieldChainSegment)
		}
		out = append(out, a)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("read %s: %w", name, err)
	}
	return out, nil
}
