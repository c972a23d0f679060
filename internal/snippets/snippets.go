// Package snippets keeps text snippets in Blob Storage: one blob per
// snippet, under the owner's space, with ETag concurrency so that no
// update is ever lost silently.
package snippets

import (
	"errors"
	"fmt"
	"strconv"
	"time"

	"github.com/snippets-mcp/server/internal/storage"
)

// Space is an ownership space: the private space of one caller, or the
// shared space of a tenant. It is derived from the caller's identity,
// never from tool arguments.
type Space struct {
	Tenant string
	Owner  string // object id; empty for the tenant's shared space
}

// Private returns the private space of one caller.
func Private(tenant, owner string) Space { return Space{Tenant: tenant, Owner: owner} }

// Shared returns the tenant-wide shared space.
func Shared(tenant string) Space { return Space{Tenant: tenant} }

// IsShared reports whether the space is a tenant's shared space.
func (s Space) IsShared() bool { return s.Owner == "" }

// prefix is the blob-name prefix of the space. Tenant and owner ids come
// from validated tokens but are still escaped so that no id can reach
// into another space.
func (s Space) prefix() string {
	owner := "_shared"
	if !s.IsShared() {
		owner = "u-" + storage.Segment(s.Owner)
	}
	return "t-" + storage.Segment(s.Tenant) + "/" + owner + "/"
}

// Snippet is a stored snippet's metadata, and its content when read.
type Snippet struct {
	Name      string    `json:"name"`
	Shared    bool      `json:"shared"`
	Size      int64     `json:"size"`
	SHA256    string    `json:"sha256"`
	ETag      string    `json:"etag"`
	Created   time.Time `json:"created"`
	Updated   time.Time `json:"updated"`
	CreatedBy string    `json:"createdBy,omitempty"`
	UpdatedBy string    `json:"updatedBy,omitempty"`
	Content   string    `json:"-"`
}

// Page is one page of a listing.
type Page struct {
	Items      []Snippet
	NextCursor string // "" when there are no more
}

// SaveOptions control a save.
type SaveOptions struct {
	IfMatch string // only overwrite this version (ETag)
	Author  string // object id recorded as creator/updater
	// KeepOthers refuses, with an *OthersContentError, to replace a
	// version that another identity (not Author) wrote last: replacing
	// someone else's content is a destructive act that needs approval.
	KeepOthers bool
}

// OthersContentError is the refusal of a save that would replace content
// another identity wrote. Current is the version that would be replaced;
// an approval for the overwrite is bound to its ETag.
type OthersContentError struct{ Current Snippet }

func (e *OthersContentError) Error() string {
	return fmt.Sprintf("snippet %q was last written by another identity", e.Current.Name)
}

// Errors a caller can act on. Wrap with context; test with errors.Is/As.
var (
	ErrNotFound = errors.New("snippet not found")
	// ErrConflict: the snippet changed (or appeared) between read and write.
	ErrConflict = errors.New("snippet was changed by someone else")
	// ErrUnavailable: storage could not be reached or failed; retry later.
	// From a write (save, delete) it also means the write did not happen.
	ErrUnavailable = errors.New("snippet storage is unavailable")
	// ErrAmbiguous: a write may or may not have happened (storage's reply
	// was lost and a read could not settle it); read to find out.
	ErrAmbiguous = errors.New("snippet storage did not confirm the outcome")
)

// InvalidError is a client mistake; Msg says what is allowed.
type InvalidError struct{ Msg string }

func (e *InvalidError) Error() string { return e.Msg }

// TooLargeError reports content over the size limit.
type TooLargeError struct{ Size, Max int64 }

func (e *TooLargeError) Error() string {
	return "snippet is too large: " + strconv.FormatInt(e.Size, 10) + " bytes, the limit is " + strconv.FormatInt(e.Max, 10) + " bytes"
}
