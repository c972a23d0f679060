package tools

import (
	"context"
	"fmt"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/auth"
	"github.com/snippets-mcp/server/internal/snippets"
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

// SnippetContent is a snippet with its content.
type SnippetContent struct {
	Snippet
	Content string `json:"content"`
}

// SnippetList is one page of a listing.
type SnippetList struct {
	Snippets   []Snippet `json:"snippets"`
	NextCursor string    `json:"nextCursor,omitempty" jsonschema:"pass as cursor to get the next page; absent on the last page"`
}

func toSnippet(s snippets.Snippet) Snippet {
	return Snippet{Name: s.Name, Shared: s.Shared, Size: s.Size, SHA256: s.SHA256, ETag: s.ETag,
		Created: s.Created.UTC().Format(time.RFC3339), Updated: s.Updated.UTC().Format(time.RFC3339)}
}

func nameArg(opts ...mcp.PropertyOption) mcp.ToolOption {
	base := []mcp.PropertyOption{
		mcp.Description("Snippet name: " + snippets.NameRule + "."),
		// The pattern is enforced by the store, whose message says what
		// is allowed; a schema pattern failure would only say "no match".
		mcp.MinLength(1), mcp.MaxLength(snippets.MaxNameLen),
	}
	return mcp.WithString("snippetname", append(base, opts...)...)
}

func sharedArg(verb string) mcp.ToolOption {
	return mcp.WithBoolean("shared", mcp.Description("true to "+verb+" the tenant's shared space instead of your private one"), mcp.DefaultBool(false))
}

func (s *Server) snippetTools() []spec {
	return []spec{
		{
			class: auth.ClassWrite,
			tool: mcp.NewTool("save_snippet",
				mcp.WithTitleAnnotation("Save snippet"),
				mcp.WithDescription("Create or replace a text snippet. Updates are checked against concurrent changes: "+
					"pass the etag you read to update only that version; a conflicting save is refused, never lost silently."),
				nameArg(mcp.Required()),
				mcp.WithString("snippet", mcp.Required(), mcp.Description("The snippet text (UTF-8).")),
				sharedArg("save in"),
				mcp.WithString("etag", mcp.Description("Update only if the stored version still has this etag.")),
				mcp.WithOutputSchema[Snippet](),
				mcp.WithReadOnlyHintAnnotation(false),
				mcp.WithDestructiveHintAnnotation(true), // it may replace existing content
				mcp.WithIdempotentHintAnnotation(true),
				mcp.WithOpenWorldHintAnnotation(false),
			),
			handler: s.saveSnippet,
		},
		{
			class: auth.ClassRead,
			tool: mcp.NewTool("get_snippet",
				mcp.WithTitleAnnotation("Get snippet"),
				mcp.WithDescription("Read a snippet by name: its text and metadata."),
				nameArg(mcp.Required()),
				sharedArg("read from"),
				mcp.WithOutputSchema[SnippetContent](),
				mcp.WithReadOnlyHintAnnotation(true),
				mcp.WithDestructiveHintAnnotation(false),
				mcp.WithIdempotentHintAnnotation(true),
				mcp.WithOpenWorldHintAnnotation(false),
			),
			handler: s.getSnippet,
		},
		{
			class: auth.ClassRead,
			tool: mcp.NewTool("list_snippets",
				mcp.WithTitleAnnotation("List snippets"),
				mcp.WithDescription("List snippet names and metadata, a page at a time, optionally only names starting with a prefix."),
				mcp.WithString("prefix", mcp.Description("Only names starting with this."), mcp.MaxLength(snippets.MaxNameLen)),
				mcp.WithString("cursor", mcp.Description("nextCursor from the previous page."), mcp.MaxLength(1024)),
				mcp.WithInteger("limit", mcp.Description("Page size."), mcp.Min(1), mcp.Max(100), mcp.DefaultNumber(50)),
				sharedArg("list"),
				mcp.WithOutputSchema[SnippetList](),
				mcp.WithReadOnlyHintAnnotation(true),
				mcp.WithDestructiveHintAnnotation(false),
				mcp.WithIdempotentHintAnnotation(true),
				mcp.WithOpenWorldHintAnnotation(false),
			),
			handler: s.listSnippets,
		},
		{
			class: auth.ClassRead,
			tool: mcp.NewTool("whoami",
				mcp.WithTitleAnnotation("Who am I"),
				mcp.WithDescription("Show who the server thinks you are: tenant, object id, calling app, scopes, roles and the tools you may use. Never shows tokens."),
				mcp.WithOutputSchema[Whoami](),
				mcp.WithReadOnlyHintAnnotation(true),
				mcp.WithDestructiveHintAnnotation(false),
				mcp.WithIdempotentHintAnnotation(true),
				mcp.WithOpenWorldHintAnnotation(false),
			),
			handler: s.whoami,
		},
	}
}

// space picks the caller's private space, or the tenant's shared space.
// Writing to the shared space needs Snippets.Write on top of the tool's rule.
func (s *Server) space(ctx context.Context, id *auth.Identity, req mcp.CallToolRequest, write bool) (snippets.Space, *mcp.CallToolResult) {
	if !req.GetBool("shared", false) {
		return snippets.Private(id.TenantID, id.ObjectID), nil
	}
	if write && !id.HasRole(auth.RoleWrite) {
		return snippets.Space{}, fail(ctx, audit.ResultDenied, "writing to the shared space needs the Snippets.Write app role; ask an administrator to assign it, or save without shared=true")
	}
	return snippets.Shared(id.TenantID), nil
}

func (s *Server) saveSnippet(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	id, denied := caller(ctx)
	if denied != nil {
		return denied, nil
	}
	sp, denied := s.space(ctx, id, req, true)
	if denied != nil {
		return denied, nil
	}
	name := req.GetString("snippetname", "")
	sn, err := s.Snippets.Save(ctx, sp, name, req.GetString("snippet", ""),
		snippets.SaveOptions{IfMatch: req.GetString("etag", ""), Author: id.ObjectID})
	if err != nil {
		return s.storeError(ctx, "save", name, err), nil
	}
	out := toSnippet(sn)
	return mcp.NewToolResultStructured(out, fmt.Sprintf("Saved snippet %q (%d bytes, etag %s).", sn.Name, sn.Size, sn.ETag)), nil
}

func (s *Server) getSnippet(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	id, denied := caller(ctx)
	if denied != nil {
		return denied, nil
	}
	sp, _ := s.space(ctx, id, req, false)
	name := req.GetString("snippetname", "")
	sn, err := s.Snippets.Get(ctx, sp, name)
	if err != nil {
		return s.storeError(ctx, "get", name, err), nil
	}
	// The text content is the snippet itself, as the Python sample returns it.
	return mcp.NewToolResultStructured(SnippetContent{Snippet: toSnippet(sn), Content: sn.Content}, sn.Content), nil
}

func (s *Server) listSnippets(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	id, denied := caller(ctx)
	if denied != nil {
		return denied, nil
	}
	sp, _ := s.space(ctx, id, req, false)
	prefix := req.GetString("prefix", "")
	page, err := s.Snippets.List(ctx, sp, prefix, req.GetString("cursor", ""), int32(req.GetInt("limit", 50)))
	if err != nil {
		return s.storeError(ctx, "list", prefix, err), nil
	}
	out := SnippetList{Snippets: make([]Snippet, 0, len(page.Items)), NextCursor: page.NextCursor}
	for _, it := range page.Items {
		out.Snippets = append(out.Snippets, toSnippet(it))
	}
	text := fmt.Sprintf("%d snippets", len(out.Snippets))
	if out.NextCursor != "" {
		text += " (more: pass nextCursor as cursor)"
	}
	return mcp.NewToolResultStructured(out, text), nil
}
