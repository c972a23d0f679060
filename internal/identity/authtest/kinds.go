package authtest

import "cmp"

// Caller kinds, spelled as Kind spells them (authtest cannot
// import identity: identity's own tests use authtest).
const (
	KindUser         = "user"
	KindUserViaAgent = "user_via_agent"
	KindAgent        = "agent"
	KindAgentUser    = "agent_user"
	KindApp          = "app"
)

// Ids of the Agent ID callers minted by KindClaims: the agent identity's
// app id (azp), its service principal and the blueprint it was made from.
const (
	AgentClientID     = "a9e1d2c3-0000-4000-8000-0000000a9e11"
	AgentObjectID     = "a9e1d2c3-0000-4000-8000-0000000a9e12"
	AgentUserObjectID = "a9e1d2c3-0000-4000-8000-0000000a9e13"
	BlueprintID       = "a9e1d2c3-0000-4000-8000-0000000b1e01"
	AppClientID       = "a9e1d2c3-0000-4000-8000-0000000a0001"
	AppObjectID       = "a9e1d2c3-0000-4000-8000-0000000a0002"
)

// KindClaims are the claims of one caller kind, with the facet claims
// Entra issues for it (the unknown facets 3 and 9 included, in no
// particular order, as real tokens have them). roles are the app roles
// the token carries. Fields of base that are set win over the kind's.
//
//   - user: a person through a client app (idtyp=user, scp, no facets)
//   - user_via_agent: a person through an agent identity (xms_act_fct 11)
//   - agent: an autonomous agent (idtyp=app, xms_act_fct and xms_sub_fct 11)
//   - agent_user: an agent's own user account (xms_sub_fct 13)
//   - app: an application on its own (idtyp=app, no facets)
func KindClaims[K ~string](kind K, base Claims) Claims {
	c := base
	switch string(kind) {
	case KindUser:
		c.IDType = cmp.Or(c.IDType, "user")
	case KindUserViaAgent:
		c.IDType = cmp.Or(c.IDType, "user")
		c.ClientID = cmp.Or(c.ClientID, AgentClientID)
		c.ActFacets = cmp.Or(c.ActFacets, "3 11 9")
		c.Blueprint = cmp.Or(c.Blueprint, BlueprintID)
	case KindAgent:
		c.AppOnly = true
		c.ClientID = cmp.Or(c.ClientID, AgentClientID)
		c.ObjectID = cmp.Or(c.ObjectID, AgentObjectID)
		c.ActFacets = cmp.Or(c.ActFacets, "3 9 11")
		c.SubFacets = cmp.Or(c.SubFacets, "9 3 11")
		c.Blueprint = cmp.Or(c.Blueprint, BlueprintID)
	case KindAgentUser:
		c.IDType = cmp.Or(c.IDType, "user")
		c.ClientID = cmp.Or(c.ClientID, AgentClientID)
		c.ObjectID = cmp.Or(c.ObjectID, AgentUserObjectID)
		c.ActFacets = cmp.Or(c.ActFacets, "11")
		c.SubFacets = cmp.Or(c.SubFacets, "13 9")
		c.Blueprint = cmp.Or(c.Blueprint, BlueprintID)
	case KindApp:
		c.AppOnly = true
		c.ClientID = cmp.Or(c.ClientID, AppClientID)
		c.ObjectID = cmp.Or(c.ObjectID, AppObjectID)
	}
	return c
}

// User, UserViaAgent, Agent, AgentUser and App are KindClaims for one kind
// with the given app roles.
func User(roles ...string) Claims { return KindClaims(KindUser, Claims{Roles: roles}) }

func UserViaAgent(roles ...string) Claims {
	return KindClaims(KindUserViaAgent, Claims{Roles: roles})
}

func Agent(roles ...string) Claims { return KindClaims(KindAgent, Claims{Roles: roles}) }

func AgentUser(roles ...string) Claims {
	return KindClaims(KindAgentUser, Claims{Roles: roles})
}

func App(roles ...string) Claims { return KindClaims(KindApp, Claims{Roles: roles}) }
