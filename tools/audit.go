package tools

import (
	"context"

	"github.com/mark3labs/mcp-go/mcp"
)

// Auditor records one event per tool call. Filled in when the audit
// package lands.
type Auditor interface{}

func (s *Server) afterCall(ctx context.Context, id any, req *mcp.CallToolRequest, result any) {}

func (s *Server) onError(ctx context.Context, id any, method mcp.MCPMethod, message any, err error) {}
