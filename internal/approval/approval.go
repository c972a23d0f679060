// Package approval keeps durable approval requests for destructive tools
// in Blob Storage. Nothing lives in process memory, so a request created
// on one instance can be approved on a second and consumed on a third.
// Every state change is an ETag-conditional write: two racing approvers or
// two racing consumers cannot both win.
package approval

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"time"
)

// Container is the Blob container that holds approval requests.
const Container = "approvals"

// Status is where a request stands.
type Status string

const (
	Pending  Status = "pending"
	Approved Status = "approved"
	Denied   Status = "denied"
	Used     Status = "used"
	Expired  Status = "expired" // derived from ExpiresAt; never stored
)

// Request is one approval request, bound to who asked, for which tool and
// for which arguments (by digest).
type Request struct {
	ID         string    `json:"id"`
	Tenant     string    `json:"tenant"`
	Requester  string    `json:"requester"` // object id
	Agent      string    `json:"agent"`     // client id that made the call
	Tool       string    `json:"tool"`
	ArgsDigest string    `json:"argsDigest"`
	Summary    string    `json:"summary"` // what the approver is asked to allow, e.g. delete snippet "x"
	Status     Status    `json:"status"`
	CreatedAt  time.Time `json:"createdAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
	DecidedBy  string    `json:"decidedBy,omitempty"`
	DecidedAt  time.Time `json:"decidedAt,omitzero"`
	Reason     string    `json:"reason,omitempty"`
	UsedAt     time.Time `json:"usedAt,omitzero"`
}

// StatusAt is the request's status at now: a pending or approved request
// past its expiry has expired.
func (r *Request) StatusAt(now time.Time) Status {
	if (r.Status == Pending || r.Status == Approved) && !now.Before(r.ExpiresAt) {
		return Expired
	}
	return r.Status
}

// Errors that say why an approval cannot be used or decided.
var (
	ErrNotFound     = errors.New("no such approval request")
	ErrExpired      = errors.New("the approval request has expired")
	ErrDenied       = errors.New("the approval request was denied")
	ErrUsed         = errors.New("the approval was already used")
	ErrPending      = errors.New("the approval request is still waiting for a decision")
	ErrNotYours     = errors.New("the approval request belongs to another caller")
	ErrMismatch     = errors.New("the approval was granted for a different tool or different arguments")
	ErrSelfApproval = errors.New("the requester cannot approve or deny their own request")
	ErrDecided      = errors.New("the approval request was already decided")
	ErrUnavailable  = errors.New("approval storage is unavailable")
)

// newID returns 128 random bits in hex: unguessable, one path segment.
func newID() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("crypto/rand failed: " + err.Error()) // never happens on supported platforms
	}
	return hex.EncodeToString(b[:])
}

// ValidID reports whether id has the shape newID produces, so that a
// malformed id never reaches storage.
func ValidID(id string) bool {
	if len(id) != 32 {
		return false
	}
	_, err := hex.DecodeString(id)
	return err == nil
}
