// Command baseline-http serves baseline.HTTP, the floor of the
// framework-overhead benchmark: a bare net/http handler with a fixed
// JSON-RPC response. It listens on 127.0.0.1 at
// FUNCTIONS_CUSTOMHANDLER_PORT (default 7082).
package main

import (
	"fmt"
	"os"

	"github.com/snippets-mcp/server/bench/baseline"
)

func main() {
	if err := baseline.Serve(baseline.HTTP(), "7082"); err != nil {
		fmt.Fprintln(os.Stderr, "baseline-http:", err)
		os.Exit(1)
	}
}
