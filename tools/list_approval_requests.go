package tools

import (
	"cmp"
	"context"
	"fmt"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/approval"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/policy"
)

const toolListApprovalRequests = "list_approval_requests"

type listApprovalsArgs struct {
	Cursor string `json:"cursor"`
	Limit  int    `json:"limit"` // 0 when not sent (the check refuses 0 itself): 20
}

// ApprovalList is one page of the tenant's pending requests, oldest first.
type ApprovalList struct {
	Requests   []ApprovalView `json:"requests"`
	NextCursor string         `json:"nextCursor,omitempty" jsonschema:"pass as cursor to get the next page; absent on the last page"`
}

func (s *Server) listApprovalRequestsTool() tool {
	return newTool(mcp.NewTool(toolListApprovalRequests,
		mcp.WithTitleAnnotation("List approval requests"),
		mcp.WithDescription("List your tenant's approval requests that wait for a decision, oldest first, a page at a time."),
		cursorArg(64),
		limitArg(20),
		mcp.WithReadOnlyHintAnnotation(true),
		mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(true),
		mcp.WithOpenWorldHintAnnotation(false),
	), policy.ClassAdmin, s.listApprovalRequests)
}

func (s *Server) listApprovalRequests(ctx context.Context, id *identity.Identity, in listApprovalsArgs) (ApprovalList, string, error) {
	page, err := s.approvals.ListPending(ctx, id.TenantID, in.Cursor, cmp.Or(in.Limit, 20))
	if err != nil {
		return ApprovalList{}, "", s.approvalError(ctx, opList, held{}, approval.Request{}, err)
	}
	out := ApprovalList{Requests: make([]ApprovalView, 0, len(page.Requests)), NextCursor: page.Next}
	for _, r := range page.Requests {
		out.Requests = append(out.Requests, view(r))
	}
	return out, approvalsText(out), nil
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
		fmt.Fprintf(&b, " More: call %s again with cursor %s.", toolListApprovalRequests, l.NextCursor)
	}
	return b.String()
}
