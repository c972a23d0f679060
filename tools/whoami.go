package tools

import (
	"context"
	"fmt"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/policy"
)

const toolWhoami = "whoami"

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

func (s *Server) whoamiTool() tool {
	return newTool(mcp.NewTool(toolWhoami,
		mcp.WithTitleAnnotation("Who am I"),
		mcp.WithDescription("Show who the server thinks you are: tenant, object id, calling app, scopes, roles and the tools you may use. Never shows tokens."),
		mcp.WithReadOnlyHintAnnotation(true),
		mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(true),
		mcp.WithOpenWorldHintAnnotation(false),
	), policy.ClassRead, s.whoami)
}

func (s *Server) whoami(ctx context.Context, id *identity.Identity, _ noArgs) (Whoami, string, error) {
	// Lists are never null in the result (its schema says array).
	w := Whoami{TenantID: id.TenantID, ObjectID: id.ObjectID, Name: id.Name, UPN: id.UPN, ClientID: id.ClientID,
		AppOnly: id.AppOnly, AuthMethod: string(id.Method),
		Scopes: append([]string{}, id.Scopes...), Roles: append([]string{}, id.Roles...),
		Tools: s.engine.Callable(s.principal(ctx))}
	who := id.Person()
	if who == "" {
		who = id.ObjectID
	}
	return w, fmt.Sprintf("You are %s (tenant %s) via %s; you may use: %v", who, id.TenantID, id.Method, w.Tools), nil
}
