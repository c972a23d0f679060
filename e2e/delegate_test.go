package e2e

import (
	"bufio"
	"encoding/json"
	"net/http"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/delegate/delegatetest"
	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// The server's Entra application in these tests (WEBSITE_AUTH_CLIENT_ID).
const oboAppID = "5f0c2d7e-8a41-4b6c-9d3e-1a2b3c4d5e6f"

// oboTimeout bounds one delegated call in the server under test.
const oboTimeout = 10 * time.Second

// oboWorld is a server binary in jwt mode with delegation pointed at local
// TLS stand-ins for Entra and Graph, which it trusts through SSL_CERT_FILE.
type oboWorld struct {
	srv   *Server
	iss   *authtest.Issuer
	entra *delegatetest.Entra
	graph *delegatetest.Graph
}

// startOBO starts the fakes and the server. configure tells the fake
// authority how the app must authenticate and returns the server settings
// that make it do so.
func startOBO(t *testing.T, configure func(*delegatetest.Entra) []string) *oboWorld {
	t.Helper()
	w := &oboWorld{entra: delegatetest.NewEntra(t, authtest.TenantID, oboAppID)}
	w.graph = delegatetest.NewGraph(t, w.entra)
	env := append([]string{
		"WEBSITE_AUTH_CLIENT_ID=" + oboAppID,
		"WEBSITE_AUTH_AAD_ALLOWED_TENANTS=" + authtest.TenantID,
		"AZURE_AUTHORITY_HOST=" + w.entra.URL(),
		"MCP_GRAPH_ENDPOINT=" + w.graph.URL(),
		"MCP_OBO_TIMEOUT=" + oboTimeout.String(),
		"SSL_CERT_FILE=" + delegatetest.CertFile(t, w.entra.Certificate(), w.graph.Certificate()),
	}, configure(w.entra)...)
	w.srv, w.iss = jwtServer(t, env...)
	return w
}

// user mints a signed user token; scenario picks the fakes' answer.
func (w *oboWorld) user(t *testing.T, oid, scenario string) string {
	c := authtest.Claims{ObjectID: oid}
	if scenario != "" {
		c.Extra = map[string]any{delegatetest.ScenarioClaim: scenario}
	}
	return w.iss.Mint(t, c)
}

// profile calls get_my_profile and returns the result and how long it took.
func (w *oboWorld) profile(t *testing.T, token string) (toolResult, time.Duration) {
	t.Helper()
	start := time.Now()
	r, tr := callTool(t, w.srv.MCPURL(), "get_my_profile", nil, bearer(token)...)
	if r.Error != nil {
		t.Fatalf("get_my_profile: JSON-RPC error %d %s", r.Error.Code, r.Error.Message)
	}
	return tr, time.Since(start)
}

// wantProfile checks the result is the Graph stand-in's profile of oid.
func wantProfile(t *testing.T, tr toolResult, oid string) {
	t.Helper()
	if tr.IsError {
		t.Fatalf("get_my_profile failed: %s", tr.Text())
	}
	var got map[string]string
	if err := json.Unmarshal(tr.StructuredContent, &got); err != nil {
		t.Fatalf("structured content %s: %v", tr.StructuredContent, err)
	}
	want := map[string]string{"displayName": "User " + oid, "mail": oid + "@contoso.example",
		"userPrincipalName": oid + "@contoso.example", "jobTitle": "Engineer"}
	if toJSON(got) != toJSON(want) {
		t.Errorf("profile %s, want %s", toJSON(got), toJSON(want))
	}
}

// checkGraphTokens asserts Graph was only ever shown tokens the authority
// issued on behalf of one of the users in oids, never anything else.
func (w *oboWorld) checkGraphTokens(t *testing.T, oids ...string) {
	t.Helper()
	seen := w.graph.Requests()
	if len(seen) == 0 {
		t.Fatal("Graph saw no request")
	}
	for _, r := range seen {
		if r.Method != http.MethodGet || r.Path != "/v1.0/me" {
			t.Errorf("Graph request %s %s, want GET /v1.0/me", r.Method, r.Path)
		}
		tok, ok := strings.CutPrefix(r.Header.Get("Authorization"), "Bearer ")
		who, issued := w.entra.Lookup(tok)
		if !ok || !issued || !slices.Contains(oids, who.ObjectID) {
			t.Errorf("Graph got a token the authority did not issue on behalf of these users")
		}
	}
}

// stopAndAudit stops the server (its audit sink flushes on SIGTERM) and
// returns the audit events of get_my_profile calls, in order.
func (w *oboWorld) stopAndAudit(t *testing.T) []audit.Event {
	t.Helper()
	w.srv.Signal(syscall.SIGTERM)
	if err := w.srv.Wait(20 * time.Second); err != nil {
		t.Fatalf("server exit: %v\n%s", err, w.srv.Stderr())
	}
	var events []audit.Event
	sc := bufio.NewScanner(strings.NewReader(w.srv.Stdout()))
	for sc.Scan() {
		var e audit.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatalf("stdout line is not an audit event: %q", sc.Text())
		}
		if e.ToolName == "get_my_profile" {
			events = append(events, e)
		}
	}
	return events
}

// checkQuiet asserts no secret appears in the server's stdout or stderr.
func (w *oboWorld) checkQuiet(t *testing.T, secrets ...string) {
	t.Helper()
	secrets = append(secrets, w.entra.Tokens()...)
	for name, out := range map[string]string{"stdout": w.srv.Stdout(), "stderr": w.srv.Stderr()} {
		for _, s := range secrets {
			if s != "" && strings.Contains(out, s) {
				t.Errorf("server %s contains a token or secret (%.12s...)", name, s)
			}
		}
	}
}

// TestDelegatedProfile runs get_my_profile through the server binary with
// a development client secret: the exchange, its cache, per-user
// separation, Entra's actionable failures, app-only callers, and the audit
// trail.
func TestDelegatedProfile(t *testing.T) {
	t.Parallel()
	secret := "dev-secret-" + authtest.ObjectID
	w := startOBO(t, func(e *delegatetest.Entra) []string {
		e.Secret = secret
		return []string{"MCP_OBO_CLIENT_SECRET=" + secret}
	})
	const aliceID, bobID = "a11ce000-0000-4000-8000-000000000001", "b0b00000-0000-4000-8000-000000000002"
	alice, bob := w.user(t, aliceID, ""), w.user(t, bobID, "")
	mfa := w.user(t, "c0000000-0000-4000-8000-000000000003", "mfa")
	consent := w.user(t, "d0000000-0000-4000-8000-000000000004", "consent")
	app := w.iss.Mint(t, authtest.Claims{ObjectID: "e0000000-0000-4000-8000-000000000005", AppOnly: true, Roles: []string{"Snippets.Read"}})

	tr, _ := w.profile(t, alice)
	wantProfile(t, tr, aliceID)
	if n := w.entra.Exchanges(); n != 1 {
		t.Errorf("exchanges after the first call = %d, want 1", n)
	}

	// Same user, same token: the server's per-user credential answers.
	tr, _ = w.profile(t, alice)
	wantProfile(t, tr, aliceID)
	if n := w.entra.Exchanges(); n != 1 {
		t.Errorf("exchanges after a second call by the same user = %d, want 1", n)
	}
	if n := len(w.graph.Requests()); n != 2 {
		t.Errorf("Graph saw %d requests, want 2", n)
	}

	tr, _ = w.profile(t, bob)
	wantProfile(t, tr, bobID)
	if n := w.entra.Exchanges(); n != 2 {
		t.Errorf("exchanges after another user = %d, want 2", n)
	}
	w.checkGraphTokens(t, aliceID, bobID)

	failures := []struct {
		name, token string
		want        []string
	}{
		{"claims challenge", mfa, []string{"sign in again", "multi-factor", "AADSTS50076", "then retry"}},
		{"consent required", consent, []string{"has not been granted permission", "User.Read", "AADSTS65001",
			"Grant admin consent", "az ad app permission admin-consent --id " + oboAppID}},
	}
	for _, f := range failures {
		tr, took := w.profile(t, f.token)
		if !tr.IsError {
			t.Errorf("%s: not an error: %s", f.name, tr.Text())
		}
		for _, s := range f.want {
			if !strings.Contains(tr.Text(), s) {
				t.Errorf("%s: message %q lacks %q", f.name, tr.Text(), s)
			}
		}
		// Entra answered at once; the server must not sit on that answer
		// until its own deadline.
		if took >= oboTimeout {
			t.Errorf("%s: answered after %s, MCP_OBO_TIMEOUT is %s", f.name, took, oboTimeout)
		}
	}

	before := w.entra.Exchanges()
	// An app on its own has no user to act for: the tool, which could only
	// fail, is neither listed nor callable for it.
	if names := toolNames(t, w.srv.MCPURL(), app); slices.Contains(names, "get_my_profile") {
		t.Errorf("app-only caller is offered get_my_profile: %v", names)
	}
	if r, _ := callTool(t, w.srv.MCPURL(), "get_my_profile", nil, bearer(app)...); r.Error == nil || r.Error.Code != -32602 {
		t.Errorf("app-only caller: %+v, want the -32602 of a tool not offered", r.Error)
	}
	if n := w.entra.Exchanges(); n != before {
		t.Errorf("an app-only caller caused %d exchanges", n-before)
	}

	for _, tok := range []string{alice, bob, mfa, consent} {
		delegatetest.CheckNoLeak(t, tok, w.entra, w.graph)
	}
	for _, r := range append(w.entra.Requests(), w.graph.Requests()...) {
		if r.Contains(app) {
			t.Errorf("the app-only token was sent to %s", r.Path)
		}
	}

	events := w.stopAndAudit(t)
	wantCodes := []string{audit.ResultOK, audit.ResultOK, audit.ResultOK, audit.ResultToolError, audit.ResultToolError, audit.ResultDenied}
	if len(events) != len(wantCodes) {
		t.Fatalf("%d get_my_profile audit events, want %d:\n%s", len(events), len(wantCodes), w.srv.Stdout())
	}
	for i, e := range events {
		if e.ResultCode != wantCodes[i] {
			t.Errorf("event %d: result_code %q, want %q", i, e.ResultCode, wantCodes[i])
		}
		want := w.graph.Host()
		if i == 5 {
			want = "" // the app-only call never reached Graph
		}
		if e.DownstreamResource != want {
			t.Errorf("event %d: downstream_resource %q, want %q", i, e.DownstreamResource, want)
		}
	}
	if events[5].AuthorizationMode != audit.ModeAppOnly {
		t.Errorf("app-only event: authorization_mode %q, want %q", events[5].AuthorizationMode, audit.ModeAppOnly)
	}
	// The user calls went on behalf of the user; the app-only call was
	// refused before any exchange.
	for i, e := range events[:5] {
		if e.AuthorizationMode != "obo" {
			t.Errorf("event %d: authorization_mode %q, want obo", i, e.AuthorizationMode)
		}
	}
	// The app-only call is refused as a tool not offered to it.
	for i, want := range map[int]string{3: "obo: interaction_required", 4: "obo: consent_required", 5: "tool not permitted for this caller"} {
		if events[i].Message != want {
			t.Errorf("event %d: message %q, want %q", i, events[i].Message, want)
		}
	}
	w.checkQuiet(t, alice, bob, mfa, consent, app, secret)
}

// TestDelegatedProfileManagedIdentity runs the Azure path through the
// binary: no secret, the app's client assertion is its managed identity's
// token from IDENTITY_ENDPOINT (OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID).
func TestDelegatedProfileManagedIdentity(t *testing.T) {
	t.Parallel()
	const miClientID = "6a7b8c9d-0e1f-4a2b-8c3d-4e5f6a7b8c9d"
	var mi *delegatetest.ManagedIdentity
	w := startOBO(t, func(e *delegatetest.Entra) []string {
		mi = delegatetest.NewManagedIdentity(t, miClientID, "api://AzureADTokenExchange")
		e.Assertion = mi.Token
		return []string{
			"OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID=" + miClientID,
			"IDENTITY_ENDPOINT=" + mi.URL(),
			"IDENTITY_HEADER=" + mi.Header,
		}
	})
	const userID = "f0000000-0000-4000-8000-000000000006"
	user := w.user(t, userID, "")

	for range 2 {
		tr, _ := w.profile(t, user)
		wantProfile(t, tr, userID)
	}
	if n := w.entra.Exchanges(); n != 1 {
		t.Errorf("exchanges = %d, want 1", n)
	}
	asked := mi.Requests()
	if len(asked) == 0 {
		t.Fatal("the managed identity endpoint was never asked for the client assertion")
	}
	for _, r := range asked {
		if r.Contains(user) {
			t.Error("the inbound token was sent to the managed identity endpoint")
		}
	}
	w.checkGraphTokens(t, userID)
	delegatetest.CheckNoLeak(t, user, w.entra, w.graph)
	for _, r := range w.graph.Requests() {
		if r.Contains(mi.Token) {
			t.Error("the managed identity's token reached Graph")
		}
	}

	events := w.stopAndAudit(t)
	if len(events) != 2 {
		t.Fatalf("%d get_my_profile audit events, want 2:\n%s", len(events), w.srv.Stdout())
	}
	for i, e := range events {
		if e.ResultCode != audit.ResultOK || e.DownstreamResource != w.graph.Host() || e.AuthorizationMode != "obo" {
			t.Errorf("event %d: result_code %q downstream_resource %q authorization_mode %q", i, e.ResultCode, e.DownstreamResource, e.AuthorizationMode)
		}
	}
	w.checkQuiet(t, user, mi.Token, mi.Header)
}
