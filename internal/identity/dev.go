package identity

import "net/http"

// Dev is the loopback-only development authenticator: every request is the
// same fixed local identity. config refuses dev mode on other addresses.
type Dev struct{ ID Identity }

// NewDev returns the fixed local identity, holding every role so that a
// developer can try each tool (approvals still need a second identity:
// use jwt mode with the dev issuer for that).
func NewDev() *Dev {
	return &Dev{ID: Identity{
		TenantID: "local",
		ObjectID: "local-developer",
		Name:     "Local Developer",
		ClientID: "local-client",
		Scopes:   []string{ScopeUser},
		Roles:    []string{RoleRead, RoleWrite, RoleDelete, RoleApprove},
		Method:   MethodDev,
	}}
}

// Authenticate ignores the request: identity headers and tokens that a
// client sends are never trusted in dev mode.
func (d *Dev) Authenticate(*http.Request) (*Identity, error) {
	id := d.ID
	return &id, nil
}
