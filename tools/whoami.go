package tools

import (
	"context"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"
)

// Whoami is what the server knows of the caller. It never holds tokens.
type Whoami struct {
	TenantID   string   `json:"tenantId"`
	ObjectID   string   `json:"objectId"`
	Name       string   `json:"name,omitempty"`
	UPN        string   `json:"upn,omitempty" jsonschema:"user principal name, when the token carries one"`
	ClientID   string   `json:"clientId,omitempty" jsonschema:"the calling application (agent)"`
	AppOnly    bool     `json:"appOnly" jsonschema:"true when no user is signed in (client credentials)"`
	AuthMethod string   `json:"authMethod"`
	Scopes     []string `json:"scopes"`
	Roles      []string `json:"roles"`
	Tools      []string `json:"tools" jsonschema:"tools this caller may use"`
}

func (s *Server) whoami(ctx context.Context, _ mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	id, denied := caller(ctx)
	if denied != nil {
		return denied, nil
	}
	w := Whoami{TenantID: id.TenantID, ObjectID: id.ObjectID, Name: id.Name, UPN: id.UPN, ClientID: id.ClientID,
		AppOnly: id.AppOnly, AuthMethod: string(id.Method),
		Scopes: nonNil(id.Scopes), Roles: nonNil(id.Roles), Tools: []string{}}
	for _, t := range s.policy.Tools() {
		if s.usable(id, t) {
			w.Tools = append(w.Tools, t)
		}
	}
	who := id.Person()
	if who == "" {
		who = id.ObjectID
	}
	return answer(w, fmt.Sprintf("You are %s (tenant %s) via %s; you may use: %v", who, id.TenantID, id.Method, w.Tools)), nil
}

func nonNil(s []string) []string {
	if s == nil {
		return []string{}
	}
	return s
}
