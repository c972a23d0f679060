package tools

import (
	"context"
	"sync"
	"testing"

	"github.com/snippets-mcp/server/internal/approval"
	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/snippets"
	"github.com/snippets-mcp/server/internal/storage"
	"github.com/snippets-mcp/server/internal/storage/blobtest"
)

// stores returns the real snippet and approval stores on an in-memory
// Blob fake: tool tests run against the stores' own rules, so no fake of
// those rules can drift from them.
func stores(t *testing.T) (*snippets.Store, *approval.Store, *blobtest.Fake) {
	t.Helper()
	f := blobtest.New(t)
	c, err := storage.Connect(storage.Options{ConnectionString: f.ConnString()})
	if err != nil {
		t.Fatal(err)
	}
	for _, name := range []string{snippets.Container, approval.Container} {
		if err := storage.EnsureContainer(context.Background(), c, name); err != nil {
			t.Fatal(err)
		}
	}
	return snippets.NewStore(c, 1024), approval.NewStore(c, approval.Options{}), f
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
