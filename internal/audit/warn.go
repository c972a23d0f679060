package audit

import (
	"context"
	"fmt"
	"io"
	"strings"
	"sync"
	"time"
)

// warner writes operational warnings (drops, ingestion failures) to stderr,
// at most one line per key per interval, so that a dead sink cannot flood
// the log. Lines are written by a goroutine of their own: a blocked stderr
// must not block a tool call. Lines never contain event content or tokens:
// callers pass only counts, status codes and error texts.
type warner struct {
	every time.Duration
	now   func() time.Time
	lines chan string
	done  chan struct{}

	mu     sync.Mutex
	last   map[string]time.Time
	closed bool
}

func newWarner(w io.Writer, every time.Duration) *warner {
	if every <= 0 {
		every = time.Minute
	}
	wr := &warner{every: every, now: time.Now, lines: make(chan string, 16), done: make(chan struct{}), last: map[string]time.Time{}}
	go func() {
		defer close(wr.done)
		for l := range wr.lines {
			io.WriteString(w, l) // nowhere left to report a failing stderr
		}
	}()
	return wr
}

// warn queues "audit: <message>" unless key was warned about within the
// interval, or the line buffer is full. It never blocks on the writer.
func (w *warner) warn(key, format string, args ...any) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.closed {
		return
	}
	now := w.now()
	if t, ok := w.last[key]; ok && now.Sub(t) < w.every {
		return
	}
	msg := strings.ReplaceAll(fmt.Sprintf(format, args...), "\n", " ") // one warning, one line
	select {
	case w.lines <- "audit: " + msg + "\n":
		w.last[key] = now
	default: // stderr is stuck; the counters still tell
	}
}

// close stops accepting warnings and waits, within ctx, for queued lines to
// be written.
func (w *warner) close(ctx context.Context) {
	w.mu.Lock()
	if !w.closed {
		w.closed = true
		close(w.lines)
	}
	w.mu.Unlock()
	select {
	case <-w.done:
	case <-ctx.Done():
	}
}

// firstLine keeps an error text (azidentity's run long) to one short line.
func firstLine(err error) string {
	s := err.Error()
	if i := strings.IndexByte(s, '\n'); i >= 0 {
		s = s[:i]
	}
	return truncate(s, 300)
}

// truncate cuts s to at most n bytes without splitting a UTF-8 sequence.
func truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && s[n]&0xC0 == 0x80 {
		n--
	}
	return s[:n] + "…"
}
