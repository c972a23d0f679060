package tools

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/inventory"
	"github.com/snippets-mcp/server/internal/policy"
)

// Auditor records one event per tool call. Record must not block.
type Auditor interface {
	Record(audit.Event)
}

// afterCall audits a tools/call that produced a result, success or error.
func (s *Server) afterCall(ctx context.Context, _ any, req *mcp.CallToolRequest, result any) {
	c := callFrom(ctx)
	c.mu.Lock()
	code := c.resultCode // a handler's own classification wins
	c.mu.Unlock()
	if code == "" {
		code = audit.ResultOK
		if r, ok := result.(*mcp.CallToolResult); ok && r.IsError {
			code = audit.ResultToolError
		}
	}
	s.record(ctx, s.callTarget(req), code, "")
}

// readMethods are the methods besides tools/call that read snippet data
// (content or names): each such request is audited like a tool call.
var readMethods = map[mcp.MCPMethod]bool{
	mcp.MethodResourcesRead:      true,
	mcp.MethodPromptsGet:         true,
	mcp.MethodCompletionComplete: true,
}

// onSuccess audits the reads that are not tool calls.
func (s *Server) onSuccess(ctx context.Context, _ any, method mcp.MCPMethod, message any, _ any) {
	if !readMethods[method] {
		return
	}
	c := callFrom(ctx)
	c.mu.Lock()
	code := cmp.Or(c.resultCode, audit.ResultOK)
	c.mu.Unlock()
	s.record(ctx, readTarget(method, message), code, "")
}

// onError audits a tools/call, or a read, that ended in a JSON-RPC error:
// an unknown or hidden tool, a malformed request, a failed read.
func (s *Server) onError(ctx context.Context, _ any, method mcp.MCPMethod, message any, err error) {
	switch {
	case method == mcp.MethodToolsCall:
		req, _ := message.(*mcp.CallToolRequest)
		if req == nil {
			req = &mcp.CallToolRequest{}
		}
		var code audit.ResultCode = audit.ResultInternalError
		msg := "request failed"
		if errors.Is(err, server.ErrToolNotFound) {
			// The same words for a hidden tool: nothing leaks about it.
			words := fmt.Sprintf("tool %q not found; tools/list shows the tools you may call", req.Params.Name)
			code, msg = audit.ResultNotFound, "unknown tool"
			if _, exists := s.tools[req.Params.Name]; exists {
				code, msg = audit.ResultDenied, "tool not permitted for this caller"
			}
			// An agent the inventory refuses learns what is missing and
			// whom to ask, for any tool name (so nothing leaks either).
			if d := s.inventoryRefusal(ctx, req.Params.Name); d != "" {
				words, code, msg = d, audit.ResultDenied, "refused by the agent inventory"
			}
			rpcError(ctx, mcp.INVALID_PARAMS, words)
		}
		s.record(ctx, s.callTarget(req), code, msg)
	case readMethods[method]:
		c := callFrom(ctx)
		c.mu.Lock()
		code := c.resultCode
		c.mu.Unlock()
		msg := ""
		if code == "" {
			code, msg = audit.ResultInvalidArguments, "request failed"
			if errors.Is(err, server.ErrResourceNotFound) || errors.Is(err, server.ErrPromptNotFound) {
				code, msg = audit.ResultNotFound, "no such resource or prompt"
			}
		}
		s.record(ctx, readTarget(method, message), code, msg)
	}
}

// inventoryRefusal is the agent inventory's sentence for a tools/call the
// filter refused, or "" when the inventory was not why. A registered agent
// calling a tool its entry does not list learns so only for tools that
// exist; an unregistered or expired one is refused alike for every name
// (any tool stands for one that does not exist: the rule covers all).
func (s *Server) inventoryRefusal(ctx context.Context, name string) string {
	p := s.principal(ctx)
	_, exists := s.tools[name]
	if !exists {
		name = toolWhoami
	}
	d := s.engine.Decide(policy.Request{Principal: p, Action: policy.ActionCall, Resource: s.engine.ToolResource(name)})
	if !d.Inventory || !exists && p.Inventory().State == inventory.Registered {
		return ""
	}
	return d.Message
}

// target is what a request acted on, for its audit event: the method, a
// name the server knows (or a marked stand-in), and the arguments, which
// only ever appear as a size and a digest.
type target struct {
	method mcp.MCPMethod
	name   string
	args   any
	// received, when set, are the arguments' bytes as the client sent them
	// (a tools/call from the wire): the event digests those, not args.
	received []byte
}

func (s *Server) callTarget(req *mcp.CallToolRequest) target {
	_, known := s.tools[req.Params.Name]
	return target{method: mcp.MethodToolsCall, name: audit.Name(req.Params.Name, known), args: req.Params.Arguments,
		received: req.Params.RawArguments}
}

// readTarget names the prompt or resource template a read used.
func readTarget(method mcp.MCPMethod, message any) target {
	t := target{method: method}
	switch m := message.(type) {
	case *mcp.ReadResourceRequest:
		t.name, t.args = resourceName(m.Params.URI), map[string]any{"uri": m.Params.URI}
	case *mcp.GetPromptRequest:
		t.name, t.args = audit.Name(m.Params.Name, m.Params.Name == reviewPrompt), m.Params.Arguments
	case *mcp.CompleteRequest:
		var ref struct {
			Type string `json:"type"`
			Name string `json:"name"`
			URI  string `json:"uri"`
		}
		if b, err := json.Marshal(m.Params.Ref); err == nil {
			_ = json.Unmarshal(b, &ref) // a ref that does not decode leaves the name unknown
		}
		switch {
		case ref.Type == "ref/prompt":
			t.name = audit.Name(ref.Name, ref.Name == reviewPrompt)
		case ref.URI == privateTemplate || ref.URI == sharedTemplate:
			t.name = resourceName(ref.URI)
		default:
			t.name = audit.Unknown(ref.Name + ref.URI)
		}
		t.args = map[string]any{"argument": m.Params.Argument.Name, "value": m.Params.Argument.Value}
	}
	return t
}

// resourceName is the name of the resource (template) a URI belongs to.
func resourceName(uri string) string {
	switch {
	case uri == guideURI:
		return "guide"
	case strings.HasPrefix(uri, "snippet://shared/"), uri == sharedTemplate:
		return "shared-snippet"
	case strings.HasPrefix(uri, "snippet://"):
		return "snippet"
	}
	return audit.Unknown(uri)
}

func (s *Server) record(ctx context.Context, t target, code audit.ResultCode, msg string) {
	p := s.principal(ctx) // before c.mu: principal takes it too
	c := callFrom(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	e := audit.Event{
		Timestamp:    time.Now(),
		OperationID:  audit.OperationID(c.traceparent),
		MCPSessionID: audit.SessionID(c.sessionID),
		// A request without MCP-Protocol-Version is 2025-03-26 by the spec's rule.
		ProtocolVersion:    audit.ProtocolVersion(cmp.Or(server.RequestProtocolVersion(ctx), c.protocolVersion, "2025-03-26")),
		Method:             string(t.method),
		ToolName:           t.name,
		DownstreamResource: c.downstream,
		ApprovalRequired:   c.approvalRequired,
		ApprovalResult:     string(c.approvalResult),
		LatencyMS:          time.Since(c.start).Milliseconds(),
		ResultCode:         string(code),
		Message:            msg,
	}
	if e.Message == "" && code != audit.ResultOK {
		e.Message = c.message
	}
	if e.ApprovalResult == "" {
		e.ApprovalResult = audit.ApprovalNotRequired
	}
	id := identity.FromContext(ctx)
	setCaller(&e, id)
	s.engine.Record(p, &e)
	if id != nil {
		s.seen.touch(id.TenantID, id.ClientID, e.Timestamp)
	}
	if c.authzMode != "" {
		e.AuthorizationMode = c.authzMode
	}
	if t.received != nil {
		e.ArgumentsBytes, e.ArgumentsSHA256 = audit.ReceivedArgumentsDigest(t.received)
	} else {
		e.ArgumentsBytes, e.ArgumentsSHA256 = audit.ArgumentsDigest(t.args)
	}
	s.auditor.Record(e)
}
