package delegate

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http"
	"strings"
	"testing"
	"time"
)

func TestCacheLRU(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	c := newCache[string](2)
	builds := 0
	get := func(key string, at time.Time) string {
		v, err := c.getOrAdd(key, at, func() (string, time.Time, error) {
			builds++
			return key + "-v" + string(rune('0'+builds)), at.Add(time.Minute), nil
		})
		if err != nil {
			t.Fatal(err)
		}
		return v
	}
	a1 := get("a", now)
	get("b", now)
	if get("a", now) != a1 { // a is now most recently used
		t.Error("a rebuilt while cached")
	}
	get("c", now) // evicts b, the least recently used
	if c.len() != 2 {
		t.Errorf("len = %d, want 2", c.len())
	}
	if get("a", now) != a1 {
		t.Error("a was evicted instead of b")
	}
	before := builds
	get("b", now)
	if builds != before+1 {
		t.Error("b was not evicted")
	}
	// Expired entries are rebuilt.
	before = builds
	if get("a", now.Add(2*time.Minute)) == a1 || builds != before+1 {
		t.Error("expired entry served")
	}
	c.remove("a")
	before = builds
	get("a", now)
	if builds != before+1 {
		t.Error("removed entry served")
	}

	// A failed build stores nothing.
	_, err := c.getOrAdd("z", now, func() (string, time.Time, error) { return "", time.Time{}, errors.New("boom") })
	if err == nil || c.len() != 2 {
		t.Errorf("failed build: err=%v len=%d", err, c.len())
	}
}

func TestUserKeySeparatesUsersAndTokens(t *testing.T) {
	t.Parallel()
	k := userKey("t", "o", "token")
	for _, other := range []string{userKey("t2", "o", "token"), userKey("t", "o2", "token"), userKey("t", "o", "token2")} {
		if other == k {
			t.Errorf("key collision: %q", k)
		}
	}
	if strings.Contains(k, "token") {
		t.Error("the key contains the token itself")
	}
}

func TestTokenExpiry(t *testing.T) {
	t.Parallel()
	now := time.Unix(1_700_000_000, 0)
	jwt := func(payload string) string {
		enc := base64.RawURLEncoding
		return enc.EncodeToString([]byte(`{"alg":"RS256"}`)) + "." + enc.EncodeToString([]byte(payload)) + ".sig"
	}
	tests := []struct {
		name, token string
		want        time.Time
	}{
		{"exp", jwt(`{"exp":1700000600}`), time.Unix(1700000600, 0)},
		{"exp far away is capped", jwt(`{"exp":1800000000}`), now.Add(maxEntryTTL)},
		{"no exp", jwt(`{"sub":"x"}`), now.Add(unknownExpiryTTL)},
		{"not json", jwt(`nope`), now.Add(unknownExpiryTTL)},
		{"not a jwt", "opaque-token", now.Add(unknownExpiryTTL)},
		{"bad base64", "a.!!!.c", now.Add(unknownExpiryTTL)},
	}
	for _, tc := range tests {
		if got := tokenExpiry(tc.token, now); !got.Equal(tc.want) {
			t.Errorf("%s: expiry %v, want %v", tc.name, got, tc.want)
		}
	}
}

func TestChallengeClaims(t *testing.T) {
	t.Parallel()
	claims := `{"access_token":{"nbf":{"essential":true,"value":"1"}}}`
	b64 := base64.StdEncoding.EncodeToString([]byte(claims))
	tests := []struct {
		name   string
		header []string
		want   string
	}{
		{"cae", []string{`Bearer realm="", authorization_uri="https://login.microsoftonline.com/common/oauth2/authorize", error="insufficient_claims", claims="` + b64 + `"`}, claims},
		{"second challenge", []string{`Basic realm="x"`, `Bearer error="insufficient_claims", claims="` + b64 + `"`}, claims},
		{"other error", []string{`Bearer error="invalid_token", claims="` + b64 + `"`}, ""},
		{"not base64 json", []string{`Bearer error="insufficient_claims", claims="%%%"`}, ""},
		{"none", nil, ""},
	}
	for _, tc := range tests {
		if got := challengeClaims(tc.header); got != tc.want {
			t.Errorf("%s: claims %q, want %q", tc.name, got, tc.want)
		}
	}
	p := authParams(`Bearer realm="a \"q\" b", error=invalid_token, x="1,2"`)
	if p["realm"] != `a "q" b` || p["error"] != "invalid_token" || p["x"] != "1,2" {
		t.Errorf("authParams = %q", p)
	}
}

func TestRetryAfter(t *testing.T) {
	t.Parallel()
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	h := func(v string) http.Header { return http.Header{"Retry-After": {v}} }
	tests := map[string]time.Duration{
		"7":                             7 * time.Second,
		"Fri, 02 Jan 2026 03:04:35 GMT": 30 * time.Second,
		"Fri, 02 Jan 2026 03:00:00 GMT": 0, // in the past
		"soon":                          0,
		"-3":                            0,
		"":                              0,
	}
	for v, want := range tests {
		if got := retryAfter(h(v), now); got != want {
			t.Errorf("Retry-After %q = %s, want %s", v, got, want)
		}
	}
}

// TestEntraCodes covers codes the fake authority does not act out.
func TestEntraCodes(t *testing.T) {
	t.Parallel()
	m := messages{clientID: "app-id", timeout: time.Second}
	tests := []struct {
		status int
		body   string
		want   Kind
	}{
		{400, `{"error":"invalid_grant","error_codes":[50079]}`, KindInteractionRequired},
		{400, `{"error":"invalid_grant","error_codes":[70044],"suberror":"bad_token"}`, KindInteractionRequired},
		{400, `{"error":"invalid_grant","error_codes":[53000]}`, KindInteractionRequired},
		{400, `{"error":"invalid_grant","error_codes":[90094]}`, KindConsentRequired},
		{400, `{"error":"invalid_request","error_codes":[700016]}`, KindConsentRequired},
		{401, `{"error":"invalid_client","error_codes":[7000222]}`, KindMisconfigured},
		{400, `{"error":"invalid_request","error_codes":[700213]}`, KindMisconfigured},
		{400, `{"error":"invalid_grant","error_codes":[50013]}`, KindUnauthorized},
		{503, `{"error":"temporarily_unavailable","error_codes":[]}`, KindUnavailable},
		{400, `{"error":"something_new"}`, KindUnavailable},
	}
	for _, tc := range tests {
		var b entraError
		if err := json.Unmarshal([]byte(tc.body), &b); err != nil {
			t.Fatal(err)
		}
		e := m.entraFailure(tc.status, b, 0)
		if e.Kind != tc.want {
			t.Errorf("%d %s: kind %q, want %q", tc.status, tc.body, e.Kind, tc.want)
		}
		if e.UserMessage() == "" || !strings.HasPrefix(e.Error(), "delegate: "+string(tc.want)) {
			t.Errorf("%s: message %q error %q", tc.body, e.UserMessage(), e.Error())
		}
	}
}

// len is the number of cached credentials (tests only).
func (c *cache[V]) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.order.Len()
}
