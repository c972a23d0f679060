package identity

import (
	"slices"
	"testing"

	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// kindCases is every caller kind and the facet shapes around it, read the
// same way from a JWT and from the platform principal.
var kindCases = []struct {
	name     string
	appOnly  bool
	act, sub string
	want     Kind
}{
	{"person through a client app", false, "", "", KindUser},
	{"person, unknown facets only", false, "3 9", "9", KindUser},
	{"person through an agent", false, "11", "", KindUserViaAgent},
	{"person through an agent, facets unordered with unknown values", false, "9 11 3 42", "", KindUserViaAgent},
	{"person, agent facet on the subject only", false, "", "11", KindUserViaAgent},
	{"autonomous agent", true, "3 9 11", "9 3 11", KindAgent},
	{"app-only, agent facet on the actor only", true, "11", "", KindAgent},
	{"app-only, agent facet on the subject only", true, "", "11", KindAgent},
	{"agent's user account", false, "11", "13", KindAgentUser},
	{"agent's user account, facet among unknown ones", false, "", "9 13 3", KindAgentUser},
	{"plain app", true, "", "", KindApp},
	{"plain app, unknown facets", true, "3 9", "3", KindApp},
	{"facet 111 is not 11", true, "111", "113 1", KindApp},
}

func TestKindFromJWT(t *testing.T) {
	t.Parallel()
	iss, a, _ := jwtSetup(t, nil)
	for _, c := range kindCases {
		t.Run(c.name, func(t *testing.T) {
			claims := authtest.Claims{AppOnly: c.appOnly, ActFacets: c.act, SubFacets: c.sub, Blueprint: "bp"}
			if !c.appOnly {
				claims.IDType = "user"
			}
			id, err := a.Authenticate(jwtRequest(iss.Mint(t, claims)))
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if got := id.Kind; got != c.want {
				t.Errorf("kind = %q, want %q", got, c.want)
			}
			if got, want := id.Facets.Actor, ParseFacets(c.act); !slices.Equal(got, want) {
				t.Errorf("actor facets = %q, want %q", got, want)
			}
			if id.Facets.Blueprint != "bp" {
				t.Errorf("blueprint = %q, want bp", id.Facets.Blueprint)
			}
		})
	}
}

func TestKindFromPrincipal(t *testing.T) {
	t.Parallel()
	for _, c := range kindCases {
		t.Run(c.name, func(t *testing.T) {
			pairs := slices.Clone(principalBase)
			if c.appOnly {
				pairs = append(pairs, "idtyp", "app", "roles", RoleRead)
			} else {
				pairs = append(pairs, "idtyp", "user", "scp", ScopeUser)
			}
			if c.act != "" {
				pairs = append(pairs, "xms_act_fct", c.act)
			}
			if c.sub != "" {
				pairs = append(pairs, "xms_sub_fct", c.sub)
			}
			pairs = append(pairs, "xms_par_app_azp", "bp")
			id, err := ParsePrincipal([]string{principalOf(t, "", pairs...)})
			if err != nil {
				t.Fatalf("ParsePrincipal: %v", err)
			}
			if got := id.Kind; got != c.want {
				t.Errorf("kind = %q, want %q", got, c.want)
			}
			if id.Facets.Blueprint != "bp" {
				t.Errorf("blueprint = %q, want bp", id.Facets.Blueprint)
			}
		})
	}
}

// TestKindHelpersMintEachKind: authtest's per-kind claims read back as
// that kind, so tests elsewhere can rely on them.
func TestKindHelpersMintEachKind(t *testing.T) {
	t.Parallel()
	iss, a, _ := jwtSetup(t, nil)
	for _, k := range Kinds {
		t.Run(string(k), func(t *testing.T) {
			id, err := a.Authenticate(jwtRequest(iss.Mint(t, authtest.KindClaims(k, authtest.Claims{Roles: []string{RoleRead}}))))
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if id.Kind != k {
				t.Errorf("kind = %q, want %q", id.Kind, k)
			}
		})
	}
}

func TestFacetClaimShapes(t *testing.T) {
	t.Parallel()
	iss, a, _ := jwtSetup(t, nil)
	for _, c := range []struct {
		name  string
		value any
		want  Kind
	}{
		{"string", "3 11", KindAgent},
		{"array of numbers", []int{3, 11}, KindAgent},
		{"array of strings", []string{"11"}, KindAgent},
		{"number: not a facet list", 11, KindApp},
		{"object: not a facet list", map[string]any{"11": true}, KindApp},
	} {
		t.Run(c.name, func(t *testing.T) {
			tok := iss.Mint(t, authtest.Claims{AppOnly: true, Extra: map[string]any{"xms_act_fct": c.value}})
			id, err := a.Authenticate(jwtRequest(tok))
			if err != nil {
				t.Fatalf("Authenticate: %v", err)
			}
			if id.Kind != c.want {
				t.Errorf("kind = %q, want %q", id.Kind, c.want)
			}
		})
	}
}

func TestHasUserAssertion(t *testing.T) {
	t.Parallel()
	user := Identity{TenantID: "t", ObjectID: "o"}
	for _, c := range []struct {
		name string
		id   *Identity
		want bool
	}{
		{"user with token", user.WithBearerToken("tok"), true},
		{"user without token", &user, false},
		{"app-only with token", (&Identity{AppOnly: true}).WithBearerToken("tok"), false},
		{"dev", (&Identity{Method: MethodDev}).WithBearerToken("tok"), false},
		{"nil", nil, false},
	} {
		t.Run(c.name, func(t *testing.T) {
			if got := c.id.HasUserAssertion(); got != c.want {
				t.Errorf("HasUserAssertion = %v, want %v", got, c.want)
			}
		})
	}
}
