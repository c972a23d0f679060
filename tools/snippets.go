package tools

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/policy"
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

// SaveResult is the outcome of save_snippet: the stored snippet, or, when
// the save waits for an approval, the version it would replace.
type SaveResult struct {
	Snippet
	Status     string `json:"status" jsonschema:"saved, or approval_required"`
	ApprovalID string `json:"approvalId,omitempty" jsonschema:"id of the approval request to have approved, then pass as approval_id"`
	ExpiresAt  string `json:"expiresAt,omitempty"`
	Next       string `json:"next,omitempty" jsonschema:"what to do next"`
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
			class: policy.ClassWrite,
			tool: mcp.NewTool("save_snippet",
				mcp.WithTitleAnnotation("Save snippet"),
				mcp.WithDescription("Create or replace a text snippet. Updates are checked against concurrent changes: "+
					"pass the etag you read to update only that version; a conflicting save is refused, never lost silently. "+
					"Replacing a shared snippet that another person wrote last is destructive, like a delete: the first call returns an approvalId and changes nothing; "+
					"once another person with Snippets.Approve approves, call again with the same arguments and approval_id. "+
					"Your own snippets, private or shared, you replace freely. Empty content is refused: use delete_snippet."),
				nameArg(mcp.Required()),
				mcp.WithString("snippet", mcp.Required(), mcp.Description("The snippet text (UTF-8), not empty."), mcp.MinLength(1)),
				sharedArg("save in"),
				mcp.WithString("etag", mcp.Description("Update only if the stored version still has this etag.")),
				approvalIDArg("Id of an approved request to replace another person's shared snippet."),
				mcp.WithOutputSchema[SaveResult](),
				mcp.WithReadOnlyHintAnnotation(false),
				mcp.WithDestructiveHintAnnotation(true), // it may replace existing content
				mcp.WithIdempotentHintAnnotation(true),
				mcp.WithOpenWorldHintAnnotation(false),
			),
			handler: s.saveSnippet,
		},
		{
			class: policy.ClassRead,
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
			class: policy.ClassRead,
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
			class: policy.ClassRead,
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
func (s *Server) space(ctx context.Context, id *identity.Identity, req mcp.CallToolRequest, write bool) (snippets.Space, *mcp.CallToolResult) {
	if !req.GetBool("shared", false) {
		return snippets.Private(id.TenantID, id.ObjectID), nil
	}
	if write && !id.HasRole(identity.RoleWrite) {
		return snippets.Space{}, fail(ctx, audit.ResultDenied, "writing to the shared space needs the Snippets.Write app role; ask an administrator to assign it, or save without shared=true")
	}
	return snippets.Shared(id.TenantID), nil
}

var heldOverwrite = held{tool: "save_snippet", action: "overwrite", nothing: "nothing was saved"}

func (s *Server) saveSnippet(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
	id, denied := caller(ctx)
	if denied != nil {
		return denied, nil
	}
	sp, denied := s.space(ctx, id, req, true)
	if denied != nil {
		return denied, nil
	}
	name, content := req.GetString("snippetname", ""), req.GetString("snippet", "")
	// In the shared space, replacing what another identity wrote destroys
	// their content: it is held for an approval like a delete.
	opts := snippets.SaveOptions{IfMatch: req.GetString("etag", ""), Author: id.ObjectID, KeepOthers: sp.IsShared()}
	digest := argsDigest(heldOverwrite.tool, req.GetArguments())
	saved := func(sn snippets.Snippet) *mcp.CallToolResult {
		return answer(SaveResult{Snippet: toSnippet(sn), Status: "saved"},
			fmt.Sprintf("Saved snippet %q (%d bytes, etag %s).", sn.Name, sn.Size, sn.ETag))
	}
	if approvalID := req.GetString("approval_id", ""); approvalID != "" {
		callFrom(ctx).set(func(c *call) { c.approvalRequired = true })
		r, res := s.useApproval(ctx, id, heldOverwrite, approvalID, digest)
		if res != nil {
			return res, nil
		}
		opts.IfMatch, opts.KeepOthers = r.TargetETag, false
		sn, err := s.Snippets.Save(ctx, sp, name, content, opts)
		return s.afterApproved(ctx, heldOverwrite, r, name, err, func() *mcp.CallToolResult { return saved(sn) }), nil
	}
	sn, err := s.Snippets.Save(ctx, sp, name, content, opts)
	var others *snippets.OthersContentError
	if errors.As(err, &others) {
		cur := others.Current
		callFrom(ctx).set(func(c *call) { c.approvalRequired = true })
		r, res := s.requestApproval(ctx, id, heldOverwrite, digest, cur.ETag,
			fmt.Sprintf("replace shared snippet %q (version %s, last written by %s) with %d bytes from %s", name, cur.ETag, cur.UpdatedBy, len(content), who(id.Person(), id.ObjectID)))
		if res != nil {
			return res, nil
		}
		next := nextAfterRequest(heldOverwrite, r)
		return answer(SaveResult{Snippet: toSnippet(cur), Status: "approval_required", ApprovalID: r.ID,
			ExpiresAt: r.ExpiresAt.Format(time.RFC3339), Next: next},
			fmt.Sprintf("Approval required: shared snippet %q was last written by someone else (%s). %s", name, cur.UpdatedBy, next)), nil
	}
	if err != nil {
		return s.storeError(ctx, "save", name, err), nil
	}
	return saved(sn), nil
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
	// The first text block is the snippet itself, as the Python sample
	// returns it; the second its metadata (the etag to update it with), not
	// the content again.
	meta := toSnippet(sn)
	return answerJSON(SnippetContent{Snippet: meta, Content: sn.Content}, sn.Content, meta), nil
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
	return answer(out, listText(out)), nil
}

// listText names every snippet of the page with what an update needs,
// and the cursor of the next page.
func listText(l SnippetList) string {
	var b strings.Builder
	b.WriteString(plural(len(l.Snippets), "snippet", "snippets"))
	for i, sn := range l.Snippets {
		sep := ", "
		if i == 0 {
			sep = ": "
		}
		fmt.Fprintf(&b, "%s%s (%d bytes, etag %s)", sep, sn.Name, sn.Size, sn.ETag)
	}
	b.WriteString(".")
	if l.NextCursor != "" {
		fmt.Fprintf(&b, " More: call list_snippets again with cursor %s (and the same prefix).", l.NextCursor)
	}
	return b.String()
}
