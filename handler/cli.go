package handler

import (
	"fmt"
	"io"
)

// usage is what --help prints. The server is configured by environment
// variables only (as the Functions host passes them), so it takes no flags.
const usage = `snippets-mcp: the snippets MCP server (stateless Streamable HTTP on /mcp).

Usage:
  snippets-mcp             start the server, configured by the environment
  snippets-mcp --help      print this help and exit
  snippets-mcp --version   print the version and exit

Configuration (environment; see README.md and docs/):
  MCP_AUTH_MODE                 dev | easyauth | jwt (required)
  SNIPPETS_STORAGE              Blob Storage connection (or AzureWebJobsStorage)
  FUNCTIONS_CUSTOMHANDLER_PORT  port to listen on (default 7071)
  MCP_AUTH_ISSUER, MCP_AUTH_AUDIENCE   jwt mode
  MCP_TOOL_TIMEOUT, MCP_TOOL_POLICY, MCP_APPROVAL_TTL, MCP_MAX_BODY_BYTES

Endpoints: /mcp, /healthz (liveness), /readyz (storage usable).
`

// command handles the command line before anything starts: --help and
// --version answer and exit 0 without reading configuration or listening.
// done is false when the server should start. Anything else is refused
// (exit 2) rather than ignored, so a typo never starts a server.
func command(args []string, stdout, stderr io.Writer) (code int, done bool) {
	if len(args) == 0 {
		return 0, false
	}
	switch args[0] {
	case "-h", "-help", "--help", "help":
		fmt.Fprint(stdout, usage)
		return 0, true
	case "-version", "--version", "version":
		fmt.Fprintln(stdout, "snippets-mcp", version())
		return 0, true
	}
	fmt.Fprintf(stderr, "snippets-mcp: unknown argument %q; the server takes no arguments, it is configured by environment variables.\n\n%s", args[0], usage)
	return 2, true
}
