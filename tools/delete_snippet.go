package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/policy"
)

const toolDeleteSnippet = "delete_snippet"

type deleteArgs struct {
	Name       string `json:"snippetname"`
	Shared     bool   `json:"shared"`
	ApprovalID string `json:"approval_id"`
}

// action is what an approval of this deletion is bound to.
func (a deleteArgs) action() map[string]any {
	return map[string]any{argSnippetName: a.Name, argShared: a.Shared}
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

func (s *Server) deleteSnippetTool() tool {
	return newTool(mcp.NewTool(toolDeleteSnippet,
		mcp.WithTitleAnnotation("Delete snippet"),
		mcp.WithDescription("Delete a snippet. Needs approval by another person holding Snippets.Approve: "+
			"the first call returns an approvalId and deletes nothing; once approved, call again with the same arguments and approval_id. "+
			"The approval covers the version (etag) that existed when it was requested: if the snippet changes meanwhile, it no longer applies."),
		nameArg(mcp.Required()),
		sharedArg("delete from"),
		approvalIDArg("Id of an approved request for exactly this deletion."),
		mcp.WithReadOnlyHintAnnotation(false),
		mcp.WithDestructiveHintAnnotation(true),
		mcp.WithIdempotentHintAnnotation(false),
		mcp.WithOpenWorldHintAnnotation(false),
	), policy.ClassDestructive, s.deleteSnippet)
}

var heldDelete = held{tool: toolDeleteSnippet, action: "deletion", nothing: "nothing was deleted"}

func (s *Server) deleteSnippet(ctx context.Context, id *identity.Identity, in deleteArgs) (DeleteResult, string, error) {
	sp, err := s.writeSpace(ctx, id, in.Shared)
	if err != nil {
		return DeleteResult{}, "", err
	}
	if in.ApprovalID == "" && !s.engine.NeedsApproval(s.principal(ctx), toolDeleteSnippet, false) {
		// Only an operator permit (MCP_ALLOW_OPERATOR_PERMITS) lets a
		// deletion skip the approval; the default policy never does.
		if err := s.snippets.Delete(ctx, sp, in.Name, ""); err != nil {
			return DeleteResult{}, "", s.storeError("delete", in.Name, err)
		}
		return DeleteResult{Status: statusDeleted, Name: in.Name, Shared: sp.IsShared()},
			fmt.Sprintf("Deleted snippet %q (the policy lets you delete without an approval).", in.Name), nil
	}
	callFrom(ctx).set(func(c *call) { c.approvalRequired = true })
	digest := argsDigest(heldDelete.tool, in.action())

	if in.ApprovalID == "" {
		// Check the target first: no approval requests for nothing, and the
		// request is bound to the version that exists now.
		cur, err := s.snippets.Get(ctx, sp, in.Name)
		if err != nil {
			return DeleteResult{}, "", s.storeError("get", in.Name, err)
		}
		r, err := s.requestApproval(ctx, id, heldDelete, digest, cur.ETag,
			fmt.Sprintf("delete snippet %q (version %s) from the %s of %s", in.Name, cur.ETag, spaceName(sp), who(id.Person(), id.ObjectID)))
		if err != nil {
			return DeleteResult{}, "", err
		}
		next := nextAfterRequest(heldDelete, r)
		return DeleteResult{Status: statusApprovalRequired, Name: in.Name, Shared: sp.IsShared(), ETag: cur.ETag,
			ApprovalID: r.ID, ExpiresAt: r.ExpiresAt.Format(time.RFC3339), Next: next}, "Approval required. " + next, nil
	}

	r, err := s.useApproval(ctx, id, heldDelete, in.ApprovalID, digest)
	if err != nil {
		return DeleteResult{}, "", err
	}
	if err := s.afterApproved(ctx, heldDelete, r, in.Name, s.snippets.Delete(ctx, sp, in.Name, r.TargetETag)); err != nil {
		return DeleteResult{}, "", err
	}
	return DeleteResult{Status: statusDeleted, Name: in.Name, Shared: sp.IsShared(), ETag: r.TargetETag, ApprovalID: r.ID},
		fmt.Sprintf("Deleted snippet %q (version %s, approved by %s).", in.Name, r.TargetETag, decided(r)), nil
}
