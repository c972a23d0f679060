package handler

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// recorded runs the refusals in order through a refusals with a stdout-only
// auditor and a fake clock, and returns the events written.
func recorded(t *testing.T, steps []refusalStep) []audit.Event {
	t.Helper()
	var out lockedBuffer
	a := audit.New(audit.Options{ServerID: "test"}, audit.NewJSONSink(&out))
	clock := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	f := newRefusals(a)
	f.now = func() time.Time { return clock }
	for _, s := range steps {
		clock = clock.Add(s.after)
		r := httptest.NewRequest("POST", "/mcp", nil)
		if s.traceparent != "" {
			r.Header.Set("Traceparent", s.traceparent)
		}
		r.Header.Set("Authorization", "Bearer secret-token-text")
		f.record(r, s.status, s.err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := a.Close(ctx); err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out.String(), "secret-token-text") {
		t.Fatalf("token text in events: %s", out.String())
	}
	var evs []audit.Event
	sc := bufio.NewScanner(bytes.NewReader([]byte(out.String())))
	for sc.Scan() {
		var e audit.Event
		if err := json.Unmarshal(sc.Bytes(), &e); err != nil {
			t.Fatal(err)
		}
		evs = append(evs, e)
	}
	return evs
}

type refusalStep struct {
	after       time.Duration // clock advance before this refusal
	status      int
	err         error
	traceparent string
}

func TestRefusalEvents(t *testing.T) {
	const trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	cases := []struct {
		name                string
		step                refusalStep
		wantCode, wantMsg   string
		wantOperationPrefix string
	}{
		{"no credentials", refusalStep{status: 401, err: identity.ErrNoCredentials, traceparent: trace}, audit.ResultUnauthenticated, "no credentials", "4bf92f3577b34da6a3ce929d0e0e4736"},
		{"rejected", refusalStep{status: 401, err: &identity.RejectError{Reason: "token expired"}}, audit.ResultUnauthenticated, "invalid credentials: token expired", ""},
		{"reason bounded and printable", refusalStep{status: 401, err: &identity.RejectError{Reason: "a\nb\x00" + strings.Repeat("x", 300)}}, audit.ResultUnauthenticated, "invalid credentials: ab" + strings.Repeat("x", maxReason-2), ""},
		{"no identity", refusalStep{status: 401}, audit.ResultUnauthenticated, "no identity established", ""},
		{"issuer down", refusalStep{status: 503, err: errors.New("GET https://issuer.example/keys: connection refused")}, audit.ResultUnavailable, "credentials could not be checked: issuer unavailable", ""},
		{"bad traceparent", refusalStep{status: 401, err: identity.ErrNoCredentials, traceparent: "00-zz"}, audit.ResultUnauthenticated, "no credentials", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs := recorded(t, []refusalStep{c.step})
			if len(evs) != 1 {
				t.Fatalf("got %d events, want 1", len(evs))
			}
			e := evs[0]
			if e.ResultCode != c.wantCode || e.Message != c.wantMsg {
				t.Errorf("got %q %q, want %q %q", e.ResultCode, e.Message, c.wantCode, c.wantMsg)
			}
			if c.wantOperationPrefix != "" && e.OperationID != c.wantOperationPrefix {
				t.Errorf("operation_id: got %q, want %q", e.OperationID, c.wantOperationPrefix)
			}
			if len(e.OperationID) != 32 {
				t.Errorf("operation_id %q is not a trace id", e.OperationID)
			}
			if e.CallerIdentity != "" || e.TenantID != "" || e.AgentID != "" || e.ToolName != "" || e.Method != "" {
				t.Errorf("a refusal carries an identity or a call: %+v", e)
			}
			if e.ServerID != "test" {
				t.Errorf("server_id: got %q, want %q", e.ServerID, "test")
			}
		})
	}
}

func TestRefusalRateLimit(t *testing.T) {
	burst := func(n int, after time.Duration) []refusalStep {
		s := make([]refusalStep, n)
		for i := range s {
			s[i] = refusalStep{status: 401, err: identity.ErrNoCredentials}
		}
		s[0].after = after
		return s
	}
	cases := []struct {
		name      string
		steps     []refusalStep
		wantCount int
		wantLast  string // message of the last event
	}{
		{"under the limit", burst(refusalsPerSecond, 0), refusalsPerSecond, "no credentials"},
		{"flood within a second", burst(5*refusalsPerSecond, 0), refusalsPerSecond, "no credentials"},
		{"flood, then a second later",
			append(burst(3*refusalsPerSecond, 0), burst(1, time.Second)...), refusalsPerSecond + 1,
			fmt.Sprintf("no credentials (+%d refusals not recorded: rate limit)", 2*refusalsPerSecond)},
		{"clock going back resets the window",
			append(burst(2*refusalsPerSecond, 0), burst(1, -time.Minute)...), refusalsPerSecond + 1,
			fmt.Sprintf("no credentials (+%d refusals not recorded: rate limit)", refusalsPerSecond)},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			evs := recorded(t, c.steps)
			if got := len(evs); got != c.wantCount {
				t.Fatalf("events: got %d, want %d", got, c.wantCount)
			}
			if got := evs[len(evs)-1].Message; got != c.wantLast {
				t.Errorf("last message: got %q, want %q", got, c.wantLast)
			}
		})
	}
}

// TestFrontDoorAuditsRefusals: the wired handler records a refused request
// (jwt mode, no token and a bad one) and never the token.
func TestFrontDoorAuditsRefusals(t *testing.T) {
	var out lockedBuffer
	h, _ := frontDoor(t, &out, map[string]string{
		"MCP_AUTH_MODE": "jwt", "MCP_AUTH_ISSUER": authtest.NewIssuer(t).URL(), "MCP_AUTH_AUDIENCE": authtest.Audience,
	})
	for _, authz := range []string{"", "Bearer not-a-jwt-secret-value"} {
		req := httptest.NewRequest(http.MethodPost, "http://127.0.0.1:7071/mcp", strings.NewReader(`{"jsonrpc":"2.0","id":1,"method":"ping"}`))
		req.Header.Set("Content-Type", "application/json")
		if authz != "" {
			req.Header.Set("Authorization", authz)
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, req)
		if rec.Code != http.StatusUnauthorized {
			t.Fatalf("%q: status %d, want 401", authz, rec.Code)
		}
	}
	got := out.String()
	if n := strings.Count(got, `"result_code":"unauthenticated"`); n != 2 {
		t.Errorf("got %d unauthenticated events, want 2:\n%s", n, got)
	}
	if strings.Contains(got, "not-a-jwt-secret-value") {
		t.Errorf("token text in events: %s", got)
	}
}
