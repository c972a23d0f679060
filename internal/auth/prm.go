package auth

import (
	"encoding/json"
	"errors"
	"net/http"
	"net/url"
	"strings"
)

// PRMPath is the RFC 9728 well-known path; the path-inserted form for the
// MCP endpoint is PRMPath + "/mcp".
const PRMPath = "/.well-known/oauth-protected-resource"

// Metadata describes this protected resource (RFC 9728) and builds the
// 401 challenges that point clients at it.
type Metadata struct {
	ResourceURL          string   // canonical MCP URL; "" derives it from the request
	AuthorizationServers []string // issuers clients obtain tokens from
	Scopes               []string
}

// resource returns the canonical MCP URL and the base URL it lives under.
// Without a configured URL it is derived from the request's Host; the
// scheme is https unless the connection is plain HTTP to a loopback host.
func (m *Metadata) resource(r *http.Request) (resource, base string) {
	if m.ResourceURL != "" {
		res := strings.TrimSuffix(m.ResourceURL, "/")
		if u, err := url.Parse(res); err == nil {
			return res, u.Scheme + "://" + u.Host
		}
		return res, res
	}
	scheme := "https"
	if r.TLS == nil && loopbackRequestHost(r.Host) {
		scheme = "http"
	}
	base = scheme + "://" + r.Host
	return base + "/mcp", base
}

// ServeHTTP serves the metadata document at both well-known forms.
func (m *Metadata) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed", http.StatusMethodNotAllowed)
		return
	}
	res, _ := m.resource(r)
	doc := map[string]any{
		"resource":                 res,
		"authorization_servers":    nonNil(m.AuthorizationServers),
		"scopes_supported":         nonNil(m.Scopes),
		"bearer_methods_supported": []string{"header"},
	}
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "public, max-age=3600")
	_ = json.NewEncoder(w).Encode(doc)
}

// Challenge answers 401 with a WWW-Authenticate header that points at the
// metadata document. err decides whether error="invalid_token" is added.
func (m *Metadata) Challenge(w http.ResponseWriter, r *http.Request, err error) {
	_, base := m.resource(r)
	h := `Bearer resource_metadata="` + base + PRMPath + `/mcp"`
	if len(m.Scopes) > 0 {
		h += `, scope="` + strings.Join(m.Scopes, " ") + `"`
	}
	body := map[string]string{"error": "unauthorized", "error_description": "authentication required: send an Authorization: Bearer token"}
	var rej *RejectError
	if errors.As(err, &rej) {
		h += `, error="invalid_token", error_description="` + quoteSafe(rej.Reason) + `"`
		body = map[string]string{"error": "invalid_token", "error_description": rej.Reason}
	}
	w.Header().Set("WWW-Authenticate", h)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(http.StatusUnauthorized)
	_ = json.NewEncoder(w).Encode(body)
}

// Require authenticates every request before next sees it, and puts the
// identity in the request context.
func Require(a Authenticator, m *Metadata, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, err := a.Authenticate(r)
		var rej *RejectError
		switch {
		case err == nil && id != nil:
		case err == nil || errors.Is(err, ErrNoCredentials) || errors.As(err, &rej):
			m.Challenge(w, r, err)
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
			return
		}
		next.ServeHTTP(w, r.WithContext(NewContext(r.Context(), id)))
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

func loopbackRequestHost(hostport string) bool {
	h := hostport
	if i := strings.LastIndex(h, ":"); i >= 0 && !strings.HasSuffix(h, "]") {
		h = h[:i]
	}
	h = strings.Trim(h, "[]")
	return h == "localhost" || h == "::1" || strings.HasPrefix(h, "127.")
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
