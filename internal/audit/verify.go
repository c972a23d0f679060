package audit

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"sort"
	"strings"
	"time"
)

// Finding kinds, as the verifier reports them.
const (
	FindMissing   = "missing"   // sequence numbers absent between events that are present
	FindReordered = "reordered" // a stdout stream holds an event after one with a higher seq
	FindEdited    = "edited"    // an event's digest does not match the next event's chain_prev, or an anchor, or another copy
	FindTruncated = "truncated" // events an anchor proves were written are absent after the last one present
	FindUnchained = "unchained" // an event without valid chain fields
	FindAnchor    = "anchor"    // anchors that contradict each other
)

// Finding is one problem the verifier found.
type Finding struct {
	Kind   string
	Seq    uint64 // the event it concerns (the first of a range)
	Detail string
}

// SegmentReport is what the verifier found in one segment.
type SegmentReport struct {
	Segment    string
	ServerID   string // from the events or the anchors
	Events     int    // distinct events present
	Duplicates int    // identical copies of events already counted (several inputs, or re-ingestion)
	FirstSeq   uint64
	LastSeq    uint64
	Anchors    int
	AnchorSeq  uint64    // seq of the newest anchor
	AnchorTime time.Time // and when it was taken
	Final      bool      // the newest anchor is the one written at shutdown
	Unanchored int       // events after AnchorSeq: no anchor proves them yet
	Findings   []Finding
}

// Report is the verifier's result over all inputs.
type Report struct {
	Segments  []SegmentReport // by first event time, then id
	Unchained []Finding       // events without usable chain fields
	Malformed []string        // sources of lines that look like events but do not decode
	Skipped   int             // lines and rows that are not audit events
}

// Findings counts everything the verifier reports as a problem.
func (r Report) Findings() int {
	n := len(r.Unchained) + len(r.Malformed)
	for _, s := range r.Segments {
		n += len(s.Findings)
	}
	return n
}

type entry struct {
	link Link
	rec  Record
}

// Verify checks events against each other and against anchors, segment by
// segment: every seq from 1 to the newest present or anchored one must be
// there exactly once, each event's chain_prev must be the digest of the
// one before (the genesis digest for seq 1), each anchor's head the digest
// of the event at its seq, and in an ordered input (stdout) the events
// must appear in seq order.
func Verify(in Input, anchors []Anchor) Report {
	rep := Report{Skipped: in.Skipped, Malformed: in.Malformed}
	type segData struct {
		bySeq   map[uint64]entry
		dups    int
		finds   []Finding
		first   time.Time
		server  string
		anchors []Anchor
	}
	segs := map[string]*segData{}
	get := func(id string) *segData {
		s := segs[id]
		if s == nil {
			s = &segData{bySeq: map[uint64]entry{}}
			segs[id] = s
		}
		return s
	}
	type streamKey struct{ file, seg string }
	maxSeen := map[streamKey]entry{}
	for _, rec := range in.Records {
		l, err := LinkOf(rec.Fields)
		if err != nil {
			rep.Unchained = append(rep.Unchained, Finding{Kind: FindUnchained, Detail: rec.Source + ": " + err.Error()})
			continue
		}
		s := get(l.Segment)
		if ts, ok := rec.Fields["timestamp"].(string); ok {
			if t, err := time.Parse(time.RFC3339Nano, ts); err == nil && (s.first.IsZero() || t.Before(s.first)) {
				s.first = t
			}
		}
		if id, ok := rec.Fields["server_id"].(string); ok && s.server == "" {
			s.server = id
		}
		if rec.Ordered {
			k := streamKey{rec.File, l.Segment}
			if prev, ok := maxSeen[k]; ok && l.Seq < prev.link.Seq {
				s.finds = append(s.finds, Finding{Kind: FindReordered, Seq: l.Seq,
					Detail: fmt.Sprintf("seq %d (%s) comes after seq %d (%s)", l.Seq, rec.Source, prev.link.Seq, prev.rec.Source)})
			} else {
				maxSeen[k] = entry{l, rec}
			}
		}
		if old, ok := s.bySeq[l.Seq]; ok {
			if old.link.Digest == l.Digest && old.link.Prev == l.Prev {
				s.dups++
				continue
			}
			s.finds = append(s.finds, Finding{Kind: FindEdited, Seq: l.Seq,
				Detail: fmt.Sprintf("two different events claim seq %d (%s and %s)", l.Seq, old.rec.Source, rec.Source)})
			continue
		}
		s.bySeq[l.Seq] = entry{l, rec}
	}
	for _, a := range anchors {
		s := get(a.Segment)
		s.anchors = append(s.anchors, a)
		if s.server == "" {
			s.server = a.ServerID
		}
		if s.first.IsZero() || (!a.Time.IsZero() && a.Time.Before(s.first)) {
			s.first = a.Time
		}
	}

	for id, s := range segs {
		sr := SegmentReport{Segment: id, ServerID: s.server, Events: len(s.bySeq), Duplicates: s.dups, Findings: s.finds}
		seqs := make([]uint64, 0, len(s.bySeq))
		for q := range s.bySeq {
			seqs = append(seqs, q)
		}
		slices.Sort(seqs)
		if len(seqs) > 0 {
			sr.FirstSeq, sr.LastSeq = seqs[0], seqs[len(seqs)-1]
		}

		// Anchors: ordered by seq; one seq, one head; each head matches
		// its event when that event is present.
		slices.SortFunc(s.anchors, func(x, y Anchor) int {
			if x.Seq != y.Seq {
				return cmp.Compare(x.Seq, y.Seq)
			}
			return x.Time.Compare(y.Time)
		})
		heads := map[uint64]string{}
		for i, a := range s.anchors {
			if h, ok := heads[a.Seq]; ok && h != a.Head {
				sr.Findings = append(sr.Findings, Finding{Kind: FindAnchor, Seq: a.Seq, Detail: fmt.Sprintf("two anchors name different heads for seq %d", a.Seq)})
			}
			heads[a.Seq] = a.Head
			if i > 0 && a.Time.Before(s.anchors[i-1].Time) && a.Seq > s.anchors[i-1].Seq {
				sr.Findings = append(sr.Findings, Finding{Kind: FindAnchor, Seq: a.Seq,
					Detail: fmt.Sprintf("the anchor of seq %d is older (%s) than that of seq %d", a.Seq, stamp(a.Time), s.anchors[i-1].Seq)})
			}
			switch e, ok := s.bySeq[a.Seq]; {
			case a.Seq == 0 && a.Head != Genesis(id):
				sr.Findings = append(sr.Findings, Finding{Kind: FindAnchor, Detail: "the anchor of seq 0 does not name the segment's genesis digest"})
			case ok && e.link.Digest != a.Head:
				sr.Findings = append(sr.Findings, Finding{Kind: FindEdited, Seq: a.Seq,
					Detail: fmt.Sprintf("seq %d (%s) does not match the anchor of %s", a.Seq, e.rec.Source, stamp(a.Time))})
			}
		}
		sr.Anchors = len(s.anchors)
		if n := len(s.anchors); n > 0 {
			last := s.anchors[n-1]
			sr.AnchorSeq, sr.AnchorTime = last.Seq, last.Time
			for _, a := range s.anchors {
				sr.Final = sr.Final || (a.Final && a.Seq == last.Seq)
			}
		}

		// Every seq from 1 to the newest known must be present.
		var prev uint64
		for _, q := range seqs {
			if q > prev+1 {
				sr.Findings = append(sr.Findings, Finding{Kind: FindMissing, Seq: prev + 1, Detail: "seq " + span(prev+1, q-1) + " absent"})
			}
			prev = q
		}
		if sr.AnchorSeq > sr.LastSeq {
			what := "seq " + span(sr.LastSeq+1, sr.AnchorSeq) + " absent after the last event present"
			if len(seqs) == 0 {
				what = "all " + fmt.Sprint(sr.AnchorSeq) + " events of the segment absent"
			}
			sr.Findings = append(sr.Findings, Finding{Kind: FindTruncated, Seq: sr.LastSeq + 1,
				Detail: fmt.Sprintf("%s, but the anchor of %s proves seq %d was written", what, stamp(sr.AnchorTime), sr.AnchorSeq)})
		}
		if sr.LastSeq > sr.AnchorSeq {
			for _, q := range seqs {
				if q > sr.AnchorSeq {
					sr.Unanchored++
				}
			}
		}

		// Each link: chain_prev of seq k is the digest of seq k-1.
		for _, q := range seqs {
			e := s.bySeq[q]
			switch before, ok := s.bySeq[q-1]; {
			case q == 1 && e.link.Prev != Genesis(id):
				sr.Findings = append(sr.Findings, Finding{Kind: FindEdited, Seq: 1, Detail: fmt.Sprintf("seq 1 (%s): chain_prev is not the segment's genesis digest", e.rec.Source)})
			case q > 1 && ok && before.link.Digest != e.link.Prev:
				sr.Findings = append(sr.Findings, Finding{Kind: FindEdited, Seq: q - 1,
					Detail: fmt.Sprintf("seq %d (%s) changed: its digest is not the chain_prev of seq %d (%s); or that chain_prev changed", q-1, before.rec.Source, q, e.rec.Source)})
			}
		}
		sort.SliceStable(sr.Findings, func(i, j int) bool { return sr.Findings[i].Seq < sr.Findings[j].Seq })
		rep.Segments = append(rep.Segments, sr)
	}
	slices.SortFunc(rep.Segments, func(x, y SegmentReport) int {
		fx, fy := segs[x.Segment].first, segs[y.Segment].first
		if c := fx.Compare(fy); c != 0 {
			return c
		}
		return strings.Compare(x.Segment, y.Segment)
	})
	return rep
}

func span(from, to uint64) string {
	if from == to {
		return fmt.Sprint(from)
	}
	return fmt.Sprintf("%d-%d (%d events)", from, to, to-from+1)
}

func stamp(t time.Time) string {
	if t.IsZero() {
		return "unknown time"
	}
	return t.UTC().Format(timeLayout)
}

// maxListed bounds the findings printed per segment and kind.
const maxListed = 20

// WriteText prints the report for a person: one block per segment, then
// a summary line.
func (r Report) WriteText(w io.Writer) {
	events := 0
	for _, s := range r.Segments {
		events += s.Events
		fmt.Fprintf(w, "segment %s (server %s): %d events", s.Segment, orDash(s.ServerID), s.Events)
		if s.Events > 0 {
			fmt.Fprintf(w, ", seq %d-%d", s.FirstSeq, s.LastSeq)
		}
		if s.Duplicates > 0 {
			fmt.Fprintf(w, ", %d duplicate copies ignored", s.Duplicates)
		}
		switch {
		case s.Anchors == 0:
			fmt.Fprint(w, "; no anchors")
		default:
			fmt.Fprintf(w, "; %d anchors, the newest at seq %d (%s)", s.Anchors, s.AnchorSeq, stamp(s.AnchorTime))
			if s.Final {
				fmt.Fprint(w, ", final")
			}
		}
		if len(s.Findings) == 0 {
			fmt.Fprint(w, ": OK")
		} else {
			fmt.Fprintf(w, ": %d findings", len(s.Findings))
		}
		fmt.Fprintln(w)
		counts := map[string]int{}
		for _, f := range s.Findings {
			counts[f.Kind]++
			if counts[f.Kind] == maxListed+1 {
				fmt.Fprintf(w, "  %s: … (more not listed)\n", f.Kind)
			}
			if counts[f.Kind] > maxListed {
				continue
			}
			fmt.Fprintf(w, "  %s: %s\n", f.Kind, f.Detail)
		}
		switch {
		case s.Anchors == 0 && s.Events > 0:
			fmt.Fprintf(w, "  unanchored: no anchor covers this segment; its newest events could be gone unnoticed\n")
		case s.Unanchored > 0:
			fmt.Fprintf(w, "  unanchored: %d events after seq %d; no anchor proves them yet (not a finding)\n", s.Unanchored, s.AnchorSeq)
		}
	}
	for i, f := range r.Unchained {
		if i == maxListed {
			fmt.Fprintf(w, "unchained: … (%d more)\n", len(r.Unchained)-maxListed)
			break
		}
		fmt.Fprintf(w, "unchained: %s\n", f.Detail)
	}
	for i, m := range r.Malformed {
		if i == maxListed {
			fmt.Fprintf(w, "malformed: … (%d more)\n", len(r.Malformed)-maxListed)
			break
		}
		fmt.Fprintf(w, "malformed: %s: looks like an event but does not decode\n", m)
	}
	fmt.Fprintf(w, "summary: %d segments, %d events, %d findings", len(r.Segments), events, r.Findings())
	if r.Skipped > 0 {
		fmt.Fprintf(w, ", %d lines or rows skipped (not audit events)", r.Skipped)
	}
	fmt.Fprintln(w)
}

func orDash(s string) string {
	if s == "" {
		return "-"
	}
	return s
}
