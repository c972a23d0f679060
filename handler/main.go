// Command snippets-mcp is the Azure Functions custom handler that serves MCP.
package main

func main() {}
