package tools

import (
	"context"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/snippets-mcp/server/internal/approval"
	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/snippets"
)

// memStore is an in-memory SnippetStore for in-process tests. The Blob
// store itself is exercised end to end against Azurite in e2e/.
type memStore struct {
	mu   sync.Mutex
	data map[string]snippets.Snippet
	down bool
}

func newMemStore() *memStore { return &memStore{data: map[string]snippets.Snippet{}} }

func key(sp snippets.Space, name string) string { return sp.Tenant + "|" + sp.Owner + "|" + name }

func (m *memStore) MaxSize() int64 { return 1024 }

func (m *memStore) Save(_ context.Context, sp snippets.Space, name, content string, o snippets.SaveOptions) (snippets.Snippet, error) {
	if err := snippets.ValidateName(name); err != nil {
		return snippets.Snippet{}, err
	}
	if int64(len(content)) > m.MaxSize() {
		return snippets.Snippet{}, &snippets.TooLargeError{Size: int64(len(content)), Max: m.MaxSize()}
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return snippets.Snippet{}, snippets.ErrUnavailable
	}
	old, exists := m.data[key(sp, name)]
	if o.IfMatch != "" && (!exists || old.ETag != o.IfMatch) {
		return snippets.Snippet{}, snippets.ErrConflict
	}
	sn := snippets.Snippet{Name: name, Shared: sp.IsShared(), Size: int64(len(content)), ETag: time.Now().String(), Content: content, Created: time.Now(), Updated: time.Now()}
	m.data[key(sp, name)] = sn
	return sn, nil
}

func (m *memStore) Get(_ context.Context, sp snippets.Space, name string) (snippets.Snippet, error) {
	if err := snippets.ValidateName(name); err != nil {
		return snippets.Snippet{}, err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.down {
		return snippets.Snippet{}, snippets.ErrUnavailable
	}
	sn, ok := m.data[key(sp, name)]
	if !ok {
		return snippets.Snippet{}, snippets.ErrNotFound
	}
	return sn, nil
}

func (m *memStore) List(_ context.Context, sp snippets.Space, prefix, _ string, _ int32) (snippets.Page, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var p snippets.Page
	for k, v := range m.data {
		if strings.HasPrefix(k, key(sp, prefix)) {
			p.Items = append(p.Items, v)
		}
	}
	sort.Slice(p.Items, func(i, j int) bool { return p.Items[i].Name < p.Items[j].Name })
	return p, nil
}

func (m *memStore) Delete(_ context.Context, sp snippets.Space, name, _ string) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if _, ok := m.data[key(sp, name)]; !ok {
		return snippets.ErrNotFound
	}
	delete(m.data, key(sp, name))
	return nil
}

// memApprovals keeps approval requests in memory with the same rules as
// the Blob store (which e2e tests across three processes).
type memApprovals struct {
	mu sync.Mutex
	rs map[string]approval.Request
	n  int
}

func (a *memApprovals) Create(_ context.Context, r approval.Request) (approval.Request, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	if a.rs == nil {
		a.rs = map[string]approval.Request{}
	}
	a.n++
	r.ID = strings.Repeat("0", 31) + string(rune('0'+a.n))
	r.Status, r.CreatedAt, r.ExpiresAt = approval.Pending, time.Now(), time.Now().Add(time.Hour)
	a.rs[r.ID] = r
	return r, nil
}

func (a *memApprovals) ListPending(_ context.Context, tenant string, _ int) ([]approval.Request, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	var out []approval.Request
	for _, r := range a.rs {
		if r.Tenant == tenant && r.Status == approval.Pending {
			out = append(out, r)
		}
	}
	return out, nil
}

func (a *memApprovals) Decide(_ context.Context, tenant, id, approver string, approve bool, reason string) (approval.Request, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.rs[id]
	if !ok || r.Tenant != tenant {
		return r, approval.ErrNotFound
	}
	if r.Requester == approver {
		return r, approval.ErrSelfApproval
	}
	r.Status, r.DecidedBy, r.Reason = approval.Denied, approver, reason
	if approve {
		r.Status = approval.Approved
	}
	a.rs[id] = r
	return r, nil
}

func (a *memApprovals) Consume(_ context.Context, tenant, id, requester, tool, digest string) (approval.Request, error) {
	a.mu.Lock()
	defer a.mu.Unlock()
	r, ok := a.rs[id]
	switch {
	case !ok || r.Tenant != tenant:
		return r, approval.ErrNotFound
	case r.Requester != requester:
		return r, approval.ErrNotYours
	case r.Tool != tool || r.ArgsDigest != digest:
		return r, approval.ErrMismatch
	case r.Status == approval.Pending:
		return r, approval.ErrPending
	case r.Status != approval.Approved:
		return r, approval.ErrUsed
	}
	r.Status = approval.Used
	a.rs[id] = r
	return r, nil
}

func (a *memApprovals) Release(context.Context, approval.Request) error {
	return errors.New("not supported")
}

type memAuditor struct {
	mu     sync.Mutex
	events []audit.Event
}

func (m *memAuditor) Record(e audit.Event) {
	m.mu.Lock()
	defer m.mu.Unlock()
	m.events = append(m.events, e)
}

func (m *memAuditor) all() []audit.Event {
	m.mu.Lock()
	defer m.mu.Unlock()
	return append([]audit.Event(nil), m.events...)
}
