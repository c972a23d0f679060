package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/snippets"
	"github.com/snippets-mcp/server/internal/storage"
)

// fail returns a tool error result and records its code for the audit
// event. The message is for the caller only: it may quote arguments, so
// it never goes into the audit record.
func fail(ctx context.Context, code, msg string) *mcp.CallToolResult {
	callFrom(ctx).set(func(c *call) { c.resultCode = code })
	return mcp.NewToolResultError(msg)
}

// answer is a tool's success result: text first, for people and for
// clients that show one block, then the structured content serialized as
// JSON, as the spec advises, for clients that pass only text content to the
// model: an agent sees every id, etag and cursor it needs to act on.
func answer(structured any, text string) *mcp.CallToolResult {
	return answerJSON(structured, text, structured)
}

// answerJSON is answer with asJSON as the second block, for a result whose
// text already carries part of the structured content (get_snippet's
// content) that need not be sent twice.
func answerJSON(structured any, text string, asJSON any) *mcp.CallToolResult {
	res := mcp.NewToolResultStructured(structured, text)
	if b, err := json.Marshal(asJSON); err == nil { // types of this package: never fails
		res.Content = append(res.Content, mcp.NewTextContent(string(b)))
	}
	return res
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
		return fail(ctx, audit.ResultToolError, fmt.Sprintf("snippet %q was changed by someone else since you read it, and this call's content was not stored; get it again and retry with its new etag", name))
	case errors.Is(err, snippets.ErrAmbiguous):
		s.log.Warn("storage did not confirm a write", "op", op, "reason", storage.Reason(err))
		return fail(ctx, audit.ResultAmbiguous, fmt.Sprintf("snippet storage did not confirm the %s: snippet %q may or may not have been changed. Call get_snippet to check before retrying.", op, name))
	}
	if storage.IsMisconfigured(err) {
		return s.misconfigured(ctx, "snippet", op, err)
	}
	// Raw errors carry the blob URL (tenant and object ids, the name):
	// the log gets the status and the service's code only.
	s.log.Warn("storage failed", "op", op, "reason", storage.Reason(err))
	msg := "snippet storage is unavailable right now (retryable). Retry in a few seconds."
	if errors.Is(err, context.DeadlineExceeded) {
		msg = "snippet storage did not answer in time (retryable). Retry in a few seconds."
	}
	if op == "save" || op == "delete" || op == "write" {
		// The store answers ErrUnavailable for a write only when the write
		// provably did not happen; unconfirmed ones are ErrAmbiguous.
		msg += " Nothing was changed."
	}
	return fail(ctx, audit.ResultUnavailable, msg)
}

// misconfigured answers a storage error that no retry cures (a bad key, a
// missing role or account): the caller must not be told "retryable", and
// the log says, at error level, that an operator has to act.
func (s *Server) misconfigured(ctx context.Context, what, op string, err error) *mcp.CallToolResult {
	s.log.Error("storage misconfigured: "+storage.Misconfigured, "store", what, "op", op, "reason", storage.Reason(err), "permanent", true)
	msg := what + " " + storage.Misconfigured + " (not retryable)."
	if op == "save" || op == "delete" || op == "write" || op == "request" || op == "use" || op == "decide" {
		msg += " Nothing was changed."
	}
	return fail(ctx, audit.ResultMisconfigured, msg)
}
