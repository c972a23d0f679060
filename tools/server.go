package tools

import (
	"context"
	"log/slog"
	"slices"
	"sync"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/snippets-mcp/server/internal/audit"
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

// Options are a Server's collaborators and settings, read once by New.
// Each field documents what its zero value means.
type Options struct {
	// Snippets stores the snippets. Nil is accepted by New (a Server built
	// only to inspect its tools), but a call that reads or writes snippets
	// then fails as a bug.
	Snippets SnippetStore
	// Approvals stores approval requests; nil as for Snippets.
	Approvals ApprovalStore
	// Profiles fetches the caller's Graph profile on their behalf. Nil:
	// delegation is not configured, and get_my_profile is offered to
	// nobody.
	Profiles ProfileSource
	// Auditor receives one event per audited request. Nil: events are
	// dropped.
	Auditor Auditor
	// Log receives operational logs (never argument values). Nil:
	// slog.Default().
	Log *slog.Logger
	// ToolTimeout bounds one tool call. Zero or negative: 30 seconds.
	ToolTimeout time.Duration
	// Policy configures the authorization engine: the operator's Cedar
	// rules, the legacy MCP_TOOL_POLICY document, the agent inventory and
	// the opt-ins (see policy.Options). New sets its Tools (the catalog),
	// DelegationConfigured (Profiles != nil) and, when nil, Log. The zero
	// value: the default policy alone, no agent inventory.
	Policy policy.Options
	// Version is the server version clients see in initialize's
	// serverInfo, as given ("" stays empty).
	Version string
}

// Server is the MCP surface: the tools, resources and prompt, their policy,
// and the mcp-go server that serves them, built once by New. Its fields are
// set by New and never change.
type Server struct {
	snippets  SnippetStore
	approvals ApprovalStore
	profiles  ProfileSource // never nil: notConfigured when there is no delegation
	auditor   Auditor       // never nil: discard when none is given
	log       *slog.Logger
	engine    *policy.Engine // every authorization decision
	seen      *lastSeen      // last call per tenant and client app, for list_agents
	tools     map[string]tool
	mcp       *server.MCPServer
}

// New builds the tools, their policy engine and the mcp-go server. It
// fails when a policy or the agent inventory does not load (a
// *policy.SourceError names which); the server must not start then.
func New(o Options) (*Server, error) { return newServer(o, nil) }

// newServer is New with more tools than the catalog (tests and examples).
func newServer(o Options, more func(*Server) []tool) (*Server, error) {
	s := &Server{
		snippets: o.Snippets, approvals: o.Approvals, profiles: o.Profiles, auditor: o.Auditor, log: o.Log,
		tools: map[string]tool{}, seen: &lastSeen{},
	}
	if s.log == nil {
		s.log = slog.Default()
	}
	if s.profiles == nil {
		s.profiles = notConfigured{}
	}
	if s.auditor == nil {
		s.auditor = discard{}
	}
	timeout := o.ToolTimeout
	if timeout <= 0 {
		timeout = 30 * time.Second
	}
	po := o.Policy
	po.Tools = map[string]policy.Tool{}
	po.DelegationConfigured = o.Profiles != nil
	if po.Log == nil {
		po.Log = s.log
	}
	all := s.catalog()
	if more != nil {
		all = append(all, more(s)...)
	}
	classes := map[string]policy.Class{}
	for _, t := range all {
		s.tools[t.spec.Name] = t
		po.Tools[t.spec.Name] = policy.Tool{Class: t.class, Delegates: t.delegates}
		classes[t.spec.Name] = t.class
	}
	e, err := policy.NewEngine(po)
	if err != nil {
		return nil, err
	}
	s.engine = e
	// The effective policy, once at start: its digest (also in every audit
	// event), rule count and inventory mode, each tool's class, and the
	// rules an operator added.
	s.log.Info("policy", "policy", e, "tools", classes, "added", e.Added())
	s.mcp = s.build(o.Version, timeout)
	return s, nil
}

// catalog is every tool the server offers, each declared in its own file.
// The declarations are independent and run concurrently: generating each
// output schema by reflection is most of New's work on a cold process
// (about 10 ms of the server's start, issue 16), and New runs before the
// server listens.
func (s *Server) catalog() []tool {
	decls := []func() tool{
		s.saveSnippetTool,
		s.getSnippetTool,
		s.listSnippetsTool,
		s.deleteSnippetTool,
		s.whoamiTool,
		s.listApprovalRequestsTool,
		s.approveRequestTool,
		s.denyRequestTool,
		s.getMyProfileTool,
		s.listAgentsTool,
	}
	out := make([]tool, len(decls))
	var wg sync.WaitGroup
	for i, declare := range decls {
		wg.Go(func() { out[i] = declare() })
	}
	wg.Wait()
	return out
}

// MCP returns the mcp-go server with every tool, resource and prompt. It is
// built once, by New: every call returns the same server.
func (s *Server) MCP() *server.MCPServer { return s.mcp }

func (s *Server) build(version string, timeout time.Duration) *server.MCPServer {
	hooks := &server.Hooks{}
	hooks.AddAfterCallTool(s.afterCall)
	hooks.AddOnError(s.onError)
	hooks.AddOnSuccess(s.onSuccess)
	m := server.NewMCPServer("snippets-mcp", version,
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
		// Middleware, outermost first (middleware.go); each tool's argument
		// check is part of its handler.
		server.WithToolHandlerMiddleware(s.reportErrors),
		server.WithToolHandlerMiddleware(deadline(timeout)),
		server.WithRecovery(),
		server.WithResourceRecovery(),
		server.WithHooks(hooks),
		// Every list and read differs per caller (policy, own space) and
		// changes with any write: 2026-07-28 clients must not keep them, nor
		// share them between users. Stated, not left to mcp-go's default.
		server.WithCacheHints(0, mcp.CacheScopePrivate),
	)
	for _, t := range s.tools {
		m.AddTool(t.spec, t.handler)
	}
	s.addResources(m)
	s.addPrompts(m)
	return m
}

// filter shows a caller only the tools the policy lets it call (a tool
// that could only fail, such as get_my_profile without delegation or a
// user assertion, is forbidden by the policy too). mcp-go applies it to
// tools/call as well, so a hidden tool cannot be called: the caller gets
// the same "not found" as for a tool that does not exist (onError), which
// reveals nothing about tools it may not use.
func (s *Server) filter(ctx context.Context, tools []mcp.Tool) []mcp.Tool {
	p := s.principal(ctx)
	out := tools[:0:0]
	for _, t := range tools {
		if s.engine.MayCall(p, t.Name) {
			out = append(out, t)
		}
	}
	return out
}

// principal is the caller as the policy engine sees it, built once per
// request and kept in its call record.
func (s *Server) principal(ctx context.Context) policy.Principal {
	c := callFrom(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	if !c.hasPrincipal {
		c.principal, c.hasPrincipal = s.engine.Principal(identity.FromContext(ctx)), true
	}
	return c.principal
}

// discard is the Auditor of a Server given none.
type discard struct{}

func (discard) Record(audit.Event) {}

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
