package storage

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
)

// Tries records what each attempt of one logical storage request told us
// about whether storage acted on it. The SDK's retry policy resends a
// request after a dropped connection or a timeout; a conditional write
// whose first attempt was applied then fails its own retry with 412 or 409,
// which is not someone else's change. Writers use Tries to tell a definite
// refusal from an answer that only a read can settle.
//
// The zero value is not used; Track returns one bound to a context.
type Tries struct {
	mu       sync.Mutex
	attempts []attempt
}

type attempt int

const (
	notSent attempt = iota // the connection was never made: storage saw nothing
	refused                // storage answered with a 4xx: it did not act
	applied                // storage answered 2xx
	unknown                // sent, and no answer that says what happened (dropped, timed out, 5xx)
)

type triesKey struct{}

// Track returns a context whose storage requests record their attempts in
// the returned Tries. Use one Track per logical operation.
func Track(ctx context.Context) (context.Context, *Tries) {
	t := &Tries{}
	return context.WithValue(ctx, triesKey{}, t), t
}

// Count is the number of attempts made so far.
func (t *Tries) Count() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.attempts)
}

// EarlierMayHaveApplied reports whether an attempt before the last one may
// have reached storage and been applied. When it is true, a precondition
// failure of the last attempt may be this operation's own earlier write.
func (t *Tries) EarlierMayHaveApplied() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range t.attempts[:max(len(t.attempts)-1, 0)] {
		if a == unknown || a == applied {
			return true
		}
	}
	return false
}

// MayHaveApplied reports whether any attempt may have been applied. False
// means storage provably did not act: every attempt either never left or
// was refused.
func (t *Tries) MayHaveApplied() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, a := range t.attempts {
		if a == unknown || a == applied {
			return true
		}
	}
	return false
}

func (t *Tries) add(a attempt) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.attempts = append(t.attempts, a)
}

// tracker is a per-try pipeline policy: it sees every attempt the retry
// policy makes, with its response or transport error.
type tracker struct{}

func (tracker) Do(req *policy.Request) (*http.Response, error) {
	resp, err := req.Next()
	if t, ok := req.Raw().Context().Value(triesKey{}).(*Tries); ok {
		t.add(classify(resp, err))
	}
	return resp, err
}

func classify(resp *http.Response, err error) attempt {
	if err != nil {
		var op *net.OpError
		if errors.As(err, &op) && op.Op == "dial" {
			return notSent
		}
		return unknown
	}
	switch {
	case resp.StatusCode == 503:
		return refused // ServerBusy: throttled before the operation ran
	case resp.StatusCode >= 500:
		return unknown // e.g. OperationTimedOut: the service may have acted
	case resp.StatusCode >= 400:
		return refused
	default:
		return applied
	}
}

// SettleTimeout bounds the read that settles a write whose outcome the
// write's own answer did not tell.
const SettleTimeout = 5 * time.Second

// SettleContext is the context for that read: detached from the call's
// deadline, which may be why the write failed, but bounded.
func SettleContext(ctx context.Context) (context.Context, context.CancelFunc) {
	return context.WithTimeout(context.WithoutCancel(ctx), SettleTimeout)
}

// NewWriteID returns a random id that marks one write, so that a read can
// tell whether the stored version is that write's.
func NewWriteID() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b) // crypto/rand.Read never fails
	return hex.EncodeToString(b)
}
