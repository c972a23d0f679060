// Command baseline-gosdk serves baseline.GoSDK, the official Go SDK
// (github.com/modelcontextprotocol/go-sdk) stateless server with the same
// echo tool as baseline-mcp, for the bench driver's peer comparison. It
// listens on 127.0.0.1 at FUNCTIONS_CUSTOMHANDLER_PORT (default 7083),
// like the server, so all start the same way.
package main

import (
	"fmt"
	"os"

	"github.com/snippets-mcp/server/bench/baseline"
)

func main() {
	if err := baseline.Serve(baseline.GoSDK(), "7083"); err != nil {
		fmt.Fprintln(os.Stderr, "baseline-gosdk:", err)
		os.Exit(1)
	}
}
