package audit

import (
	"context"
	"encoding/json"
	"io"
	"testing"
	"time"
)

// BenchmarkJSONSinkWrite is the cost of one audit line on stdout: encoding
// the event and one write (to io.Discard here, so only encoding shows).
func BenchmarkJSONSinkWrite(b *testing.B) {
	s := NewJSONSink(io.Discard)
	e := Event{
		Event: EventName, Timestamp: time.Now(), OperationID: "4bf92f3577b34da6a3ce929d0e0e4736", ServerID: "bench",
		TenantID: "7d3c1b2a-5e4f-4a6b-8c9d-0e1f2a3b4c5d", AgentID: "aebc6443-996d-45c2-90f0-388ff96faa56",
		CallerIdentity:  "7d3c1b2a-5e4f-4a6b-8c9d-0e1f2a3b4c5d/0b8a6c4e-2d1f-4e3a-9b5c-7d6e8f9a0b1c",
		ProtocolVersion: "2025-06-18", ToolName: "save_snippet", AuthorizationMode: ModeDelegated,
		ApprovalResult: ApprovalNotRequired, LatencyMS: 3, ResultCode: ResultOK, ArgumentsBytes: 1100,
		ArgumentsSHA256: "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
	}
	b.ReportAllocs()
	for b.Loop() {
		if err := s.Write(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAuditorRecord is what a tool call pays to hand its event to the
// Auditor (queueing; the sink writes on its own goroutine).
func BenchmarkAuditorRecord(b *testing.B) {
	a := New(Options{ServerID: "bench", QueueSize: 1 << 16, Warn: io.Discard}, NewJSONSink(io.Discard))
	b.Cleanup(func() { _ = a.Close(context.Background()) })
	e := Event{ToolName: "whoami", ResultCode: ResultOK, TenantID: "t", CallerIdentity: "t/o"}
	b.ReportAllocs()
	for b.Loop() {
		a.Record(e)
	}
}

// BenchmarkChainStep is what the hash chain adds to each event: the
// content digest (outside the lock) and the link (under it), against the
// JSON encoding of the same event that the stdout sink does anyway. The
// difference of the two sub-benchmarks' ns/op is the chain's cost.
func BenchmarkChainStep(b *testing.B) {
	e := fullEvent()
	e.normalize("bench", time.Now())
	b.Run("encode", func(b *testing.B) {
		b.ReportAllocs()
		for b.Loop() {
			if _, err := json.Marshal(e); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("chain_then_encode", func(b *testing.B) {
		c := newChain()
		b.ReportAllocs()
		for b.Loop() {
			ev := e
			c.next(&ev, ev.contentDigest())
			if _, err := json.Marshal(ev); err != nil {
				b.Fatal(err)
			}
		}
	})
}
