package tools

import (
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"sync"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// mcp-go (v1.2.1) answers two errors in a way no handler can change: a
// resource handler's error is always -32603, so a missing snippet read as a
// resource is an "internal error" instead of the spec's "not found"
// (-32002, or -32602 from 2026-07-28); and an unknown tool's message says
// "not found" twice ("tool 'x' not found: tool not found"). A handler or
// hook that knows better records the error it means with rpcError, and
// FixErrors puts it into the response. Other responses pass untouched and
// unbuffered.

type fixKey struct{}

// fix is the JSON-RPC error a request's handling asked for.
type fix struct {
	mu     sync.Mutex
	set    bool
	code   int
	msg    string
	status int // HTTP status for the 2026-07-28 era, whose statuses follow codes
}

// rpcError asks for the request's JSON-RPC error to be code and msg. It
// does nothing outside FixErrors (in-process use, tests of handlers).
func rpcError(ctx context.Context, code int, msg string) {
	f, ok := ctx.Value(fixKey{}).(*fix)
	if !ok {
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.set, f.code, f.msg = true, code, msg
	if mcp.IsModernProtocol(server.RequestProtocolVersion(ctx)) && code == mcp.INVALID_PARAMS {
		f.status = http.StatusBadRequest
	}
}

// resourceNotFound is the spec's code for a missing resource in the
// request's protocol era.
func resourceNotFound(ctx context.Context) int {
	if mcp.IsModernProtocol(server.RequestProtocolVersion(ctx)) {
		return mcp.INVALID_PARAMS
	}
	return mcp.RESOURCE_NOT_FOUND
}

// FixErrors wraps mcp-go's HTTP handler so that the errors recorded with
// rpcError reach the client.
func FixErrors(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		f := &fix{}
		fw := &fixWriter{ResponseWriter: w, fix: f, status: http.StatusOK}
		next.ServeHTTP(fw, r.WithContext(context.WithValue(r.Context(), fixKey{}, f)))
		fw.finish()
	})
}

// fixWriter buffers the response only when a fix was asked for before
// mcp-go started writing it (hooks and handlers run before the write).
type fixWriter struct {
	http.ResponseWriter
	fix       *fix
	decided   bool
	buffering bool
	status    int
	buf       bytes.Buffer
}

func (w *fixWriter) decide() {
	if w.decided {
		return
	}
	w.decided = true
	w.fix.mu.Lock()
	w.buffering = w.fix.set
	w.fix.mu.Unlock()
}

func (w *fixWriter) WriteHeader(status int) {
	w.decide()
	if w.buffering {
		w.status = status
		return
	}
	w.ResponseWriter.WriteHeader(status)
}

func (w *fixWriter) Write(p []byte) (int, error) {
	w.decide()
	if w.buffering {
		return w.buf.Write(p)
	}
	return w.ResponseWriter.Write(p)
}

// Flush keeps streaming working; a buffered answer is flushed by finish.
func (w *fixWriter) Flush() {
	w.decide()
	if f, ok := w.ResponseWriter.(http.Flusher); ok && !w.buffering {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the server's writer.
func (w *fixWriter) Unwrap() http.ResponseWriter { return w.ResponseWriter }

func (w *fixWriter) finish() {
	if !w.buffering {
		return
	}
	body := w.buf.Bytes()
	var resp struct {
		JSONRPC string          `json:"jsonrpc"`
		ID      json.RawMessage `json:"id"`
		Error   *struct {
			Code    int             `json:"code"`
			Message string          `json:"message"`
			Data    json.RawMessage `json:"data,omitempty"`
		} `json:"error"`
	}
	if json.Unmarshal(body, &resp) == nil && resp.Error != nil {
		w.fix.mu.Lock()
		resp.Error.Code, resp.Error.Message = w.fix.code, w.fix.msg
		if w.fix.status != 0 {
			w.status = w.fix.status
		}
		w.fix.mu.Unlock()
		if b, err := json.Marshal(resp); err == nil {
			body = append(b, '\n')
		}
	}
	w.Header().Set("Content-Length", strconv.Itoa(len(body)))
	w.ResponseWriter.WriteHeader(w.status)
	_, _ = w.ResponseWriter.Write(body)
}
