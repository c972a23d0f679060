package identity

import "testing"

// TestPerson: approvers see the display name and the user principal name
// when the token has both, from either identity source.
func TestPerson(t *testing.T) {
	cases := []struct {
		name string
		id   Identity
		want string
	}{
		{"both", Identity{Name: "Ada Lovelace", UPN: "ada@contoso.example"}, "Ada Lovelace <ada@contoso.example>"},
		{"name only", Identity{Name: "Ada Lovelace"}, "Ada Lovelace"},
		{"upn only", Identity{UPN: "ada@contoso.example"}, "ada@contoso.example"},
		{"name is the upn", Identity{Name: "ada@contoso.example", UPN: "ada@contoso.example"}, "ada@contoso.example"},
		{"neither", Identity{}, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			if got := tc.id.Person(); got != tc.want {
				t.Fatalf("Person() = %q, want %q", got, tc.want)
			}
		})
	}
	for _, tc := range []struct{ name, upnType string }{
		{"preferred_username", "preferred_username"},
		{"upn", "upn"},
		{"long upn", "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn"},
	} {
		t.Run("principal with "+tc.name, func(t *testing.T) {
			pairs := append(append([]string{}, principalBase...), "scp", ScopeUser, "name", "Ada Lovelace", tc.upnType, "ada@contoso.example")
			id, err := ParsePrincipal([]string{principalOf(t, "", pairs...)})
			if err != nil {
				t.Fatal(err)
			}
			if got := id.Person(); got != "Ada Lovelace <ada@contoso.example>" {
				t.Fatalf("Person() = %q", got)
			}
		})
	}
}
