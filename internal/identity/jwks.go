package identity

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rsa"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"

	"github.com/snippets-mcp/server/internal/httpx"

	jose "github.com/go-jose/go-jose/v4"
)

// Limits on what the issuer may send us: discovery documents and key sets
// are small, and a larger answer is a misconfiguration or an attack.
const (
	jwtMaxMetadataBytes = 1 << 20
	jwtFetchTimeout     = 10 * time.Second
	jwtMinRSABits       = 2048
)

// oidcDiscover reads <discoveryBase>/.well-known/openid-configuration, checks that
// it names exactly wantIssuer and returns its jwks_uri.
func oidcDiscover(ctx context.Context, client *http.Client, discoveryBase, wantIssuer string) (string, error) {
	u := strings.TrimSuffix(discoveryBase, "/") + "/.well-known/openid-configuration"
	var doc struct {
		Issuer  string `json:"issuer"`
		JWKSURI string `json:"jwks_uri"`
	}
	if err := jwtGetJSON(ctx, client, u, &doc); err != nil {
		return "", fmt.Errorf("openid discovery: %w", err)
	}
	if doc.Issuer != wantIssuer {
		return "", fmt.Errorf("openid discovery at %s names issuer %q, not the configured %q (the match must be exact)", u, doc.Issuer, wantIssuer)
	}
	if doc.JWKSURI == "" {
		return "", fmt.Errorf("openid discovery at %s has no jwks_uri", u)
	}
	if err := jwtCheckURL(doc.JWKSURI); err != nil {
		return "", fmt.Errorf("openid discovery at %s: jwks_uri: %w", u, err)
	}
	return doc.JWKSURI, nil
}

// jwtCheckURL allows https, and plain http only to a loopback host (local
// issuers in tests and development): keys fetched over the network in the
// clear could be replaced by anyone on the path.
func jwtCheckURL(raw string) error {
	u, err := url.Parse(raw)
	if err != nil {
		return fmt.Errorf("%q is not a URL", raw)
	}
	switch {
	case u.Host == "":
		return fmt.Errorf("%q has no host", raw)
	case u.Scheme == "https":
		return nil
	case u.Scheme == "http" && httpx.IsLoopback(u.Hostname()):
		return nil
	}
	return fmt.Errorf("%q must use https (plain http is allowed only for a loopback host)", raw)
}

func jwtGetJSON(ctx context.Context, client *http.Client, u string, dst any) error {
	ctx, cancel := context.WithTimeout(ctx, jwtFetchTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u, nil)
	if err != nil {
		return fmt.Errorf("build request for %s: %w", u, err)
	}
	req.Header.Set("Accept", "application/json")
	resp, err := client.Do(req)
	if err != nil {
		return fmt.Errorf("get %s: %w", u, err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("get %s: status %s", u, resp.Status)
	}
	body, err := io.ReadAll(io.LimitReader(resp.Body, jwtMaxMetadataBytes+1))
	if err != nil {
		return fmt.Errorf("read %s: %w", u, err)
	}
	if len(body) > jwtMaxMetadataBytes {
		return fmt.Errorf("get %s: answer larger than %d bytes", u, jwtMaxMetadataBytes)
	}
	if err := json.Unmarshal(body, dst); err != nil {
		return fmt.Errorf("decode %s: %w", u, err)
	}
	return nil
}

// jwksCache is the issuer's signing keys, fetched lazily: again when a token
// names a key we do not have (at most once per minRefresh, so a flood of
// made-up key ids costs the issuer one request per interval), and when the
// copy is older than maxAge. There is no background goroutine.
type jwksCache struct {
	client     *http.Client
	uri        string
	now        func() time.Time
	minRefresh time.Duration
	maxAge     time.Duration

	log *slog.Logger

	refreshMu sync.Mutex // serializes fetches; taken before mu, never while holding it

	mu          sync.RWMutex
	keys        []jose.JSONWebKey
	fetched     time.Time // last successful fetch
	lastAttempt time.Time // last fetch, successful or not
	fetches     int       // successful and failed, for tests
}

// errJWKSUnavailable wraps a failed refresh: the issuer, not the caller, is
// at fault.
var errJWKSUnavailable = errors.New("signing keys unavailable")

// load fetches the key set now, regardless of the refresh interval.
func (s *jwksCache) load(ctx context.Context) error {
	s.refreshMu.Lock()
	defer s.refreshMu.Unlock()
	return s.fetchLocked(ctx)
}

func (s *jwksCache) fetchLocked(ctx context.Context) error {
	now := s.now()
	s.mu.Lock()
	s.lastAttempt = now
	s.fetches++
	s.mu.Unlock()

	var doc struct {
		Keys []json.RawMessage `json:"keys"`
	}
	if err := jwtGetJSON(ctx, s.client, s.uri, &doc); err != nil {
		return fmt.Errorf("%w: %w", errJWKSUnavailable, err)
	}
	keys := make([]jose.JSONWebKey, 0, len(doc.Keys))
	for _, raw := range doc.Keys {
		// Keys we cannot use (encryption keys, symmetric or unknown types,
		// small RSA moduli) are left out on purpose; a set with no usable
		// key at all is an error below.
		var k jose.JSONWebKey
		if err := k.UnmarshalJSON(raw); err != nil {
			continue
		}
		if jwksUsableKey(k) {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		return fmt.Errorf("%w: %s holds no usable signing key (%d keys listed)", errJWKSUnavailable, s.uri, len(doc.Keys))
	}
	s.mu.Lock()
	s.keys = keys
	s.fetched = now
	s.mu.Unlock()
	return nil
}

func jwksUsableKey(k jose.JSONWebKey) bool {
	if !k.Valid() || !k.IsPublic() || (k.Use != "" && k.Use != "sig") {
		return false
	}
	switch pub := k.Key.(type) {
	case *rsa.PublicKey:
		return pub.N.BitLen() >= jwtMinRSABits
	case *ecdsa.PublicKey:
		return pub.Curve == elliptic.P256() || pub.Curve == elliptic.P384() || pub.Curve == elliptic.P521()
	}
	return false
}

// find returns the keys that may verify a token with this kid. An empty kid
// is accepted only when the set has exactly one key. When nothing matches,
// or the copy is stale, it refreshes (rate-limited) and looks again.
func (s *jwksCache) find(ctx context.Context, kid string) ([]jose.JSONWebKey, error) {
	keys, fresh := s.lookup(kid)
	if fresh && (len(keys) > 0 || kid == "") {
		// No kid and several keys is the token's fault: no refetch.
		return keys, nil
	}
	// A stale set that has the key does not wait for a fetch already under
	// way: a slow issuer must not stall every request.
	err := s.refresh(ctx, len(keys) == 0)
	if again, _ := s.lookup(kid); len(again) > 0 {
		// A failed refresh of a stale set still leaves usable keys: keep
		// serving with them rather than lock everyone out.
		if err != nil {
			s.log.Warn("jwt: key set refresh failed; keeping the keys already held", "jwks_uri", s.uri, "err", err)
		}
		return again, nil
	}
	return nil, err
}

func (s *jwksCache) lookup(kid string) (keys []jose.JSONWebKey, fresh bool) {
	s.mu.RLock()
	defer s.mu.RUnlock()
	fresh = s.now().Sub(s.fetched) < s.maxAge
	if kid == "" {
		if len(s.keys) == 1 {
			return s.keys[:1:1], fresh
		}
		return nil, fresh
	}
	for _, k := range s.keys {
		if k.KeyID == kid {
			keys = append(keys, k)
		}
	}
	return keys, fresh
}

// refresh fetches the set unless a fetch was attempted within minRefresh,
// or (when wait is false) another fetch is under way. It returns nil when it
// decided not to fetch.
func (s *jwksCache) refresh(ctx context.Context, wait bool) error {
	if wait {
		s.refreshMu.Lock()
	} else if !s.refreshMu.TryLock() {
		return nil
	}
	defer s.refreshMu.Unlock()
	s.mu.RLock()
	recent := s.now().Sub(s.lastAttempt) < s.minRefresh
	s.mu.RUnlock()
	if recent {
		// Someone (perhaps a caller we just waited for) fetched moments ago.
		return nil
	}
	// A client that hangs up must not abort the fetch others wait for.
	return s.fetchLocked(context.WithoutCancel(ctx))
}
