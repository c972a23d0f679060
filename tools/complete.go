package tools

import (
	"context"
	"errors"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/snippets"
	"github.com/snippets-mcp/server/internal/storage"
)

// completer suggests snippet names for the review_snippet prompt and the
// snippet:// resource templates, from the caller's own (or shared) space
// and only for callers who may list snippets. Anything else gets no
// suggestions, which the protocol allows. Names are what list_snippets
// shows, so completions follow its rule, not get_snippet's.
type completer struct{ s *Server }

func (c completer) CompletePromptArgument(ctx context.Context, prompt string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (*mcp.Completion, error) {
	if prompt != reviewPrompt || arg.Name != argSnippetName {
		return &mcp.Completion{Values: []string{}}, nil
	}
	return c.names(ctx, false, arg.Value), nil
}

func (c completer) CompleteResourceArgument(ctx context.Context, uri string, arg mcp.CompleteArgument, _ mcp.CompleteContext) (*mcp.Completion, error) {
	if arg.Name != argSnippetName || (uri != privateTemplate && uri != sharedTemplate) {
		return &mcp.Completion{Values: []string{}}, nil
	}
	return c.names(ctx, uri == sharedTemplate, arg.Value), nil
}

// names lists up to 100 names starting with prefix. Failures (a prefix
// that is no valid name start, storage down) give no suggestions: a
// completion is a hint, never an error the user must handle.
func (c completer) names(ctx context.Context, shared bool, prefix string) *mcp.Completion {
	out := &mcp.Completion{Values: []string{}}
	id := identity.FromContext(ctx)
	if !c.s.mayList(ctx, shared) {
		outcome(ctx, audit.ResultDenied)
		return out
	}
	page, err := c.s.snippets.List(ctx, spaceOf(id, shared), prefix, "", 100)
	var invalid *snippets.InvalidError
	switch {
	case errors.As(err, &invalid):
		outcome(ctx, audit.ResultInvalidArguments)
		return out
	case err != nil:
		outcome(ctx, audit.ResultUnavailable)
		c.s.log.Warn("storage failed", "op", "complete", "reason", storage.Reason(err))
		return out
	}
	for _, it := range page.Items {
		out.Values = append(out.Values, it.Name)
	}
	out.HasMore = page.NextCursor != ""
	return out
}
