package tools

import (
	"strings"
	"testing"
)

// Every etag the server hands out has one form (quoted, as HTTP ETags
// are), and each one is accepted back by save_snippet: an agent that
// copies an etag from any answer must not meet a false conflict.
func TestEveryETagIsAcceptedBySave(t *testing.T) {
	f := newFixture(t)
	tool := func(name string, args map[string]any) map[string]any {
		t.Helper()
		sc, isErr, text := f.tool(t, alice, name, args)
		if isErr {
			t.Fatalf("%s: %s", name, text)
		}
		return sc
	}
	sources := []struct {
		name string
		etag func() string
	}{
		{"save", func() string {
			return tool("save_snippet", map[string]any{"snippetname": "e", "snippet": "v"})["etag"].(string)
		}},
		{"get", func() string { return tool("get_snippet", map[string]any{"snippetname": "e"})["etag"].(string) }},
		{"list", func() string {
			return tool("list_snippets", nil)["snippets"].([]any)[0].(map[string]any)["etag"].(string)
		}},
		{"delete approval", func() string { return tool("delete_snippet", map[string]any{"snippetname": "e"})["etag"].(string) }},
	}
	tool("save_snippet", map[string]any{"snippetname": "e", "snippet": "v0"})
	for _, src := range sources {
		t.Run(src.name, func(t *testing.T) {
			got := src.etag()
			if !strings.HasPrefix(got, `"`) || !strings.HasSuffix(got, `"`) || len(got) < 3 {
				t.Errorf("etag %s, want the quoted form", got)
			}
			_, isErr, text := f.tool(t, alice, "save_snippet", map[string]any{"snippetname": "e", "snippet": "from " + src.name, "etag": got})
			if isErr {
				t.Errorf("save with the %s etag: %s", src.name, text)
			}
		})
	}
}
