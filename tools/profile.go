package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/delegate"
	"github.com/snippets-mcp/server/internal/policy"
)

// ProfileSource fetches the caller's Microsoft Graph profile on their
// behalf. A nil *delegate.Delegator answers "not configured".
type ProfileSource interface {
	Profile(ctx context.Context, u delegate.User) (delegate.Profile, error)
	Resource() string
}

// Profile is the caller's Graph profile. It never holds tokens.
type Profile struct {
	DisplayName       string `json:"displayName"`
	Mail              string `json:"mail,omitempty"`
	UserPrincipalName string `json:"userPrincipalName"`
	JobTitle          string `json:"jobTitle,omitempty"`
}

// profileTool is the one tool that needs delegation.
const profileTool = "get_my_profile"

func (s *Server) profileTools() []spec {
	return []spec{{
		class: policy.ClassRead,
		tool: mcp.NewTool(profileTool,
			mcp.WithTitleAnnotation("Get my profile"),
			mcp.WithDescription("Your Microsoft Graph profile (display name, mail, user principal name, job title), "+
				"fetched on your behalf with an on-behalf-of token. Offered only when it can work: "+
				"to a signed-in user, on a server with delegation configured, not in dev mode."),
			mcp.WithOutputSchema[Profile](),
			mcp.WithReadOnlyHintAnnotation(true),
			mcp.WithDestructiveHintAnnotation(false),
			mcp.WithIdempotentHintAnnotation(true),
			mcp.WithOpenWorldHintAnnotation(true), // it reaches Microsoft Graph
		),
		handler: s.getMyProfile,
	}}
}

func (s *Server) getMyProfile(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	id, denied := caller(ctx)
	if denied != nil {
		return denied, nil
	}
	if !id.AppOnly { // an app-only caller is refused before any exchange
		callFrom(ctx).set(func(c *call) { c.downstream, c.authzMode = s.Profiles.Resource(), audit.ModeOnBehalfOf })
	}
	p, err := s.Profiles.Profile(ctx, delegateUser(id))
	if err != nil {
		var de *delegate.Error
		if !errors.As(err, &de) {
			s.log.Error("delegation failed", "err", err)
			return fail(ctx, audit.ResultInternalError, "fetching your profile failed unexpectedly; the failure was logged"), nil
		}
		code := audit.ResultToolError
		switch de.Kind {
		case delegate.KindThrottled, delegate.KindTimeout, delegate.KindUnavailable, delegate.KindBadResponse:
			code = audit.ResultUnavailable
		case delegate.KindAppOnly, delegate.KindForbidden:
			code = audit.ResultDenied
		}
		// The kind is a fixed word, safe for the audit record.
		callFrom(ctx).set(func(c *call) { c.message = "obo: " + string(de.Kind) })
		s.log.Warn("delegation failed", "kind", de.Kind, "err", err)
		return fail(ctx, code, de.UserMessage()), nil
	}
	out := Profile{DisplayName: p.DisplayName, Mail: p.Mail, UserPrincipalName: p.UserPrincipalName, JobTitle: p.JobTitle}
	return answer(out, fmt.Sprintf("%s <%s>", out.DisplayName, out.UserPrincipalName)), nil
}
