package storage

import (
	"context"
	"errors"
	"net"
	"net/http"
	"regexp"
	"testing"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blockblob"

	"github.com/snippets-mcp/server/internal/storage/blobtest"
)

// testClient is a Blob client for connString with the tracker in its
// pipeline, as Connect builds it, but with retries that do not wait: these
// tests are about what each attempt did, not about backoff. (Connect itself
// is not used: its signature is changing.)
func testClient(t *testing.T, connString string) *azblob.Client {
	t.Helper()
	c, err := azblob.NewClientFromConnectionString(connString, &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry:            policy.RetryOptions{MaxRetries: 2, RetryDelay: time.Millisecond, MaxRetryDelay: time.Millisecond},
		PerRetryPolicies: []policy.Policy{tracker{}},
	}})
	if err != nil {
		t.Fatalf("client for %q: %v", connString, err)
	}
	return c
}

// fakeWithContainer starts a Blob fake holding an empty container "c".
func fakeWithContainer(t *testing.T) (*blobtest.Fake, *azblob.Client) {
	t.Helper()
	f := blobtest.New(t)
	f.CreateContainer("c")
	return f, testClient(t, f.ConnString())
}

func TestTriesFromAttempts(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name                 string
		attempts             []attempt
		wantMay, wantEarlier bool
	}{
		{"no attempt yet", nil, false, false},
		{"one applied", []attempt{applied}, true, false},
		{"one unknown", []attempt{unknown}, true, false},
		{"one refused", []attempt{refused}, false, false},
		{"one never sent", []attempt{notSent}, false, false},
		{"refused, then refused", []attempt{refused, refused}, false, false},
		{"never sent, then applied", []attempt{notSent, applied}, true, false},
		{"unknown, then refused", []attempt{unknown, refused}, true, true},
		{"applied, then refused", []attempt{applied, refused}, true, true},
		{"never sent, refused, refused", []attempt{notSent, refused, refused}, false, false},
		{"refused, unknown, refused", []attempt{refused, unknown, refused}, true, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			_, tr := Track(context.Background())
			for _, a := range c.attempts {
				tr.add(a)
			}
			if got := tr.Count(); got != len(c.attempts) {
				t.Errorf("Count() = %d, want %d", got, len(c.attempts))
			}
			if got := tr.MayHaveApplied(); got != c.wantMay {
				t.Errorf("MayHaveApplied() = %v, want %v", got, c.wantMay)
			}
			if got := tr.EarlierMayHaveApplied(); got != c.wantEarlier {
				t.Errorf("EarlierMayHaveApplied() = %v, want %v", got, c.wantEarlier)
			}
		})
	}
}

func TestClassify(t *testing.T) {
	t.Parallel()
	status := func(code int) *http.Response { return &http.Response{StatusCode: code} }
	cases := []struct {
		name string
		resp *http.Response
		err  error
		want attempt
	}{
		{"dial refused", nil, &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, notSent},
		{"dial refused, wrapped", nil, &wrapped{&net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}}, notSent},
		{"read reset", nil, &net.OpError{Op: "read", Net: "tcp", Err: errors.New("connection reset by peer")}, unknown},
		{"deadline", nil, context.DeadlineExceeded, unknown},
		{"EOF", nil, errors.New("EOF"), unknown},
		{"201 created", status(201), nil, applied},
		{"202 accepted", status(202), nil, applied},
		{"304 not modified", status(304), nil, applied},
		{"400", status(400), nil, refused},
		{"404", status(404), nil, refused},
		{"409", status(409), nil, refused},
		{"412", status(412), nil, refused},
		{"429", status(429), nil, refused},
		{"500", status(500), nil, unknown},
		{"502", status(502), nil, unknown},
		{"503 server busy", status(503), nil, refused},
		{"504", status(504), nil, unknown},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := classify(c.resp, c.err); got != c.want {
				t.Errorf("classify = %d, want %d", got, c.want)
			}
		})
	}
}

type wrapped struct{ err error }

func (w *wrapped) Error() string { return "send: " + w.err.Error() }
func (w *wrapped) Unwrap() error { return w.err }

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	if err := l.Close(); err != nil {
		t.Fatal(err)
	}
	return addr
}

// The tracker sees every attempt the SDK's retry policy makes, through a
// real client against the fake, and tells a retried write of our own from
// a refusal.
func TestTrackerRecordsEveryAttempt(t *testing.T) {
	t.Parallel()
	put := blobtest.Match(http.MethodPut, "/c/")
	createOnly := &blockblob.UploadOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}}
	cases := []struct {
		name                 string
		rule                 blobtest.Rule
		wantErr              bool
		wantCount            int
		wantMay, wantEarlier bool
	}{
		{"served at once", nil, false, 1, true, false},
		// The first reply is lost after the write; the retry finds the blob
		// and is refused: the refusal is our own earlier write.
		{"reply lost after the write", blobtest.DropAfterApplied(put, 1), true, 2, true, true},
		// Dropped before the write, then written: the success is all there is.
		// The client cannot tell this from a lost reply: the earlier attempt
		// counts as one that may have been applied.
		{"dropped before the write", firstN(put, 1, blobtest.Fault{Action: blobtest.DropFirst}), false, 2, true, true},
		// Busy every time: every attempt was refused; nothing was written.
		{"server busy throughout", blobtest.Answer(put, 100, http.StatusServiceUnavailable, "ServerBusy"), true, 3, false, false},
		{"refused for good", blobtest.Answer(put, 100, http.StatusForbidden, "AuthorizationFailure"), true, 1, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f, cl := fakeWithContainer(t)
			f.SetRule(c.rule)
			ctx, tr := Track(context.Background())
			_, err := cl.UploadBuffer(ctx, "c", "b", []byte("x"), &azblob.UploadBufferOptions{AccessConditions: createOnly.AccessConditions})
			if (err != nil) != c.wantErr {
				t.Fatalf("upload error = %v, want error: %v", err, c.wantErr)
			}
			if got := tr.Count(); got != c.wantCount {
				t.Errorf("Count() = %d, want %d (requests %q)", got, c.wantCount, f.Requests())
			}
			if got := tr.MayHaveApplied(); got != c.wantMay {
				t.Errorf("MayHaveApplied() = %v, want %v", got, c.wantMay)
			}
			if got := tr.EarlierMayHaveApplied(); got != c.wantEarlier {
				t.Errorf("EarlierMayHaveApplied() = %v, want %v", got, c.wantEarlier)
			}
		})
	}
}

// firstN applies fault to the first n requests that match.
func firstN(match func(*http.Request) bool, n int, fault blobtest.Fault) blobtest.Rule {
	left := make(chan struct{}, n)
	for range n {
		left <- struct{}{}
	}
	return func(r *http.Request) blobtest.Fault {
		if !match(r) {
			return blobtest.Fault{}
		}
		select {
		case <-left:
			return fault
		default:
			return blobtest.Fault{}
		}
	}
}

// No connection at all: every attempt provably never reached storage.
func TestTrackerUnreachable(t *testing.T) {
	t.Parallel()
	cl := testClient(t, blobtest.ConnString("http://"+closedAddr(t)))
	ctx, tr := Track(context.Background())
	_, err := cl.UploadBuffer(ctx, "c", "b", []byte("x"), nil)
	if err == nil {
		t.Fatal("upload to a closed port succeeded")
	}
	if got := tr.Count(); got != 3 {
		t.Errorf("Count() = %d, want 3 (first try and two retries)", got)
	}
	if tr.MayHaveApplied() {
		t.Errorf("MayHaveApplied() = true, want false: no attempt was sent (%v)", err)
	}
}

// A request without Track is not recorded anywhere and still works.
func TestTrackerWithoutTries(t *testing.T) {
	t.Parallel()
	f, cl := fakeWithContainer(t)
	if _, err := cl.UploadBuffer(context.Background(), "c", "b", []byte("x"), nil); err != nil {
		t.Fatalf("upload without Track: %v", err)
	}
	if got, want := f.Names("c"), []string{"b"}; len(got) != 1 || got[0] != want[0] {
		t.Errorf("blobs = %q, want %q", got, want)
	}
	// A nested Track starts afresh: the outer operation's Tries do not
	// get the inner one's attempts.
	outer, trOuter := Track(context.Background())
	inner, trInner := Track(outer)
	if _, err := cl.DownloadBuffer(inner, "c", "b", make([]byte, 1), nil); err != nil {
		t.Fatalf("download: %v", err)
	}
	if trOuter.Count() != 0 || trInner.Count() != 1 {
		t.Errorf("counts: outer %d, want 0; inner %d, want 1", trOuter.Count(), trInner.Count())
	}
}

func TestNewWriteID(t *testing.T) {
	t.Parallel()
	hex32 := regexp.MustCompile(`^[0-9a-f]{32}$`)
	seen := map[string]bool{}
	for range 1000 {
		id := NewWriteID()
		if !hex32.MatchString(id) {
			t.Fatalf("NewWriteID() = %q, want 32 lower-case hex digits", id)
		}
		if seen[id] {
			t.Fatalf("NewWriteID() returned %q twice", id)
		}
		seen[id] = true
	}
}

func TestSettleContext(t *testing.T) {
	t.Parallel()
	type key struct{}
	expired, cancelExpired := context.WithDeadline(context.WithValue(context.Background(), key{}, "v"), time.Unix(0, 0))
	defer cancelExpired()
	canceled, cancel := context.WithCancel(context.WithValue(context.Background(), key{}, "v"))
	cancel()
	cases := []struct {
		name   string
		parent context.Context
	}{
		{"parent deadline passed", expired},
		{"parent canceled", canceled},
		{"parent live", context.WithValue(context.Background(), key{}, "v")},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			before := time.Now()
			ctx, cancel := SettleContext(c.parent)
			after := time.Now()
			if err := ctx.Err(); err != nil {
				t.Fatalf("settle context is done at once: %v, want live", err)
			}
			dl, ok := ctx.Deadline()
			if !ok {
				t.Fatal("settle context has no deadline, want one SettleTimeout away")
			}
			// The deadline was set between before and after, SettleTimeout on.
			if lo, hi := before.Add(SettleTimeout), after.Add(SettleTimeout); dl.Before(lo) || dl.After(hi) {
				t.Errorf("deadline %v, want in [%v, %v]", dl, lo, hi)
			}
			if got := ctx.Value(key{}); got != "v" {
				t.Errorf("value = %v, want the parent's %q", got, "v")
			}
			cancel()
			if !errors.Is(ctx.Err(), context.Canceled) {
				t.Errorf("after cancel: Err() = %v, want %v", ctx.Err(), context.Canceled)
			}
		})
	}
}
