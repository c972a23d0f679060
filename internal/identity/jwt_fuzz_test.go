package identity

import (
	"errors"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"

	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// jwtRejectReasons is every reason Authenticate may give; anything else could
// be leaking input.
var jwtRejectReasons = []string{
	jwtReasonMultipleHeaders, jwtReasonMalformed, jwtReasonTooLarge, jwtReasonAlgorithm, jwtReasonType,
	jwtReasonNoKeyID, jwtReasonUnknownKey, jwtReasonKeyMismatch, jwtReasonSignature, jwtReasonClaims,
	jwtReasonNoExpiry, jwtReasonExpired, jwtReasonNotYetValid, jwtReasonIssuer, jwtReasonAudience,
	jwtReasonTenant, jwtReasonSubject, reasonIDToken, reasonNoClient, reasonIDType, reasonAppScopes, reasonNoScopes,
}

// FuzzAuthenticateHeader feeds arbitrary Authorization header values (a
// newline separates several headers) to a validator backed by a real
// issuer. It must never panic, never leak input in a reason, and accept
// only values that contain a token the issuer really signed.
//
// go test ./internal/identity -run '^$' -fuzz FuzzAuthenticateHeader -fuzztime 5m
func FuzzAuthenticateHeader(f *testing.F) {
	iss := authtest.NewIssuer(f)
	a, err := NewJWT(f.Context(), JWTConfig{
		Issuer:    iss.URL(),
		Audiences: []string{authtest.Audience},
		Tenants:   []string{authtest.TenantID},
	})
	if err != nil {
		f.Fatal(err)
	}
	valid := []string{
		iss.Mint(f, authtest.Claims{}),
		iss.Mint(f, authtest.Claims{AppOnly: true, Roles: []string{"Snippets.Read"}}),
	}
	for _, s := range []string{
		"", "Bearer", "Bearer ", "Basic dXNlcjpwYXNz", "Bearer a.b.c", "Bearer ..",
		"Bearer " + valid[0], "bearer " + valid[1], "Bearer " + valid[0] + "\nBearer " + valid[1],
		"Bearer " + iss.NoneToken(f, authtest.Claims{}),
		"Bearer " + iss.HS256WithPublicKey(f, authtest.Claims{}),
		"Bearer " + authtest.Tamper(f, valid[0], func(c map[string]any) { c["tid"] = "other" }),
		"Bearer " + iss.Mint(f, authtest.Claims{Audience: []string{"api://else"}}),
		"Bearer " + iss.Mint(f, authtest.Claims{IDToken: true, Audience: []string{authtest.Audience}, Roles: []string{"Snippets.Write"}}),
		"Bearer " + iss.Mint(f, authtest.Claims{NoScope: true, IDType: "user", Roles: []string{"Snippets.Write"}}),
		"Bearer eyJhbGciOiJSUzI1NiJ9.e30.",
		"Bearer eyJhbGciOiJSUzI1NiIsImtpZCI6WzFdfQ.e30.AAAA",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
		for _, v := range strings.Split(header, "\n") {
			if v != "" {
				r.Header.Add("Authorization", v)
			}
		}
		id, err := a.Authenticate(r)
		if err == nil {
			if id == nil || !slices.ContainsFunc(valid, func(tok string) bool { return strings.Contains(header, tok) }) {
				t.Fatalf("accepted a header holding no issued token: %q", header)
			}
			return
		}
		if errors.Is(err, ErrNoCredentials) {
			return
		}
		var re *RejectError
		if !errors.As(err, &re) {
			t.Fatalf("error is neither ErrNoCredentials nor a rejection: %v", err)
		}
		if !slices.Contains(jwtRejectReasons, re.Reason) {
			t.Fatalf("unknown rejection reason %q", re.Reason)
		}
	})
}
