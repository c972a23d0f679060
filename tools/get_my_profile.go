package tools

import (
	"context"
	"errors"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/delegate"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/policy"
)

// toolGetMyProfile is the one tool that needs delegation.
const toolGetMyProfile = "get_my_profile"

// ProfileSource fetches the caller's Microsoft Graph profile on their
// behalf (a *delegate.Delegator). Every failure is a *delegate.Error.
type ProfileSource interface {
	Profile(ctx context.Context, u delegate.User) (delegate.Profile, error)
	Resource() string
}

// notConfigured is the ProfileSource of a server without delegation: it
// answers what a nil *delegate.Delegator answers, and the server offers
// get_my_profile to nobody.
type notConfigured struct{}

func (notConfigured) Profile(ctx context.Context, u delegate.User) (delegate.Profile, error) {
	return (*delegate.Delegator)(nil).Profile(ctx, u)
}

func (notConfigured) Resource() string { return "" }

// Profile is the caller's Graph profile. It never holds tokens.
type Profile struct {
	DisplayName       string `json:"displayName"`
	Mail              string `json:"mail,omitempty"`
	UserPrincipalName string `json:"userPrincipalName"`
	JobTitle          string `json:"jobTitle,omitempty"`
}

func (s *Server) getMyProfileTool() tool {
	t := newTool(mcp.NewTool(toolGetMyProfile,
		mcp.WithTitleAnnotation("Get my profile"),
		mcp.WithDescription("Your Microsoft Graph profile (display name, mail, user principal name, job title), "+
			"fetched on your behalf with an on-behalf-of token. Offered only when it can work: "+
			"to a signed-in user, on a server with delegation configured, not in dev mode."),
		mcp.WithReadOnlyHintAnnotation(true),
		mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(true),
		mcp.WithOpenWorldHintAnnotation(true), // it reaches Microsoft Graph
	), policy.ClassRead, s.getMyProfile)
	t.delegates = true
	return t
}

func (s *Server) getMyProfile(ctx context.Context, id *identity.Identity, _ noArgs) (Profile, string, error) {
	// The policy offers this tool only with delegation configured and a
	// user assertion (rules tool-unavailable,
	// delegation-needs-user-assertion); the delegator refuses without one
	// again, before any exchange.
	if id.HasUserAssertion() {
		callFrom(ctx).set(func(c *call) { c.downstream, c.authzMode = s.profiles.Resource(), audit.ModeOnBehalfOf })
	}
	p, err := s.profiles.Profile(ctx, delegateUser(id))
	if err != nil {
		var de *delegate.Error
		if !errors.As(err, &de) {
			s.log.Error("delegation failed", "err", err)
			return Profile{}, "", fail(audit.ResultInternalError, "fetching your profile failed unexpectedly; the failure was logged")
		}
		var code audit.ResultCode = audit.ResultToolError
		switch de.Kind {
		case delegate.KindThrottled, delegate.KindTimeout, delegate.KindUnavailable, delegate.KindBadResponse:
			code = audit.ResultUnavailable
		case delegate.KindAppOnly, delegate.KindForbidden:
			code = audit.ResultDenied
		}
		// The kind is a fixed word, safe for the audit record.
		callFrom(ctx).set(func(c *call) { c.message = "obo: " + string(de.Kind) })
		s.log.Warn("delegation failed", "kind", de.Kind, "err", err)
		return Profile{}, "", fail(code, de.UserMessage())
	}
	out := Profile{DisplayName: p.DisplayName, Mail: p.Mail, UserPrincipalName: p.UserPrincipalName, JobTitle: p.JobTitle}
	return out, fmt.Sprintf("%s <%s>", out.DisplayName, out.UserPrincipalName), nil
}
