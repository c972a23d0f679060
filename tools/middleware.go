package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/snippets-mcp/server/internal/audit"
)

// A tools/call passes, after mcp-go's tool filter (the policy), through
// these steps, each with one job, outermost first:
//
//	s.reportErrors  a handler's error (a bug, an escaped panic) becomes a logged internal_error result
//	deadline        the call gets MCP_TOOL_TIMEOUT
//	(mcp-go's panic recovery)
//	checked         the tool's own argument check, compiled at registration
//	typed           the caller and the bound arguments reach the handler
//
// The first two are server-wide middleware (New); the last two are part of
// each tool's handler (newTool).

// checked runs a tool's argument check before its handler: arguments that
// fail it end the call with invalid_arguments and a sentence.
func checked(check argCheck, next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if msg := check(req.Params.Arguments); msg != "" {
			return errorResult(ctx, audit.ResultInvalidArguments, msg), nil
		}
		return next(ctx, req)
	}
}

// deadline gives every call a deadline well inside the host's 240 s proxy
// timeout, so a slow dependency yields an error, never a hang.
func deadline(d time.Duration) server.ToolHandlerMiddleware {
	return func(next server.ToolHandlerFunc) server.ToolHandlerFunc {
		return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
			ctx, cancel := context.WithTimeout(ctx, d)
			defer cancel()
			return next(ctx, req)
		}
	}
}

// reportErrors turns a handler's error into an error result. Handlers
// report expected failures as results; an error here is a bug or an
// escaped panic: details go to the log only.
func (s *Server) reportErrors(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		res, err := next(ctx, req)
		if err != nil {
			s.log.Error("tool failed", "tool", req.Params.Name, "err", err)
			return errorResult(ctx, audit.ResultInternalError, fmt.Sprintf("%s failed unexpectedly; the failure was logged", req.Params.Name)), nil
		}
		return res, nil
	}
}
