// Package httpx holds the HTTP hardening that sits in front of the MCP
// endpoint: body limits, Host and Origin checks, panic recovery.
package httpx

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/url"
	"runtime/debug"
	"strconv"
	"strings"
	"sync/atomic"
	"time"
)

// WriteJSONRPCError writes a JSON-RPC error object with a null id: the
// request never reached the protocol layer, so its id is unknown.
func WriteJSONRPCError(w http.ResponseWriter, status, code int, msg string) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(map[string]any{
		"jsonrpc": "2.0",
		"id":      nil,
		"error":   map[string]any{"code": code, "message": msg},
	})
}

// JSON-RPC error codes used here.
const (
	CodeParseError     = -32700
	CodeInvalidRequest = -32600
	CodeInternalError  = -32603
)

// LimitBody reads the whole body up front, answering 413 when it exceeds
// max bytes. Reading it here (mcp-go would read it unbounded) means the
// limit holds before any JSON parsing, and a slow body is cut off by the
// server's read timeout. Wire it after authentication: a refused request
// must cost no buffering. A 413 closes the connection, so that a client
// cannot keep streaming the rest of its body into it.
func LimitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		if b, ok := Buffered(r); ok && int64(len(b)) <= max {
			next.ServeHTTP(w, r) // read already, within this limit: no second copy
			return
		}
		if r.ContentLength > max {
			w.Header().Set("Connection", "close")
			WriteJSONRPCError(w, http.StatusRequestEntityTooLarge, CodeInvalidRequest,
				fmt.Sprintf("request body is %d bytes; the limit is %d", r.ContentLength, max))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		if err != nil {
			w.Header().Set("Connection", "close")
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				WriteJSONRPCError(w, http.StatusRequestEntityTooLarge, CodeInvalidRequest,
					fmt.Sprintf("request body exceeds the limit of %d bytes", max))
				return
			}
			WriteJSONRPCError(w, http.StatusBadRequest, CodeParseError, "request body could not be read")
			return
		}
		r.Body = &bufferedBody{Reader: bytes.NewReader(body), b: body}
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

// bufferedBody is a body LimitBody has read into memory. Handlers further in
// look at it with Buffered instead of reading and copying it again.
type bufferedBody struct {
	*bytes.Reader
	b []byte
}

func (*bufferedBody) Close() error { return nil }

// Buffered returns the whole body of r when LimitBody has read it into
// memory and nothing has consumed it since. The bytes are shared: do not
// modify them.
func Buffered(r *http.Request) ([]byte, bool) {
	bb, ok := r.Body.(*bufferedBody)
	if !ok || bb.Reader.Len() != len(bb.b) {
		return nil, false
	}
	return bb.b, true
}

// RequireJSON refuses a POST whose body is not declared as JSON before
// anything reads the body, so that such a request costs no buffering. The
// answer is mcp-go's own (400, the same text), only earlier.
func RequireJSON(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method == http.MethodPost && !jsonContent(r) {
			http.Error(w, "Invalid content type: must be 'application/json'", http.StatusBadRequest)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// CloseUnread marks a response "Connection: close" when it goes out before
// the request body was read to its end. Such a request was refused unread
// (401, 403, 405, 413...); without this, net/http drains up to 256 KiB of
// the body before it sends the answer, waiting as long as the client cares
// to stall, and then keeps the connection for the client's next request.
// Wire it outermost.
func CloseUnread(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.ContentLength == 0 || r.Body == nil || r.Body == http.NoBody || r.ProtoMajor != 1 {
			next.ServeHTTP(w, r)
			return
		}
		body := &trackedBody{ReadCloser: r.Body, want: r.ContentLength}
		// A shallow copy: the server's own request keeps its body, whose
		// type net/http inspects after the handler.
		r = r.WithContext(r.Context())
		r.Body = body
		cw := &closeUnreadWriter{ResponseWriter: w, body: body}
		next.ServeHTTP(cw, r)
		cw.decide(http.StatusOK) // net/http's implicit 200 would bypass the wrapper
		if cw.closing {
			// Once the handler returns, net/http still reads up to 256 KiB
			// of the body to discard it, for as long as the client takes.
			// Give the client a moment to read the answer (a close with
			// unread data resets the connection), then stop reading.
			_ = http.NewResponseController(w).SetReadDeadline(time.Now().Add(lingerUnread))
		}
	})
}

// lingerUnread is how long a refused request's connection may still be
// read (and discarded) after the answer: net/http's own lingering close.
const lingerUnread = 500 * time.Millisecond

// trackedBody notes when its body has been read to the end.
type trackedBody struct {
	io.ReadCloser
	want int64 // Content-Length, or -1 when not declared
	n    int64
	done atomic.Bool
}

func (b *trackedBody) Read(p []byte) (int, error) {
	n, err := b.ReadCloser.Read(p)
	b.n += int64(n)
	if err == io.EOF || (b.want > 0 && b.n >= b.want) {
		b.done.Store(true)
	}
	return n, err
}

// closeUnreadWriter decides on "Connection: close" when the final status
// is written.
type closeUnreadWriter struct {
	http.ResponseWriter
	body    *trackedBody
	decided bool
	closing bool // the answer went out before the body was read
}

func (c *closeUnreadWriter) decide(status int) {
	if c.decided || status < 200 { // an informational status is not the answer
		return
	}
	c.decided = true
	if !c.body.done.Load() {
		c.closing = true
		c.Header().Set("Connection", "close")
	}
}

func (c *closeUnreadWriter) WriteHeader(status int) {
	c.decide(status)
	c.ResponseWriter.WriteHeader(status)
}

func (c *closeUnreadWriter) Write(p []byte) (int, error) {
	c.decide(http.StatusOK)
	return c.ResponseWriter.Write(p)
}

// Flush keeps streaming responses working through the wrapper.
func (c *closeUnreadWriter) Flush() {
	c.decide(http.StatusOK)
	if f, ok := c.ResponseWriter.(http.Flusher); ok {
		f.Flush()
	}
}

// Unwrap lets http.ResponseController reach the server's writer.
func (c *closeUnreadWriter) Unwrap() http.ResponseWriter { return c.ResponseWriter }

// CheckOrigin refuses browser requests from origins not in allowed (403).
// Requests without an Origin header (non-browser clients) pass. This is
// the DNS-rebinding and cross-site defence that mcp-go does not apply.
// allowLoopback also admits http(s)://localhost, 127.0.0.1 and [::1] on
// any port: right for a server on a developer's machine, never set it
// behind the platform.
//
// An admitted origin gets CORS headers, and its preflight is answered
// here, so browser clients (MCP Inspector in direct mode) can connect.
func CheckOrigin(allowed []string, allowLoopback bool, next http.Handler) http.Handler {
	set := make(map[string]bool, len(allowed))
	for _, o := range allowed {
		set[strings.ToLower(o)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		o := r.Header.Get("Origin")
		if o == "" {
			next.ServeHTTP(w, r)
			return
		}
		if !set[strings.ToLower(o)] && !(allowLoopback && loopbackOrigin(o)) {
			http.Error(w, "Forbidden: origin not allowed", http.StatusForbidden)
			return
		}
		h := w.Header()
		h.Set("Access-Control-Allow-Origin", o)
		h.Add("Vary", "Origin")
		h.Set("Access-Control-Expose-Headers", "Mcp-Session-Id, Mcp-Protocol-Version, WWW-Authenticate")
		if r.Method == http.MethodOptions && r.Header.Get("Access-Control-Request-Method") != "" {
			h.Set("Access-Control-Allow-Methods", "POST, GET")
			h.Set("Access-Control-Allow-Headers", "Authorization, Content-Type, Accept, Mcp-Protocol-Version, Mcp-Session-Id, Mcp-Method, Mcp-Name, Traceparent")
			h.Set("Access-Control-Max-Age", "600")
			w.WriteHeader(http.StatusNoContent)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// CheckHost refuses requests whose Host header is malformed (400) or names
// neither a loopback host nor one of allowed (403): a rebound DNS name
// pointing at this server must not reach it, and a Host that only looks
// like an allowed one ("localhost:evil.example") must not either.
func CheckHost(allowed []string, next http.Handler) http.Handler {
	set := make(map[string]bool, len(allowed))
	for _, h := range allowed {
		set[strings.Trim(strings.ToLower(h), "[]")] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		h, err := ParseHost(r.Host)
		if err != nil {
			http.Error(w, "Bad Request: malformed Host header", http.StatusBadRequest)
			return
		}
		if !set[h.Name] && !h.Loopback() {
			http.Error(w, "Forbidden: invalid Host header", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

// Host is a Host header value that ParseHost accepted.
type Host struct {
	Name string // lower case; an IPv6 address without brackets
	Port string // digits without leading zeros, or "" when absent
}

// ErrMalformedHost is ParseHost's answer to anything but host[:port].
var ErrMalformedHost = errors.New("malformed host")

// ParseHost parses a Host header (or URL authority) strictly: a DNS name
// or IPv4 address (letters, digits, '-', '_', '.'; labels of 1 to 63) or an
// IPv6 address in brackets, optionally followed by ':' and a port of 1 to 5
// digits in 1..65535. Userinfo, paths, zones, empty or non-numeric ports
// are refused: what passes is safe to put back into a URL.
func ParseHost(hostport string) (Host, error) {
	name, rest := hostport, ""
	if strings.HasPrefix(hostport, "[") {
		end := strings.IndexByte(hostport, ']')
		if end < 0 {
			return Host{}, ErrMalformedHost
		}
		name, rest = hostport[1:end], hostport[end+1:]
		if !strings.Contains(name, ":") || net.ParseIP(name) == nil {
			return Host{}, ErrMalformedHost
		}
	} else {
		if i := strings.IndexByte(hostport, ':'); i >= 0 {
			name, rest = hostport[:i], hostport[i:]
		}
		if !validName(name) {
			return Host{}, ErrMalformedHost
		}
	}
	h := Host{Name: strings.ToLower(name)}
	if rest == "" {
		return h, nil
	}
	digits, ok := strings.CutPrefix(rest, ":")
	if !ok || digits == "" || len(digits) > 5 || strings.Trim(digits, "0123456789") != "" {
		return Host{}, ErrMalformedHost
	}
	port, err := strconv.Atoi(digits)
	if err != nil || port < 1 || port > 65535 {
		return Host{}, ErrMalformedHost
	}
	h.Port = strconv.Itoa(port)
	return h, nil
}

// validName reports whether s is a DNS name or dotted IPv4 address.
func validName(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || len(label) > 63 {
			return false
		}
		for _, c := range []byte(label) {
			if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-' || c == '_') {
				return false
			}
		}
	}
	return true
}

// String is the host in URL form: host[:port], IPv6 in brackets.
func (h Host) String() string {
	name := h.Name
	if strings.Contains(name, ":") {
		name = "[" + name + "]"
	}
	if h.Port == "" {
		return name
	}
	return name + ":" + h.Port
}

// Loopback reports whether the host is localhost or a loopback address
// (127.0.0.0/8, ::1). A name that merely starts with "127." is not.
func (h Host) Loopback() bool { return IsLoopback(h.Name) }

// IsLoopback reports whether host, a name or IP address without a port
// (an IPv6 address with or without brackets), is localhost or a loopback
// address (127.0.0.0/8, ::1). A name that merely starts with "127." is not.
// This is the one loopback test of the server: listen addresses, Host
// headers and origins all use it.
func IsLoopback(host string) bool {
	if strings.HasPrefix(host, "[") && strings.HasSuffix(host, "]") {
		host = host[1 : len(host)-1]
	}
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}

// loopbackOrigin reports whether o is exactly scheme://host[:port] with a
// loopback host: no userinfo, path, query or fragment.
func loopbackOrigin(o string) bool {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Scheme+"://"+u.Host != o {
		return false
	}
	h, err := ParseHost(u.Host)
	return err == nil && h.Loopback()
}

// Recover turns a panic into a logged stack and a JSON-RPC internal error,
// instead of a dropped connection.
func Recover(log *slog.Logger, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		defer func() {
			v := recover()
			if v == nil {
				return
			}
			if v == http.ErrAbortHandler {
				panic(v)
			}
			log.Error("panic serving request", "path", r.URL.Path, "panic", fmt.Sprint(v), "stack", string(debug.Stack()))
			WriteJSONRPCError(w, http.StatusInternalServerError, CodeInternalError, "internal error")
		}()
		next.ServeHTTP(w, r)
	})
}

// PostOnly answers 405 for anything but POST: stateless servers have no stream to GET and no
// session to DELETE.
func PostOnly(next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost {
			w.Header().Set("Allow", "POST")
			WriteJSONRPCError(w, http.StatusMethodNotAllowed, CodeInvalidRequest,
				"method not allowed: this stateless MCP endpoint accepts POST only")
			return
		}
		next.ServeHTTP(w, r)
	})
}
