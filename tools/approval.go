package tools

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/approval"
	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/auth"
	"github.com/snippets-mcp/server/internal/snippets"
)

// ApprovalStore is what the tools need of the approval store.
type ApprovalStore interface {
	Create(ctx context.Context, r approval.Request) (approval.Request, error)
	ListPending(ctx context.Context, tenant string, limit int) ([]approval.Request, error)
	Decide(ctx context.Context, tenant, id, approver string, approve bool, reason string) (approval.Request, error)
	Consume(ctx context.Context, tenant, id, requester, tool, argsDigest string) (approval.Request, error)
	Release(ctx context.Context, r approval.Request) error
}

// DeleteResult is the outcome of delete_snippet.
type DeleteResult struct {
	Status     string `json:"status" jsonschema:"deleted, or approval_required"`
	Name       string `json:"name"`
	Shared     bool   `json:"shared"`
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
	Agent     string `json:"agent" jsonschema:"client id of the app that made the call"`
	Status    string `json:"status"`
	CreatedAt string `json:"createdAt"`
	ExpiresAt string `json:"expiresAt"`
	Reason    string `json:"reason,omitempty"`
}

// ApprovalList is the pending requests of the tenant.
type ApprovalList struct {
	Requests []ApprovalView `json:"requests"`
}

func view(r approval.Request) ApprovalView {
	return ApprovalView{ID: r.ID, Tool: r.Tool, Summary: r.Summary, Requester: r.Requester, Agent: r.Agent,
		Status: string(r.StatusAt(time.Now())), CreatedAt: r.CreatedAt.Format(time.RFC3339),
		ExpiresAt: r.ExpiresAt.Format(time.RFC3339), Reason: r.Reason}
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
			class: auth.ClassDestructive,
			tool: mcp.NewTool("delete_snippet",
				mcp.WithTitleAnnotation("Delete snippet"),
				mcp.WithDescription("Delete a snippet. Needs approval by another person holding Snippets.Approve: "+
					"the first call returns an approvalId and deletes nothing; once approved, call again with approval_id."),
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
			class:   auth.ClassAdmin,
			tool:    admin("list_approval_requests", "List approval requests", "List your tenant's approval requests that wait for a decision.", mcp.WithOutputSchema[ApprovalList]()),
			handler: s.listApprovals,
		},
		{
			class: auth.ClassAdmin,
			tool: admin("approve_request", "Approve request", "Approve another person's pending request, allowing the action once.",
				mcp.WithOutputSchema[ApprovalView](),
				mcp.WithString("id", mcp.Required(), mcp.Description("Approval request id."), mcp.MinLength(1), mcp.MaxLength(64)),
				mcp.WithString("reason", mcp.Description("Why, for the record."), mcp.MaxLength(500))),
			handler: s.decide(true),
		},
		{
			class: auth.ClassAdmin,
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
	digest := argsDigest("delete_snippet", req.GetArguments())
	approvalID := req.GetString("approval_id", "")

	if approvalID == "" {
		// Check the target first: no approval requests for nothing.
		if _, err := s.Snippets.Get(ctx, sp, name); err != nil {
			return s.storeError(ctx, "get", name, err), nil
		}
		where := "private space"
		if sp.IsShared() {
			where = "tenant's shared space"
		}
		r, err := s.Approvals.Create(ctx, approval.Request{Tenant: id.TenantID, Requester: id.ObjectID, Agent: id.ClientID,
			Tool: "delete_snippet", ArgsDigest: digest, Summary: fmt.Sprintf("delete snippet %q from the %s of %s", name, where, id.ObjectID)})
		if err != nil {
			return s.approvalError(ctx, err), nil
		}
		c.set(func(c *call) {
			c.approvalResult, c.resultCode, c.message = audit.ApprovalRequested, audit.ResultApprovalRequired, "approval required"
		})
		next := fmt.Sprintf("Nothing was deleted. Ask a person with the Snippets.Approve role (not you) to run approve_request with id %s before %s, then call delete_snippet again with the same arguments and approval_id=%s.",
			r.ID, r.ExpiresAt.Format(time.RFC3339), r.ID)
		return mcp.NewToolResultStructured(DeleteResult{Status: "approval_required", Name: name, Shared: sp.IsShared(),
			ApprovalID: r.ID, ExpiresAt: r.ExpiresAt.Format(time.RFC3339), Next: next}, "Approval required. "+next), nil
	}

	r, err := s.Approvals.Consume(ctx, id.TenantID, approvalID, id.ObjectID, "delete_snippet", digest)
	if err != nil {
		return s.approvalError(ctx, err), nil
	}
	c.set(func(c *call) { c.approvalResult = audit.ApprovalApproved })
	if err := s.Snippets.Delete(ctx, sp, name, ""); err != nil {
		if errors.Is(err, snippets.ErrUnavailable) {
			// The deletion did not run: give the approval back for a retry.
			// Detached from the call's (possibly expired) deadline, but bounded.
			rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
			defer cancel()
			if rerr := s.Approvals.Release(rctx, r); rerr != nil {
				s.log.Warn("could not release approval after failed delete", "approval", r.ID, "err", rerr)
			}
		}
		return s.storeError(ctx, "delete", name, err), nil
	}
	return mcp.NewToolResultStructured(DeleteResult{Status: "deleted", Name: name, Shared: sp.IsShared(), ApprovalID: r.ID},
		fmt.Sprintf("Deleted snippet %q (approved by %s).", name, r.DecidedBy)), nil
}

// approvalError says why an approval could not be used or decided, and
// records the approval outcome for the audit event.
func (s *Server) approvalError(ctx context.Context, err error) *mcp.CallToolResult {
	var outcome, hint string
	switch {
	case errors.Is(err, approval.ErrExpired):
		outcome, hint = audit.ApprovalExpired, "; call delete_snippet without approval_id to request a new one"
	case errors.Is(err, approval.ErrPending):
		outcome, hint = audit.ApprovalPending, "; ask an approver to run approve_request, then call again"
	case errors.Is(err, approval.ErrDenied):
		outcome, hint = audit.ApprovalDenied, "; call delete_snippet without approval_id to request a new approval"
	case errors.Is(err, approval.ErrUsed):
		outcome, hint = audit.ApprovalMismatch, "; call delete_snippet without approval_id to request a new approval"
	case errors.Is(err, approval.ErrMismatch):
		outcome, hint = audit.ApprovalMismatch, "; repeat the call with exactly the arguments of the original request"
	case errors.Is(err, approval.ErrNotFound), errors.Is(err, approval.ErrNotYours):
		outcome = audit.ApprovalMismatch
	case errors.Is(err, approval.ErrSelfApproval), errors.Is(err, approval.ErrDecided):
	default:
		s.log.Warn("approval storage failed", "err", err)
		return fail(ctx, audit.ResultUnavailable, "approval storage is unavailable right now (retryable); nothing was deleted. Retry in a few seconds.")
	}
	if outcome != "" {
		callFrom(ctx).set(func(c *call) { c.approvalResult = outcome })
	}
	// The store returns its sentinel errors unwrapped; their text is for people.
	return fail(ctx, audit.ResultDenied, err.Error()+hint)
}

func (s *Server) listApprovals(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	id, denied := caller(ctx)
	if denied != nil {
		return denied, nil
	}
	rs, err := s.Approvals.ListPending(ctx, id.TenantID, 100)
	if err != nil {
		return s.approvalError(ctx, err), nil
	}
	out := ApprovalList{Requests: make([]ApprovalView, 0, len(rs))}
	for _, r := range rs {
		out.Requests = append(out.Requests, view(r))
	}
	return mcp.NewToolResultStructured(out, fmt.Sprintf("%d approval requests wait for a decision", len(out.Requests))), nil
}

func (s *Server) decide(approve bool) func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		id, denied := caller(ctx)
		if denied != nil {
			return denied, nil
		}
		reqID := req.GetString("id", "")
		if !approval.ValidID(reqID) {
			return fail(ctx, audit.ResultInvalidArguments, "id is not an approval request id (32 hex characters, as returned by delete_snippet)"), nil
		}
		r, err := s.Approvals.Decide(ctx, id.TenantID, reqID, id.ObjectID, approve, req.GetString("reason", ""))
		if err != nil {
			return s.approvalError(ctx, err), nil
		}
		verb := "Denied"
		if approve {
			verb = "Approved"
		}
		return mcp.NewToolResultStructured(view(r), fmt.Sprintf("%s: %s.", verb, r.Summary)), nil
	}
}
