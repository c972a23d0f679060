package tools

import (
	"cmp"
	"context"
	"errors"
	"time"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/auth"
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
	s.record(ctx, req, code, "")
}

// onError audits a tools/call that ended in a JSON-RPC error: an unknown
// tool, a tool the policy hides from this caller, or a malformed request.
func (s *Server) onError(ctx context.Context, _ any, method mcp.MCPMethod, message any, err error) {
	if method != mcp.MethodToolsCall {
		return
	}
	req, _ := message.(*mcp.CallToolRequest)
	if req == nil {
		req = &mcp.CallToolRequest{}
	}
	code, msg := audit.ResultInternalError, "request failed"
	if errors.Is(err, server.ErrToolNotFound) {
		code, msg = audit.ResultNotFound, "unknown tool"
		if _, exists := s.specs[req.Params.Name]; exists {
			code, msg = audit.ResultDenied, "tool not permitted for this caller"
		}
	}
	s.record(ctx, req, code, msg)
}

func (s *Server) record(ctx context.Context, req *mcp.CallToolRequest, code, msg string) {
	if s.Auditor == nil {
		return
	}
	c := callFrom(ctx)
	c.mu.Lock()
	defer c.mu.Unlock()
	e := audit.Event{
		Timestamp:    time.Now(),
		OperationID:  audit.OperationID(c.traceparent),
		ServerID:     s.ServerID,
		MCPSessionID: c.sessionID,
		// A request without MCP-Protocol-Version is 2025-03-26 by the spec's rule.
		ProtocolVersion:    cmp.Or(server.RequestProtocolVersion(ctx), c.protocolVersion, "2025-03-26"),
		ToolName:           req.Params.Name,
		DownstreamResource: c.downstream,
		ApprovalRequired:   c.approvalRequired,
		ApprovalResult:     c.approvalResult,
		LatencyMS:          time.Since(c.start).Milliseconds(),
		ResultCode:         code,
		Message:            msg,
	}
	if e.Message == "" && code != audit.ResultOK {
		e.Message = c.message
	}
	if e.ApprovalResult == "" {
		e.ApprovalResult = audit.ApprovalNotRequired
	}
	e.SetCaller(auth.FromContext(ctx))
	if c.authzMode != "" {
		e.AuthorizationMode = c.authzMode
	}
	e.ArgumentsBytes, e.ArgumentsSHA256 = audit.ArgumentsDigest(req.Params.Arguments)
	s.Auditor.Record(e)
}
