package approval

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/storage"
	"github.com/snippets-mcp/server/internal/storage/blobtest"
)

const (
	tenant    = "tenant-1"
	requester = "requester-oid"
	approver  = "approver-oid"
	agent     = "agent-app"
	otherApp  = "approver-app"
)

func newTestStore(t *testing.T, o Options) (*Store, *blobtest.Fake) {
	t.Helper()
	f := blobtest.New(t)
	c, err := storage.Connect(storage.Options{ConnectionString: f.ConnString()})
	if err != nil {
		t.Fatal(err)
	}
	if err := storage.EnsureContainer(context.Background(), c, Container); err != nil {
		t.Fatal(err)
	}
	return NewStore(c, o), f
}

func request(who string) Request {
	return Request{Tenant: tenant, Requester: who, Agent: agent, Tool: "delete_snippet", ArgsDigest: "d1", TargetETag: `"0x1"`, Summary: "delete snippet \"x\""}
}

func mustCreate(t *testing.T, s *Store, r Request) Request {
	t.Helper()
	got, err := s.Create(context.Background(), r)
	if err != nil {
		t.Fatalf("Create: %v", err)
	}
	return got
}

func approve(by, via string) Decision { return Decision{Approver: by, Via: via, Approve: true} }

func TestDecideNeedsAnotherPerson(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		opts Options
		d    Decision
		want error
	}{
		{"another person through another app", Options{}, approve(approver, otherApp), nil},
		{"the requester", Options{}, approve(requester, otherApp), ErrSelfApproval},
		{"the requester denying", Options{}, Decision{Approver: requester, Via: otherApp, Reason: "no"}, ErrSelfApproval},
		{"another person through the requester's agent", Options{}, approve(approver, agent), ErrSameAgent},
		{"the agent app on its own", Options{}, Decision{Approver: "agent-sp", Via: agent, AppOnly: true, Approve: true}, ErrAppApprover},
		{"another app on its own", Options{}, Decision{Approver: "other-sp", Via: otherApp, AppOnly: true, Approve: true}, ErrAppApprover},
		{"another app on its own, allowed by setting", Options{AllowAppOnlyApprovers: true}, Decision{Approver: "other-sp", Via: otherApp, AppOnly: true, Approve: true}, nil},
		{"the agent app on its own, even when apps may approve", Options{AllowAppOnlyApprovers: true}, Decision{Approver: "agent-sp", Via: agent, AppOnly: true, Approve: true}, ErrSameAgent},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			s, _ := newTestStore(t, tc.opts)
			r := mustCreate(t, s, request(requester))
			got, err := s.Decide(context.Background(), tenant, r.ID, tc.d)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Decide: got %v, want %v", err, tc.want)
			}
			if tc.want == nil && (got.Status != Approved || got.DecidedBy != tc.d.Approver || got.DecidedVia != tc.d.Via) {
				t.Fatalf("Decide: got %+v", got)
			}
		})
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, Options{})
	ctx := context.Background()
	r := mustCreate(t, s, request(requester))
	if _, err := s.Consume(ctx, tenant, r.ID, requester, "delete_snippet", "d1"); !errors.Is(err, ErrPending) {
		t.Fatalf("consume before decision: got %v, want ErrPending", err)
	}
	if _, err := s.Decide(ctx, tenant, r.ID, approve(approver, otherApp)); err != nil {
		t.Fatal(err)
	}
	if _, err := s.Decide(ctx, tenant, r.ID, approve("third", otherApp)); !errors.Is(err, ErrDecided) {
		t.Fatalf("second decision: got %v, want ErrDecided", err)
	}
	for _, tc := range []struct {
		name                  string
		who, tool, digest, id string
		want                  error
	}{
		{"someone else", "intruder", "delete_snippet", "d1", r.ID, ErrNotYours},
		{"other tool", requester, "save_snippet", "d1", r.ID, ErrMismatch},
		{"other arguments", requester, "delete_snippet", "d2", r.ID, ErrMismatch},
		{"unknown id", requester, "delete_snippet", "d1", "0123456789abcdef0123456789abcdef", ErrNotFound},
		{"malformed id", requester, "delete_snippet", "d1", "../x", ErrNotFound},
	} {
		t.Run("consume by "+tc.name, func(t *testing.T) {
			if _, err := s.Consume(ctx, tenant, tc.id, tc.who, tc.tool, tc.digest); !errors.Is(err, tc.want) {
				t.Fatalf("got %v, want %v", err, tc.want)
			}
		})
	}
	used, err := s.Consume(ctx, tenant, r.ID, requester, "delete_snippet", "d1")
	if err != nil || used.TargetETag != `"0x1"` {
		t.Fatalf("Consume: %+v, %v", used, err)
	}
	if _, err := s.Consume(ctx, tenant, r.ID, requester, "delete_snippet", "d1"); !errors.Is(err, ErrUsed) {
		t.Fatalf("second consume: got %v, want ErrUsed", err)
	}
	if err := s.Release(ctx, used); err != nil {
		t.Fatalf("Release: %v", err)
	}
	again, err := s.Consume(ctx, tenant, r.ID, requester, "delete_snippet", "d1")
	if err != nil {
		t.Fatalf("consume after release: %v", err)
	}
	if err := s.Release(ctx, used); !errors.Is(err, ErrUsed) {
		t.Fatalf("release of a stale use: got %v, want ErrUsed", err)
	}
	_ = again
}

func TestExpiry(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, Options{TTL: time.Minute})
	now := time.Now()
	s.now = func() time.Time { return now }
	r := mustCreate(t, s, request(requester))
	s.now = func() time.Time { return now.Add(2 * time.Minute) }
	if _, err := s.Decide(context.Background(), tenant, r.ID, approve(approver, otherApp)); !errors.Is(err, ErrExpired) {
		t.Fatalf("decide after expiry: got %v, want ErrExpired", err)
	}
	p, err := s.ListPending(context.Background(), tenant, "", 10)
	if err != nil || len(p.Requests) != 0 {
		t.Fatalf("expired requests listed: %+v, %v", p, err)
	}
}

// TestListingIsFairAndPaged: one requester cannot bury others' requests,
// and every pending request is reachable by paging, oldest first.
func TestListingIsFairAndPaged(t *testing.T) {
	t.Parallel()
	s, f := newTestStore(t, Options{MaxPending: 3})
	base := time.Now()
	tick := 0
	s.now = func() time.Time { tick++; return base.Add(time.Duration(tick) * time.Second) }
	var want []string
	for i := range 3 {
		want = append(want, mustCreate(t, s, request(requester)).ID)
		want = append(want, mustCreate(t, s, request(fmt.Sprintf("other-%d", i))).ID)
	}
	if _, err := s.Create(context.Background(), request(requester)); !errors.Is(err, ErrTooMany) {
		t.Fatalf("fourth pending request: got %v, want ErrTooMany", err)
	}
	if _, err := s.Decide(context.Background(), tenant, want[0], approve(approver, otherApp)); err != nil {
		t.Fatal(err)
	}
	// A decision frees a place; the decided request is no longer listed.
	want = append(want[1:], mustCreate(t, s, request(requester)).ID)
	f.Put(Container, tenantPrefix(tenant)+"x.json", []byte("{}"), map[string]string{"status": "pending"}) // foreign name
	var got []string
	cursor := ""
	for range 10 {
		p, err := s.ListPending(context.Background(), tenant, cursor, 2)
		if err != nil {
			t.Fatal(err)
		}
		for _, r := range p.Requests {
			got = append(got, r.ID)
		}
		if cursor = p.Next; cursor == "" {
			break
		}
	}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Fatalf("listed %v, want %v (every pending request, oldest first)", got, want)
	}
	if _, err := s.ListPending(context.Background(), tenant, "../../x", 2); !errors.Is(err, ErrBadCursor) {
		t.Fatalf("bad cursor: got %v", err)
	}
}

// TestLostRepliesAreSettled: a decision or a use whose reply was lost, and
// whose retry met its own write, is reported as done, not as someone
// else's decision or use.
func TestLostRepliesAreSettled(t *testing.T) {
	t.Parallel()
	put := blobtest.Match(http.MethodPut, "/"+Container+"/")
	s, f := newTestStore(t, Options{})
	ctx := context.Background()
	f.SetRule(blobtest.DropAfterApplied(put, 1))
	r, err := s.Create(ctx, request(requester))
	if err != nil {
		t.Fatalf("create with a lost reply: %v", err)
	}
	f.SetRule(blobtest.DropAfterApplied(put, 1))
	if _, err := s.Decide(ctx, tenant, r.ID, approve(approver, otherApp)); err != nil {
		t.Fatalf("decide with a lost reply: got %v, want success", err)
	}
	f.SetRule(blobtest.DropAfterApplied(put, 1))
	used, err := s.Consume(ctx, tenant, r.ID, requester, "delete_snippet", "d1")
	if err != nil {
		t.Fatalf("consume with a lost reply: got %v, want success", err)
	}
	f.SetRule(blobtest.DropAfterApplied(put, 1))
	if err := s.Release(ctx, used); err != nil {
		t.Fatalf("release with a lost reply: got %v, want success", err)
	}
	f.SetRule(blobtest.Answer(put, 3, 503, "ServerBusy"))
	if _, err := s.Consume(ctx, tenant, r.ID, requester, "delete_snippet", "d1"); !errors.Is(err, ErrUnavailable) {
		t.Fatalf("consume while throttled: got %v, want ErrUnavailable", err)
	}
	f.SetRule(blobtest.Answer(put, 3, 500, "OperationTimedOut"))
	if _, err := s.Consume(ctx, tenant, r.ID, requester, "delete_snippet", "d1"); !errors.Is(err, ErrAmbiguous) {
		t.Fatalf("consume with unknown outcome: got %v, want ErrAmbiguous", err)
	}
}
