package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/policy"
	"github.com/snippets-mcp/server/internal/snippets"
	"github.com/snippets-mcp/server/internal/storage"
)

// Resource URIs: the caller's private snippets, and the tenant's shared ones.
const (
	privateTemplate = "snippet://{snippetname}"
	sharedTemplate  = "snippet://shared/{snippetname}"
	guideURI        = "snippets://guide"
)

// Resources follow the read rule of get_snippet: whoever may not call it
// may not read snippets as resources either.
func (s *Server) addResources(m *server.MCPServer) {
	m.AddResourceTemplate(mcp.NewResourceTemplate(privateTemplate, "snippet",
		mcp.WithTemplateTitle("Private snippet"),
		mcp.WithTemplateDescription("A snippet in your private space."),
		mcp.WithTemplateMIMEType("text/plain")), s.readSnippet(false))
	m.AddResourceTemplate(mcp.NewResourceTemplate(sharedTemplate, "shared-snippet",
		mcp.WithTemplateTitle("Shared snippet"),
		mcp.WithTemplateDescription("A snippet in your tenant's shared space."),
		mcp.WithTemplateMIMEType("text/plain")), s.readSnippet(true))
	m.AddResource(mcp.NewResource(guideURI, "guide",
		mcp.WithResourceTitle("How to use this server"),
		mcp.WithResourceDescription("Snippet names, spaces, concurrency and approvals, in one page."),
		mcp.WithMIMEType("text/markdown")), s.readGuide)
}

func (s *Server) readSnippet(shared bool) server.ResourceTemplateHandlerFunc {
	return func(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
		name := templateArg(req.Params.Arguments, argSnippetName)
		sn, err := s.read(ctx, shared, name)
		if errors.Is(err, server.ErrResourceNotFound) {
			rpcError(ctx, resourceNotFound(ctx), fmt.Sprintf("snippet %q not found in this space", name))
		}
		if err != nil {
			return nil, err
		}
		return []mcp.ResourceContents{mcp.TextResourceContents{URI: req.Params.URI, MIMEType: "text/plain", Text: sn.Content}}, nil
	}
}

// mayRead decides reads of snippet content outside tools/call (resources,
// the prompt): the engine asks get_snippet's rule and the space's.
func (s *Server) mayRead(ctx context.Context, shared bool) policy.Decision {
	return s.engine.ReadContent(s.principal(ctx), policy.ActionRead, shared)
}

// mayList decides listings of snippet names (completions): list_snippets'
// rule and the space's.
func (s *Server) mayList(ctx context.Context, shared bool) bool {
	return s.engine.ReadContent(s.principal(ctx), policy.ActionList, shared).Allowed
}

// outcome records a read's result code for its audit event.
func outcome(ctx context.Context, code audit.ResultCode) {
	callFrom(ctx).set(func(c *call) { c.resultCode = code })
}

// read fetches a snippet for a resource read or a prompt, under the read
// rule of get_snippet. Its errors become JSON-RPC errors, so they are
// sentences for the caller; storage details go to the log only.
func (s *Server) read(ctx context.Context, shared bool, name string) (snippets.Snippet, error) {
	id := identity.FromContext(ctx)
	if d := s.mayRead(ctx, shared); !d.Allowed {
		outcome(ctx, audit.ResultDenied)
		if d.Inventory { // what the agent inventory lacks, and whom to ask
			return snippets.Snippet{}, errors.New(d.Message)
		}
		return snippets.Snippet{}, errors.New("not permitted to read snippets")
	}
	sn, err := s.snippets.Get(ctx, spaceOf(id, shared), name)
	var invalid *snippets.InvalidError
	switch {
	case err == nil:
		return sn, nil
	case errors.As(err, &invalid):
		outcome(ctx, audit.ResultInvalidArguments)
		rpcError(ctx, mcp.INVALID_PARAMS, invalid.Msg) // the client's mistake, not an internal error
		return sn, errors.New(invalid.Msg)
	case errors.Is(err, snippets.ErrNotFound):
		outcome(ctx, audit.ResultNotFound)
		return sn, fmt.Errorf("snippet %q not found in this space: %w", name, server.ErrResourceNotFound)
	case storage.IsMisconfigured(err):
		outcome(ctx, audit.ResultMisconfigured)
		s.log.Error("storage misconfigured: "+storage.Misconfigured, "op", "read", "reason", storage.Reason(err), "permanent", true)
		return sn, errors.New("snippet " + storage.Misconfigured + " (not retryable)")
	default:
		outcome(ctx, audit.ResultUnavailable)
		s.log.Warn("storage failed", "op", "read", "reason", storage.Reason(err))
		return sn, errors.New("snippet storage is unavailable right now (retryable)")
	}
}

// templateArg reads a URI template variable; mcp-go passes them as []string.
func templateArg(args map[string]any, key string) string {
	switch v := args[key].(type) {
	case string:
		return v
	case []string:
		if len(v) == 1 {
			return v[0]
		}
	}
	return ""
}

func (s *Server) readGuide(ctx context.Context, req mcp.ReadResourceRequest) ([]mcp.ResourceContents, error) {
	return []mcp.ResourceContents{mcp.TextResourceContents{URI: guideURI, MIMEType: "text/markdown", Text: guide}}, nil
}

const guide = `# Snippets server

- Names: ` + snippets.NameRule + `.
- Your snippets live in your private space; nobody else can read or change them.
  Pass shared=true to use your tenant's shared space (writing there needs Snippets.Write).
- Read a snippet as a resource: snippet://NAME, or snippet://shared/NAME.
- Updates are checked: save_snippet with the etag you read updates only that version.
- delete_snippet needs an approval by another person holding Snippets.Approve:
  the first call returns a request id; after approval, call again with approval_id.
`
