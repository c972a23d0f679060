package tools

import (
	"strings"
	"testing"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/identity"
)

// BenchmarkCheckArgs is the argument check that runs before every tool
// call, on save_snippet with a 1 KiB snippet.
func BenchmarkCheckArgs(b *testing.B) {
	s, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	check := compileArgs(s.tools[toolSaveSnippet].spec)
	args := map[string]any{"snippetname": "notes-2026", "snippet": strings.Repeat("x", 1024), "shared": false, "etag": `"0x8D1"`}
	b.ReportAllocs()
	for b.Loop() {
		if msg := check(args); msg != "" {
			b.Fatal(msg)
		}
	}
}

// BenchmarkToolFilter is the policy filter mcp-go applies to tools/list and
// tools/call, for a delegated caller and every tool.
func BenchmarkToolFilter(b *testing.B) {
	s, err := New(Options{})
	if err != nil {
		b.Fatal(err)
	}
	ctx := identity.NewContext(b.Context(), &identity.Identity{TenantID: "t", ObjectID: "o", Scopes: []string{identity.ScopeUser}})
	list := make([]mcp.Tool, 0, len(s.tools))
	for _, sp := range s.tools {
		list = append(list, sp.spec)
	}
	b.ReportAllocs()
	for b.Loop() {
		if len(s.filter(ctx, list)) == 0 {
			b.Fatal("no tools")
		}
	}
}
