package approval

import (
	"context"
	"errors"
	"testing"
)

// TestDecideAsksAuthorize: the policy hook sees the stored request and a
// refusal writes nothing.
func TestDecideAsksAuthorize(t *testing.T) {
	t.Parallel()
	s, _ := newTestStore(t, Options{})
	r := mustCreate(t, s, request("alice"))
	refused := errors.New("policy says no")
	var seen Request
	d := approve("bob", otherApp)
	d.Authorize = func(got Request) error { seen = got; return refused }
	if _, err := s.Decide(context.Background(), tenant, r.ID, d); !errors.Is(err, refused) {
		t.Fatalf("Decide = %v, want the hook's error", err)
	}
	if seen.Requester != "alice" || seen.Agent != agent {
		t.Errorf("hook saw %+v", seen)
	}
	d.Authorize = func(Request) error { return nil }
	got, err := s.Decide(context.Background(), tenant, r.ID, d)
	if err != nil || got.Status != Approved {
		t.Fatalf("after the refusal the request is still pending and can be approved: %v %v", got.Status, err)
	}
}
