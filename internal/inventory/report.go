package inventory

import (
	"sort"
	"strings"
	"sync"
	"time"
)

// LastSeen remembers when each client app last called this instance, for
// the admin view of the inventory. It is per instance and in memory (the
// audit trail, infra/kql/agents.kql, is the durable record across
// instances); bounded: when full, the oldest entry is dropped.
type LastSeen struct {
	mu  sync.Mutex
	at  map[string]time.Time
	max int
}

// DefaultLastSeenSize bounds a LastSeen made with NewLastSeen(0).
const DefaultLastSeenSize = 1000

// NewLastSeen makes a LastSeen for at most max client apps (0 means
// DefaultLastSeenSize).
func NewLastSeen(max int) *LastSeen {
	if max <= 0 {
		max = DefaultLastSeenSize
	}
	return &LastSeen{at: map[string]time.Time{}, max: max}
}

// Touch records a call by clientID at t.
func (s *LastSeen) Touch(clientID string, t time.Time) {
	if s == nil || clientID == "" {
		return
	}
	key := strings.ToLower(clientID)
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.at[key]; !ok && len(s.at) >= s.max {
		oldest, first := "", time.Time{}
		for k, v := range s.at {
			if oldest == "" || v.Before(first) {
				oldest, first = k, v
			}
		}
		delete(s.at, oldest)
	}
	if t.After(s.at[key]) {
		s.at[key] = t
	}
}

func (s *LastSeen) snapshot() map[string]time.Time {
	out := map[string]time.Time{}
	if s == nil {
		return out
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for k, v := range s.at {
		out[k] = v
	}
	return out
}

// Row is one line of the admin view: a listed agent with its state now,
// or a client app that called without being listed.
type Row struct {
	Agent    Agent
	State    State
	LastSeen time.Time // zero when not seen by this instance
}

// Report lists the inventory for the admin view: every listed agent in
// file order with its state and last call, then the unlisted client apps
// seen, most recent first.
func (inv *Inventory) Report(seen *LastSeen) []Row {
	at := seen.snapshot()
	var rows []Row
	for _, a := range inv.Agents() {
		key := strings.ToLower(a.ClientID)
		rows = append(rows, Row{Agent: a, State: inv.Lookup(a.ClientID).State, LastSeen: at[key]})
		delete(at, key)
	}
	var unlisted []Row
	for id, t := range at {
		unlisted = append(unlisted, Row{Agent: Agent{ClientID: id}, State: inv.Lookup(id).State, LastSeen: t})
	}
	sort.Slice(unlisted, func(i, j int) bool { return unlisted[i].LastSeen.After(unlisted[j].LastSeen) })
	return append(rows, unlisted...)
}
