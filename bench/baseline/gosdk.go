package baseline

import (
	"context"
	"encoding/json"
	"net/http"

	"github.com/modelcontextprotocol/go-sdk/mcp"
)

// EchoSchema is the input schema of every baseline's echo tool, as mcp-go
// writes it for MCP's tool (one required string "message"). The Go SDK
// baseline declares it as it is, so both list the same tool.
const EchoSchema = `{"type":"object","properties":{"message":{"type":"string"}},"required":["message"]}`

// GoSDK is the official Go SDK's counterpart of MCP: a stateless
// Streamable HTTP handler with JSON responses (no SSE, no sessions), one
// tool "echo" that returns its "message" argument, and nothing else.
// The tool is added with the SDK's untyped Server.AddTool and EchoSchema,
// so, as in mcp-go, the arguments are decoded but not validated against
// the schema (the typed mcp.AddTool would validate them). /healthz
// answers for readiness checks.
func GoSDK() http.Handler {
	s := mcp.NewServer(&mcp.Implementation{Name: "baseline-gosdk", Version: "1.0.0"}, nil)
	s.AddTool(&mcp.Tool{
		Name:        "echo",
		Description: "Returns its message.",
		InputSchema: json.RawMessage(EchoSchema),
	}, func(_ context.Context, req *mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		var args struct {
			Message string `json:"message"`
		}
		if err := json.Unmarshal(req.Params.Arguments, &args); err != nil {
			return &mcp.CallToolResult{IsError: true, Content: []mcp.Content{&mcp.TextContent{Text: "arguments: " + err.Error()}}}, nil
		}
		return &mcp.CallToolResult{Content: []mcp.Content{&mcp.TextContent{Text: args.Message}}}, nil
	})
	mux := http.NewServeMux()
	mux.Handle("/mcp", mcp.NewStreamableHTTPHandler(func(*http.Request) *mcp.Server { return s },
		&mcp.StreamableHTTPOptions{Stateless: true, JSONResponse: true}))
	mux.HandleFunc("/healthz", health)
	return mux
}
