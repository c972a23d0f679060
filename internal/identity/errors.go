package identity

import (
	"errors"
	"net/http"
)

// ErrNoCredentials means the request carried no credentials at all. The
// caller answers 401 with a challenge but without an error code (RFC 6750 3.1).
var ErrNoCredentials = errors.New("no credentials")

// RejectError means credentials were present but not acceptable. Reason is
// safe to show to the client: it never contains token material.
type RejectError struct{ Reason string }

func (e *RejectError) Error() string { return "invalid credentials: " + e.Reason }

// Authenticator establishes the caller identity of a request. It returns
// ErrNoCredentials or a *RejectError when it cannot.
type Authenticator interface {
	Authenticate(r *http.Request) (*Identity, error)
}
