package snippets

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/snippets-mcp/server/internal/storage"
)

// Container is the Blob container that holds snippets.
const Container = "snippets"

// Metadata keys on each blob (Blob metadata names must be C# identifiers).
const (
	metaCreated   = "created"
	metaSHA256    = "sha256"
	metaCreatedBy = "createdby"
	metaUpdatedBy = "updatedby"
	metaWriteID   = "writeid" // random per write: identifies a write whose reply was lost
)

// Store keeps snippets in one Blob container.
type Store struct {
	c       *container.Client
	maxSize int64
}

// NewStore returns a store on the snippets container of client. maxSize
// bounds a snippet's content in bytes.
func NewStore(client *azblob.Client, maxSize int64) *Store {
	return &Store{c: client.ServiceClient().NewContainerClient(Container), maxSize: maxSize}
}

// MaxSize is the content limit in bytes.
func (s *Store) MaxSize() int64 { return s.maxSize }

// Save writes a snippet in one Put Blob request, so a reader sees the old
// content or the new, never a part. Without IfMatch it still writes
// conditionally on the version it read first: a concurrent writer makes
// one of the two saves fail with ErrConflict instead of vanishing.
//
// Every answer is definite except ErrAmbiguous: a nil error means the
// content is stored, ErrConflict that this call's content was not stored,
// ErrUnavailable that the write did not happen. Each write carries a
// random write id in its metadata, so that when a reply was lost (and the
// SDK's retry then met its own earlier write) a read tells whether the
// stored version is this call's.
func (s *Store) Save(ctx context.Context, sp Space, name, content string, o SaveOptions) (Snippet, error) {
	if err := s.checkContent(name, content); err != nil {
		return Snippet{}, err
	}
	bc := s.c.NewBlockBlobClient(sp.prefix() + name)
	now := time.Now().UTC()
	w, err := s.precondition(ctx, bc, sp, name, o, now)
	if err != nil {
		return Snippet{}, err
	}
	sum := sha256.Sum256([]byte(content))
	digest := hex.EncodeToString(sum[:])
	writeID := storage.NewWriteID()
	tctx, tries := storage.Track(ctx)
	resp, err := bc.Upload(tctx, streaming.NopCloser(bytes.NewReader([]byte(content))), &blockblob.UploadOptions{
		Metadata: map[string]*string{
			metaCreated:   to.Ptr(w.created.Format(time.RFC3339Nano)),
			metaSHA256:    to.Ptr(digest),
			metaCreatedBy: to.Ptr(w.createdBy),
			metaUpdatedBy: to.Ptr(o.Author),
			metaWriteID:   to.Ptr(writeID),
		},
		HTTPHeaders:      &blob.HTTPHeaders{BlobContentType: to.Ptr("text/plain; charset=utf-8")},
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: w.cond},
	})
	if err != nil {
		return s.settleSave(ctx, bc, sp, name, writeID, tries, err)
	}
	updated := now
	if resp.LastModified != nil {
		updated = resp.LastModified.UTC()
	}
	return Snippet{
		Name: name, Shared: sp.IsShared(), Size: int64(len(content)), SHA256: digest,
		ETag: QuoteETag(string(*resp.ETag)), Created: w.created, Updated: updated,
		CreatedBy: w.createdBy, UpdatedBy: o.Author,
	}, nil
}

// checkContent refuses what may never be stored: a bad name, content over
// the size limit, not UTF-8, or empty.
func (s *Store) checkContent(name, content string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	if n := int64(len(content)); n > s.maxSize {
		return &TooLargeError{Size: n, Max: s.maxSize}
	}
	if !utf8.ValidString(content) {
		return &InvalidError{Msg: "snippet content is not valid UTF-8 text"}
	}
	if strings.TrimSpace(content) == "" {
		// Emptying a snippet destroys it as surely as deleting it, without
		// the approval a delete needs.
		return &InvalidError{Msg: "snippet content is empty; to remove a snippet, use delete_snippet"}
	}
	return nil
}

// write is what a save learned from the version it read: the condition
// its upload carries and the creation fields it keeps.
type write struct {
	cond      *blob.ModifiedAccessConditions
	created   time.Time
	createdBy string
}

// precondition reads the current version and decides the upload's
// condition: If-Match on what was read, or If-None-Match: * for a new
// snippet. It refuses a save the options rule out (another version than
// IfMatch, someone else's content under KeepOthers).
func (s *Store) precondition(ctx context.Context, bc *blockblob.Client, sp Space, name string, o SaveOptions, now time.Time) (write, error) {
	w := write{cond: &blob.ModifiedAccessConditions{}, created: now, createdBy: o.Author}
	props, err := bc.GetProperties(ctx, nil)
	switch {
	case err == nil:
		if o.IfMatch != "" && !SameETag(string(*props.ETag), o.IfMatch) {
			return write{}, fmt.Errorf("save snippet %q: %w", name, ErrConflict)
		}
		if o.KeepOthers && storage.Meta(props.Metadata, metaUpdatedBy) != o.Author {
			cur := fromProps(name, sp, props.ETag, props.LastModified, props.Metadata)
			if props.ContentLength != nil {
				cur.Size = *props.ContentLength
			}
			return write{}, &OthersContentError{Current: cur}
		}
		w.cond.IfMatch = props.ETag
		if t, perr := time.Parse(time.RFC3339Nano, storage.Meta(props.Metadata, metaCreated)); perr == nil {
			w.created = t
		}
		w.createdBy = storage.Meta(props.Metadata, metaCreatedBy)
	case storage.IsNotFound(err):
		if o.IfMatch != "" {
			return write{}, fmt.Errorf("save snippet %q: %w", name, ErrNotFound)
		}
		w.cond.IfNoneMatch = to.Ptr(azcore.ETagAny)
	default:
		return write{}, s.wrap("save", name, err)
	}
	return w, nil
}

// settleSave turns a failed upload into a true answer. A precondition
// failure is someone else's change only when no earlier attempt of this
// call may have landed; any other failure is definite only when no attempt
// may have landed. Otherwise the stored version's write id decides, and
// when it cannot, the answer is ErrAmbiguous.
func (s *Store) settleSave(ctx context.Context, bc *blockblob.Client, sp Space, name, writeID string, tries *storage.Tries, err error) (Snippet, error) {
	conflict := storage.IsConditionFailed(err)
	if conflict && !tries.EarlierMayHaveApplied() || !conflict && !tries.MayHaveApplied() {
		return Snippet{}, s.wrap("save", name, err)
	}
	sctx, cancel := storage.SettleContext(ctx)
	defer cancel()
	props, perr := bc.GetProperties(sctx, nil)
	if perr == nil && storage.Meta(props.Metadata, metaWriteID) == writeID {
		sn := fromProps(name, sp, props.ETag, props.LastModified, props.Metadata)
		if props.ContentLength != nil {
			sn.Size = *props.ContentLength
		}
		return sn, nil
	}
	return Snippet{}, fmt.Errorf("save snippet %q: %w (%s)", name, ErrAmbiguous, storage.Reason(err))
}

// SameETag compares two ETags, ignoring the quotes some clients drop.
func SameETag(a, b string) bool { return strings.Trim(a, `"`) == strings.Trim(b, `"`) }

// QuoteETag gives an ETag its HTTP form, in quotes. The service quotes
// ETags in headers but not in listings; callers get one form everywhere,
// so an etag from any answer can be passed back and compared as text.
func QuoteETag(e string) string {
	if e == "" {
		return ""
	}
	return `"` + strings.Trim(e, `"`) + `"`
}

// Get reads a snippet and checks its digest.
func (s *Store) Get(ctx context.Context, sp Space, name string) (Snippet, error) {
	if err := ValidateName(name); err != nil {
		return Snippet{}, err
	}
	resp, err := s.c.NewBlockBlobClient(sp.prefix()+name).DownloadStream(ctx, nil)
	if err != nil {
		return Snippet{}, s.wrap("get", name, err)
	}
	defer resp.Body.Close()
	// Read at most one byte past the limit: a blob put there by other means
	// must not make the server buffer an unbounded body.
	data, err := io.ReadAll(io.LimitReader(resp.Body, s.maxSize+1))
	if err != nil {
		return Snippet{}, s.wrap("get", name, err)
	}
	if int64(len(data)) > s.maxSize {
		return Snippet{}, fmt.Errorf("get snippet %q: %w", name, &TooLargeError{Size: *resp.ContentLength, Max: s.maxSize})
	}
	sn := fromProps(name, sp, resp.ETag, resp.LastModified, resp.Metadata)
	sn.Size = int64(len(data))
	sn.Content = string(data)
	sum := sha256.Sum256(data)
	if got := hex.EncodeToString(sum[:]); sn.SHA256 == "" {
		sn.SHA256 = got
	} else if got != sn.SHA256 {
		return Snippet{}, fmt.Errorf("get snippet %q: stored digest does not match content: %w", name, ErrUnavailable)
	}
	return sn, nil
}

// List returns one page of the space's snippets whose names start with
// prefix. cursor is the NextCursor of the previous page.
//
// The cursor names the last snippet of the previous page, not the
// service's marker: a marker spells out the blob path (tenant and object
// ids, the storage layout). Resuming after a name means listing from the
// start of the prefix and skipping, which costs one pass over the names
// before the cursor; spaces hold few enough snippets for that.
func (s *Store) List(ctx context.Context, sp Space, prefix, cursor string, limit int32) (Page, error) {
	if err := ValidatePrefix(prefix); err != nil {
		return Page{}, err
	}
	after, err := decodeCursor(cursor)
	if err != nil {
		return Page{}, err
	}
	if after != "" && !strings.HasPrefix(after, prefix) {
		return Page{}, errBadCursor
	}
	size := limit + 1 // one more than asked: tells whether there is a next page
	if after != "" {
		size = 5000 // skipping: the largest page the service gives
	}
	pager := s.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Prefix:     to.Ptr(sp.prefix() + prefix),
		MaxResults: to.Ptr(size),
		Include:    container.ListBlobsInclude{Metadata: true},
	})
	var items []Snippet
	for pager.More() && int32(len(items)) <= limit {
		resp, err := pager.NextPage(ctx)
		if err != nil {
			return Page{}, s.wrap("list", prefix, err)
		}
		for _, b := range resp.Segment.BlobItems {
			if b.Name == nil || b.Properties == nil {
				continue
			}
			name := strings.TrimPrefix(*b.Name, sp.prefix())
			if name <= after {
				continue
			}
			sn := fromProps(name, sp, b.Properties.ETag, b.Properties.LastModified, b.Metadata)
			if b.Properties.ContentLength != nil {
				sn.Size = *b.Properties.ContentLength
			}
			items = append(items, sn)
		}
	}
	var p Page
	if int32(len(items)) > limit {
		items = items[:limit]
		p.NextCursor = encodeCursor(items[limit-1].Name)
	}
	p.Items = items
	return p, nil
}

var errBadCursor = &InvalidError{Msg: "cursor is not valid here: pass the nextCursor of the previous page unchanged (with the same prefix), or none to start over"}

// cursorPrefix versions the cursor format.
const cursorPrefix = "n1."

func encodeCursor(name string) string {
	return cursorPrefix + base64.RawURLEncoding.EncodeToString([]byte(name))
}

func decodeCursor(c string) (string, error) {
	if c == "" {
		return "", nil
	}
	raw, ok := strings.CutPrefix(c, cursorPrefix)
	if !ok {
		return "", errBadCursor
	}
	b, err := base64.RawURLEncoding.DecodeString(raw)
	if err != nil || ValidateName(string(b)) != nil {
		return "", errBadCursor
	}
	return string(b), nil
}

// Delete removes a snippet. A non-empty ifMatch deletes only that version.
//
// As with Save, answers are definite except ErrAmbiguous: nil means the
// snippet (that version) is no longer stored, ErrConflict that another
// version is stored and nothing was deleted, ErrUnavailable that the delete
// did not happen. A delete leaves no trace to identify, so after a lost
// reply only a missing blob settles the outcome.
func (s *Store) Delete(ctx context.Context, sp Space, name, ifMatch string) error {
	if err := ValidateName(name); err != nil {
		return err
	}
	var o *blob.DeleteOptions
	if ifMatch != "" {
		et := azcore.ETag(QuoteETag(ifMatch))
		o = &blob.DeleteOptions{AccessConditions: &blob.AccessConditions{
			ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: &et}}}
	}
	bc := s.c.NewBlockBlobClient(sp.prefix() + name)
	tctx, tries := storage.Track(ctx)
	_, err := bc.Delete(tctx, o)
	if err == nil {
		return nil
	}
	definite := storage.IsConditionFailed(err) || storage.IsNotFound(err)
	if definite && !tries.EarlierMayHaveApplied() || !definite && !tries.MayHaveApplied() {
		return s.wrap("delete", name, err)
	}
	sctx, cancel := storage.SettleContext(ctx)
	defer cancel()
	if _, perr := bc.GetProperties(sctx, nil); storage.IsNotFound(perr) {
		return nil
	}
	return fmt.Errorf("delete snippet %q: %w (%s)", name, ErrAmbiguous, storage.Reason(err))
}

// wrap maps a storage error to the package's errors, with context.
func (s *Store) wrap(op, name string, err error) error {
	switch {
	case storage.IsNotFound(err):
		return fmt.Errorf("%s snippet %q: %w", op, name, ErrNotFound)
	case storage.IsConditionFailed(err):
		return fmt.Errorf("%s snippet %q: %w", op, name, ErrConflict)
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s snippet %q: %w", op, name, err)
	default:
		return fmt.Errorf("%s snippet %q: %w: %w", op, name, ErrUnavailable, err)
	}
}

func fromProps(name string, sp Space, etag *azcore.ETag, modified *time.Time, meta map[string]*string) Snippet {
	sn := Snippet{Name: name, Shared: sp.IsShared(), SHA256: storage.Meta(meta, metaSHA256),
		CreatedBy: storage.Meta(meta, metaCreatedBy), UpdatedBy: storage.Meta(meta, metaUpdatedBy)}
	if etag != nil {
		sn.ETag = QuoteETag(string(*etag))
	}
	if modified != nil {
		sn.Updated = modified.UTC()
	}
	sn.Created = sn.Updated
	if t, err := time.Parse(time.RFC3339Nano, storage.Meta(meta, metaCreated)); err == nil {
		sn.Created = t
	}
	return sn
}
