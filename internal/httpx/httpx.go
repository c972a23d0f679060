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
	"strings"
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
// server's read timeout.
func LimitBody(max int64, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Body == nil || r.Method != http.MethodPost {
			next.ServeHTTP(w, r)
			return
		}
		if r.ContentLength > max {
			WriteJSONRPCError(w, http.StatusRequestEntityTooLarge, CodeInvalidRequest,
				fmt.Sprintf("request body is %d bytes; the limit is %d", r.ContentLength, max))
			return
		}
		body, err := io.ReadAll(http.MaxBytesReader(w, r.Body, max))
		if err != nil {
			var tooBig *http.MaxBytesError
			if errors.As(err, &tooBig) {
				WriteJSONRPCError(w, http.StatusRequestEntityTooLarge, CodeInvalidRequest,
					fmt.Sprintf("request body exceeds the limit of %d bytes", max))
				return
			}
			WriteJSONRPCError(w, http.StatusBadRequest, CodeParseError, "request body could not be read")
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		r.ContentLength = int64(len(body))
		next.ServeHTTP(w, r)
	})
}

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

// CheckHost refuses requests whose Host header names neither a loopback
// host nor one of allowed (403): a rebound DNS name pointing at this
// server must not reach it.
func CheckHost(allowed []string, next http.Handler) http.Handler {
	set := make(map[string]bool, len(allowed))
	for _, h := range allowed {
		set[strings.ToLower(h)] = true
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		host := strings.ToLower(r.Host)
		if h, _, err := net.SplitHostPort(host); err == nil {
			host = h
		}
		host = strings.Trim(host, "[]")
		if !set[host] && !isLoopback(host) {
			http.Error(w, "Forbidden: invalid Host header", http.StatusForbidden)
			return
		}
		next.ServeHTTP(w, r)
	})
}

func loopbackOrigin(o string) bool {
	u, err := url.Parse(o)
	if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Path != "" {
		return false
	}
	return isLoopback(strings.Trim(strings.ToLower(u.Hostname()), "[]"))
}

func isLoopback(host string) bool {
	if host == "localhost" {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
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
