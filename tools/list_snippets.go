package tools

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/policy"
	"github.com/snippets-mcp/server/internal/snippets"
)

const toolListSnippets = "list_snippets"

type listArgs struct {
	Prefix string `json:"prefix"`
	Cursor string `json:"cursor"`
	Limit  int    `json:"limit"` // 0 when not sent (the check refuses 0 itself): 50
	Shared bool   `json:"shared"`
}

// SnippetList is one page of a listing.
type SnippetList struct {
	Snippets   []Snippet `json:"snippets"`
	NextCursor string    `json:"nextCursor,omitempty" jsonschema:"pass as cursor to get the next page; absent on the last page"`
}

func (s *Server) listSnippetsTool() tool {
	return newTool(mcp.NewTool(toolListSnippets,
		mcp.WithTitleAnnotation("List snippets"),
		mcp.WithDescription("List snippet names and metadata, a page at a time, optionally only names starting with a prefix."),
		mcp.WithString(argPrefix, mcp.Description("Only names starting with this."), mcp.MaxLength(snippets.MaxNameLen)),
		cursorArg(1024),
		limitArg(50),
		sharedArg("list"),
		mcp.WithReadOnlyHintAnnotation(true),
		mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(true),
		mcp.WithOpenWorldHintAnnotation(false),
	), policy.ClassRead, s.listSnippets)
}

func (s *Server) listSnippets(ctx context.Context, id *identity.Identity, in listArgs) (SnippetList, string, error) {
	page, err := s.snippets.List(ctx, spaceOf(id, in.Shared), in.Prefix, in.Cursor, int32(cmp.Or(in.Limit, 50)))
	if err != nil {
		return SnippetList{}, "", s.storeError("list", in.Prefix, err)
	}
	out := SnippetList{Snippets: make([]Snippet, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, it := range page.Items {
		out.Snippets = append(out.Snippets, toSnippet(it))
	}
	return out, listText(out), nil
}

// listText names every snippet of the page with what an update needs,
// and the cursor of the next page.
func listText(l SnippetList) string {
	var b strings.Builder
	b.WriteString(plural(len(l.Snippets), "snippet", "snippets"))
	for i, sn := range l.Snippets {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s (%d bytes, etag %s)", sep, sn.Name, sn.Size, sn.ETag)
	}
	b.WriteString(".")
	if l.NextCursor != "" {
		fmt.Fprintf(&b, " More: call %s again with cursor %s (and the same prefix).", toolListSnippets, l.NextCursor)
	}
	return b.String()
}
