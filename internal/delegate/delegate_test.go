package delegate_test

import (
	"context"
	"crypto/rand"
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/delegate"
	"github.com/snippets-mcp/server/internal/delegate/delegatetest"
)

const signInURL = "https://app.example/.auth/login/aad"

// env is one test's world: a fake authority, a Graph stand-in, and a
// Delegator wired to both through an HTTP client that trusts them.
type env struct {
	t        *testing.T
	tenant   string
	clientID string
	entra    *delegatetest.Entra
	graph    *delegatetest.Graph
	cfg      delegate.Config
	client   *http.Client
}

func newEnv(t *testing.T) *env {
	t.Helper()
	e := &env{t: t, tenant: guid(), clientID: guid()}
	e.entra = delegatetest.NewEntra(t, e.tenant, e.clientID)
	e.graph = delegatetest.NewGraph(t, e.entra)
	e.entra.Secret = "dev-secret-" + guid()

	e.cfg = delegate.Config{
		ClientID:      e.clientID,
		Tenants:       []string{e.tenant},
		ClientSecret:  e.entra.Secret,
		AllowSecret:   true,
		AuthorityHost: e.entra.URL(),
		GraphEndpoint: e.graph.URL(),
		SignInURL:     signInURL,
	}
	e.client = delegatetest.Client(t, e.entra.Certificate(), e.graph.Certificate())
	e.cfg.HTTPClient = e.client
	return e
}

func (e *env) delegator(adjust ...func(*delegate.Config)) *delegate.Delegator {
	e.t.Helper()
	cfg := e.cfg
	for _, f := range adjust {
		f(&cfg)
	}
	d, err := delegate.New(cfg)
	if err != nil {
		e.t.Fatalf("New: %v", err)
	}
	return d
}

func (e *env) user(scenario string) delegate.User {
	oid := guid()
	return delegate.User{TenantID: e.tenant, ObjectID: oid, Token: delegatetest.UserToken(e.tenant, oid, scenario, time.Now().Add(time.Hour))}
}

// checkNoLeak asserts the inbound token went to the token endpoint as the
// on-behalf-of assertion and nowhere else.
func (e *env) checkNoLeak(inbound string) {
	e.t.Helper()
	delegatetest.CheckNoLeak(e.t, inbound, e.entra, e.graph)
}

func TestProfileOnBehalfOf(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.delegator()
	u := e.user("")

	p, err := d.Profile(context.Background(), u)
	if err != nil {
		t.Fatalf("Profile: %v", err)
	}
	want := delegate.Profile{DisplayName: "User " + u.ObjectID, Mail: u.ObjectID + "@contoso.example", UserPrincipalName: u.ObjectID + "@contoso.example", JobTitle: "Engineer"}
	if p != want {
		t.Errorf("profile = %+v, want %+v", p, want)
	}
	if got := e.entra.Exchanges(); got != 1 {
		t.Errorf("exchanges after first call = %d, want 1", got)
	}

	// The second call is served from the credential's cache.
	p2, err := d.Profile(context.Background(), u)
	if err != nil {
		t.Fatalf("second Profile: %v", err)
	}
	if p2 != want {
		t.Errorf("second profile = %+v, want %+v", p2, want)
	}
	if got := e.entra.Exchanges(); got != 1 {
		t.Errorf("exchanges after second call = %d, want 1 (cache miss)", got)
	}

	seen := e.graph.Requests()
	if len(seen) != 2 {
		t.Fatalf("Graph saw %d requests, want 2", len(seen))
	}
	for _, r := range seen {
		tok, _ := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		if who, ok := e.entra.Lookup(tok); !ok || who.ObjectID != u.ObjectID {
			t.Errorf("Graph got a token the authority did not issue for this user")
		}
		if r.Method != http.MethodGet || r.Path != "/v1.0/me" {
			t.Errorf("Graph request %s %s, want GET /v1.0/me", r.Method, r.Path)
		}
	}
	e.checkNoLeak(u.Token)
	if e.entra.DiscoveryHits() != 0 {
		t.Errorf("instance discovery was used against a private authority")
	}
	if got, want := d.Resource(), e.graph.Host(); got != want {
		t.Errorf("Resource() = %q, want %q", got, want)
	}
}

func TestUsersNeverShareTokens(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.delegator()
	users := []delegate.User{e.user(""), e.user(""), e.user(""), e.user("")}

	var wg sync.WaitGroup
	errs := make([]error, len(users))
	profiles := make([]delegate.Profile, len(users))
	for i, u := range users {
		wg.Go(func() { profiles[i], errs[i] = d.Profile(context.Background(), u) })
	}
	wg.Wait()
	for i, u := range users {
		if errs[i] != nil {
			t.Fatalf("user %d: %v", i, errs[i])
		}
		if profiles[i].DisplayName != "User "+u.ObjectID {
			t.Errorf("user %d got %q's profile", i, profiles[i].DisplayName)
		}
		e.checkNoLeak(u.Token)
	}
	if got := e.entra.Exchanges(); got != len(users) {
		t.Errorf("exchanges = %d, want one per user (%d)", got, len(users))
	}

	// Same user, new inbound token (a new sign-in): a new exchange, never
	// the token obtained with the old one.
	u := users[0]
	u.Token = delegatetest.UserToken(e.tenant, u.ObjectID, "", time.Now().Add(time.Hour))
	if _, err := d.Profile(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if got := e.entra.Exchanges(); got != len(users)+1 {
		t.Errorf("exchanges after a new inbound token = %d, want %d", got, len(users)+1)
	}

	// Another user presenting the first user's token (a bug upstream) does
	// not get the first user's cached Graph token either.
	other := users[1]
	other.Token = users[0].Token
	before := e.entra.Exchanges()
	if _, err := d.Profile(context.Background(), other); err == nil {
		t.Errorf("a profile for a token of someone else was returned")
	}
	if got := e.entra.Exchanges(); got != before+1 {
		t.Errorf("a different user reused a cached credential: exchanges %d, want %d", got, before+1)
	}
}

func TestCacheBoundAndExpiry(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	e.cfg.CacheSize = 2
	var mu sync.Mutex
	now := time.Now()
	clock := func() time.Time { mu.Lock(); defer mu.Unlock(); return now }
	d := e.delegator(func(c *delegate.Config) { c.Now = clock })

	a, b, c := e.user(""), e.user(""), e.user("")
	for _, u := range []delegate.User{a, b, b, c, b, a} {
		if _, err := d.Profile(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	// a, b and c exchange once each; b is served from the cache twice;
	// c pushed a (the least recently used) out, so a exchanges again.
	if got := e.entra.Exchanges(); got != 4 {
		t.Errorf("exchanges = %d, want 4", got)
	}

	// An entry lives until its inbound token expires.
	u := e.user("")
	u.Token = delegatetest.UserToken(e.tenant, u.ObjectID, "", now.Add(10*time.Minute))
	before := e.entra.Exchanges()
	for range 2 {
		if _, err := d.Profile(context.Background(), u); err != nil {
			t.Fatal(err)
		}
	}
	if got := e.entra.Exchanges(); got != before+1 {
		t.Errorf("exchanges for a live token = %d, want %d", got, before+1)
	}
	before = e.entra.Exchanges()
	mu.Lock()
	now = now.Add(11 * time.Minute)
	mu.Unlock()
	if _, err := d.Profile(context.Background(), u); err != nil {
		t.Fatal(err)
	}
	if got := e.entra.Exchanges(); got != before+1 {
		t.Errorf("exchanges after the inbound token expired = %d, want %d", got, before+1)
	}
}

func TestFailuresBecomeActionableErrors(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.delegator()
	short := e.cfg
	short.Timeout = 2 * time.Second // ample for a local exchange, short for a test
	ds, err := delegate.New(short)
	if err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		scenario   string
		short      bool // use the delegator with a short timeout
		kind       delegate.Kind
		code       string
		msg        []string // substrings of UserMessage
		claims     string   // substring of Claims
		retryAfter time.Duration
	}{
		{scenario: "mfa", kind: delegate.KindInteractionRequired, code: "AADSTS50076", msg: []string{"multi-factor", signInURL}, claims: "capolids"},
		{scenario: "consent", kind: delegate.KindConsentRequired, code: "AADSTS65001", msg: []string{"User.Read", "administrator", "az ad app permission admin-consent --id " + e.clientID}},
		{scenario: "consent_required", kind: delegate.KindConsentRequired, code: "AADSTS65001", msg: []string{e.clientID}},
		{scenario: "expired", kind: delegate.KindUnauthorized, code: "AADSTS500133", msg: []string{"Sign in again", signInURL}},
		{scenario: "blocked", kind: delegate.KindForbidden, code: "AADSTS53003", msg: []string{"administrator"}},
		{scenario: "badclient", kind: delegate.KindMisconfigured, code: "AADSTS70021", msg: []string{"operator"}},
		{scenario: "throttle", kind: delegate.KindThrottled, code: "AADSTS90033", msg: []string{"7 seconds"}, retryAfter: 7 * time.Second},
		{scenario: "e500", kind: delegate.KindUnavailable, code: "AADSTS90033", msg: []string{"Try again"}},
		{scenario: "html400", kind: delegate.KindBadResponse, msg: []string{"could not understand"}},
		{scenario: "malformed", kind: delegate.KindBadResponse, msg: []string{"could not understand"}},
		{scenario: "noaccesstoken", kind: delegate.KindBadResponse, msg: []string{"could not understand"}},
		{scenario: "slow", short: true, kind: delegate.KindTimeout, msg: []string{"Microsoft Entra ID did not answer within 2s"}},
		{scenario: "g401", kind: delegate.KindUnauthorized, code: "InvalidAuthenticationToken", msg: []string{"Sign in again", signInURL}},
		{scenario: "gcae", kind: delegate.KindInteractionRequired, code: "InvalidAuthenticationToken", msg: []string{signInURL}, claims: `"nbf"`},
		{scenario: "g403", kind: delegate.KindForbidden, code: "Authorization_RequestDenied", msg: []string{"User.Read"}},
		{scenario: "g429", kind: delegate.KindThrottled, code: "TooManyRequests", msg: []string{"30 seconds"}, retryAfter: 30 * time.Second},
		{scenario: "g500", kind: delegate.KindUnavailable, code: "generalException", msg: []string{"Try again"}},
		{scenario: "gslow", short: true, kind: delegate.KindTimeout, msg: []string{"Microsoft Graph did not answer within 2s"}},
		{scenario: "gredirect", kind: delegate.KindBadResponse, msg: []string{"unexpected status 307"}},
		{scenario: "gbadjson", kind: delegate.KindBadResponse, msg: []string{"Microsoft Graph"}},
		{scenario: "gwrongid", kind: delegate.KindBadResponse, msg: []string{"Microsoft Graph"}},
	}
	for _, tc := range tests {
		t.Run(tc.scenario, func(t *testing.T) {
			t.Parallel()
			u := e.user(tc.scenario)
			dd := d
			if tc.short {
				dd = ds
			}
			_, err := dd.Profile(context.Background(), u)
			de := asError(t, err)
			if de.Kind != tc.kind {
				t.Fatalf("kind = %q, want %q (%v)", de.Kind, tc.kind, err)
			}
			if de.Code != tc.code {
				t.Errorf("code = %q, want %q", de.Code, tc.code)
			}
			for _, s := range tc.msg {
				if !strings.Contains(de.UserMessage(), s) {
					t.Errorf("message %q lacks %q", de.UserMessage(), s)
				}
			}
			if tc.claims == "" && de.Claims != "" || !strings.Contains(de.Claims, tc.claims) {
				t.Errorf("claims = %q, want one containing %q", de.Claims, tc.claims)
			}
			if de.RetryAfter != tc.retryAfter {
				t.Errorf("RetryAfter = %s, want %s", de.RetryAfter, tc.retryAfter)
			}
			for _, text := range []string{de.UserMessage(), err.Error()} {
				if strings.Contains(text, u.Token) || strings.Contains(text, "graph-at") || strings.Contains(text, e.entra.Secret) {
					t.Errorf("error text carries a token or secret: %q", text)
				}
			}
			for _, r := range e.graph.Requests() {
				if r.Contains(u.Token) {
					t.Errorf("inbound token reached Graph")
				}
			}
			for _, r := range e.entra.Requests() {
				if r.Path == "/collect" {
					t.Errorf("a Graph redirect was followed")
				}
			}
		})
	}
}

func TestGraphRejectionDropsCachedToken(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.delegator()
	u := e.user("g401")
	for range 2 {
		if _, err := d.Profile(context.Background(), u); asError(t, err).Kind != delegate.KindUnauthorized {
			t.Fatalf("err = %v, want unauthorized", err)
		}
	}
	if got := e.entra.Exchanges(); got != 2 {
		t.Errorf("exchanges = %d, want 2: a token Graph refused must not be reused", got)
	}
}

func TestCallerProblems(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.delegator()
	good := e.user("")

	tests := []struct {
		name string
		d    *delegate.Delegator
		u    delegate.User
		kind delegate.Kind
		msg  string
	}{
		{"app-only", d, delegate.User{TenantID: e.tenant, ObjectID: guid(), AppOnly: true}, delegate.KindAppOnly, "signed-in user"},
		{"no token", d, delegate.User{TenantID: e.tenant, ObjectID: guid()}, delegate.KindUnauthorized, "did not receive your access token"},
		{"other tenant", d, delegate.User{TenantID: guid(), ObjectID: good.ObjectID, Token: good.Token}, delegate.KindForbidden, "WEBSITE_AUTH_AAD_ALLOWED_TENANTS"},
		{"not configured", nil, good, delegate.KindNotConfigured, "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			_, err := tc.d.Profile(context.Background(), tc.u)
			de := asError(t, err)
			if de.Kind != tc.kind || !strings.Contains(de.UserMessage(), tc.msg) {
				t.Errorf("got %q %q, want %q with %q", de.Kind, de.UserMessage(), tc.kind, tc.msg)
			}
		})
	}
	if got := e.entra.Exchanges(); got != 0 {
		t.Errorf("exchanges = %d, want none for rejected callers", got)
	}

	// A caller without a tenant claim is exchanged in the single allowed tenant.
	u := good
	u.TenantID = ""
	if _, err := d.Profile(context.Background(), u); err != nil {
		t.Errorf("caller without tid, one allowed tenant: %v", err)
	}
}

func TestCancelledCallReturnsPromptly(t *testing.T) {
	t.Parallel()
	e := newEnv(t)
	d := e.delegator()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err := d.Profile(ctx, e.user("slow"))
	if k := asError(t, err).Kind; k != delegate.KindTimeout {
		t.Errorf("kind = %q, want timeout for a cancelled call", k)
	}
}

func asError(t *testing.T, err error) *delegate.Error {
	t.Helper()
	var de *delegate.Error
	if !errors.As(err, &de) {
		t.Fatalf("error %v (%T) is not a *delegate.Error", err, err)
	}
	return de
}

func guid() string {
	b := make([]byte, 16)
	rand.Read(b)
	return fmt.Sprintf("%x-%x-%x-%x-%x", b[0:4], b[4:6], b[6:8], b[8:10], b[10:])
}
