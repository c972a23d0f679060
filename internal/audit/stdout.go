package audit

import (
	"context"
	"fmt"
	"io"
	"sync"
)

// JSONSink writes each event as one JSON object on one line. On Azure
// Functions, stdout of a custom handler goes to the platform's logs, which
// makes this sink the one that always exists.
type JSONSink struct {
	mu sync.Mutex
	w  io.Writer
}

// NewJSONSink returns a sink writing JSON lines to w (os.Stdout in production).
func NewJSONSink(w io.Writer) *JSONSink { return &JSONSink{w: w} }

// Synchronous makes the Auditor write this sink in the caller's goroutine:
// every tool call's line is on stdout before its response is sent.
func (s *JSONSink) Synchronous() bool { return true }

// Name implements Sink.
func (s *JSONSink) Name() string { return "stdout" }

// Write encodes e and writes it with its newline in a single Write call, so
// that lines from concurrent writers to the same stream do not interleave.
func (s *JSONSink) Write(e Event) error {
	bp := linePool.Get().(*[]byte)
	b := append(e.appendJSON((*bp)[:0]), '\n')
	s.mu.Lock()
	_, err := s.w.Write(b)
	s.mu.Unlock()
	if cap(b) <= 64<<10 { // a huge line's buffer is not kept
		*bp = b[:0]
		linePool.Put(bp)
	}
	if err != nil {
		return fmt.Errorf("write event line: %w", err)
	}
	return nil
}

// Close implements Sink; lines are written as they come, so there is nothing to flush.
func (s *JSONSink) Close(context.Context) error { return nil }
