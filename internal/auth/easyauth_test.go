package auth

import (
	"encoding/base64"
	"errors"
	"net/http/httptest"
	"slices"
	"testing"
)

func principalHeader(json string) string { return base64.StdEncoding.EncodeToString([]byte(json)) }

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
	id, err := ParsePrincipal([]string{principalHeader(`{"claims":[{"typ":"tid","val":"t"},{"typ":"oid","val":"sp"},{"typ":"roles","val":"Snippets.Read"},{"typ":"idtyp","val":"app"}]}`)})
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
	r.Header.Set(HeaderPrincipal, principalHeader(`{"claims":[{"typ":"tid","val":"t"},{"typ":"oid","val":"o"},{"typ":"scp","val":"user_impersonation"}]}`))
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
