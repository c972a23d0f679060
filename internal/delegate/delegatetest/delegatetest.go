// Package delegatetest runs local stand-ins for what internal/delegate talks
// to: a TLS Entra authority (OIDC metadata, instance discovery, the
// on-behalf-of token endpoint), a TLS Microsoft Graph /v1.0/me, and an App
// Service managed identity endpoint. Every fake records the requests it
// sees, so tests can prove where the inbound user token went.
//
// The servers listen on loopback and are reachable from other processes;
// a server binary trusts them through SSL_CERT_FILE=CertFile(...).
//
// What the authority and Graph answer depends on the ScenarioClaim ("scn")
// of the inbound user token; without it everything succeeds. Token
// endpoint scenarios: mfa (claims challenge, AADSTS50076), consent
// (invalid_grant/consent_required, AADSTS65001), consent_required, expired
// (AADSTS500133), blocked (AADSTS53003), badclient (AADSTS70021), throttle
// (429, Retry-After 7), e500, html400, malformed, noaccesstoken, slow (never
// answers). Graph scenarios: g401, gcae (insufficient_claims challenge),
// g403, g429 (Retry-After 30), g500, gslow, gredirect, gbadjson, gwrongid.
package delegatetest

import (
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// ScenarioClaim is the inbound token claim that picks the fakes' behaviour.
const ScenarioClaim = "scn"

// Request is one request a fake saw, kept whole so tests can look for a
// token anywhere in it.
type Request struct {
	Method, Path, RawQuery string
	Header                 http.Header
	Body                   string
	Form                   url.Values // the body parsed as a form
}

// Contains reports whether s appears anywhere in the request.
func (r Request) Contains(s string) bool {
	if strings.Contains(r.Path, s) || strings.Contains(r.RawQuery, s) || strings.Contains(r.Body, s) {
		return true
	}
	for _, vs := range r.Header {
		for _, v := range vs {
			if strings.Contains(v, s) {
				return true
			}
		}
	}
	return false
}

// recorder keeps every request a fake saw.
type recorder struct {
	mu   sync.Mutex
	reqs []Request
}

func (rc *recorder) record(r *http.Request) Request {
	body, _ := io.ReadAll(r.Body)
	req := Request{Method: r.Method, Path: r.URL.Path, RawQuery: r.URL.RawQuery, Header: r.Header.Clone(), Body: string(body)}
	req.Form, _ = url.ParseQuery(string(body))
	rc.mu.Lock()
	rc.reqs = append(rc.reqs, req)
	rc.mu.Unlock()
	return req
}

// Requests returns what the fake saw so far, oldest first.
func (rc *recorder) Requests() []Request {
	rc.mu.Lock()
	defer rc.mu.Unlock()
	return append([]Request(nil), rc.reqs...)
}

// UserClaims are what the fakes read from an inbound user token.
type UserClaims struct {
	Tid string `json:"tid"`
	Oid string `json:"oid"`
	Scn string `json:"scn"`
	Exp int64  `json:"exp"`
	Jti string `json:"jti"`
}

// UserToken makes an inbound user token. Its signature is not valid: the
// delegate package never validates tokens (the auth layer did) and the fake
// authority reads it only to pick a scenario. End-to-end tests use properly
// signed tokens instead, with the ScenarioClaim added.
func UserToken(tid, oid, scenario string, exp time.Time) string {
	enc := base64.RawURLEncoding
	h, _ := json.Marshal(map[string]string{"alg": "RS256", "typ": "JWT"})
	p, _ := json.Marshal(UserClaims{Tid: tid, Oid: oid, Scn: scenario, Exp: exp.Unix(), Jti: randomHex(8)})
	return enc.EncodeToString(h) + "." + enc.EncodeToString(p) + "." + enc.EncodeToString([]byte("sig-"+randomHex(8)))
}

// parseUserToken reads the payload of a JWT without checking it.
func parseUserToken(tok string) UserClaims {
	var c UserClaims
	if parts := strings.Split(tok, "."); len(parts) == 3 {
		if b, err := base64.RawURLEncoding.DecodeString(parts[1]); err == nil {
			_ = json.Unmarshal(b, &c)
		}
	}
	return c
}

// CheckNoLeak fails t unless the inbound token went to the token endpoint
// as the on-behalf-of assertion, and nowhere else: no other request to the
// authority, no other form field or header, nothing Graph saw.
func CheckNoLeak(t testing.TB, inbound string, entra *Entra, graph *Graph) {
	t.Helper()
	asAssertion := 0
	for _, r := range entra.Requests() {
		if !r.Contains(inbound) {
			continue
		}
		if r.Method != http.MethodPost || r.Path != entra.tokenPath() || r.Form.Get("assertion") != inbound {
			t.Errorf("inbound token sent to the authority outside the assertion: %s %s", r.Method, r.Path)
			continue
		}
		for k, vs := range r.Form {
			for _, v := range vs {
				if k != "assertion" && strings.Contains(v, inbound) {
					t.Errorf("inbound token in form field %q", k)
				}
			}
		}
		for k, vs := range r.Header {
			for _, v := range vs {
				if strings.Contains(v, inbound) {
					t.Errorf("inbound token in token request header %q", k)
				}
			}
		}
		asAssertion++
	}
	if asAssertion == 0 {
		t.Errorf("inbound token never reached the token endpoint as the assertion")
	}
	for _, r := range graph.Requests() {
		if r.Contains(inbound) {
			t.Errorf("inbound token reached Graph: %s %s", r.Method, r.Path)
		}
	}
}

// Client returns an HTTP client that trusts only certs. Its idle
// connections are closed when the test ends.
func Client(t testing.TB, certs ...*x509.Certificate) *http.Client {
	pool := x509.NewCertPool()
	for _, c := range certs {
		pool.AddCert(c)
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// CertFile writes certs as PEM to a file in a temporary directory and
// returns its path: the value of SSL_CERT_FILE for a process that must
// trust the fakes (Go on Linux reads its roots from that file).
func CertFile(t testing.TB, certs ...*x509.Certificate) string {
	t.Helper()
	var b []byte
	for _, c := range certs {
		b = append(b, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: c.Raw})...)
	}
	path := filepath.Join(t.TempDir(), "fakes-ca.pem")
	if err := os.WriteFile(path, b, 0o600); err != nil {
		t.Fatalf("delegatetest: write certificate file: %v", err)
	}
	return path
}

// hang never answers: it waits for the client to give up (or the test to
// end) and then drops the connection without a response.
func hang(r *http.Request, stop <-chan struct{}) {
	select {
	case <-r.Context().Done():
	case <-stop:
	}
	panic(http.ErrAbortHandler)
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func randomHex(n int) string {
	b := make([]byte, n)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

func oauthErr(code string, aadsts int, desc string) map[string]any {
	return map[string]any{
		"error":             code,
		"error_description": fmt.Sprintf("AADSTS%d: %s", aadsts, desc),
		"error_codes":       []int{aadsts},
		"timestamp":         time.Now().UTC().Format("2006-01-02 15:04:05Z"),
		"trace_id":          "trace-" + randomHex(4),
		"correlation_id":    "corr-" + randomHex(4),
	}
}
