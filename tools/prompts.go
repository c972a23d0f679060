package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// reviewPrompt is the name of the one prompt.
const reviewPrompt = "review_snippet"

func (s *Server) addPrompts(m *server.MCPServer) {
	m.AddPrompt(mcp.NewPrompt(reviewPrompt,
		mcp.WithPromptTitle("Review a snippet"),
		mcp.WithPromptDescription("Ask the model to review one of your snippets: correctness, clarity, risks."),
		mcp.WithArgument(argSnippetName, mcp.RequiredArgument(), mcp.ArgumentDescription("Name of the snippet to review.")),
		mcp.WithArgument("focus", mcp.ArgumentDescription("Optional: what to focus on, e.g. security.")),
	), s.reviewPrompt)
}

// promptFilter hides prompts from callers who may not read snippets.
func (s *Server) promptFilter(ctx context.Context, prompts []mcp.Prompt) []mcp.Prompt {
	if s.mayRead(ctx, false).Allowed {
		return prompts
	}
	return nil
}

func (s *Server) reviewPrompt(ctx context.Context, req mcp.GetPromptRequest) (*mcp.GetPromptResult, error) {
	name := req.Params.Arguments[argSnippetName]
	sn, err := s.read(ctx, false, name)
	if errors.Is(err, server.ErrResourceNotFound) {
		// A prompt argument naming no snippet is an invalid parameter of
		// prompts/get, not a server failure (mcp-go would answer -32603).
		rpcError(ctx, mcp.INVALID_PARAMS, fmt.Sprintf("snippet %q not found in your private space; list_snippets shows the names you have", name))
	}
	if err != nil {
		return nil, err
	}
	ask := "Review the snippet below for correctness, clarity and risks. Suggest concrete improvements."
	if f := req.Params.Arguments["focus"]; f != "" {
		ask += " Focus on: " + f + "."
	}
	return mcp.NewGetPromptResult("Review of snippet "+name, []mcp.PromptMessage{
		mcp.NewPromptMessage(mcp.RoleUser, mcp.NewTextContent(ask)),
		mcp.NewPromptMessage(mcp.RoleUser, mcp.NewEmbeddedResource(mcp.TextResourceContents{
			URI: "snippet://" + name, MIMEType: "text/plain", Text: sn.Content,
		})),
	}), nil
}
