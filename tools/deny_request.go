package tools

import (
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/policy"
)

const toolDenyRequest = "deny_request"

func (s *Server) denyRequestTool() tool {
	return newTool(mcp.NewTool(toolDenyRequest,
		mcp.WithTitleAnnotation("Deny request"),
		mcp.WithDescription("Deny another person's pending request."),
		requestIDArg(),
		mcp.WithString(argReason, mcp.Required(), mcp.Description("Why, shown to the requester."), mcp.MinLength(1), mcp.MaxLength(500)),
		mcp.WithReadOnlyHintAnnotation(false),
		mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(false),
		mcp.WithOpenWorldHintAnnotation(false),
	), policy.ClassAdmin, s.decide(false))
}
