// Package auth turns an HTTP request into a caller identity and decides
// which tools that caller may use. Identity never comes from tool arguments.
package auth

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
	Name        string   // display name or UPN; informational only
	ClientID    string   // azp/appid: the calling application, i.e. the agent
	Scopes      []string // delegated scopes (scp); empty for app-only callers
	Roles       []string // app roles (roles)
	Method      Method
	AppOnly     bool   // true when no user is involved (client credentials)
	bearerToken string // the inbound user token, kept only for on-behalf-of exchange
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
