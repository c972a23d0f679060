package tools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/approval"
	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/snippets"
	"github.com/snippets-mcp/server/internal/storage"
)

// This file holds the approval machinery that the held tools (save_snippet,
// delete_snippet) and the deciding tools (approve_request, deny_request,
// list_approval_requests) share; each tool is in its own file.

// ApprovalStore is what the tools need of the approval store.
type ApprovalStore interface {
	Create(ctx context.Context, r approval.Request) (approval.Request, error)
	ListPending(ctx context.Context, tenant, cursor string, limit int) (approval.Page, error)
	Decide(ctx context.Context, tenant, id string, d approval.Decision) (approval.Request, error)
	Consume(ctx context.Context, tenant, id, requester, tool, argsDigest string) (approval.Request, error)
	Release(ctx context.Context, r approval.Request) error
}

// ApprovalView is an approval request as approvers see it.
type ApprovalView struct {
	ID        string `json:"id"`
	Tool      string `json:"tool"`
	Summary   string `json:"summary"`
	Requester string `json:"requester" jsonschema:"object id of the requester"`
	// Names as the tokens carried them, so people see who asked and decided.
	RequesterName string `json:"requesterName,omitempty" jsonschema:"display name or user principal name of the requester"`
	Agent         string `json:"agent" jsonschema:"client id of the app that made the call"`
	Status        string `json:"status"`
	CreatedAt     string `json:"createdAt"`
	ExpiresAt     string `json:"expiresAt"`
	DecidedBy     string `json:"decidedBy,omitempty" jsonschema:"object id of the approver"`
	DecidedVia    string `json:"decidedVia,omitempty" jsonschema:"client id the approver acted through"`
	DeciderName   string `json:"deciderName,omitempty" jsonschema:"display name or user principal name of the approver"`
	Reason        string `json:"reason,omitempty"`
}

func view(r approval.Request) ApprovalView {
	return ApprovalView{ID: r.ID, Tool: r.Tool, Summary: r.Summary, Requester: r.Requester, RequesterName: r.RequesterName, Agent: r.Agent,
		Status: string(r.StatusAt(time.Now())), CreatedAt: r.CreatedAt.Format(time.RFC3339),
		ExpiresAt: r.ExpiresAt.Format(time.RFC3339), DecidedBy: r.DecidedBy, DecidedVia: r.DecidedVia, DeciderName: r.DeciderName, Reason: r.Reason}
}

// who names a person for people: the name the token carried, with the
// object id that is the identity (names are not unique).
func who(name, objectID string) string {
	if name == "" {
		return objectID
	}
	return fmt.Sprintf("%s (%s)", name, objectID)
}

// decided says who decided a request, through which app, and why.
func decided(r approval.Request) string {
	s := fmt.Sprintf("%s through app %s", who(r.DeciderName, r.DecidedBy), r.DecidedVia)
	if r.Reason != "" {
		s += fmt.Sprintf(", reason %q", r.Reason)
	}
	return s
}

func approvalIDArg(desc string, opts ...mcp.PropertyOption) mcp.ToolOption {
	return mcp.WithString(argApprovalID, append([]mcp.PropertyOption{mcp.Description(desc), mcp.MinLength(1), mcp.MaxLength(64)}, opts...)...)
}

// argsDigest binds an approval to the arguments that define the action:
// everything but approval_id, in canonical (sorted-key) JSON.
func argsDigest(tool string, args map[string]any) string {
	bound := map[string]any{"tool": tool}
	for k, v := range args {
		if k != argApprovalID {
			bound[k] = v
		}
	}
	if _, ok := bound[argShared]; !ok {
		bound[argShared] = false // absent and false are the same action
	}
	b, _ := json.Marshal(bound) // map keys are sorted by encoding/json
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// approvalOp is what a caller was doing with approvals when it failed; each
// gets its own advice.
type approvalOp int

const (
	opRequest approvalOp = iota // asking for an approval
	opUse                       // using one with approval_id
	opDecide                    // approving or denying
	opList                      // listing pending requests
)

// held is an action that waits for an approval: what the tool returns
// when it asks for one, and what it says when the approved version is gone.
type held struct {
	tool    string // the tool whose call is held
	action  string // "deletion": what the approval allows
	nothing string // "nothing was deleted"
}

// requestApproval stores a request for the held action on target version
// etag, and records the outcome for the audit event.
func (s *Server) requestApproval(ctx context.Context, id *identity.Identity, h held, digest, etag, summary string) (approval.Request, error) {
	r, err := s.approvals.Create(ctx, approval.Request{Tenant: id.TenantID, Requester: id.ObjectID, RequesterName: id.Person(), Agent: id.ClientID,
		Tool: h.tool, ArgsDigest: digest, TargetETag: etag, Summary: summary})
	if err != nil {
		return r, s.approvalError(ctx, opRequest, h, approval.Request{}, err)
	}
	callFrom(ctx).set(func(c *call) {
		c.approvalResult, c.resultCode, c.message = audit.ApprovalRequested, audit.ResultApprovalRequired, "approval required"
	})
	return r, nil
}

// nextAfterRequest tells the requester what to do with a new request.
func nextAfterRequest(h held, r approval.Request) string {
	return fmt.Sprintf("%s. Ask a person with the Snippets.Approve role (not you, and not through this app) to run approve_request with id %s before %s, then call %s again with the same arguments and approval_id=%s.",
		capitalize(h.nothing), r.ID, r.ExpiresAt.Format(time.RFC3339), h.tool, r.ID)
}

func capitalize(s string) string {
	if s == "" {
		return s
	}
	return strings.ToUpper(s[:1]) + s[1:]
}

// useApproval consumes an approval for the held action.
func (s *Server) useApproval(ctx context.Context, id *identity.Identity, h held, approvalID, digest string) (approval.Request, error) {
	r, err := s.approvals.Consume(ctx, id.TenantID, approvalID, id.ObjectID, h.tool, digest)
	if err != nil {
		return r, s.approvalError(ctx, opUse, h, r, err)
	}
	if r.TargetETag == "" {
		// Requested before approvals were bound to versions: it cannot say
		// which content it allows changing.
		callFrom(ctx).set(func(c *call) { c.approvalResult = audit.ApprovalStale })
		return r, fail(audit.ResultDenied, fmt.Sprintf("this approval is not bound to a version of the snippet, so it cannot be used; %s. Call %s without approval_id to request a new approval.", h.nothing, h.tool))
	}
	callFrom(ctx).set(func(c *call) { c.approvalResult = audit.ApprovalApproved })
	return r, nil
}

// afterApproved turns the store's answer to an approved, version-bound
// write into the failure a caller sees, or nil when the write succeeded.
// The approval is given back only when the write provably did not happen.
func (s *Server) afterApproved(ctx context.Context, h held, r approval.Request, name string, err error) error {
	c := callFrom(ctx)
	switch {
	case err == nil:
		return nil
	case errors.Is(err, snippets.ErrConflict):
		c.set(func(c *call) { c.approvalResult = audit.ApprovalStale })
		return fail(audit.ResultDenied, fmt.Sprintf("snippet %q changed after the approval was requested, so the approval no longer applies; %s. Call %s without approval_id to request approval for the current version.", name, h.nothing, h.tool))
	case errors.Is(err, snippets.ErrNotFound):
		c.set(func(c *call) { c.approvalResult = audit.ApprovalStale })
		return fail(audit.ResultNotFound, fmt.Sprintf("snippet %q no longer exists, so the approval no longer applies; %s.", name, h.nothing))
	case errors.Is(err, snippets.ErrAmbiguous):
		c.set(func(c *call) { c.approvalResult = audit.ApprovalAmbiguous })
		s.log.Warn("approved write not confirmed", "tool", h.tool, "approval", r.ID, "reason", storage.Reason(err))
		return fail(audit.ResultAmbiguous, fmt.Sprintf("snippet storage did not confirm whether the %s happened; the approval has been used. get_snippet shows the snippet's state; if the change did not happen, request a new approval.", h.action))
	}
	if errors.Is(err, snippets.ErrUnavailable) {
		// Provably not written: the approval goes back for a retry. Detached
		// from the call's (possibly expired) deadline, but bounded.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if rerr := s.approvals.Release(rctx, r); rerr != nil {
			s.log.Warn("could not give an approval back after a failed write", "approval", r.ID, "reason", storage.Reason(rerr))
			return s.storeError("write", name, err)
		}
		return fail(audit.ResultUnavailable, fmt.Sprintf("snippet storage is unavailable right now (retryable); %s and the approval is still valid. Retry the same call in a few seconds.", h.nothing))
	}
	return s.storeError("write", name, err)
}

// approvalError says why an approval could not be requested, used,
// decided or listed, in words for that operation, and records the approval
// outcome for the audit event.
func (s *Server) approvalError(ctx context.Context, op approvalOp, h held, r approval.Request, err error) error {
	again := fmt.Sprintf("call %s without approval_id to request a new approval", h.tool)
	var outcome audit.ApprovalResult
	var msg string
	var code audit.ResultCode = audit.ResultDenied
	var ref *refusal
	switch {
	case errors.Is(err, approval.ErrExpired) && op == opUse:
		outcome, msg = audit.ApprovalExpired, "the approval request has expired; "+again
	case errors.Is(err, approval.ErrExpired):
		msg = "the approval request has expired; nothing to decide"
	case errors.Is(err, approval.ErrPending):
		outcome, msg = audit.ApprovalPending, "the approval request is still waiting for a decision; ask a person with the Snippets.Approve role to run approve_request, then call again"
	case errors.Is(err, approval.ErrDenied):
		outcome, msg = audit.ApprovalDenied, "the approval request was denied"
		if r.DecidedBy != "" {
			msg += " by " + decided(r)
		}
		msg += "; " + again
	case errors.Is(err, approval.ErrUsed):
		outcome, msg = audit.ApprovalMismatch, "the approval was already used; "+again
	case errors.Is(err, approval.ErrMismatch):
		outcome, msg = audit.ApprovalMismatch, "the approval was granted for a different tool or different arguments; repeat the call with exactly the arguments of the original request"
	case errors.Is(err, approval.ErrNotFound) && op == opUse:
		outcome, msg = audit.ApprovalMismatch, "there is no approval request with this id in your tenant; "+again
	case errors.Is(err, approval.ErrNotFound):
		msg = "there is no approval request with this id in your tenant; list_approval_requests shows the pending ones"
	case errors.Is(err, approval.ErrNotYours):
		outcome, msg = audit.ApprovalMismatch, "the approval request belongs to another caller; "+again
	case errors.As(err, &ref):
		msg = ref.msg
	case errors.Is(err, approval.ErrSelfApproval), errors.Is(err, approval.ErrSameAgent),
		errors.Is(err, approval.ErrAppApprover), errors.Is(err, approval.ErrDecided):
		msg = err.Error() // the store's sentinels are sentences for people
	case errors.Is(err, approval.ErrTooMany):
		msg = fmt.Sprintf("you already have the most approval requests allowed waiting for a decision; %s. Ask an approver to decide them, or wait until they expire", h.nothing)
	case errors.Is(err, approval.ErrBadCursor):
		code, msg = audit.ResultInvalidArguments, err.Error()
	case errors.Is(err, approval.ErrAmbiguous):
		code = audit.ResultAmbiguous
		s.log.Warn("approval change not confirmed", "reason", storage.Reason(err))
		switch op {
		case opRequest:
			msg = fmt.Sprintf("approval storage did not confirm that the request was stored; %s. Call %s again without approval_id", h.nothing, h.tool)
		case opUse:
			outcome = audit.ApprovalAmbiguous
			msg = fmt.Sprintf("approval storage did not confirm the use of the approval; %s. Call again with the same approval_id; if it is reported as used, %s", h.nothing, again)
		default:
			msg = "approval storage did not confirm that your decision was recorded; list_approval_requests shows whether the request still waits"
		}
	case storage.IsMisconfigured(err):
		return s.misconfigured("approval", [...]string{opRequest: "request", opUse: "use", opDecide: "decide", opList: "list"}[op], err)
	default:
		code = audit.ResultUnavailable
		s.log.Warn("approval storage failed", "reason", storage.Reason(err))
		switch op {
		case opRequest, opUse:
			msg = fmt.Sprintf("approval storage is unavailable right now (retryable); %s. Retry in a few seconds", h.nothing)
		case opDecide:
			msg = "approval storage is unavailable right now (retryable); your decision was not recorded. Retry in a few seconds"
		default:
			msg = "approval storage is unavailable right now (retryable). Retry in a few seconds"
		}
	}
	if outcome != "" {
		callFrom(ctx).set(func(c *call) { c.approvalResult = outcome })
	}
	return fail(code, msg+".")
}

// refusal is the policy engine's denial of an approval decision; its
// message is a sentence for the caller.
type refusal struct{ msg string }

func (r *refusal) Error() string { return r.msg }

// requestIDArg is the id argument of approve_request and deny_request.
func requestIDArg() mcp.ToolOption {
	return mcp.WithString(argID, mcp.Required(), mcp.Description("Approval request id."), mcp.MinLength(1), mcp.MaxLength(64))
}

// decideArgs are the arguments of approve_request and deny_request.
type decideArgs struct {
	ID     string `json:"id"`
	Reason string `json:"reason"`
}

// decide is the handler of approve_request (approve) and deny_request.
func (s *Server) decide(approve bool) handlerFunc[decideArgs, ApprovalView] {
	return func(ctx context.Context, id *identity.Identity, in decideArgs) (ApprovalView, string, error) {
		if !approval.ValidID(in.ID) {
			return ApprovalView{}, "", fail(audit.ResultInvalidArguments, "id is not an approval request id (32 lower-case hex characters, as returned by the tool that asked for approval)")
		}
		p := s.principal(ctx)
		// The store checks the request's state and its own rules (defence
		// in depth); the policy engine decides on the stored request.
		r, err := s.approvals.Decide(ctx, id.TenantID, in.ID, approval.Decision{Approver: id.ObjectID, Name: id.Person(), Via: id.ClientID,
			AppOnly: id.AppOnly, Approve: approve, Reason: in.Reason,
			Authorize: func(r approval.Request) error {
				if d := s.engine.DecideApproval(p, r.ID, r.Requester, r.Agent); !d.Allowed {
					return &refusal{msg: d.Message}
				}
				return nil
			}})
		if err != nil {
			return ApprovalView{}, "", s.approvalError(ctx, opDecide, held{}, r, err)
		}
		verb := "Denied"
		if approve {
			verb = "Approved"
		}
		return view(r), fmt.Sprintf("%s: %s, asked by %s through app %s; decided by %s.", verb, r.Summary, who(r.RequesterName, r.Requester), r.Agent, decided(r)), nil
	}
}
