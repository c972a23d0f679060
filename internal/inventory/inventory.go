// Package inventory is the reviewed list of agents (client app ids) allowed
// to call the server: who owns each, until when it is approved, which tools
// or tool classes it may use, and its cost tags. It says what state a
// calling client is in; package policy decides what follows from that.
package inventory

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"
)

// Mode says what the server does with an agent that is not registered.
type Mode string

const (
	// ModeEnforce refuses unregistered, expired and ownerless agents, and
	// limits registered ones to the tools and classes of their entry. It is
	// the default for an inventory that lists any agent: a reviewed list
	// that is not enforced is one nobody can rely on.
	ModeEnforce Mode = "enforce"
	// ModeAudit allows every agent and records its state in the audit event:
	// for introducing the inventory without locking anyone out.
	ModeAudit Mode = "audit"
)

// State is a calling client's state in the inventory; audit events record
// it as agent_inventory.
type State string

const (
	Registered   State = "registered"   // listed, owned, not expired
	Unregistered State = "unregistered" // not listed
	Expired      State = "expired"      // listed, but past its expiry date or without an owner
	NotChecked   State = "not_checked"  // no inventory is configured: nothing is checked
)

// States lists every State.
var States = []State{Registered, Unregistered, Expired, NotChecked}

// Agent is one reviewed entry.
type Agent struct {
	ClientID string `json:"clientId"` // azp/appid of the agent's tokens
	Name     string `json:"name"`     // display name, recorded as agent_name
	Owner    string `json:"owner"`    // who answers for it (a team or a person), recorded as agent_owner
	// Expires is the last day (UTC, YYYY-MM-DD) the entry is valid: a review
	// date. From the next day the agent is expired.
	Expires  string            `json:"expires"`
	Tools    []string          `json:"tools,omitempty"`   // tools it may use ...
	Classes  []string          `json:"classes,omitempty"` // ... or whole classes (read, write, destructive, admin)
	CostTags map[string]string `json:"costTags,omitempty"`
	Notes    string            `json:"notes,omitempty"`

	until time.Time // first instant the entry is no longer valid
}

// Document is the inventory file (policies/agents.json).
type Document struct {
	// Mode is enforce or audit; "" means enforce once any agent is listed.
	Mode Mode `json:"mode,omitempty"`
	// Contact is whom to ask about the inventory itself (adding an agent):
	// named in refusals of unregistered agents.
	Contact string  `json:"contact,omitempty"`
	Agents  []Agent `json:"agents"`
}

// Options adjust Parse. The zero value keeps the document's mode and uses
// the wall clock.
type Options struct {
	Mode Mode             // overrides the document's mode when set (MCP_AGENT_INVENTORY_MODE)
	Now  func() time.Time // nil means time.Now
}

// Inventory is a parsed, checked document.
type Inventory struct {
	mode    Mode
	contact string
	agents  map[string]*Agent
	order   []string
	now     func() time.Time
}

// Status is what Lookup found.
type Status struct {
	State State
	Agent *Agent // nil unless the client is listed
}

// Parse reads and checks an inventory document. Empty input (or only
// whitespace) is no inventory: every caller is not_checked. Unknown
// fields, repeated client ids, a missing name or expiry, a malformed date
// and an unknown mode are errors, one line each.
func Parse(doc []byte, o Options) (*Inventory, error) {
	inv := &Inventory{agents: map[string]*Agent{}, now: o.Now}
	if inv.now == nil {
		inv.now = time.Now
	}
	var d Document
	if len(bytes.TrimSpace(doc)) > 0 {
		dec := json.NewDecoder(bytes.NewReader(doc))
		dec.DisallowUnknownFields()
		if err := dec.Decode(&d); err != nil {
			return nil, fmt.Errorf("agent inventory: decode: %w", err)
		}
		if dec.More() {
			return nil, errors.New("agent inventory: data after the document")
		}
	}
	inv.contact = strings.TrimSpace(d.Contact)
	inv.mode = d.Mode
	if o.Mode != "" {
		inv.mode = o.Mode
	}
	switch inv.mode {
	case "":
		inv.mode = ModeEnforce
	case ModeEnforce, ModeAudit:
	default:
		return nil, fmt.Errorf("agent inventory: mode %q: want enforce or audit", inv.mode)
	}
	for i := range d.Agents {
		a := d.Agents[i]
		if err := a.check(); err != nil {
			return nil, fmt.Errorf("agent inventory: agents[%d]: %w", i, err)
		}
		key := strings.ToLower(a.ClientID)
		if _, dup := inv.agents[key]; dup {
			return nil, fmt.Errorf("agent inventory: agents[%d]: client id %s is listed twice", i, a.ClientID)
		}
		inv.agents[key] = &a
		inv.order = append(inv.order, key)
	}
	return inv, nil
}

func (a *Agent) check() error {
	a.ClientID, a.Name, a.Owner = strings.TrimSpace(a.ClientID), strings.TrimSpace(a.Name), strings.TrimSpace(a.Owner)
	switch {
	case a.ClientID == "":
		return errors.New("clientId is empty")
	case a.Name == "":
		return fmt.Errorf("%s: name is empty", a.ClientID)
	case a.Expires == "":
		return fmt.Errorf("%s: expires is empty: every agent has a review date (YYYY-MM-DD)", a.ClientID)
	}
	day, err := time.Parse(time.DateOnly, a.Expires)
	if err != nil {
		return fmt.Errorf("%s: expires %q is not a date (YYYY-MM-DD)", a.ClientID, a.Expires)
	}
	a.until = day.AddDate(0, 0, 1)
	if len(a.Tools) == 0 && len(a.Classes) == 0 {
		return fmt.Errorf("%s: lists neither tools nor classes, so it could use nothing", a.ClientID)
	}
	return nil
}

// Configured reports whether any agent is listed; without one nothing is
// checked (every caller is not_checked), so a server without an inventory
// behaves as before it had one.
func (inv *Inventory) Configured() bool { return inv != nil && len(inv.agents) > 0 }

// Mode is the effective mode.
func (inv *Inventory) Mode() Mode {
	if inv == nil {
		return ModeEnforce
	}
	return inv.mode
}

// Enforced reports whether unregistered agents are refused: an inventory is
// configured and in enforce mode.
func (inv *Inventory) Enforced() bool { return inv.Configured() && inv.mode == ModeEnforce }

// Contact is whom to ask about the inventory.
func (inv *Inventory) Contact() string {
	if inv == nil || inv.contact == "" {
		return "the server's operators"
	}
	return inv.contact
}

// Agents lists the entries in file order.
func (inv *Inventory) Agents() []Agent {
	if inv == nil {
		return nil
	}
	out := make([]Agent, 0, len(inv.order))
	for _, k := range inv.order {
		out = append(out, *inv.agents[k])
	}
	return out
}

// Lookup reports the state of clientID now.
func (inv *Inventory) Lookup(clientID string) Status {
	if !inv.Configured() {
		return Status{State: NotChecked}
	}
	a, ok := inv.agents[strings.ToLower(clientID)]
	switch {
	case !ok || clientID == "":
		return Status{State: Unregistered}
	case a.Owner == "" || !inv.now().Before(a.until):
		return Status{State: Expired, Agent: a}
	}
	return Status{State: Registered, Agent: a}
}

// Allows reports whether a registered entry lists the tool or its class.
func (a *Agent) Allows(tool, class string) bool {
	return a != nil && (slices.Contains(a.Tools, tool) || slices.Contains(a.Classes, class))
}

// ToolList and ClassList are the entry's tools and classes (nil for a nil
// entry).
func (a *Agent) ToolList() []string {
	if a == nil {
		return nil
	}
	return a.Tools
}

func (a *Agent) ClassList() []string {
	if a == nil {
		return nil
	}
	return a.Classes
}

// Refusal is the sentence for a caller refused in enforce mode: what is
// missing and whom to ask. "" for a registered or unchecked caller.
func (inv *Inventory) Refusal(clientID string, st Status) string {
	switch st.State {
	case Unregistered:
		if clientID == "" {
			return "the token names no client app (azp/appid), so it matches no entry of the agent inventory; ask " + inv.Contact() + " to register the agent"
		}
		return fmt.Sprintf("client app %s is not in the agent inventory (policies/agents.json); ask %s to register it with an owner and a review date", clientID, inv.Contact())
	case Expired:
		if st.Agent.Owner == "" {
			return fmt.Sprintf("agent %q (%s) has no owner in the agent inventory; ask %s to name one", st.Agent.Name, st.Agent.ClientID, inv.Contact())
		}
		return fmt.Sprintf("agent %q (%s) passed its review date %s in the agent inventory; ask its owner %s to review and renew the entry", st.Agent.Name, st.Agent.ClientID, st.Agent.Expires, st.Agent.Owner)
	}
	return ""
}

// OutOfScope is the sentence for a registered agent calling a tool its
// entry does not list.
func (inv *Inventory) OutOfScope(st Status, tool string) string {
	if st.Agent == nil {
		return ""
	}
	return fmt.Sprintf("agent %q (%s) may not use %s: its agent inventory entry lists tools %v and classes %v; ask its owner %s to add it",
		st.Agent.Name, st.Agent.ClientID, tool, st.Agent.Tools, st.Agent.Classes, st.Agent.Owner)
}
