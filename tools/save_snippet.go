package tools

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/policy"
	"github.com/snippets-mcp/server/internal/snippets"
)

const toolSaveSnippet = "save_snippet"

type saveArgs struct {
	Name       string  `json:"snippetname"`
	Content    string  `json:"snippet"`
	Shared     bool    `json:"shared"`
	ETag       *string `json:"etag"` // nil when not sent: the approval digest tells absent from empty
	ApprovalID string  `json:"approval_id"`
}

// action is what an approval of this save is bound to: every argument but
// approval_id, as sent.
func (a saveArgs) action() map[string]any {
	m := map[string]any{argSnippetName: a.Name, argSnippet: a.Content, argShared: a.Shared}
	if a.ETag != nil {
		m[argETag] = *a.ETag
	}
	return m
}

// SaveResult is the outcome of save_snippet: the stored snippet, or, when
// the save waits for an approval, the version it would replace.
type SaveResult struct {
	Snippet
	Status     string `json:"status" jsonschema:"saved, or approval_required"`
	ApprovalID string `json:"approvalId,omitempty" jsonschema:"id of the approval request to have approved, then pass as approval_id"`
	ExpiresAt  string `json:"expiresAt,omitempty"`
	Next       string `json:"next,omitempty" jsonschema:"what to do next"`
}

func (s *Server) saveSnippetTool() tool {
	return newTool(mcp.NewTool(toolSaveSnippet,
		mcp.WithTitleAnnotation("Save snippet"),
		mcp.WithDescription("Create or replace a text snippet. Updates are checked against concurrent changes: "+
			"pass the etag you read to update only that version; a conflicting save is refused, never lost silently. "+
			"Replacing a shared snippet that another person wrote last is destructive, like a delete: the first call returns an approvalId and changes nothing; "+
			"once another person with Snippets.Approve approves, call again with the same arguments and approval_id. "+
			"Your own snippets, private or shared, you replace freely. Empty content is refused: use delete_snippet."),
		nameArg(mcp.Required()),
		mcp.WithString(argSnippet, mcp.Required(), mcp.Description("The snippet text (UTF-8), not empty."), mcp.MinLength(1)),
		sharedArg("save in"),
		mcp.WithString(argETag, mcp.Description("Update only if the stored version still has this etag.")),
		approvalIDArg("Id of an approved request to replace another person's shared snippet."),
		mcp.WithReadOnlyHintAnnotation(false),
		mcp.WithDestructiveHintAnnotation(true), // it may replace existing content
		mcp.WithIdempotentHintAnnotation(true),
		mcp.WithOpenWorldHintAnnotation(false),
	), policy.ClassWrite, s.saveSnippet)
}

var heldOverwrite = held{tool: toolSaveSnippet, action: "overwrite", nothing: "nothing was saved"}

func (s *Server) saveSnippet(ctx context.Context, id *identity.Identity, in saveArgs) (SaveResult, string, error) {
	sp, err := s.writeSpace(ctx, id, in.Shared)
	if err != nil {
		return SaveResult{}, "", err
	}
	// In the shared space, replacing what another identity wrote destroys
	// their content: the policy holds it for an approval like a delete
	// (rule approval-for-destructive), and the store refuses it unless
	// approved.
	opts := snippets.SaveOptions{Author: id.ObjectID,
		KeepOthers: sp.IsShared() && s.engine.NeedsApproval(s.principal(ctx), toolSaveSnippet, true)}
	if in.ETag != nil {
		opts.IfMatch = *in.ETag
	}
	digest := argsDigest(heldOverwrite.tool, in.action())
	saved := func(sn snippets.Snippet) (SaveResult, string, error) {
		return SaveResult{Snippet: toSnippet(sn), Status: statusSaved},
			fmt.Sprintf("Saved snippet %q (%d bytes, etag %s).", sn.Name, sn.Size, sn.ETag), nil
	}
	if in.ApprovalID != "" {
		callFrom(ctx).set(func(c *call) { c.approvalRequired = true })
		r, err := s.useApproval(ctx, id, heldOverwrite, in.ApprovalID, digest)
		if err != nil {
			return SaveResult{}, "", err
		}
		opts.IfMatch, opts.KeepOthers = r.TargetETag, false
		sn, err := s.snippets.Save(ctx, sp, in.Name, in.Content, opts)
		if err := s.afterApproved(ctx, heldOverwrite, r, in.Name, err); err != nil {
			return SaveResult{}, "", err
		}
		return saved(sn)
	}
	sn, err := s.snippets.Save(ctx, sp, in.Name, in.Content, opts)
	var others *snippets.OthersContentError
	if errors.As(err, &others) {
		cur := others.Current
		callFrom(ctx).set(func(c *call) { c.approvalRequired = true })
		r, err := s.requestApproval(ctx, id, heldOverwrite, digest, cur.ETag,
			fmt.Sprintf("replace shared snippet %q (version %s, last written by %s) with %d bytes from %s", in.Name, cur.ETag, cur.UpdatedBy, len(in.Content), who(id.Person(), id.ObjectID)))
		if err != nil {
			return SaveResult{}, "", err
		}
		next := nextAfterRequest(heldOverwrite, r)
		return SaveResult{Snippet: toSnippet(cur), Status: statusApprovalRequired, ApprovalID: r.ID,
				ExpiresAt: r.ExpiresAt.Format(time.RFC3339), Next: next},
			fmt.Sprintf("Approval required: shared snippet %q was last written by someone else (%s). %s", in.Name, cur.UpdatedBy, next), nil
	}
	if err != nil {
		return SaveResult{}, "", s.storeError("save", in.Name, err)
	}
	return saved(sn)
}
