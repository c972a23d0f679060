package tools

import (
	"context"
	"net/http"
	"sync"
	"time"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/policy"
)

// call is what one request learns on its way through the server, for its
// audit event: when it started, what the request said of itself, and what
// the tool decided. Tool handlers fill in the outcome fields.
type call struct {
	start           time.Time
	traceparent     string
	protocolVersion string
	sessionID       string

	mu               sync.Mutex
	resultCode       audit.ResultCode // set by a handler when a result is an error it classified
	message          string           // safe outcome text: never argument values
	approvalRequired bool
	approvalResult   audit.ApprovalResult
	downstream       string
	authzMode        string
	principal        policy.Principal // the caller for the policy engine, once built
	hasPrincipal     bool
}

type callKey struct{}

// ContextFunc records request facts in the context for the audit event.
// The handler passes it to mcp-go's WithHTTPContextFunc.
func ContextFunc(ctx context.Context, r *http.Request) context.Context {
	return context.WithValue(ctx, callKey{}, &call{
		start:           time.Now(),
		traceparent:     r.Header.Get("Traceparent"),
		protocolVersion: r.Header.Get("Mcp-Protocol-Version"),
		sessionID:       r.Header.Get("Mcp-Session-Id"),
	})
}

// callFrom returns the request's call record; a detached one when the
// context has none (in-process use, tests), so handlers never check nil.
func callFrom(ctx context.Context) *call {
	if c, ok := ctx.Value(callKey{}).(*call); ok {
		return c
	}
	return &call{start: time.Now()}
}

func (c *call) set(f func(c *call)) {
	c.mu.Lock()
	defer c.mu.Unlock()
	f(c)
}
