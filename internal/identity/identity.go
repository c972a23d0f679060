// Package identity says who is calling: it turns the credentials of an
// HTTP request (a platform principal, a bearer token, or the fixed local
// identity) into an Identity. It decides nothing about what the caller may
// do (see package policy) and never reads the request body. Identity never
// comes from tool arguments.
package identity

import (
	"context"
	"slices"
)

// Method says how an identity was established; it is recorded in audit events.
type Method string

const (
	MethodDev      Method = "dev"      // fixed local identity, loopback only
	MethodEasyAuth Method = "easyauth" // platform principal set by Functions built-in auth
	MethodJWT      Method = "jwt"      // bearer token validated in process
)

// Identity is who is calling, as established by an Authenticator.
type Identity struct {
	TenantID    string   // tid
	ObjectID    string   // oid: the user, or the service principal of an app-only caller
	Name        string   // display name (or the UPN when there is none); informational only
	UPN         string   // user principal name (preferred_username or upn); informational only
	ClientID    string   // azp/appid: the calling application, i.e. the agent
	Scopes      []string // delegated scopes (scp); empty for app-only callers
	Roles       []string // app roles (roles)
	Method      Method
	AppOnly     bool   // true when no user is involved (client credentials)
	Kind        Kind   // user, user_via_agent, agent, agent_user or app (kind.go)
	Facets      Facets // Agent ID facet claims and blueprint, as the token had them
	bearerToken string // the inbound user token, kept only for on-behalf-of exchange
}

// Person is how people see the identity: "Display Name <upn>" when the
// token carries both, whichever it has otherwise, "" when neither.
// Informational only: nothing is decided on it.
func (id *Identity) Person() string {
	switch {
	case id.Name != "" && id.UPN != "" && id.Name != id.UPN:
		return id.Name + " <" + id.UPN + ">"
	case id.Name != "":
		return id.Name
	}
	return id.UPN
}

// HasRole reports whether the identity holds the app role.
func (id *Identity) HasRole(role string) bool { return slices.Contains(id.Roles, role) }

// HasScope reports whether the identity holds the delegated scope.
func (id *Identity) HasScope(scope string) bool { return slices.Contains(id.Scopes, scope) }

// Key identifies the caller's private space: tenant and object id.
func (id *Identity) Key() string { return id.TenantID + "/" + id.ObjectID }

// WithBearerToken returns a copy of id that carries the validated inbound
// token. The token is used only as an on-behalf-of assertion; it is never
// logged, printed or forwarded to another resource.
func (id Identity) WithBearerToken(token string) *Identity {
	id.bearerToken = token
	return &id
}

// BearerToken returns the inbound user token, or "" when there is none.
func (id *Identity) BearerToken() string { return id.bearerToken }

type ctxKey struct{}

// NewContext returns a context that carries id.
func NewContext(ctx context.Context, id *Identity) context.Context {
	return context.WithValue(ctx, ctxKey{}, id)
}

// FromContext returns the identity in ctx, or nil when the request was not
// authenticated.
func FromContext(ctx context.Context) *Identity {
	id, _ := ctx.Value(ctxKey{}).(*Identity)
	return id
}
