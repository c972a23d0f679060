package identity

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"slices"
	"strings"
	"testing"
)

// principalRejectReasons is every reason ParsePrincipal may give; anything
// else could be leaking input.
var principalRejectReasons = []string{
	"expected exactly one principal header", "principal header too large", "principal header is not base64",
	"principal header is not a principal", "principal has no tenant or object id", reasonConflictingClaims,
	reasonIDToken, reasonNoClient, reasonIDType, reasonAppScopes, reasonNoScopes,
}

// FuzzParsePrincipal feeds arbitrary X-MS-CLIENT-PRINCIPAL values (a
// newline separates several header values). It must never panic, reject
// only with a fixed reason, and accept only a principal with a tenant and
// an object id, whose identity says easyauth and which is not changed by
// the spaces around the value.
//
// go test ./internal/identity -run '^$' -fuzz FuzzParsePrincipal -fuzztime 5m
func FuzzParsePrincipal(f *testing.F) {
	enc := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, s := range []string{
		enc(`{"auth_typ":"aad","claims":[{"typ":"tid","val":"t"},{"typ":"oid","val":"o"},{"typ":"scp","val":"user_impersonation"},{"typ":"azp","val":"a"}]}`),
		enc(`{"claims":[{"typ":"http://schemas.microsoft.com/identity/claims/tenantid","val":"t"},{"typ":"http://schemas.microsoft.com/identity/claims/objectidentifier","val":"o"},{"typ":"roles","val":"Snippets.Read"},{"typ":"appid","val":"a"},{"typ":"sub","val":"o"}]}`),
		enc(`{"role_typ":"r","name_typ":"n","claims":[{"typ":"tid","val":"t"},{"typ":"oid","val":"o"},{"typ":"r","val":"Snippets.Approve"},{"typ":"n","val":"Ann"},{"typ":"idtyp","val":"app"},{"typ":"azp","val":"a"}]}`),
		enc(`{"claims":[{"typ":"tid","val":"t"},{"typ":"oid","val":"o"},{"typ":"azp","val":"a"},{"typ":"nonce","val":"n"},{"typ":"roles","val":"Snippets.Approve"}]}`),
		strings.TrimRight(enc(`{"claims":[{"typ":"tid","val":"t"},{"typ":"oid","val":"o"}]}`), "="),
		enc(`{"claims":[{"typ":"tid","val":"t"}]}`), enc(`{"claims":null}`), enc(`[]`), enc(`null`), enc("\x00"),
		"", "not base64!", "e30=", "e30=\ne30=", "  " + enc(`{"claims":[{"typ":"tid","val":"t"},{"typ":"oid","val":"o"}]}`) + "\t",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, header string) {
		values := strings.Split(header, "\n")
		id, err := ParsePrincipal(values)
		if err != nil {
			var re *RejectError
			if !errors.As(err, &re) || !slices.Contains(principalRejectReasons, re.Reason) {
				t.Fatalf("rejection is not a known reason: %v", err)
			}
			if id != nil {
				t.Fatalf("identity returned with an error")
			}
			return
		}
		if len(values) != 1 || id.TenantID == "" || id.ObjectID == "" || id.Method != MethodEasyAuth || id.BearerToken() != "" ||
			id.ClientID == "" || id.AppOnly == (len(id.Scopes) > 0) {
			t.Fatalf("accepted %q as %+v", header, id)
		}
		// Every role comes from a role claim, whatever role_typ says.
		for _, r := range id.Roles {
			if !principalHasRoleClaim(values[0], r) {
				t.Fatalf("role %q of %+v comes from no role claim", r, id)
			}
		}
		again, err := ParsePrincipal([]string{" " + values[0] + " "})
		if err != nil || again.TenantID != id.TenantID || again.ObjectID != id.ObjectID || !slices.Equal(again.Roles, id.Roles) ||
			!slices.Equal(again.Scopes, id.Scopes) || again.AppOnly != id.AppOnly {
			t.Fatalf("surrounding spaces change the identity: %+v vs %+v (%v)", id, again, err)
		}
	})
}

// principalHasRoleClaim reports whether the principal in header has a claim
// of a known role type with value role.
func principalHasRoleClaim(header, role string) bool {
	raw, err := base64.StdEncoding.DecodeString(strings.TrimSpace(header))
	if err != nil {
		raw, _ = base64.RawStdEncoding.DecodeString(strings.TrimSpace(header))
	}
	var p principal
	_ = json.Unmarshal(raw, &p) // ParsePrincipal accepted it, so it decodes
	for _, c := range p.Claims {
		if canonical(c.Type) == "roles" && c.Value == role {
			return true
		}
	}
	return false
}
