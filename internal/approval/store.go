package approval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"sort"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/streaming"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/snippets-mcp/server/internal/storage"
)

// Store keeps approval requests, one JSON blob each, under the tenant.
type Store struct {
	c   *container.Client
	ttl time.Duration
	now func() time.Time
}

// NewStore returns a store on the approvals container; requests expire ttl
// after creation.
func NewStore(client *azblob.Client, ttl time.Duration) *Store {
	return &Store{c: client.ServiceClient().NewContainerClient(Container), ttl: ttl, now: time.Now}
}

func blobName(tenant, id string) string { return "t-" + storage.Segment(tenant) + "/" + id + ".json" }

// Create stores a new pending request and returns it with its id.
func (s *Store) Create(ctx context.Context, r Request) (Request, error) {
	now := s.now().UTC()
	r.ID, r.Status, r.CreatedAt, r.ExpiresAt = newID(), Pending, now, now.Add(s.ttl)
	if err := s.put(ctx, r, &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}); err != nil {
		return Request{}, fmt.Errorf("create approval request: %w", err)
	}
	return r, nil
}

// Get reads a request of the tenant.
func (s *Store) Get(ctx context.Context, tenant, id string) (Request, error) {
	r, _, err := s.get(ctx, tenant, id)
	return r, err
}

// ListPending returns the tenant's requests waiting for a decision,
// oldest first, at most limit of them.
func (s *Store) ListPending(ctx context.Context, tenant string, limit int) ([]Request, error) {
	pager := s.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
		Prefix:  to.Ptr("t-" + storage.Segment(tenant) + "/"),
		Include: container.ListBlobsInclude{Metadata: true},
	})
	now := s.now()
	var out []Request
	for pager.More() && len(out) < limit {
		page, err := pager.NextPage(ctx)
		if err != nil {
			return nil, wrap("list approval requests", err)
		}
		for _, b := range page.Segment.BlobItems {
			// Status and expiry are mirrored in metadata so that decided or
			// expired requests are skipped without reading their bodies.
			if storage.Meta(b.Metadata, "status") != string(Pending) {
				continue
			}
			if exp, err := time.Parse(time.RFC3339Nano, storage.Meta(b.Metadata, "expires")); err == nil && !now.Before(exp) {
				continue
			}
			id := strings.TrimSuffix(path.Base(*b.Name), ".json")
			if !ValidID(id) {
				continue // not a request this store wrote
			}
			r, _, err := s.get(ctx, tenant, id)
			if err != nil {
				if errors.Is(err, ErrNotFound) {
					continue
				}
				return nil, err
			}
			if r.StatusAt(now) == Pending {
				out = append(out, r)
			}
			if len(out) == limit {
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].CreatedAt.Before(out[j].CreatedAt) })
	return out, nil
}

// Decide approves or denies a pending request. The approver must be a
// different identity of the same tenant.
func (s *Store) Decide(ctx context.Context, tenant, id, approver string, approve bool, reason string) (Request, error) {
	r, etag, err := s.get(ctx, tenant, id)
	if err != nil {
		return Request{}, err
	}
	if r.Requester == approver {
		return r, ErrSelfApproval
	}
	switch r.StatusAt(s.now()) {
	case Pending:
	case Expired:
		return r, ErrExpired
	default:
		return r, ErrDecided
	}
	r.Status, r.DecidedBy, r.DecidedAt, r.Reason = Denied, approver, s.now().UTC(), reason
	if approve {
		r.Status = Approved
	}
	if err := s.put(ctx, r, &blob.ModifiedAccessConditions{IfMatch: &etag}); err != nil {
		if errors.Is(err, errConflict) {
			return r, ErrDecided // someone else decided in between
		}
		return Request{}, fmt.Errorf("decide approval request: %w", err)
	}
	return r, nil
}

// Consume uses an approved request once: it checks that it belongs to
// requester, was granted for this tool and these arguments, is approved
// and unexpired, then marks it used with a conditional write.
func (s *Store) Consume(ctx context.Context, tenant, id, requester, tool, argsDigest string) (Request, error) {
	r, etag, err := s.get(ctx, tenant, id)
	if err != nil {
		return Request{}, err
	}
	if r.Requester != requester {
		return r, ErrNotYours
	}
	if r.Tool != tool || r.ArgsDigest != argsDigest {
		return r, ErrMismatch
	}
	switch r.StatusAt(s.now()) {
	case Approved:
	case Pending:
		return r, ErrPending
	case Denied:
		return r, ErrDenied
	case Used:
		return r, ErrUsed
	default:
		return r, ErrExpired
	}
	r.Status, r.UsedAt = Used, s.now().UTC()
	if err := s.put(ctx, r, &blob.ModifiedAccessConditions{IfMatch: &etag}); err != nil {
		if errors.Is(err, errConflict) {
			return r, ErrUsed // a racing call consumed it first
		}
		return Request{}, fmt.Errorf("consume approval: %w", err)
	}
	return r, nil
}

// Release returns a consumed approval to approved, when the action it
// allowed could not run because a dependency failed.
func (s *Store) Release(ctx context.Context, r Request) error {
	cur, etag, err := s.get(ctx, r.Tenant, r.ID)
	if err != nil {
		return err
	}
	if cur.Status != Used || !cur.UsedAt.Equal(r.UsedAt) {
		return ErrUsed
	}
	cur.Status, cur.UsedAt = Approved, time.Time{}
	return s.put(ctx, cur, &blob.ModifiedAccessConditions{IfMatch: &etag})
}

var errConflict = errors.New("approval request changed concurrently")

func (s *Store) get(ctx context.Context, tenant, id string) (Request, azcore.ETag, error) {
	if !ValidID(id) {
		return Request{}, "", ErrNotFound
	}
	resp, err := s.c.NewBlockBlobClient(blobName(tenant, id)).DownloadStream(ctx, nil)
	if err != nil {
		return Request{}, "", wrap("read approval request", err)
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	if err != nil {
		return Request{}, "", wrap("read approval request", err)
	}
	var r Request
	if err := json.Unmarshal(data, &r); err != nil || r.ID != id || r.Tenant != tenant {
		return Request{}, "", fmt.Errorf("approval request %s is corrupt: %w", id, ErrUnavailable)
	}
	return r, *resp.ETag, nil
}

func (s *Store) put(ctx context.Context, r Request, cond *blob.ModifiedAccessConditions) error {
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	_, err = s.c.NewBlockBlobClient(blobName(r.Tenant, r.ID)).Upload(ctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
		Metadata: map[string]*string{
			"status":  to.Ptr(string(r.Status)),
			"expires": to.Ptr(r.ExpiresAt.Format(time.RFC3339Nano)),
		},
		HTTPHeaders:      &blob.HTTPHeaders{BlobContentType: to.Ptr("application/json")},
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: cond},
	})
	if err != nil {
		return wrap("write approval request", err)
	}
	return nil
}

func wrap(op string, err error) error {
	switch {
	case storage.IsNotFound(err):
		return ErrNotFound
	case storage.IsConditionFailed(err):
		return errConflict
	case errors.Is(err, context.Canceled):
		return fmt.Errorf("%s: %w", op, err)
	default:
		return fmt.Errorf("%s: %w: %w", op, ErrUnavailable, err)
	}
}
