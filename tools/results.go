package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/snippets"
)

// fail returns a tool error result and records its code for the audit
// event. The message is for the caller only: it may quote arguments, so
// it never goes into the audit record.
func fail(ctx context.Context, code, msg string) *mcp.CallToolResult {
	callFrom(ctx).set(func(c *call) { c.resultCode = code })
	return mcp.NewToolResultError(msg)
}

// storeError turns a snippet store error into a result a person can act
// on. Raw storage errors (URLs, request ids) are logged, never returned.
func (s *Server) storeError(ctx context.Context, op, name string, err error) *mcp.CallToolResult {
	var invalid *snippets.InvalidError
	var tooLarge *snippets.TooLargeError
	switch {
	case errors.As(err, &invalid):
		return fail(ctx, audit.ResultInvalidArguments, invalid.Msg)
	case errors.As(err, &tooLarge):
		return fail(ctx, audit.ResultInvalidArguments, tooLarge.Error())
	case errors.Is(err, snippets.ErrNotFound):
		return fail(ctx, audit.ResultNotFound, fmt.Sprintf("snippet %q does not exist in this space; list_snippets shows the names you have", name))
	case errors.Is(err, snippets.ErrConflict):
		return fail(ctx, audit.ResultToolError, fmt.Sprintf("snippet %q was changed by someone else since you read it; get it again and retry with its new etag", name))
	}
	s.log.Warn("storage failed", "op", op, "err", err)
	msg := "snippet storage is unavailable right now (retryable). Retry in a few seconds."
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "snippet storage did not answer in time (retryable). Retry in a few seconds."
	}
	if op == "save" || op == "delete" {
		// A write that timed out may still have landed; it is atomic either way.
		msg += " The " + op + " either fully happened or not at all: get_snippet shows which."
	}
	return fail(ctx, audit.ResultUnavailable, msg)
}
