package httpx

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"slices"
	"strings"
)

// CheckProtocol refuses, before mcp-go, two requests it answers wrongly
// (v1.2.1): an MCP-Protocol-Version header naming a version it does not
// speak, which it serves on initialize with 200 where the transport asks
// for 400; and a JSON-RPC batch, which it calls "not valid json" although
// it is, where the right answer is that batches are not supported (MCP
// removed them in 2025-06-18). versions are the versions served. Wire it
// after LimitBody: it reads the body, which is then in memory.
func CheckProtocol(versions []string, next http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if v := r.Header.Get("Mcp-Protocol-Version"); v != "" && !slices.Contains(versions, v) {
			WriteJSONRPCError(w, http.StatusBadRequest, CodeInvalidRequest,
				fmt.Sprintf("unsupported MCP-Protocol-Version %.40q; this server speaks %s", v, strings.Join(versions, ", ")))
			return
		}
		if r.Method == http.MethodPost && r.Body != nil {
			body, ok := Buffered(r) // LimitBody read it: look without copying
			if !ok {
				var err error
				if body, err = io.ReadAll(r.Body); err != nil {
					WriteJSONRPCError(w, http.StatusBadRequest, CodeParseError, "request body could not be read")
					return
				}
				r.Body = &bufferedBody{Reader: bytes.NewReader(body), b: body}
			}
			if trimmed := bytes.TrimLeft(body, " \t\r\n"); len(trimmed) > 0 && trimmed[0] == '[' {
				WriteJSONRPCError(w, http.StatusBadRequest, CodeInvalidRequest,
					"JSON-RPC batches are not supported (MCP removed them in 2025-06-18); send one request per POST")
				return
			}
		}
		next.ServeHTTP(w, r)
	})
}
