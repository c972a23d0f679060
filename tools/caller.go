package tools

import (
	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/delegate"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/snippets"
)

// This file maps the caller's identity onto what the leaf packages need:
// audit fields, the user to delegate for and the snippet space. It lives here, in the layer
// that knows both, so that audit and delegate know nothing of identities.

// setCaller fills the identity fields of e from id: tenant, caller identity
// ("<tid>/<oid>"), agent (the client id) and the authorization mode. It
// never copies the display name or the bearer token. A nil id leaves the
// fields empty.
func setCaller(e *audit.Event, id *identity.Identity) {
	if id == nil {
		return
	}
	e.TenantID = id.TenantID
	e.CallerIdentity = id.Key()
	e.AgentID = id.ClientID
	switch {
	case id.Method == identity.MethodDev:
		e.AuthorizationMode = audit.ModeDev
	case id.AppOnly:
		e.AuthorizationMode = audit.ModeAppOnly
	default:
		e.AuthorizationMode = audit.ModeDelegated
	}
}

// delegateUser is the user an on-behalf-of exchange acts for.
func delegateUser(id *identity.Identity) delegate.User {
	if id == nil {
		return delegate.User{}
	}
	return delegate.User{TenantID: id.TenantID, ObjectID: id.ObjectID, Token: id.BearerToken(), AppOnly: id.AppOnly}
}

// spaceOf is the caller's private space, or with shared the tenant's
// shared space: the one place identity becomes a snippet space (tools,
// resources, the prompt and completions all use it).
func spaceOf(id *identity.Identity, shared bool) snippets.Space {
	if shared {
		return snippets.Shared(id.TenantID)
	}
	return snippets.Private(id.TenantID, id.ObjectID)
}
