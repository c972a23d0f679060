// Package prm is the server's front door for credentials: it requires an
// identity on every MCP request, answers 401 with an RFC 6750 challenge
// that points at the Protected Resource Metadata (RFC 9728) it serves, and
// 503 when credentials cannot be checked. Which identity sources exist is
// package identity's business, what a caller may do package policy's.
package prm

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"

	"github.com/snippets-mcp/server/internal/identity"

	"github.com/snippets-mcp/server/internal/httpx"
)

// Path is the RFC 9728 well-known path; the path-inserted form for the
// MCP endpoint is Path + "/mcp".
const Path = "/.well-known/oauth-protected-resource"

// Metadata describes this protected resource (RFC 9728) and builds the
// 401 challenges that point clients at it.
type Metadata struct {
	ResourceURL          string   // canonical MCP URL; "" derives it from the request
	AuthorizationServers []string // issuers clients obtain tokens from
	Scopes               []string
}

// resource returns the canonical MCP URL and the base URL it lives under.
// Without a configured URL it is derived from the request's Host, parsed
// strictly (ok is false for a malformed one: none of it may reach a URL);
// the scheme is https unless the connection is plain HTTP to a loopback host.
func (m *Metadata) resource(r *http.Request) (resource, base string, ok bool) {
	if m.ResourceURL != "" {
		res := strings.TrimSuffix(m.ResourceURL, "/")
		if u, err := url.Parse(res); err == nil {
			return res, u.Scheme + "://" + u.Host, true
		}
		return res, res, true
	}
	h, err := httpx.ParseHost(r.Host)
	if err != nil {
		return "", "", false
	}
	scheme := "https"
	if r.TLS == nil && h.Loopback() {
		scheme = "http"
	}
	base = scheme + "://" + h.String()
	return base + "/mcp", base, true
}

// ServeHTTP serves the metadata document at both well-known forms.
func (m *Metadata) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	res, _, ok := m.resource(r)
	if !ok {
		http.Error(w, "Bad Request: malformed Host header", http.StatusBadRequest)
		return
	}
	doc := map[string]any{
		"resource":                 res,
		"authorization_servers":    nonNil(m.AuthorizationServers),
		"scopes_supported":         nonNil(m.Scopes),
		"bearer_methods_supported": []string{"header"},
	}
	w.Header().Set("Content-Type", "application/json")
	if m.ResourceURL != "" {
		w.Header().Set("Cache-Control", "public, max-age=3600")
	} else {
		// The document names the request's Host: a shared cache must not
		// hand it to a request for another host.
		w.Header().Set("Cache-Control", "private, max-age=3600")
		w.Header().Add("Vary", "Host")
	}
	_ = json.NewEncoder(w).Encode(doc)
}

// Challenge answers 401 with a WWW-Authenticate header that points at the
// metadata document. err decides whether error="invalid_token" is added.
func (m *Metadata) Challenge(w http.ResponseWriter, r *http.Request, err error) {
	var params []string
	if _, base, ok := m.resource(r); ok {
		params = append(params, `resource_metadata="`+base+Path+`/mcp"`)
	}
	if len(m.Scopes) > 0 {
		params = append(params, `scope="`+strings.Join(m.Scopes, " ")+`"`)
	}
	body := map[string]string{"error": "unauthorized", "error_description": "authentication required: send an Authorization: Bearer token"}
	var rej *identity.RejectError
	if errors.As(err, &rej) {
		params = append(params, `error="invalid_token"`, `error_description="`+quoteSafe(rej.Reason)+`"`)
		body = map[string]string{"error": "invalid_token", "error_description": rej.Reason}
	}
	h := "Bearer"
	if len(params) > 0 {
		h += " " + strings.Join(params, ", ")
	}
	w.Header().Set("WWW-Authenticate", h)
	// The challenge may name the request's Host.
	w.Header().Set("Cache-Control", "no-store")
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(body)
}

// Options tune Require. The zero value is ready to use.
type Options struct {
	// OnRefused, when set, is called after Require answered a request with
	// 401 (status http.StatusUnauthorized; err is nil,
	// identity.ErrNoCredentials or an *identity.RejectError) or 503 (the
	// credentials could not be checked; err says why, and may name the
	// issuer's URLs). It lets the caller record failed access without this
	// package knowing about audit. It runs in the request's goroutine, so
	// it must be quick.
	OnRefused func(r *http.Request, status int, err error)
}

// Require authenticates every request before next sees it, and puts the
// identity in the request context. Authenticators read headers only, so
// wire Require before anything reads the body: a refused request then
// costs no body buffering.
func Require(a identity.Authenticator, m *Metadata, next http.Handler, o Options) http.Handler {
	refused := func(r *http.Request, status int, err error) {
		if o.OnRefused != nil {
			o.OnRefused(r, status, err)
		}
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := a.Authenticate(r)
		var rej *identity.RejectError
		switch {
		case err == nil && id != nil:
		case err == nil || errors.Is(err, identity.ErrNoCredentials) || errors.As(err, &rej):
			m.Challenge(w, r, err)
			refused(r, http.StatusUnauthorized, err)
			return
		default:
			// The credentials could not be checked (the issuer's keys are
			// unreachable): not the client's fault, and a 401 would make it
			// discard a token that may be fine.
			w.Header().Set("Retry-After", "5")
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_ = json.NewEncoder(w).Encode(map[string]string{"error": "temporarily_unavailable",
				"error_description": "the token could not be checked right now; retry shortly"})
			refused(r, http.StatusServiceUnavailable, err)
			return
		}
		next.ServeHTTP(w, r.WithContext(identity.NewContext(r.Context(), id)))
	})
}

// quoteSafe keeps a reason usable inside a quoted-string.
func quoteSafe(s string) string {
	return strings.Map(func(r rune) rune {
		if r == '"' || r == '\\' || r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
