package tools

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/inventory"
	"github.com/snippets-mcp/server/internal/policy"
)

const toolListAgents = "list_agents"

// AgentsView is the agent inventory as this server enforces it, for the
// people who answer for it (Snippets.Approve holders: class admin).
type AgentsView struct {
	Mode         string     `json:"mode" jsonschema:"enforce, audit, or not_checked when no agent is listed"`
	Contact      string     `json:"contact" jsonschema:"whom refused agents are told to ask"`
	PolicyDigest string     `json:"policyDigest" jsonschema:"digest of the effective policy and inventory, as in every audit event"`
	Agents       []AgentRow `json:"agents"`
}

// AgentRow is one listed agent, or a client app seen calling without an
// entry.
type AgentRow struct {
	ClientID string            `json:"clientId"`
	Name     string            `json:"name,omitempty"`
	Owner    string            `json:"owner,omitempty"`
	Expires  string            `json:"expires,omitempty" jsonschema:"review or expiry date (YYYY-MM-DD)"`
	State    string            `json:"state" jsonschema:"registered, unregistered, expired, or not_checked"`
	Tools    []string          `json:"tools"`
	Classes  []string          `json:"classes"`
	CostTags map[string]string `json:"costTags,omitempty"`
	LastSeen string            `json:"lastSeen,omitempty" jsonschema:"RFC 3339 time of its last call from your tenant seen by this instance; the audit trail (infra/kql/agents.kql) has all instances"`
}

func (s *Server) listAgentsTool() tool {
	return newTool(mcp.NewTool(toolListAgents,
		mcp.WithTitleAnnotation("List agents"),
		mcp.WithDescription("The agent inventory this server enforces: every registered client app with its owner, "+
			"review date, state, allowed tools or classes and cost tags, then client apps seen calling without an entry; "+
			"each with its last call from your tenant seen by this instance. For Snippets.Approve holders."),
		mcp.WithReadOnlyHintAnnotation(true),
		mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(true),
		mcp.WithOpenWorldHintAnnotation(false),
	), policy.ClassAdmin, s.listAgents)
}

func (s *Server) listAgents(_ context.Context, id *identity.Identity, _ noArgs) (AgentsView, string, error) {
	inv := s.engine.Inventory()
	v := AgentsView{Mode: string(inventory.NotChecked), Contact: inv.Contact(), PolicyDigest: s.engine.Digest(), Agents: []AgentRow{}}
	if inv.Configured() {
		v.Mode = string(inv.Mode())
	}
	var text strings.Builder
	fmt.Fprintf(&text, "Agent inventory (%s), policy %s:", v.Mode, v.PolicyDigest)
	for _, r := range inv.Report(s.seen.of(id.TenantID)) {
		row := AgentRow{ClientID: r.Agent.ClientID, Name: r.Agent.Name, Owner: r.Agent.Owner, Expires: r.Agent.Expires,
			State: string(r.State), Tools: append([]string{}, r.Agent.Tools...), Classes: append([]string{}, r.Agent.Classes...),
			CostTags: r.Agent.CostTags}
		seen := "not seen by this instance"
		if !r.LastSeen.IsZero() {
			row.LastSeen = r.LastSeen.UTC().Format(time.RFC3339)
			seen = "last seen " + row.LastSeen
		}
		v.Agents = append(v.Agents, row)
		fmt.Fprintf(&text, "\n- %s %q (owner %q, review %s): %s, %s", row.ClientID, row.Name, row.Owner, row.Expires, row.State, seen)
	}
	if len(v.Agents) == 0 {
		text.WriteString(" no agents listed and none seen.")
	}
	return v, text.String(), nil
}

// lastSeen keeps an inventory.LastSeen per tenant: an approver sees the
// client apps that called from their own tenant only, never which apps
// call a multi-tenant server from others. Bounded: at most maxTenants
// tenants (when full, a new tenant's calls are not remembered; the audit
// trail still has them).
type lastSeen struct {
	mu      sync.Mutex
	tenants map[string]*inventory.LastSeen
}

const maxTenants = 100

func (l *lastSeen) touch(tenant, clientID string, t time.Time) {
	l.mu.Lock()
	s, ok := l.tenants[tenant]
	if !ok && len(l.tenants) < maxTenants {
		if l.tenants == nil {
			l.tenants = map[string]*inventory.LastSeen{}
		}
		s = inventory.NewLastSeen(0)
		l.tenants[tenant] = s
	}
	l.mu.Unlock()
	s.Touch(clientID, t) // a nil LastSeen remembers nothing
}

// of is the tenant's LastSeen, nil (nothing seen) when there is none.
func (l *lastSeen) of(tenant string) *inventory.LastSeen {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.tenants[tenant]
}
