package identity

import "strings"

// Kind is what sort of caller an identity is, read from the validated
// token's idtyp and Microsoft Entra Agent ID facet claims. Policies decide
// on it; audit events record it as caller_kind.
type Kind string

const (
	// KindUser is a person signed in to a client app (idtyp=user, or a v1
	// user token), with no agent facet.
	KindUser Kind = "user"
	// KindUserViaAgent is a person acting through an agent identity: a user
	// token whose xms_act_fct holds 11 (or whose xms_sub_fct holds 11).
	KindUserViaAgent Kind = "user_via_agent"
	// KindAgent is an autonomous agent: an app-only token whose
	// xms_act_fct and xms_sub_fct hold 11. An app-only token with 11 in only
	// one of them is taken as an agent too: the more restricted reading of a
	// shape Entra does not document.
	KindAgent Kind = "agent"
	// KindAgentUser is an agent's own user account: xms_sub_fct holds 13,
	// whatever else the token says.
	KindAgentUser Kind = "agent_user"
	// KindApp is an application on its own (client credentials) with no
	// agent facet.
	KindApp Kind = "app"
)

// Kinds lists every Kind, in the order the policy documents them.
var Kinds = []Kind{KindUser, KindUserViaAgent, KindAgent, KindAgentUser, KindApp}

// Facet values of xms_act_fct and xms_sub_fct this server reads. Entra
// defines others (3, 9, ...); they are ignored.
const (
	FacetAgentIdentity = "11" // the actor or subject is an agent identity
	FacetAgentUser     = "13" // the subject is an agent's user account
)

// Facets are the Agent ID facet claims of a token and its blueprint. They
// are space-separated, unordered lists of numbers; unknown values are kept
// (for the record) and never matched.
type Facets struct {
	Actor     []string // xms_act_fct
	Subject   []string // xms_sub_fct
	Blueprint string   // xms_par_app_azp: the agent blueprint's app id; recorded, never decided on
}

// ParseFacets splits a facet claim's value: space-separated, in any order,
// repeated values once.
func ParseFacets(v string) []string {
	var out []string
	for _, f := range strings.Fields(v) {
		if !contains(out, f) {
			out = append(out, f)
		}
	}
	return out
}

func contains(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// classify names the kind of a caller from whether its token is app-only
// and its facets. The order matters: an agent's user account is that, even
// when it acts through an agent.
func classify(appOnly bool, f Facets) Kind {
	act, sub := contains(f.Actor, FacetAgentIdentity), contains(f.Subject, FacetAgentIdentity)
	switch {
	case contains(f.Subject, FacetAgentUser):
		return KindAgentUser
	case appOnly && (act || sub):
		return KindAgent
	case appOnly:
		return KindApp
	case act || sub:
		return KindUserViaAgent
	}
	return KindUser
}

// HasUserAssertion reports whether an on-behalf-of exchange can be
// attempted for the caller: a person is involved (not app-only), the
// identity is not the local dev one, and the inbound token was kept.
func (id *Identity) HasUserAssertion() bool {
	return id != nil && !id.AppOnly && id.Method != MethodDev && id.bearerToken != ""
}
