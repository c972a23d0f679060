// Command baseline-mcp serves baseline.MCP, the bare mcp-go stateless
// server with one echo tool that the bench driver compares the full server
// against. It listens on 127.0.0.1 at FUNCTIONS_CUSTOMHANDLER_PORT
// (default 7081), like the server, so both start the same way.
package main

import (
	"fmt"
	"os"

	"github.com/snippets-mcp/server/bench/baseline"
)

func main() {
	if err := baseline.Serve(baseline.MCP(), "7081"); err != nil {
		fmt.Fprintln(os.Stderr, "baseline-mcp:", err)
		os.Exit(1)
	}
}
