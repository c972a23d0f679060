// Package tools is the MCP surface of the server: each tool's definition,
// annotations, class and handler, the resources and prompts, and the
// per-call authorization and audit that wrap them.
package tools

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/delegate"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/policy"
	"github.com/snippets-mcp/server/internal/snippets"
)

// SnippetStore is what the tools need of the snippet store.
type SnippetStore interface {
	Save(ctx context.Context, sp snippets.Space, name, content string, o snippets.SaveOptions) (snippets.Snippet, error)
	Get(ctx context.Context, sp snippets.Space, name string) (snippets.Snippet, error)
	List(ctx context.Context, sp snippets.Space, prefix, cursor string, limit int32) (snippets.Page, error)
	Delete(ctx context.Context, sp snippets.Space, name, ifMatch string) error
	MaxSize() int64
}

// Deps are the server's collaborators, wired by the handler.
type Deps struct {
	Snippets    SnippetStore
	Approvals   ApprovalStore
	Profiles    ProfileSource
	Auditor     Auditor
	Log         *slog.Logger
	ToolTimeout time.Duration // bound on one tool call
	// Policy is an operator's policy document (JSON, see docs/SECURITY.md)
	// applied over the tools' default rules; nil for the defaults.
	Policy  []byte
	Version string
}

// Server holds the tools and their collaborators.
type Server struct {
	Deps
	log    *slog.Logger
	policy *policy.Policy
	specs  map[string]spec
}

// spec is one tool: what clients see, its class, and its handler.
type spec struct {
	tool    mcp.Tool
	class   policy.Class
	handler server.ToolHandlerFunc
}

// New builds the tools and their policy. It fails on an invalid policy file.
func New(d Deps) (*Server, error) {
	s := &Server{Deps: d, log: d.Log, specs: map[string]spec{}}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.Profiles == nil {
		s.Profiles = (*delegate.Delegator)(nil) // answers "delegation is not configured"
	}
	if s.ToolTimeout <= 0 {
		s.ToolTimeout = 30 * time.Second
	}
	for _, sp := range slices.Concat(s.snippetTools(), s.approvalTools(), s.profileTools()) {
		portable(sp.tool.OutputSchema.Properties)
		s.specs[sp.tool.Name] = sp
	}
	classes := make(map[string]policy.Class, len(s.specs))
	for name, sp := range s.specs {
		classes[name] = sp.class
	}
	p, err := policy.New(classes, d.Policy)
	if err != nil {
		return nil, err
	}
	s.policy = p
	// The effective rules, once at start: what an operator's file changed
	// is visible without reading code.
	s.log.Info("tool policy", "policy", p)
	return s, nil
}

// MCP returns a new mcp-go server with every tool, resource and prompt.
func (s *Server) MCP() *server.MCPServer {
	hooks := &server.Hooks{}
	hooks.AddAfterCallTool(s.afterCall)
	hooks.AddOnError(s.onError)
	hooks.AddOnSuccess(s.onSuccess)
	m := server.NewMCPServer("snippets-mcp", s.Version,
		server.WithTitle("Snippets"),
		server.WithInstructions("Stores and retrieves text snippets for the signed-in caller. "+
			"Each caller has a private space; pass shared=true to use the tenant's shared space. "+
			"Deleting needs an approval from another person; the delete tool explains how."),
		server.WithToolCapabilities(false),
		server.WithResourceCapabilities(false, false),
		server.WithPromptCapabilities(false),
		server.WithCompletions(),
		server.WithPromptCompletionProvider(completer{s}),
		server.WithResourceCompletionProvider(completer{s}),
		server.WithToolFilter(s.filter),
		server.WithPromptFilter(s.promptFilter),
		server.WithStrictInputSchemaDefault(),
		// No WithOutputSchemaValidation: results are built from the same Go
		// types their schemas are generated from, TestStructuredOutputMatchesSchema
		// proves they conform, and validating at run time re-encoded the schema
		// on every call (a quarter of the CPU of a whoami call in make bench).
		server.WithToolHandlerMiddleware(s.bound),
		server.WithRecovery(),
		server.WithResourceRecovery(),
		server.WithHooks(hooks),
		// Every list and read differs per caller (policy, own space) and
		// changes with any write: 2026-07-28 clients must not keep them, nor
		// share them between users. Stated, not left to mcp-go's default.
		server.WithCacheHints(0, mcp.CacheScopePrivate),
	)
	for _, sp := range s.specs {
		m.AddTool(sp.tool, sp.handler)
	}
	s.addResources(m)
	s.addPrompts(m)
	return m
}

// filter shows a caller only the tools the policy lets it call. mcp-go
// applies it to tools/call too, so a hidden tool cannot be called: the
// caller gets the same "not found" as for a tool that does not exist,
// which reveals nothing about tools it may not use.
func (s *Server) filter(ctx context.Context, tools []mcp.Tool) []mcp.Tool {
	id := identity.FromContext(ctx)
	out := tools[:0:0]
	for _, t := range tools {
		if s.usable(id, t.Name) {
			out = append(out, t)
		}
	}
	return out
}

// usable reports whether the caller may call the tool and the call can
// ever work for it: a tool that could only fail is not offered.
func (s *Server) usable(id *identity.Identity, name string) bool {
	if !s.policy.Allows(id, name) {
		return false
	}
	if name == profileTool {
		return s.delegates(id)
	}
	return true
}

// delegates reports whether get_my_profile can work for the caller: it
// needs delegation configured, a signed-in user (not an app on its own)
// and a real token (dev mode has none to exchange).
func (s *Server) delegates(id *identity.Identity) bool {
	if d, ok := s.Profiles.(*delegate.Delegator); ok && d == nil {
		return false
	}
	return id != nil && !id.AppOnly && id.Method != identity.MethodDev
}

// bound checks a call's arguments, then gives it a deadline well inside
// the host's 240 s proxy timeout, so a slow dependency yields an error,
// never a hang.
func (s *Server) bound(next server.ToolHandlerFunc) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		if sp, ok := s.specs[req.Params.Name]; ok {
			if msg := checkArgs(sp.tool, req.Params.Arguments); msg != "" {
				return fail(ctx, audit.ResultInvalidArguments, msg), nil
			}
		}
		ctx, cancel := context.WithTimeout(ctx, s.ToolTimeout)
		defer cancel()
		res, err := next(ctx, req)
		if err != nil {
			// Handlers report expected failures as results; an error here is
			// a bug or an escaped panic. Keep details in the log only.
			s.log.Error("tool failed", "tool", req.Params.Name, "err", err)
			return fail(ctx, audit.ResultInternalError, fmt.Sprintf("%s failed unexpectedly; the failure was logged", req.Params.Name)), nil
		}
		return res, nil
	}
}

// caller returns the authenticated identity. The HTTP layer refuses
// unauthenticated requests, so nil means a wiring bug: deny.
func caller(ctx context.Context) (*identity.Identity, *mcp.CallToolResult) {
	id := identity.FromContext(ctx)
	if id == nil {
		return nil, fail(ctx, audit.ResultDenied, "not authenticated")
	}
	return id, nil
}

// portable makes a generated schema one that every client reads the same:
// a Go slice comes out as type ["null","array"], which MCP Inspector flags
// ("schema portability") and some clients reject. Results never hold nil
// slices (TestStructuredOutputMatchesSchema), so "array" is the truth.
func portable(v any) {
	switch x := v.(type) {
	case map[string]any:
		if ts, ok := x["type"].([]any); ok && len(ts) == 2 && slices.Contains(ts, any("null")) {
			for _, t := range ts {
				if t != "null" {
					x["type"] = t
				}
			}
		}
		for _, sub := range x {
			portable(sub)
		}
	case []any:
		for _, sub := range x {
			portable(sub)
		}
	}
}
