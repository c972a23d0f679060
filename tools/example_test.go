package tools

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"net/http/httptest"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/policy"
	"github.com/snippets-mcp/server/internal/snippets"
)

// A new tool is one file like this one (less the example's own scaffolding
// at the end): its name, its argument struct, its result type, its
// declaration with class and annotations, and its handler.

const toolCountSnippets = "count_snippets"

type countArgs struct {
	Prefix string `json:"prefix"` // the json name is the schema's property name
	Shared bool   `json:"shared"`
}

// CountResult is what count_snippets returns; its output schema is
// generated from this type.
type CountResult struct {
	Count int `json:"count"`
}

func (s *Server) countSnippetsTool() tool {
	return newTool(mcp.NewTool(toolCountSnippets,
		mcp.WithTitleAnnotation("Count snippets"),
		mcp.WithDescription("Count your snippets whose names start with a prefix."),
		mcp.WithString(argPrefix, mcp.Required(), mcp.Description("Name prefix."), mcp.MinLength(1), mcp.MaxLength(snippets.MaxNameLen)),
		sharedArg("count in"),
		mcp.WithReadOnlyHintAnnotation(true),
		mcp.WithDestructiveHintAnnotation(false),
		mcp.WithIdempotentHintAnnotation(true),
		mcp.WithOpenWorldHintAnnotation(false),
	), policy.ClassRead, s.countSnippets)
}

func (s *Server) countSnippets(ctx context.Context, id *identity.Identity, in countArgs) (CountResult, string, error) {
	page, err := s.snippets.List(ctx, spaceOf(id, in.Shared), in.Prefix, "", 100)
	if err != nil {
		return CountResult{}, "", s.storeError("list", in.Prefix, err) // audited unavailable, misconfigured, ...
	}
	return CountResult{Count: len(page.Items)}, fmt.Sprintf("%d snippets start with %q.", len(page.Items), in.Prefix), nil
}

// Example declares count_snippets (above), tightens its rule with an
// operator's Cedar forbid, and calls it as three callers: it is authorized by the policy
// (hidden from a caller without the rule's roles), its arguments are
// checked before it runs, and every call is audited.
func Example() {
	auditor := &memAuditor{}
	s, err := newServer(Options{
		Snippets: exampleStore{},
		Auditor:  auditor,
		Log:      slog.New(slog.DiscardHandler),
		// An operator's rule may only tighten: app-only callers now need
		// Snippets.Write, where the read class asks Read or Write.
		Policy: policy.Options{Operator: []byte(`@id("count-needs-write")
forbid (principal, action == Action::"call", resource == Tool::"count_snippets")
when { principal.app_only && !principal.roles.contains("Snippets.Write") };`)},
	}, func(s *Server) []tool { return []tool{s.countSnippetsTool()} })
	if err != nil {
		panic(err)
	}
	writer := &identity.Identity{TenantID: "t1", ObjectID: "w", AppOnly: true, Roles: []string{identity.RoleWrite}, Method: identity.MethodJWT}
	reader := &identity.Identity{TenantID: "t1", ObjectID: "r", AppOnly: true, Roles: []string{identity.RoleRead}, Method: identity.MethodJWT}

	call := func(who *identity.Identity, args map[string]any) {
		msg, _ := json.Marshal(map[string]any{"jsonrpc": "2.0", "id": 1, "method": "tools/call",
			"params": map[string]any{"name": toolCountSnippets, "arguments": args}})
		ctx := ContextFunc(identity.NewContext(context.Background(), who), httptest.NewRequest("POST", "/mcp", nil))
		switch r := s.MCP().HandleMessage(ctx, msg).(type) {
		case mcp.JSONRPCResponse:
			res := r.Result.(*mcp.CallToolResult)
			fmt.Printf("%s: isError=%v %s\n", who.ObjectID, res.IsError, res.Content[0].(mcp.TextContent).Text)
		case mcp.JSONRPCError:
			fmt.Printf("%s: JSON-RPC error %d\n", who.ObjectID, r.Error.Code)
		}
	}
	call(writer, map[string]any{"prefix": "deploy"})
	call(writer, map[string]any{"prefix": 7})
	call(reader, map[string]any{"prefix": "deploy"}) // hidden: the same answer as an unknown tool

	for _, e := range auditor.all() {
		fmt.Printf("audit: %s %s by %s: %s\n", e.Method, e.ToolName, e.CallerIdentity, e.ResultCode)
	}
	// Output:
	// w: isError=false 2 snippets start with "deploy".
	// w: isError=true argument "prefix" must be a string, not an integer
	// r: JSON-RPC error -32602
	// audit: tools/call count_snippets by t1/w: ok
	// audit: tools/call count_snippets by t1/w: invalid_arguments
	// audit: tools/call count_snippets by t1/r: denied
}

// exampleStore is a SnippetStore that lists two snippets; it has no other
// methods the example needs.
type exampleStore struct{ SnippetStore }

func (exampleStore) List(_ context.Context, _ snippets.Space, prefix, _ string, _ int32) (snippets.Page, error) {
	return snippets.Page{Items: []snippets.Snippet{{Name: prefix + "-notes"}, {Name: prefix + "-script"}}}, nil
}
