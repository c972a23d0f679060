package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/policy"
	"github.com/snippets-mcp/server/internal/snippets"
)

// Argument names, as clients send them. Each tool's argument struct uses
// the same names in its json tags (newTool checks that they match).
const (
	argSnippetName = "snippetname"
	argSnippet     = "snippet"
	argShared      = "shared"
	argETag        = "etag"
	argApprovalID  = "approval_id"
	argPrefix      = "prefix"
	argCursor      = "cursor"
	argLimit       = "limit"
	argID          = "id"
	argReason      = "reason"
)

// Values of the status field of save and delete results.
const (
	statusSaved            = "saved"
	statusDeleted          = "deleted"
	statusApprovalRequired = "approval_required"
)

// Snippet is the structured form of a snippet in tool results.
type Snippet struct {
	Name    string `json:"name"`
	Shared  bool   `json:"shared"`
	Size    int64  `json:"size" jsonschema:"content length in bytes"`
	SHA256  string `json:"sha256" jsonschema:"hex SHA-256 of the content"`
	ETag    string `json:"etag" jsonschema:"version tag; pass it to save_snippet to update only this version"`
	Created string `json:"created" jsonschema:"RFC 3339 time of creation"`
	Updated string `json:"updated" jsonschema:"RFC 3339 time of the last change"`
}

func toSnippet(s snippets.Snippet) Snippet {
	return Snippet{Name: s.Name, Shared: s.Shared, Size: s.Size, SHA256: s.SHA256, ETag: s.ETag,
		Created: s.Created.UTC().Format(time.RFC3339), Updated: s.Updated.UTC().Format(time.RFC3339)}
}

// nameArg is the snippetname argument of the snippet tools.
func nameArg(opts ...mcp.PropertyOption) mcp.ToolOption {
	base := []mcp.PropertyOption{
		mcp.Description("Snippet name: " + snippets.NameRule + "."),
		// The pattern is enforced by the store, whose message says what
		// is allowed; a schema pattern failure would only say "no match".
		mcp.MinLength(1), mcp.MaxLength(snippets.MaxNameLen),
	}
	return mcp.WithString(argSnippetName, append(base, opts...)...)
}

// sharedArg is the shared argument: which space a tool works on.
func sharedArg(verb string) mcp.ToolOption {
	return mcp.WithBoolean(argShared, mcp.Description("true to "+verb+" the tenant's shared space instead of your private one"), mcp.DefaultBool(false))
}

// cursorArg and limitArg page a listing.
func cursorArg(maxLen int) mcp.ToolOption {
	return mcp.WithString(argCursor, mcp.Description("nextCursor from the previous page."), mcp.MaxLength(maxLen))
}

func limitArg(def float64) mcp.ToolOption {
	return mcp.WithInteger(argLimit, mcp.Description("Page size."), mcp.Min(1), mcp.Max(100), mcp.DefaultNumber(def))
}

// writeSpace is the space a write goes to, when the policy lets the
// caller write there (by default the shared space needs Snippets.Write on
// top of the tool's rule).
func (s *Server) writeSpace(ctx context.Context, id *identity.Identity, shared bool) (snippets.Space, error) {
	d := s.engine.Decide(policy.Request{Principal: s.principal(ctx), Action: policy.ActionWrite, Resource: policy.SpaceResource(shared)})
	if !d.Allowed {
		return snippets.Space{}, fail(audit.ResultDenied, d.Message)
	}
	return spaceOf(id, shared), nil
}

func spaceName(sp snippets.Space) string {
	if sp.IsShared() {
		return "tenant's shared space"
	}
	return "private space"
}

func plural(n int, one, many string) string {
	if n == 1 {
		return "1 " + one
	}
	return fmt.Sprintf("%d %s", n, many)
}
