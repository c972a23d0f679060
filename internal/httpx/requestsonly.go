package httpx

import (
	"encoding/json"
	"mime"
	"net/http"
)

// RequestsOnly lets only JSON-RPC requests reach next, the stateless mcp-go
// handler. A notification or a response posted by a client is answered 202
// Accepted, as the transport asks, and dropped.
//
// Why: mcp-go (v1.2.1) finds what a client message acts on by keys the
// client chooses. notifications/cancelled cancels the in-flight request
// keyed "<Mcp-Session-Id>:<requestId>", and in stateless mode the session id
// is empty or whatever the client sends, so anyone could cancel anyone's
// call; a response is delivered to a pending server request by session id
// and a counter. Here every POST is its own request stream, so no client
// notification or response can legitimately concern another POST's call,
// and none has any other effect in stateless mode. A client still cancels
// its own call by closing its connection, which ends the request context.
//
// The body is decoded as mcp-go decodes it (encoding/json, into the same
// shapes), so escapes such as "notifications\/cancelled", duplicate or
// differently cased keys, and "id": null are judged as mcp-go would judge
// them. What mcp-go refuses before handling (not JSON, a batch, another
// content type) passes through, so its answer stays the same. At most max
// bytes are read: this must sit inside authentication and the body limit,
// and holds the limit itself should it ever be moved.
func RequestsOnly(max int64, next http.Handler) http.Handler {
	return LimitBody(max, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Method != http.MethodPost || r.Body == nil || !jsonContent(r) {
			next.ServeHTTP(w, r)
			return
		}
		body, ok := Buffered(r) // LimitBody read it; look without copying
		if !ok {
			WriteJSONRPCError(w, http.StatusBadRequest, CodeParseError, "request body could not be read")
			return
		}
		if !isRequest(body) {
			w.WriteHeader(http.StatusAccepted)
			return
		}
		next.ServeHTTP(w, r)
	}))
}

// jsonContent mirrors mcp-go's content-type check: anything else it
// refuses with 400 before reading the message.
func jsonContent(r *http.Request) bool {
	mt, _, err := mime.ParseMediaType(r.Header.Get("Content-Type"))
	return err == nil && mt == "application/json"
}

// isRequest reports whether mcp-go would treat body as something other
// than a notification or a client response: a request, or a message it
// refuses without acting on it. It follows mcp-go's two decodes in order:
// StreamableHTTPServer.handlePost, then MCPServer.HandleMessage.
func isRequest(body []byte) bool {
	var post struct {
		ID     json.RawMessage `json:"id"`
		Result json.RawMessage `json:"result,omitempty"`
		Error  json.RawMessage `json:"error,omitempty"`
		Method string          `json:"method,omitempty"`
	}
	if json.Unmarshal(body, &post) != nil {
		return true // parse error (batches too): refused
	}
	if post.Method == "" && post.ID != nil {
		return false // a response: acknowledged or delivered to a pending server request
	}
	if post.ID != nil && string(post.ID) != "null" {
		// The second decode sees the same last "id", not null: whatever else
		// it finds (an error, another version), the answer is true. So a
		// request, the common case, is decoded once.
		return true
	}
	var msg struct {
		JSONRPC string `json:"jsonrpc"`
		Method  string `json:"method"`
		ID      any    `json:"id,omitempty"`
		Result  any    `json:"result,omitempty"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.JSONRPC != "2.0" {
		return true // refused with an error response
	}
	return msg.ID != nil // no id ("id": null too) is a notification
}
