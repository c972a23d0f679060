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
	ID         string `json:"id"`
	Tenant     string `json:"tenant"`
	Requester  string `json:"requester"` // object id
	Agent      string `json:"agent"`     // client id that made the call
	Tool       string `json:"tool"`
	ArgsDigest string `json:"argsDigest"`
	// TargetETag is the version of the target the request was made for:
	// the action it allows is conditional on that version, so content
	// written after the request is never affected by its approval.
	TargetETag string    `json:"targetETag,omitempty"`
	Summary    string    `json:"summary"` // what the approver is asked to allow, e.g. delete snippet "x"
	Status     Status    `json:"status"`
	CreatedAt  time.Time `json:"createdAt"`
	ExpiresAt  time.Time `json:"expiresAt"`
	DecidedBy  string    `json:"decidedBy,omitempty"`
	DecidedVia string    `json:"decidedVia,omitempty"` // client id the approver acted through
	DecidedAt  time.Time `json:"decidedAt,omitzero"`
	Reason     string    `json:"reason,omitempty"`
	UsedAt     time.Time `json:"usedAt,omitzero"`
	// Rev is a random id written with every change, so that a write whose
	// reply was lost can be recognised by reading the request back.
	Rev string `json:"rev,omitempty"`
	// RequesterName and DeciderName are the display names (or user
	// principal names) the tokens carried: people see who, not only ids.
	RequesterName string `json:"requesterName,omitempty"`
	DeciderName   string `json:"deciderName,omitempty"`
}

// Decision is an approver's answer to a request, with who gives it.
type Decision struct {
	Approver string // object id
	Name     string // the approver's display name, when the token has one
	Via      string // client id the approver acts through
	AppOnly  bool   // the approver is an application, not a signed-in person
	Approve  bool
	Reason   string
	// Authorize, when set, is asked about the stored request before the
	// decision is written (after the store's own checks): the policy
	// engine's approve/deny decision (policy.ActionDecide). Its error is
	// returned as it is and nothing is written.
	Authorize func(Request) error
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
	ErrSameAgent    = errors.New("the request was made through the same client app; a decision must come through a different app than the requester's agent")
	ErrAppApprover  = errors.New("approvals need a signed-in person; an application acting on its own cannot approve or deny")
	ErrTooMany      = errors.New("too many of your approval requests are waiting for a decision")
	ErrDecided      = errors.New("the approval request was already decided")
	ErrUnavailable  = errors.New("approval storage is unavailable")
	// ErrAmbiguous: a change may or may not have been stored (storage's
	// reply was lost and reading the request back could not settle it).
	ErrAmbiguous = errors.New("approval storage did not confirm the change")
)

// newID returns 32 hex digits: the creation time in milliseconds (48 bits)
// then 80 random bits. Ids, and so blob names, sort by creation time,
// which makes listing oldest first a plain name-ordered listing; 80
// random bits keep them unguessable.
func newID(now time.Time) string {
	var b [16]byte
	ms := uint64(now.UnixMilli())
	for i := range 6 {
		b[i] = byte(ms >> (8 * (5 - i)))
	}
	_, _ = rand.Read(b[6:]) // crypto/rand.Read never fails
	return hex.EncodeToString(b[:])
}

// ValidID reports whether id has the shape newID produces, so that a
// malformed id never reaches storage.
func ValidID(id string) bool {
	if len(id) != 32 {
		return false
	}
	for i := 0; i < len(id); i++ {
		if c := id[i]; !(c >= '0' && c <= '9' || c >= 'a' && c <= 'f') {
			return false // lower case only: one id, one blob name
		}
	}
	return true
}
