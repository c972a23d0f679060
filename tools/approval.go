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
	"github.com/snippets-mcp/server/internal/policy"
	"github.com/snippets-mcp/server/internal/snippets"
	"github.com/snippets-mcp/server/internal/storage"
)

// ApprovalStore is what the tools need of the approval store.
type ApprovalStore interface {
	Create(ctx context.Context, r approval.Request) (approval.Request, error)
	ListPending(ctx context.Context, tenant, cursor string, limit int) (approval.Page, error)
	Decide(ctx context.Context, tenant, id string, d approval.Decision) (approval.Request, error)
	Consume(ctx context.Context, tenant, id, requester, tool, argsDigest string) (approval.Request, error)
	Release(ctx context.Context, r approval.Request) error
}

// DeleteResult is the outcome of delete_snippet.
type DeleteResult struct {
	Status     string `json:"status" jsonschema:"deleted, or approval_required"`
	Name       string `json:"name"`
	Shared     bool   `json:"shared"`
	ETag       string `json:"etag,omitempty" jsonschema:"the version the approval is for, or the version deleted"`
	ApprovalID string `json:"approvalId,omitempty" jsonschema:"id of the approval request to have approved, then pass as approval_id"`
	ExpiresAt  string `json:"expiresAt,omitempty"`
	Next       string `json:"next,omitempty" jsonschema:"what to do next"`
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

// ApprovalList is one page of the tenant's pending requests, oldest first.
type ApprovalList struct {
	Requests   []ApprovalView `json:"requests"`
	NextCursor string         `json:"nextCursor,omitempty" jsonschema:"pass as cursor to get the next page; absent on the last page"`
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
	return mcp.WithString("approval_id", append([]mcp.PropertyOption{mcp.Description(desc), mcp.MinLength(1), mcp.MaxLength(64)}, opts...)...)
}

func (s *Server) approvalTools() []spec {
	admin := func(name, title, desc string, out mcp.ToolOption, opts ...mcp.ToolOption) mcp.Tool {
		base := []mcp.ToolOption{
			mcp.WithTitleAnnotation(title), mcp.WithDescription(desc), out,
			mcp.WithReadOnlyHintAnnotation(name == "list_approval_requests"),
			mcp.WithDestructiveHintAnnotation(false),
			mcp.WithIdempotentHintAnnotation(name == "list_approval_requests"),
			mcp.WithOpenWorldHintAnnotation(false),
		}
		return mcp.NewTool(name, append(base, opts...)...)
	}
	return []spec{
		{
			class: policy.ClassDestructive,
			tool: mcp.NewTool("delete_snippet",
				mcp.WithTitleAnnotation("Delete snippet"),
				mcp.WithDescription("Delete a snippet. Needs approval by another person holding Snippets.Approve: "+
					"the first call returns an approvalId and deletes nothing; once approved, call again with the same arguments and approval_id. "+
					"The approval covers the version (etag) that existed when it was requested: if the snippet changes meanwhile, it no longer applies."),
				nameArg(mcp.Required()),
				sharedArg("delete from"),
				approvalIDArg("Id of an approved request for exactly this deletion."),
				mcp.WithOutputSchema[DeleteResult](),
				mcp.WithReadOnlyHintAnnotation(false),
				mcp.WithDestructiveHintAnnotation(true),
				mcp.WithIdempotentHintAnnotation(false),
				mcp.WithOpenWorldHintAnnotation(false),
			),
			handler: s.deleteSnippet,
		},
		{
			class: policy.ClassAdmin,
			tool: admin("list_approval_requests", "List approval requests", "List your tenant's approval requests that wait for a decision, oldest first, a page at a time.",
				mcp.WithOutputSchema[ApprovalList](),
				mcp.WithString("cursor", mcp.Description("nextCursor from the previous page."), mcp.MaxLength(64)),
				mcp.WithInteger("limit", mcp.Description("Page size."), mcp.Min(1), mcp.Max(100), mcp.DefaultNumber(20))),
			handler: s.listApprovals,
		},
		{
			class: policy.ClassAdmin,
			tool: admin("approve_request", "Approve request", "Approve another person's pending request, allowing the action once, on the version of the target it was requested for. "+
				"You cannot decide your own requests, nor through the client app that made the request; applications acting on their own cannot decide unless the server allows it.",
				mcp.WithOutputSchema[ApprovalView](),
				mcp.WithString("id", mcp.Required(), mcp.Description("Approval request id."), mcp.MinLength(1), mcp.MaxLength(64)),
				mcp.WithString("reason", mcp.Description("Why, for the record."), mcp.MaxLength(500))),
			handler: s.decide(true),
		},
		{
			class: policy.ClassAdmin,
			tool: admin("deny_request", "Deny request", "Deny another person's pending request.",
				mcp.WithOutputSchema[ApprovalView](),
				mcp.WithString("id", mcp.Required(), mcp.Description("Approval request id."), mcp.MinLength(1), mcp.MaxLength(64)),
				mcp.WithString("reason", mcp.Required(), mcp.Description("Why, shown to the requester."), mcp.MinLength(1), mcp.MaxLength(500))),
			handler: s.decide(false),
		},
	}
}

// argsDigest binds an approval to the arguments that define the action:
// everything but approval_id, in canonical (sorted-key) JSON.
func argsDigest(tool string, args map[string]any) string {
	bound := map[string]any{"tool": tool}
	for k, v := range args {
		if k != "approval_id" {
			bound[k] = v
		}
	}
	if _, ok := bound["shared"]; !ok {
		bound["shared"] = false // absent and false are the same action
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
func (s *Server) requestApproval(ctx context.Context, id *identity.Identity, h held, digest, etag, summary string) (approval.Request, *mcp.CallToolResult) {
	r, err := s.Approvals.Create(ctx, approval.Request{Tenant: id.TenantID, Requester: id.ObjectID, RequesterName: id.Person(), Agent: id.ClientID,
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
func (s *Server) useApproval(ctx context.Context, id *identity.Identity, h held, approvalID, digest string) (approval.Request, *mcp.CallToolResult) {
	r, err := s.Approvals.Consume(ctx, id.TenantID, approvalID, id.ObjectID, h.tool, digest)
	if err != nil {
		return r, s.approvalError(ctx, opUse, h, r, err)
	}
	if r.TargetETag == "" {
		// Requested before approvals were bound to versions: it cannot say
		// which content it allows changing.
		callFrom(ctx).set(func(c *call) { c.approvalResult = audit.ApprovalStale })
		return r, fail(ctx, audit.ResultDenied, fmt.Sprintf("this approval is not bound to a version of the snippet, so it cannot be used; %s. Call %s without approval_id to request a new approval.", h.nothing, h.tool))
	}
	callFrom(ctx).set(func(c *call) { c.approvalResult = audit.ApprovalApproved })
	return r, nil
}

// afterApproved turns the store's answer to an approved, version-bound
// write into a result. ok is the result for success. The approval is given
// back only when the write provably did not happen.
func (s *Server) afterApproved(ctx context.Context, h held, r approval.Request, name string, err error, ok func() *mcp.CallToolResult) *mcp.CallToolResult {
	c := callFrom(ctx)
	switch {
	case err == nil:
		return ok()
	case errors.Is(err, snippets.ErrConflict):
		c.set(func(c *call) { c.approvalResult = audit.ApprovalStale })
		return fail(ctx, audit.ResultDenied, fmt.Sprintf("snippet %q changed after the approval was requested, so the approval no longer applies; %s. Call %s without approval_id to request approval for the current version.", name, h.nothing, h.tool))
	case errors.Is(err, snippets.ErrNotFound):
		c.set(func(c *call) { c.approvalResult = audit.ApprovalStale })
		return fail(ctx, audit.ResultNotFound, fmt.Sprintf("snippet %q no longer exists, so the approval no longer applies; %s.", name, h.nothing))
	case errors.Is(err, snippets.ErrAmbiguous):
		c.set(func(c *call) { c.approvalResult = audit.ApprovalAmbiguous })
		s.log.Warn("approved write not confirmed", "tool", h.tool, "approval", r.ID, "reason", storage.Reason(err))
		return fail(ctx, audit.ResultAmbiguous, fmt.Sprintf("snippet storage did not confirm whether the %s happened; the approval has been used. get_snippet shows the snippet's state; if the change did not happen, request a new approval.", h.action))
	}
	if errors.Is(err, snippets.ErrUnavailable) {
		// Provably not written: the approval goes back for a retry. Detached
		// from the call's (possibly expired) deadline, but bounded.
		rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		if rerr := s.Approvals.Release(rctx, r); rerr != nil {
			s.log.Warn("could not give an approval back after a failed write", "approval", r.ID, "reason", storage.Reason(rerr))
			return s.storeError(ctx, "write", name, err)
		}
		return fail(ctx, audit.ResultUnavailable, fmt.Sprintf("snippet storage is unavailable right now (retryable); %s and the approval is still valid. Retry the same call in a few seconds.", h.nothing))
	}
	return s.storeError(ctx, "write", name, err)
}

var heldDelete = held{tool: "delete_snippet", action: "deletion", nothing: "nothing was deleted"}

func (s *Server) deleteSnippet(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	id, denied := caller(ctx)
	if denied != nil {
		return denied, nil
	}
	c := callFrom(ctx)
	c.set(func(c *call) { c.approvalRequired = true })
	sp, denied := s.space(ctx, id, req, true)
	if denied != nil {
		return denied, nil
	}
	name := req.GetString("snippetname", "")
	digest := argsDigest(heldDelete.tool, req.GetArguments())
	approvalID := req.GetString("approval_id", "")

	if approvalID == "" {
		// Check the target first: no approval requests for nothing, and the
		// request is bound to the version that exists now.
		cur, err := s.Snippets.Get(ctx, sp, name)
		if err != nil {
			return s.storeError(ctx, "get", name, err), nil
		}
		r, res := s.requestApproval(ctx, id, heldDelete, digest, cur.ETag,
			fmt.Sprintf("delete snippet %q (version %s) from the %s of %s", name, cur.ETag, spaceName(sp), who(id.Person(), id.ObjectID)))
		if res != nil {
			return res, nil
		}
		next := nextAfterRequest(heldDelete, r)
		return answer(DeleteResult{Status: "approval_required", Name: name, Shared: sp.IsShared(), ETag: cur.ETag,
			ApprovalID: r.ID, ExpiresAt: r.ExpiresAt.Format(time.RFC3339), Next: next}, "Approval required. "+next), nil
	}

	r, res := s.useApproval(ctx, id, heldDelete, approvalID, digest)
	if res != nil {
		return res, nil
	}
	err := s.Snippets.Delete(ctx, sp, name, r.TargetETag)
	return s.afterApproved(ctx, heldDelete, r, name, err, func() *mcp.CallToolResult {
		return answer(DeleteResult{Status: "deleted", Name: name, Shared: sp.IsShared(), ETag: r.TargetETag, ApprovalID: r.ID},
			fmt.Sprintf("Deleted snippet %q (version %s, approved by %s).", name, r.TargetETag, decided(r)))
	}), nil
}

func spaceName(sp snippets.Space) string {
	if sp.IsShared() {
		return "tenant's shared space"
	}
	return "private space"
}

// approvalError says why an approval could not be requested, used,
// decided or listed, in words for that operation, and records the approval
// outcome for the audit event.
func (s *Server) approvalError(ctx context.Context, op approvalOp, h held, r approval.Request, err error) *mcp.CallToolResult {
	again := fmt.Sprintf("call %s without approval_id to request a new approval", h.tool)
	var outcome, msg string
	code := audit.ResultDenied
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
		return s.misconfigured(ctx, "approval", [...]string{opRequest: "request", opUse: "use", opDecide: "decide", opList: "list"}[op], err)
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
	return fail(ctx, code, msg+".")
}

func (s *Server) listApprovals(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	id, denied := caller(ctx)
	if denied != nil {
		return denied, nil
	}
	page, err := s.Approvals.ListPending(ctx, id.TenantID, req.GetString("cursor", ""), req.GetInt("limit", 20))
	if err != nil {
		return s.approvalError(ctx, opList, held{}, approval.Request{}, err), nil
	}
	out := ApprovalList{Requests: make([]ApprovalView, 0, len(page.Requests)), NextCursor: page.Next}
	for _, r := range page.Requests {
		out.Requests = append(out.Requests, view(r))
	}
	return answer(out, approvalsText(out)), nil
}

// approvalsText names every request of the page with what a decision
// needs, and the cursor of the next page.
func approvalsText(l ApprovalList) string {
	var b strings.Builder
	b.WriteString(plural(len(l.Requests), "approval request waits", "approval requests wait"))
	b.WriteString(" for a decision")
	for i, r := range l.Requests {
		sep := "; "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%sid %s, %s, asked by %s through app %s, expires %s", sep, r.ID, r.Summary, who(r.RequesterName, r.Requester), r.Agent, r.ExpiresAt)
	}
	b.WriteString(".")
	if l.NextCursor != "" {
		fmt.Fprintf(&b, " More: call list_approval_requests again with cursor %s.", l.NextCursor)
	}
	return b.String()
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}

func (s *Server) decide(approve bool) func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		id, denied := caller(ctx)
		if denied != nil {
			return denied, nil
		}
		reqID := req.GetString("id", "")
		if !approval.ValidID(reqID) {
			return fail(ctx, audit.ResultInvalidArguments, "id is not an approval request id (32 lower-case hex characters, as returned by the tool that asked for approval)"), nil
		}
		r, err := s.Approvals.Decide(ctx, id.TenantID, reqID, approval.Decision{Approver: id.ObjectID, Name: id.Person(), Via: id.ClientID,
			AppOnly: id.AppOnly, Approve: approve, Reason: req.GetString("reason", "")})
		if err != nil {
			return s.approvalError(ctx, opDecide, held{}, r, err), nil
		}
		verb := "Denied"
		if approve {
			verb = "Approved"
		}
		return answer(view(r), fmt.Sprintf("%s: %s, asked by %s through app %s; decided by %s.", verb, r.Summary, who(r.RequesterName, r.Requester), r.Agent, decided(r))), nil
	}
}
