package tools

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/policy"
)

const toolGetSnippet = "get_snippet"

type getArgs struct {
	Name   string `json:"snippetname"`
	Shared bool   `json:"shared"`
}

// SnippetContent is a snippet with its content.
type SnippetContent struct {
	Snippet
	Content string `json:"content"`
}

// jsonBlock: the first text block is the snippet itself, as the Python
// sample returns it; the JSON block its metadata (the etag to update it
// with), not the content again.
func (c SnippetContent) jsonBlock() any { return c.Snippet }

func (s *Server) getSnippetTool() tool {
	return newTool(mcp.NewTool(toolGetSnippet,
		mcp.WithTitleAnnotation("Get snippet"),
		mcp.WithDescription("Read a snippet by name: its text and metadata."),
		nameArg(mcp.Required()),
		sharedArg("read from"),
		mcp.WithReadOnlyHintAnnotation(true),
		mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(true),
		mcp.WithOpenWorldHintAnnotation(false),
	), policy.ClassRead, s.getSnippet)
}

func (s *Server) getSnippet(ctx context.Context, id *identity.Identity, in getArgs) (SnippetContent, string, error) {
	sn, err := s.snippets.Get(ctx, spaceOf(id, in.Shared), in.Name)
	if err != nil {
		return SnippetContent{}, "", s.storeError("get", in.Name, err)
	}
	return SnippetContent{Snippet: toSnippet(sn), Content: sn.Content}, sn.Content, nil
}
