package approval

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
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
	o   Options
	now func() time.Time
}

// Options configure a Store. The zero value of each field has the meaning
// its comment gives.
type Options struct {
	// TTL is how long a request stays valid after creation; 0 means 15m.
	TTL time.Duration
	// MaxPending bounds one requester's requests waiting for a decision,
	// so that nobody can bury other people's requests; 0 means 10.
	MaxPending int
	// AllowAppOnlyApprovers lets applications acting on their own (no
	// signed-in user) approve and deny. Off by default: four eyes means
	// two people.
	AllowAppOnlyApprovers bool
}

// NewStore returns a store on the approvals container.
func NewStore(client *azblob.Client, o Options) *Store {
	if o.TTL <= 0 {
		o.TTL = 15 * time.Minute
	}
	if o.MaxPending <= 0 {
		o.MaxPending = 10
	}
	return &Store{c: client.ServiceClient().NewContainerClient(Container), o: o, now: time.Now}
}

func tenantPrefix(tenant string) string { return "t-" + storage.Segment(tenant) + "/" }
func blobName(tenant, id string) string { return tenantPrefix(tenant) + id + ".json" }

// bucketOf is the id prefix of requests created at t.
func bucketOf(t time.Time) string { return fmt.Sprintf("%012x", t.UnixMilli())[:bucketDigits] }

// bucketDigits: ids sharing their first 6 hex digits were created within
// the same 2^24 ms (about 4.7 hours). Listing pending requests lists only
// the buckets a live request can be in, so decided and expired requests
// of the past never slow it down.
const bucketDigits = 6

// Create stores a new pending request and returns it with its id. It
// refuses with ErrTooMany when the requester already has MaxPending
// requests waiting.
func (s *Store) Create(ctx context.Context, r Request) (Request, error) {
	now := s.now().UTC()
	waiting, err := s.pendingOf(ctx, r.Tenant, r.Requester, now)
	if err != nil {
		return Request{}, err
	}
	if waiting >= s.o.MaxPending {
		return Request{}, ErrTooMany
	}
	r.ID, r.Status, r.CreatedAt, r.ExpiresAt = newID(now), Pending, now, now.Add(s.o.TTL)
	if err := s.put(ctx, r, &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}); err != nil {
		return Request{}, fmt.Errorf("create approval request: %w", err)
	}
	return r, nil
}

// Page is one page of pending requests, oldest first.
type Page struct {
	Requests []Request
	Next     string // pass as cursor for the next page; "" on the last
}

// ListPending returns the tenant's requests waiting for a decision, oldest
// first, at most limit of them, starting after the request id cursor.
func (s *Store) ListPending(ctx context.Context, tenant, cursor string, limit int) (Page, error) {
	if cursor != "" && !ValidID(cursor) {
		return Page{}, ErrBadCursor
	}
	now := s.now()
	var p Page
	err := s.eachLive(ctx, tenant, now, cursor, func(id string, _ map[string]*string) (bool, error) {
		r, _, err := s.get(ctx, tenant, id)
		if errors.Is(err, ErrNotFound) {
			return true, nil
		}
		if err != nil {
			return false, err
		}
		if r.StatusAt(now) != Pending {
			return true, nil
		}
		if len(p.Requests) == limit {
			p.Next = p.Requests[limit-1].ID
			return false, nil
		}
		p.Requests = append(p.Requests, r)
		return true, nil
	})
	return p, err
}

// ErrBadCursor: a listing cursor that is not a request id.
var ErrBadCursor = errors.New("cursor is not valid here: pass the next value of the previous page unchanged, or none to start over")

// pendingOf counts the requester's requests waiting for a decision, from
// blob metadata alone.
func (s *Store) pendingOf(ctx context.Context, tenant, requester string, now time.Time) (int, error) {
	n := 0
	err := s.eachLive(ctx, tenant, now, "", func(_ string, meta map[string]*string) (bool, error) {
		if storage.Meta(meta, "requester") == storage.Segment(requester) {
			n++
		}
		return true, nil
	})
	return n, err
}

// eachLive calls f, in id order, for each request of the tenant after
// cursor whose metadata says pending and unexpired. f returns false to stop.
func (s *Store) eachLive(ctx context.Context, tenant string, now time.Time, cursor string, f func(id string, meta map[string]*string) (bool, error)) error {
	from := bucketOf(now.Add(-s.o.TTL))
	if cursor != "" && cursor[:bucketDigits] > from {
		from = cursor[:bucketDigits]
	}
	last := bucketOf(now)
	for b := from; b <= last; b = nextBucket(b) {
		pager := s.c.NewListBlobsFlatPager(&container.ListBlobsFlatOptions{
			Prefix:  to.Ptr(tenantPrefix(tenant) + b),
			Include: container.ListBlobsInclude{Metadata: true},
		})
		for pager.More() {
			page, err := pager.NextPage(ctx)
			if err != nil {
				return wrap("list approval requests", err)
			}
			for _, it := range page.Segment.BlobItems {
				id := strings.TrimSuffix(path.Base(*it.Name), ".json")
				if !ValidID(id) || id <= cursor {
					continue // not a request this store wrote, or already listed
				}
				// Status and expiry are mirrored in metadata so that decided
				// or expired requests are skipped without reading their bodies.
				if storage.Meta(it.Metadata, "status") != string(Pending) {
					continue
				}
				if exp, err := time.Parse(time.RFC3339Nano, storage.Meta(it.Metadata, "expires")); err != nil || !now.Before(exp) {
					continue
				}
				if more, err := f(id, it.Metadata); err != nil || !more {
					return err
				}
			}
		}
	}
	return nil
}

// nextBucket is the bucket after b (hex digits, lower case).
func nextBucket(b string) string {
	n, _ := strconv.ParseUint(b, 16, 64)
	return fmt.Sprintf("%0*x", bucketDigits, n+1)
}

// Decide records an approver's decision on a pending request. The approver
// must be another person: not the requester, not acting through the
// client app that made the request, and not an application acting on its
// own unless AllowAppOnlyApprovers is set.
func (s *Store) Decide(ctx context.Context, tenant, id string, d Decision) (Request, error) {
	if d.AppOnly && !s.o.AllowAppOnlyApprovers {
		return Request{}, ErrAppApprover
	}
	r, etag, err := s.get(ctx, tenant, id)
	if err != nil {
		return Request{}, err
	}
	switch {
	case r.Requester == d.Approver:
		return r, ErrSelfApproval
	case r.Agent != "" && r.Agent == d.Via:
		return r, ErrSameAgent
	}
	switch r.StatusAt(s.now()) {
	case Pending:
	case Expired:
		return r, ErrExpired
	default:
		return r, ErrDecided
	}
	if d.Authorize != nil {
		if err := d.Authorize(r); err != nil {
			return r, err
		}
	}
	r.Status, r.DecidedBy, r.DecidedVia, r.DecidedAt, r.Reason = Denied, d.Approver, d.Via, s.now().UTC(), d.Reason
	r.DeciderName = d.Name
	if d.Approve {
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

// Release returns a consumed approval to approved. Call it only when the
// action it allowed provably did not happen (the request never reached
// storage, or storage refused it): an approval is never given back after
// an action whose outcome is unknown.
func (s *Store) Release(ctx context.Context, r Request) error {
	cur, etag, err := s.get(ctx, r.Tenant, r.ID)
	if err != nil {
		return err
	}
	if cur.Status != Used || !cur.UsedAt.Equal(r.UsedAt) {
		return ErrUsed
	}
	cur.Status, cur.UsedAt = Approved, time.Time{}
	if err := s.put(ctx, cur, &blob.ModifiedAccessConditions{IfMatch: &etag}); err != nil {
		return fmt.Errorf("release approval: %w", err)
	}
	return nil
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

// put writes r under cond with a fresh Rev. When the reply is lost, or a
// retry meets its own earlier write as a precondition failure, reading the
// request back decides: this write's Rev means it is stored, anything else
// is ErrAmbiguous. errConflict and ErrUnavailable are definite: nothing was
// written.
func (s *Store) put(ctx context.Context, r Request, cond *blob.ModifiedAccessConditions) error {
	r.Rev = storage.NewWriteID()
	data, err := json.Marshal(r)
	if err != nil {
		return err
	}
	tctx, tries := storage.Track(ctx)
	_, err = s.c.NewBlockBlobClient(blobName(r.Tenant, r.ID)).Upload(tctx, streaming.NopCloser(bytes.NewReader(data)), &blockblob.UploadOptions{
		Metadata: map[string]*string{
			"status":    to.Ptr(string(r.Status)),
			"expires":   to.Ptr(r.ExpiresAt.Format(time.RFC3339Nano)),
			"requester": to.Ptr(storage.Segment(r.Requester)),
		},
		HTTPHeaders:      &blob.HTTPHeaders{BlobContentType: to.Ptr("application/json")},
		AccessConditions: &blob.AccessConditions{ModifiedAccessConditions: cond},
	})
	if err == nil {
		return nil
	}
	conflict := storage.IsConditionFailed(err)
	if conflict && !tries.EarlierMayHaveApplied() || !conflict && !tries.MayHaveApplied() {
		return wrap("write approval request", err)
	}
	sctx, cancel := storage.SettleContext(ctx)
	defer cancel()
	if cur, _, gerr := s.get(sctx, r.Tenant, r.ID); gerr == nil && cur.Rev == r.Rev {
		return nil
	}
	return fmt.Errorf("write approval request: %w (%s)", ErrAmbiguous, storage.Reason(err))
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
