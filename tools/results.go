package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/snippets"
	"github.com/snippets-mcp/server/internal/storage"
)

// storeError turns a snippet store error into a failure a person can act
// on. Raw storage errors (URLs, request ids) are logged, never returned.
func (s *Server) storeError(op, name string, err error) error {
	var invalid *snippets.InvalidError
	var tooLarge *snippets.TooLargeError
	switch {
	case errors.As(err, &invalid):
		return fail(audit.ResultInvalidArguments, invalid.Msg)
	case errors.As(err, &tooLarge):
		return fail(audit.ResultInvalidArguments, tooLarge.Error())
	case errors.Is(err, snippets.ErrNotFound):
		return fail(audit.ResultNotFound, fmt.Sprintf("snippet %q does not exist in this space; list_snippets shows the names you have", name))
	case errors.Is(err, snippets.ErrConflict):
		return fail(audit.ResultToolError, fmt.Sprintf("snippet %q was changed by someone else since you read it, and this call's content was not stored; get it again and retry with its new etag", name))
	case errors.Is(err, snippets.ErrAmbiguous):
		s.log.Warn("storage did not confirm a write", "op", op, "reason", storage.Reason(err))
		return fail(audit.ResultAmbiguous, fmt.Sprintf("snippet storage did not confirm the %s: snippet %q may or may not have been changed. Call get_snippet to check before retrying.", op, name))
	}
	if storage.IsMisconfigured(err) {
		return s.misconfigured("snippet", op, err)
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
	return fail(audit.ResultUnavailable, msg)
}

// misconfigured answers a storage error that no retry cures (a bad key, a
// missing role or account): the caller must not be told "retryable", and
// the log says, at error level, that an operator has to act.
func (s *Server) misconfigured(what, op string, err error) error {
	s.log.Error("storage misconfigured: "+storage.Misconfigured, "store", what, "op", op, "reason", storage.Reason(err), "permanent", true)
	msg := what + " " + storage.Misconfigured + " (not retryable)."
	if op == "save" || op == "delete" || op == "write" || op == "request" || op == "use" || op == "decide" {
		msg += " Nothing was changed."
	}
	return fail(audit.ResultMisconfigured, msg)
}
