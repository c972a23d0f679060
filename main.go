// Command snippets-mcp is the Azure Functions custom handler of the snippets
// MCP server. It lives at the repository root because azd's `language: go`
// service builds exactly `go build -o app .` in the project folder.
package main

import "github.com/snippets-mcp/server/handler"

func main() { handler.Main() }
