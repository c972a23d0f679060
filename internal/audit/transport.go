package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"sync"
	"sync/atomic"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// ingestStats follows events from Track to the ingestion endpoint's answer.
// ApplicationInsights-Go reports nothing back, so the transport reads each
// request's items and each response's verdict.
type ingestStats struct {
	tracked  atomic.Uint64 // handed to the library
	accepted atomic.Uint64 // confirmed by the endpoint
	lost     atomic.Uint64 // rejected with a status the library does not retry
	failing  atomic.Bool   // the last attempt failed; cleared by the next success
}

// pending is tracked minus accepted minus lost: events still buffered or
// being retried by the library, or given up after its retries.
func (s *ingestStats) pending() uint64 {
	t, a, l := s.tracked.Load(), s.accepted.Load(), s.lost.Load()
	if a+l >= t {
		return 0
	}
	return t - a - l
}

// ingestTransport is the RoundTripper of the library's HTTP client. It adds
// the Entra bearer token when one is configured (the library predates Entra
// auth) and feeds ingestStats. It never logs the token or the payload.
type ingestTransport struct {
	base   http.RoundTripper
	tokens *tokenSource // nil: instrumentation key only
	stats  *ingestStats
	warn   *warner

	mu       sync.Mutex
	deadline time.Time // set by Close: no attempt outlives it
}

func (t *ingestTransport) setDeadline(d time.Time) {
	t.mu.Lock()
	t.deadline = d
	t.mu.Unlock()
}

func (t *ingestTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	ctx := req.Context()
	t.mu.Lock()
	deadline := t.deadline
	t.mu.Unlock()
	if !deadline.IsZero() {
		var cancel context.CancelFunc
		ctx, cancel = context.WithDeadline(ctx, deadline)
		defer cancel()
	}
	items := countItems(req)
	out := req.Clone(ctx)
	if t.tokens != nil {
		if !tokenSafe(req.URL.String()) {
			t.stats.failing.Store(true)
			t.warn.warn("insecure", "refusing to send an Entra token over plain http to a non-loopback host (check IngestionEndpoint and redirects)")
			return nil, errors.New("audit: refusing to send a bearer token over plain http")
		}
		tok, err := t.tokens.token(ctx)
		if err != nil {
			t.stats.failing.Store(true)
			t.warn.warn("token", "cannot get an Entra token for Application Insights ingestion: %s", firstLine(err))
			return nil, fmt.Errorf("get Entra token for ingestion: %w", err)
		}
		out.Header.Set("Authorization", "Bearer "+tok)
	}
	resp, err := t.base.RoundTrip(out)
	if err != nil {
		t.stats.failing.Store(true)
		t.warn.warn("send", "cannot reach Application Insights ingestion: %s", firstLine(err))
		return nil, err
	}
	if err := t.observe(resp, items); err != nil {
		return nil, err
	}
	return resp, nil
}

// observe reads the response (and puts the body back for the library) and
// counts accepted and lost items.
func (t *ingestTransport) observe(resp *http.Response, items int) error {
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	resp.Body.Close()
	if err != nil {
		t.stats.failing.Store(true)
		return fmt.Errorf("read ingestion response: %w", err)
	}
	resp.Body = io.NopCloser(bytes.NewReader(body))
	code := resp.StatusCode
	switch {
	case code >= 300 && code < 400: // a redirect hop; the next hop tells
	case code == http.StatusOK:
		t.stats.accepted.Add(uint64(items))
		t.stats.failing.Store(false)
	case code == http.StatusPartialContent:
		var r struct {
			ItemsReceived int `json:"itemsReceived"`
			ItemsAccepted int `json:"itemsAccepted"`
			Errors        []struct {
				StatusCode int `json:"statusCode"`
			} `json:"errors"`
		}
		_ = json.Unmarshal(body, &r) // unreadable: count nothing; the library decides
		t.stats.accepted.Add(uint64(max(r.ItemsAccepted, 0)))
		var lost int
		for _, e := range r.Errors {
			if !retriable(e.StatusCode) {
				lost++
			}
		}
		t.stats.lost.Add(uint64(lost))
		t.stats.failing.Store(false)
		t.warn.warn("partial", "Application Insights accepted %d of %d events in a batch; %d rejected for good", r.ItemsAccepted, r.ItemsReceived, lost)
	case retriable(code):
		t.stats.failing.Store(true)
		t.warn.warn("status", "Application Insights ingestion answered %d; events stay queued for retry", code)
	default:
		t.stats.lost.Add(uint64(items))
		t.stats.failing.Store(true)
		t.warn.warn("status", "Application Insights ingestion answered %d and %d events were lost; %s", code, items, hint(code))
	}
	return nil
}

// retriable mirrors the statuses ApplicationInsights-Go v0.4.4 retries.
func retriable(code int) bool {
	switch code {
	case http.StatusRequestTimeout, http.StatusTooManyRequests, 439,
		http.StatusInternalServerError, http.StatusServiceUnavailable:
		return true
	}
	return false
}

func hint(code int) string {
	switch code {
	case http.StatusBadRequest:
		return "if local authentication is disabled on the resource, set APPLICATIONINSIGHTS_AUTHENTICATION_STRING=Authorization=AAD"
	case http.StatusUnauthorized:
		return "the Entra token was refused (wrong identity or scope)"
	case http.StatusForbidden:
		return "grant the identity the Monitoring Metrics Publisher role on the Application Insights resource"
	}
	return "check APPLICATIONINSIGHTS_CONNECTION_STRING"
}

// countItems counts the telemetry items (one JSON line each, gzip-compressed
// by the library) in a copy of the request body. 0 when unreadable.
func countItems(req *http.Request) int {
	if req.GetBody == nil {
		return 0
	}
	body, err := req.GetBody()
	if err != nil {
		return 0
	}
	defer body.Close()
	var r io.Reader = body
	if req.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(body)
		if err != nil {
			return 0
		}
		r = zr
	}
	b, err := io.ReadAll(r)
	if err != nil {
		return 0
	}
	n := bytes.Count(b, []byte("\n"))
	if len(b) > 0 && b[len(b)-1] != '\n' {
		n++
	}
	return n
}

// tokenSource caches the Entra token and renews it ahead of expiry.
type tokenSource struct {
	cred  azcore.TokenCredential
	scope string

	mu  sync.Mutex
	tok azcore.AccessToken
}

// renewBefore is how long before expiry a cached token is replaced.
const renewBefore = 5 * time.Minute

func (s *tokenSource) token(ctx context.Context) (string, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	now := time.Now()
	fresh := s.tok.Token != "" && now.Add(renewBefore).Before(s.tok.ExpiresOn) &&
		(s.tok.RefreshOn.IsZero() || now.Before(s.tok.RefreshOn))
	if fresh {
		return s.tok.Token, nil
	}
	ctx, cancel := context.WithTimeout(ctx, 30*time.Second) // the library's requests carry no deadline
	defer cancel()
	tok, err := s.cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{s.scope}})
	if err != nil {
		return "", err
	}
	if tok.Token == "" {
		return "", errors.New("credential returned an empty token")
	}
	s.tok = tok
	return tok.Token, nil
}
