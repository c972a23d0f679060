package tools

import (
	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/policy"
)

const toolApproveRequest = "approve_request"

func (s *Server) approveRequestTool() tool {
	return newTool(mcp.NewTool(toolApproveRequest,
		mcp.WithTitleAnnotation("Approve request"),
		mcp.WithDescription("Approve another person's pending request, allowing the action once, on the version of the target it was requested for. "+
			"You cannot decide your own requests, nor through the client app that made the request; applications acting on their own cannot decide unless the server allows it."),
		requestIDArg(),
		mcp.WithString(argReason, mcp.Description("Why, for the record."), mcp.MaxLength(500)),
		mcp.WithReadOnlyHintAnnotation(false),
		mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(false),
		mcp.WithOpenWorldHintAnnotation(false),
	), policy.ClassAdmin, s.decide(true))
}
