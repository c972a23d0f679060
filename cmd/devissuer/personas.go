package main

import (
	"crypto/sha256"
	"encoding/base64"
	"fmt"
	"sort"
	"strings"
)

// persona is a ready-made caller for `mint -as`, so `make run` can print
// tokens for the whole approval story: the writer's agent asks, a second
// person signed in to a different client app approves (the server refuses
// the requester, the requester's client app and, by default, app-only
// callers as approvers), and an app-only agent works without a user.
type persona struct {
	kind  string // the caller kind the server reads from the token (identity.Kind)
	about string
	oid   string
	name  string
	upn   string
	azp   string
	roles string
	app   bool
	// Agent ID facets (xms_act_fct, xms_sub_fct) and blueprint (xms_par_app_azp).
	act, subFct, blueprint string
}

// devBlueprint is the agent blueprint the Agent ID personas come from.
const devBlueprint = "d5e6f7a8-0000-4000-8000-00000000de10"

var personas = map[string]persona{
	"writer": {
		kind:  "user",
		about: "a signed-in person who saves and may delete (after someone else approves)",
		oid:   DefaultObjectID, name: "Wren Writer", upn: "wren.writer@dev.invalid",
		azp: DefaultClientID, roles: "Snippets.Write,Snippets.Delete",
	},
	"approver": {
		kind:  "user",
		about: "a second person, signed in to a different client app, who approves or denies",
		oid:   "d5e6f7a8-0000-4000-8000-00000000de04", name: "Avery Approver", upn: "avery.approver@dev.invalid",
		azp: "d5e6f7a8-0000-4000-8000-00000000de05", roles: "Snippets.Approve",
	},
	"agent": {
		kind:  "app",
		about: "an application acting on its own (app-only, idtyp=app, no Agent ID facets)",
		oid:   "d5e6f7a8-0000-4000-8000-00000000de06",
		azp:   "d5e6f7a8-0000-4000-8000-00000000de07", roles: "Snippets.Read,Snippets.Write", app: true,
	},
	"via-agent": {
		kind:  "user_via_agent",
		about: "a person acting through an Entra agent identity (xms_act_fct 11)",
		oid:   "d5e6f7a8-0000-4000-8000-00000000de08", name: "Pat Delegator", upn: "pat.delegator@dev.invalid",
		azp: "d5e6f7a8-0000-4000-8000-00000000de09", roles: "Snippets.Write",
		act: "3 11", blueprint: devBlueprint,
	},
	"autonomous": {
		kind:  "agent",
		about: "an autonomous agent identity (idtyp=app, xms_act_fct and xms_sub_fct 11): never deletes or approves",
		oid:   "d5e6f7a8-0000-4000-8000-00000000de11",
		azp:   "d5e6f7a8-0000-4000-8000-00000000de12", roles: "Snippets.Read,Snippets.Write,Snippets.Delete", app: true,
		act: "3 9 11", subFct: "9 3 11", blueprint: devBlueprint,
	},
	"agent-user": {
		kind:  "agent_user",
		about: "an agent's own user account (xms_sub_fct 13)",
		oid:   "d5e6f7a8-0000-4000-8000-00000000de13", name: "Agent User", upn: "agent.user@dev.invalid",
		azp: "d5e6f7a8-0000-4000-8000-00000000de12", roles: "Snippets.Write",
		act: "11", subFct: "13", blueprint: devBlueprint,
	},
}

func personaNames() []string {
	names := make([]string, 0, len(personas))
	for n := range personas {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func lookupPersona(name string) (persona, error) {
	p, ok := personas[name]
	if !ok {
		return persona{}, fmt.Errorf("mint: -as %q: want one of %s", name, strings.Join(personaNames(), ", "))
	}
	return p, nil
}

// pairwiseSubject is a user token's sub. Entra's sub is pairwise: it
// differs per client app and never equals the oid; the server reads a
// token without idtyp whose sub equals its oid and that has no scp as
// app-only, so a user token must not reuse the oid.
func pairwiseSubject(tid, azp, oid string) string {
	sum := sha256.Sum256([]byte(tid + "/" + azp + "/" + oid))
	return base64.RawURLEncoding.EncodeToString(sum[:])
}
