package identity

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"
)

func principalHeader(json string) string { return base64.StdEncoding.EncodeToString([]byte(json)) }

// principalOf is the header value of a principal with role_typ roleType and
// the claims given as type, value pairs.
func principalOf(t *testing.T, roleType string, pairs ...string) string {
	t.Helper()
	type claim struct {
		Type  string `json:"typ"`
		Value string `json:"val"`
	}
	doc := struct {
		AuthType string  `json:"auth_typ"`
		RoleType string  `json:"role_typ,omitempty"`
		Claims   []claim `json:"claims"`
	}{AuthType: "aad", RoleType: roleType}
	for i := 0; i+1 < len(pairs); i += 2 {
		doc.Claims = append(doc.Claims, claim{pairs[i], pairs[i+1]})
	}
	raw, err := json.Marshal(doc)
	if err != nil {
		t.Fatal(err)
	}
	return base64.StdEncoding.EncodeToString(raw)
}

// The claims every accepted principal below starts from.
var (
	principalBase = []string{"tid", "t", "oid", "o", "azp", "agent"}
	longSub       = "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier"
)

// TestParsePrincipalTokenKinds: the platform principal carries the token's
// claims, and the same token-kind rules as jwt mode apply to them.
func TestParsePrincipalTokenKinds(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		claims  []string // added to principalBase; "-azp" removes azp
		reason  string   // "" means accepted
		appOnly bool
	}{
		{name: "user with scp", claims: []string{"scp", "user_impersonation", "sub", "pairwise"}},
		{name: "user with idtyp user", claims: []string{"scp", "user_impersonation", "idtyp", "user"}},
		{name: "app with idtyp app", claims: []string{"idtyp", "app", "roles", "Snippets.Write"}, appOnly: true},
		{name: "app without idtyp, oid equals sub", claims: []string{"sub", "o", "roles", "Snippets.Write"}, appOnly: true},
		{name: "app without idtyp, long sub claim", claims: []string{longSub, "o", "roles", "Snippets.Write"}, appOnly: true},

		{name: "idtyp user without scp", claims: []string{"idtyp", "user", "roles", "Snippets.Approve"}, reason: reasonNoScopes},
		{name: "no scp, no idtyp, no sub", claims: []string{"roles", "Snippets.Approve"}, reason: reasonNoScopes},
		{name: "no scp, sub not oid", claims: []string{"sub", "pairwise", "roles", "Snippets.Approve"}, reason: reasonNoScopes},
		{name: "browser login: ID token claims", claims: []string{"-azp", "", "sub", "pairwise", "nonce", "n", "roles", "Snippets.Approve"}, reason: reasonIDToken},
		{name: "nonce next to scp", claims: []string{"scp", "user_impersonation", "nonce", "n"}, reason: reasonIDToken},
		{name: "c_hash", claims: []string{"idtyp", "app", "c_hash", "h"}, reason: reasonIDToken},
		{name: "at_hash", claims: []string{"idtyp", "app", "at_hash", "h"}, reason: reasonIDToken},
		{name: "no azp or appid", claims: []string{"-azp", "", "scp", "user_impersonation"}, reason: reasonNoClient},
		{name: "idtyp device", claims: []string{"scp", "user_impersonation", "idtyp", "device"}, reason: reasonIDType},
		{name: "idtyp app with scp", claims: []string{"idtyp", "app", "scp", "user_impersonation"}, reason: reasonAppScopes},
		{name: "two idtyp values", claims: []string{"idtyp", "user", "idtyp", "app", "roles", "Snippets.Write"}, reason: reasonConflictingClaims},
		{name: "two object ids", claims: []string{"scp", "user_impersonation", "http://schemas.microsoft.com/identity/claims/objectidentifier", "other"}, reason: reasonConflictingClaims},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			pairs := slices.Clone(principalBase)
			for i := 0; i+1 < len(c.claims); i += 2 {
				if c.claims[i] == "-azp" {
					pairs = slices.Delete(pairs, 4, 6)
					continue
				}
				pairs = append(pairs, c.claims[i], c.claims[i+1])
			}
			id, err := ParsePrincipal([]string{principalOf(t, "", pairs...)})
			if c.reason != "" {
				var re *RejectError
				if !errors.As(err, &re) || re.Reason != c.reason {
					t.Fatalf("got %+v, %v; want rejection %q", id, err, c.reason)
				}
				return
			}
			if err != nil {
				t.Fatalf("got %v, want accepted", err)
			}
			if id.AppOnly != c.appOnly {
				t.Fatalf("AppOnly = %v, want %v", id.AppOnly, c.appOnly)
			}
		})
	}
}

// TestParsePrincipalRoleType: role_typ cannot turn another claim into roles;
// only "roles" and the two role URIs carry them.
func TestParsePrincipalRoleType(t *testing.T) {
	t.Parallel()
	const roleURI = "http://schemas.microsoft.com/ws/2008/06/identity/claims/role"
	user := append(slices.Clone(principalBase), "scp", "user_impersonation Snippets.Approve", "roles", "Snippets.Read")
	cases := []struct {
		name, roleType string
		extra          []string
		want           []string
	}{
		{name: "role_typ scp", roleType: "scp", want: []string{"Snippets.Read"}},
		{name: "role_typ scope URI", roleType: "http://schemas.microsoft.com/identity/claims/scope", want: []string{"Snippets.Read"}},
		{name: "role_typ groups", roleType: "groups", extra: []string{"groups", "Snippets.Approve"}, want: []string{"Snippets.Read"}},
		{name: "role_typ oid", roleType: "oid", want: []string{"Snippets.Read"}},
		{name: "role_typ name: a display name the user chose", roleType: "name", extra: []string{"name", "Snippets.Approve"}, want: []string{"Snippets.Read"}},
		{name: "role_typ of a made-up claim", roleType: "x-role", extra: []string{"x-role", "Snippets.Delete"}, want: []string{"Snippets.Read"}},
		{name: "short role claim", extra: []string{"role", "Snippets.Delete"}, want: []string{"Snippets.Read"}},
		{name: "role URI with its role_typ", roleType: roleURI, extra: []string{roleURI, "Snippets.Write"}, want: []string{"Snippets.Read", "Snippets.Write"}},
		{name: "roles URI", extra: []string{roleURI + "s", "Snippets.Delete"}, want: []string{"Snippets.Read", "Snippets.Delete"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			id, err := ParsePrincipal([]string{principalOf(t, c.roleType, append(slices.Clone(user), c.extra...)...)})
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(id.Roles, c.want) {
				t.Fatalf("roles = %v, want %v", id.Roles, c.want)
			}
		})
	}
}

func TestParsePrincipalShortAndLongClaims(t *testing.T) {
	long := `{"auth_typ":"aad","name_typ":"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name","role_typ":"http://schemas.microsoft.com/ws/2008/06/identity/claims/role","claims":[
	 {"typ":"http://schemas.microsoft.com/identity/claims/tenantid","val":"tid-1"},
	 {"typ":"http://schemas.microsoft.com/identity/claims/objectidentifier","val":"oid-1"},
	 {"typ":"http://schemas.microsoft.com/identity/claims/scope","val":"user_impersonation other"},
	 {"typ":"http://schemas.microsoft.com/ws/2008/06/identity/claims/role","val":"Snippets.Write"},
	 {"typ":"roles","val":"Snippets.Delete"},
	 {"typ":"azp","val":"client-1"},
	 {"typ":"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/name","val":"Ada"}]}`
	short := `{"auth_typ":"aad","claims":[{"typ":"tid","val":"tid-1"},{"typ":"oid","val":"oid-1"},{"typ":"scp","val":"user_impersonation other"},
	 {"typ":"roles","val":"Snippets.Write"},{"typ":"roles","val":"Snippets.Delete"},{"typ":"appid","val":"client-1"},{"typ":"name","val":"Ada"}]}`
	for name, doc := range map[string]string{"long": long, "short": short} {
		id, err := ParsePrincipal([]string{principalHeader(doc)})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if id.TenantID != "tid-1" || id.ObjectID != "oid-1" || id.ClientID != "client-1" || id.Name != "Ada" || id.AppOnly ||
			!slices.Equal(id.Scopes, []string{"user_impersonation", "other"}) || !slices.Equal(id.Roles, []string{"Snippets.Write", "Snippets.Delete"}) ||
			id.Method != MethodEasyAuth {
			t.Errorf("%s: %+v", name, id)
		}
	}
}

func TestParsePrincipalAppOnly(t *testing.T) {
	id, err := ParsePrincipal([]string{principalHeader(`{"claims":[{"typ":"tid","val":"t"},{"typ":"oid","val":"sp"},{"typ":"roles","val":"Snippets.Read"},{"typ":"idtyp","val":"app"},{"typ":"appid","val":"agent"}]}`)})
	if err != nil || !id.AppOnly {
		t.Fatalf("%+v %v", id, err)
	}
}

func TestParsePrincipalRejects(t *testing.T) {
	cases := map[string][]string{
		"two headers":   {principalHeader(`{"claims":[]}`), principalHeader(`{"claims":[]}`)},
		"not base64":    {"%%%"},
		"not json":      {principalHeader("hello")},
		"no tenant":     {principalHeader(`{"claims":[{"typ":"oid","val":"o"}]}`)},
		"no object id":  {principalHeader(`{"claims":[{"typ":"tid","val":"t"}]}`)},
		"claims object": {principalHeader(`{"claims":{"typ":"tid"}}`)},
		"too large":     {principalHeader(`{"x":"` + string(make([]byte, 40<<10)) + `"}`)},
	}
	for name, values := range cases {
		var rej *RejectError
		if _, err := ParsePrincipal(values); !errors.As(err, &rej) {
			t.Errorf("%s: %v", name, err)
		}
	}
}

func TestEasyAuthRequest(t *testing.T) {
	r := httptest.NewRequest("POST", "/mcp", nil)
	if _, err := (EasyAuth{}).Authenticate(r); !errors.Is(err, ErrNoCredentials) {
		t.Fatalf("no header: %v", err)
	}
	r.Header.Set(HeaderPrincipal, principalHeader(`{"claims":[{"typ":"tid","val":"t"},{"typ":"oid","val":"o"},{"typ":"scp","val":"user_impersonation"},{"typ":"azp","val":"agent"}]}`))
	r.Header.Set("Authorization", "Bearer abc.def.ghi")
	id, err := (EasyAuth{}).Authenticate(r)
	if err != nil || id.BearerToken() != "abc.def.ghi" {
		t.Fatalf("%+v %v", id, err)
	}
	r.Header.Set(HeaderPrincipalID, "someone-else")
	if _, err := (EasyAuth{}).Authenticate(r); err == nil {
		t.Fatal("mismatched principal id accepted")
	}
}

func TestDevIgnoresHeaders(t *testing.T) {
	r := httptest.NewRequest("POST", "/mcp", nil)
	r.Header.Set(HeaderPrincipal, principalHeader(`{"claims":[{"typ":"tid","val":"evil"},{"typ":"oid","val":"evil"}]}`))
	r.Header.Set("Authorization", "Bearer forged")
	id, err := NewDev().Authenticate(r)
	if err != nil || id.ObjectID != "local-developer" || id.BearerToken() != "" {
		t.Fatalf("%+v %v", id, err)
	}
}

// TestEasyAuthKeepsOnlyABearerToken: behind built-in auth the token is kept
// for on-behalf-of by the same reading of Authorization as in jwt mode.
func TestEasyAuthKeepsOnlyABearerToken(t *testing.T) {
	principal := principalHeader(`{"claims":[{"typ":"tid","val":"t"},{"typ":"oid","val":"o"},{"typ":"scp","val":"user_impersonation"},{"typ":"azp","val":"agent"}]}`)
	cases := []struct {
		name    string
		headers []string
		want    string
	}{
		{"bearer", []string{"Bearer abc.def.ghi"}, "abc.def.ghi"},
		{"scheme in any case", []string{"bEaReR abc.def.ghi"}, "abc.def.ghi"},
		{"none", nil, ""},
		{"basic", []string{"Basic dXNlcjpwYXNz"}, ""},
		{"two headers", []string{"Bearer a.b.c", "Bearer d.e.f"}, ""},
		{"not a token", []string{`Bearer a"b`}, ""},
		{"empty", []string{"Bearer "}, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			r := httptest.NewRequest("POST", "/mcp", nil)
			r.Header.Set(HeaderPrincipal, principal)
			for _, h := range c.headers {
				r.Header.Add("Authorization", h)
			}
			id, err := (EasyAuth{}).Authenticate(r)
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if got := id.BearerToken(); got != c.want {
				t.Errorf("token: got %q, want %q", got, c.want)
			}
		})
	}
}
