package tools

import (
	"context"
	"encoding/json"
	"errors"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/server"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/delegate"
	"github.com/snippets-mcp/server/internal/identity"
)

// noRoles is an application without any role: every rule refuses it.
var noRoles = &identity.Identity{TenantID: "t1", ObjectID: "nobody", AppOnly: true, Method: identity.MethodJWT}

// Resources and the prompt follow get_snippet's rule and read the
// caller's own space; each read is audited with its outcome.
func TestResourcesAndPrompt(t *testing.T) {
	f := newFixture(t)
	f.tool(t, alice, "save_snippet", map[string]any{"snippetname": "p1", "snippet": "private text"})
	writer := *alice
	writer.Roles = []string{identity.RoleWrite}
	if _, isErr, text := f.tool(t, &writer, "save_snippet", map[string]any{"snippetname": "s1", "snippet": "shared text", "shared": true}); isErr {
		t.Fatal(text)
	}
	cases := []struct {
		name   string
		who    *identity.Identity
		method string
		params map[string]any
		want   string // in the JSON response
		code   audit.ResultCode
	}{
		{"private", alice, "resources/read", map[string]any{"uri": "snippet://p1"}, `"text":"private text"`, audit.ResultOK},
		{"shared", readOnly, "resources/read", map[string]any{"uri": "snippet://shared/s1"}, `"text":"shared text"`, audit.ResultOK},
		{"someone else's", bob, "resources/read", map[string]any{"uri": "snippet://p1"}, `not found`, audit.ResultNotFound},
		{"bad name", alice, "resources/read", map[string]any{"uri": "snippet://a..b"}, `'..'`, audit.ResultInvalidArguments},
		{"no rights", noRoles, "resources/read", map[string]any{"uri": "snippet://p1"}, `not permitted`, audit.ResultDenied},
		{"guide", alice, "resources/read", map[string]any{"uri": "snippets://guide"}, `# Snippets server`, audit.ResultOK},
		{"prompt", alice, "prompts/get", map[string]any{"name": "review_snippet", "arguments": map[string]any{"snippetname": "p1", "focus": "security"}}, `Focus on: security.`, audit.ResultOK},
		{"prompt, missing", alice, "prompts/get", map[string]any{"name": "review_snippet", "arguments": map[string]any{"snippetname": "gone"}}, `not found`, audit.ResultNotFound},
		// The prompt is hidden from a caller who may not read: it does not exist for it.
		{"prompt, no rights", noRoles, "prompts/get", map[string]any{"name": "review_snippet", "arguments": map[string]any{"snippetname": "p1"}}, `not found`, audit.ResultNotFound},
		{"completion, no rights", noRoles, "completion/complete", map[string]any{"ref": map[string]any{"type": "ref/prompt", "name": "review_snippet"}, "argument": map[string]any{"name": "snippetname", "value": "p"}}, `"values":[]`, audit.ResultDenied},
		{"completion, bad prefix", alice, "completion/complete", map[string]any{"ref": map[string]any{"type": "ref/resource", "uri": "snippet://shared/{snippetname}"}, "argument": map[string]any{"name": "snippetname", "value": "!"}}, `"values":[]`, audit.ResultInvalidArguments},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			b, _ := json.Marshal(f.call(t, c.who, c.method, c.params))
			if !strings.Contains(string(b), c.want) {
				t.Errorf("got %s, want it to contain %s", b, c.want)
			}
			evs := f.auditor.all()
			if e := evs[len(evs)-1]; e.Method != c.method || e.ResultCode != string(c.code) {
				t.Errorf("audited %s %s, want %s %s", e.Method, e.ResultCode, c.method, c.code)
			}
		})
	}
	if got := f.call(t, noRoles, "prompts/list", map[string]any{}); strings.Contains(mustJSON(got), "review_snippet") {
		t.Errorf("a caller who may not read sees the prompt: %v", got)
	}
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

// FixErrors puts the JSON-RPC error a handler meant into mcp-go's answer,
// and leaves every other answer as mcp-go wrote it.
func TestFixErrors(t *testing.T) {
	f := newFixture(t)
	h := FixErrors(server.NewStreamableHTTPServer(f.mcp, server.WithStateLess(true), server.WithDisableStreaming(true),
		server.WithHTTPContextFunc(ContextFunc)))
	post := func(version, body string) (int, string) {
		r := httptest.NewRequest("POST", "/mcp", strings.NewReader(body))
		r = r.WithContext(identity.NewContext(r.Context(), alice))
		r.Header.Set("Content-Type", "application/json")
		r.Header.Set("Accept", "application/json, text/event-stream")
		r.Header.Set("Mcp-Protocol-Version", version)
		w := httptest.NewRecorder()
		h.ServeHTTP(w, r)
		return w.Code, w.Body.String()
	}
	cases := []struct {
		name, version, body string
		status              int
		want                string
	}{
		{"missing resource", "2025-06-18", `{"jsonrpc":"2.0","id":1,"method":"resources/read","params":{"uri":"snippet://gone"}}`,
			http.StatusOK, `"code":-32002,"message":"snippet \"gone\" not found in this space"`},
		{"unknown tool", "2025-06-18", `{"jsonrpc":"2.0","id":2,"method":"tools/call","params":{"name":"nope"}}`,
			http.StatusOK, `"code":-32602,"message":"tool \"nope\" not found; tools/list shows the tools you may call"`},
		{"missing prompt snippet", "2025-06-18", `{"jsonrpc":"2.0","id":3,"method":"prompts/get","params":{"name":"review_snippet","arguments":{"snippetname":"gone"}}}`,
			http.StatusOK, `"code":-32602`},
		{"untouched", "2025-06-18", `{"jsonrpc":"2.0","id":4,"method":"tools/call","params":{"name":"whoami"}}`,
			http.StatusOK, `You are alice`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			status, body := post(c.version, c.body)
			if status != c.status || !strings.Contains(body, c.want) {
				t.Errorf("got %d %s, want %d and %s", status, body, c.status, c.want)
			}
		})
	}
}

// errProfiles is a ProfileSource that fails with err, or succeeds.
type errProfiles struct{ err error }

func (p errProfiles) Profile(context.Context, delegate.User) (delegate.Profile, error) {
	if p.err != nil {
		return delegate.Profile{}, p.err
	}
	return delegate.Profile{DisplayName: "Alice", UserPrincipalName: "alice@contoso.example"}, nil
}
func (errProfiles) Resource() string { return "graph.microsoft.com" }

// get_my_profile classifies each delegation failure for the audit trail
// and records the downstream resource and the on-behalf-of mode.
func TestGetMyProfile(t *testing.T) {
	cases := []struct {
		name    string
		err     error
		isError bool
		text    string
		code    audit.ResultCode
		message string
	}{
		{"ok", nil, false, "Alice <alice@contoso.example>", audit.ResultOK, ""},
		{"throttled", &delegate.Error{Kind: delegate.KindThrottled}, true, "", audit.ResultUnavailable, "obo: throttled"},
		{"forbidden", &delegate.Error{Kind: delegate.KindForbidden}, true, "", audit.ResultDenied, "obo: forbidden"},
		{"consent", &delegate.Error{Kind: delegate.KindConsentRequired}, true, "", audit.ResultToolError, "obo: consent_required"},
		{"not a delegate error", errors.New("boom"), true, "fetching your profile failed unexpectedly; the failure was logged", audit.ResultInternalError, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			aud := &memAuditor{}
			s, err := New(Options{Profiles: errProfiles{c.err}, Auditor: aud, Log: slog.New(slog.DiscardHandler)})
			if err != nil {
				t.Fatal(err)
			}
			f := &fixture{mcp: s.MCP()}
			_, isErr, text := f.tool(t, alice, "get_my_profile", nil)
			if isErr != c.isError || text != c.text {
				t.Errorf("got isError=%v %q, want %v %q", isErr, text, c.isError, c.text)
			}
			e := aud.all()[0]
			if e.ResultCode != string(c.code) || e.DownstreamResource != "graph.microsoft.com" || e.AuthorizationMode != audit.ModeOnBehalfOf || e.Message != c.message {
				t.Errorf("audited %s %q %s %q, want %s, the resource, obo, %q", e.ResultCode, e.DownstreamResource, e.AuthorizationMode, e.Message, c.code, c.message)
			}
		})
	}
}
