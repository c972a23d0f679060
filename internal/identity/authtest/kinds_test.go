package authtest_test

import (
	"reflect"
	"testing"

	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// Each caller kind carries the facet claims Entra issues for it, the
// shorthand constructors are KindClaims of their kind, and fields of the
// base claims win over the kind's defaults.
func TestKindClaims(t *testing.T) {
	t.Parallel()
	roles := []string{"Snippets.Read"}
	cases := []struct {
		name  string
		got   authtest.Claims
		want  authtest.Claims
		short func(roles ...string) authtest.Claims // the kind's shorthand, if any
	}{
		{"user", authtest.KindClaims(authtest.KindUser, authtest.Claims{Roles: roles}),
			authtest.Claims{Roles: roles, IDType: "user"}, authtest.User},
		{"user via agent", authtest.KindClaims(authtest.KindUserViaAgent, authtest.Claims{Roles: roles}),
			authtest.Claims{Roles: roles, IDType: "user", ClientID: authtest.AgentClientID, ActFacets: "3 11 9", Blueprint: authtest.BlueprintID},
			authtest.UserViaAgent},
		{"agent", authtest.KindClaims(authtest.KindAgent, authtest.Claims{Roles: roles}),
			authtest.Claims{Roles: roles, AppOnly: true, ClientID: authtest.AgentClientID, ObjectID: authtest.AgentObjectID,
				ActFacets: "3 9 11", SubFacets: "9 3 11", Blueprint: authtest.BlueprintID},
			authtest.Agent},
		{"agent user", authtest.KindClaims(authtest.KindAgentUser, authtest.Claims{Roles: roles}),
			authtest.Claims{Roles: roles, IDType: "user", ClientID: authtest.AgentClientID, ObjectID: authtest.AgentUserObjectID,
				ActFacets: "11", SubFacets: "13 9", Blueprint: authtest.BlueprintID},
			authtest.AgentUser},
		{"app", authtest.KindClaims(authtest.KindApp, authtest.Claims{Roles: roles}),
			authtest.Claims{Roles: roles, AppOnly: true, ClientID: authtest.AppClientID, ObjectID: authtest.AppObjectID},
			authtest.App},
		{"unknown kind keeps the base", authtest.KindClaims("robot", authtest.Claims{Roles: roles, Name: "N"}),
			authtest.Claims{Roles: roles, Name: "N"}, nil},
		{"base fields win", authtest.KindClaims(authtest.KindAgent, authtest.Claims{ClientID: "c", ObjectID: "o", ActFacets: "11", SubFacets: "11", Blueprint: "b"}),
			authtest.Claims{AppOnly: true, ClientID: "c", ObjectID: "o", ActFacets: "11", SubFacets: "11", Blueprint: "b"}, nil},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if !reflect.DeepEqual(c.got, c.want) {
				t.Errorf("KindClaims =\n%+v\nwant\n%+v", c.got, c.want)
			}
			if c.short == nil {
				return
			}
			if got := c.short(roles...); !reflect.DeepEqual(got, c.want) {
				t.Errorf("shorthand =\n%+v\nwant\n%+v", got, c.want)
			}
		})
	}
}

// A minted agent token carries the facet claims as Entra spells them.
func TestKindClaimsMinted(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	_, claims := verify(t, iss, iss.Mint(t, authtest.Agent()))
	want := map[string]any{"xms_act_fct": "3 9 11", "xms_sub_fct": "9 3 11", "xms_par_app_azp": authtest.BlueprintID,
		"idtyp": "app", "azp": authtest.AgentClientID, "oid": authtest.AgentObjectID, "sub": authtest.AgentObjectID}
	for k, v := range want {
		if claims[k] != v {
			t.Errorf("claim %s = %v, want %v", k, claims[k], v)
		}
	}
}
