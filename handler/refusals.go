package handler

import (
	"errors"
	"fmt"
	"net/http"
	"strings"
	"sync"
	"time"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity"
)

// refusalsPerSecond bounds the audit events for refused requests on one
// instance: a flood of bad tokens must stay visible without becoming a
// flood of stdout lines and Application Insights items.
const refusalsPerSecond = 10

// maxReason bounds the authenticator's reason in an event, leaving room
// for the suppressed count within audit's own bound on Message.
const maxReason = 100

// refusals records the requests that prm.Require refused (401, 503) as
// audit events, so that failed access is visible next to the tool calls.
// An event carries no identity (there is none) and no token material: its
// message is the authenticator's fixed reason. Beyond refusalsPerSecond in
// one second, refusals are counted instead of recorded, and the next
// recorded event says how many were left out since the one before it.
type refusals struct {
	auditor *audit.Auditor
	now     func() time.Time

	mu         sync.Mutex
	window     time.Time // start of the current one-second window
	recorded   int       // events recorded in this window
	suppressed int       // refusals not recorded since the last event
}

func newRefusals(a *audit.Auditor) *refusals {
	return &refusals{auditor: a, now: time.Now}
}

// record is the prm.Options.OnRefused hook.
func (f *refusals) record(r *http.Request, status int, err error) {
	now := f.now()
	skipped, ok := f.admit(now)
	if !ok {
		return
	}
	code, msg := audit.ResultUnauthenticated, refusalReason(err)
	if status == http.StatusServiceUnavailable {
		// err names the issuer's URLs and the network failure: the log has
		// those, the event only what happened.
		code, msg = audit.ResultUnavailable, "credentials could not be checked: issuer unavailable"
	}
	if skipped > 0 {
		msg += fmt.Sprintf(" (+%d refusals not recorded: rate limit)", skipped)
	}
	f.auditor.Record(audit.Event{
		Timestamp:   now,
		OperationID: audit.OperationID(r.Header.Get("Traceparent")),
		ResultCode:  code,
		Message:     msg,
	})
}

// admit reports whether a refusal at now may be recorded and, if so, how
// many were suppressed since the last recorded one.
func (f *refusals) admit(now time.Time) (skipped int, ok bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if now.Sub(f.window) >= time.Second || now.Before(f.window) {
		f.window, f.recorded = now, 0
	}
	if f.recorded >= refusalsPerSecond {
		f.suppressed++
		return 0, false
	}
	f.recorded++
	skipped, f.suppressed = f.suppressed, 0
	return skipped, true
}

// refusalReason is the safe text for a 401: the authenticator's reason is
// a fixed sentence by contract (RejectError), still kept printable and short.
func refusalReason(err error) string {
	var rej *identity.RejectError
	switch {
	case errors.As(err, &rej):
		return "invalid credentials: " + printable(rej.Reason, maxReason)
	case errors.Is(err, identity.ErrNoCredentials):
		return "no credentials"
	default:
		return "no identity established"
	}
}

// printable keeps printable ASCII only, at most max bytes.
func printable(s string, max int) string {
	s = strings.Map(func(r rune) rune {
		if r < 0x20 || r > 0x7e {
			return -1
		}
		return r
	}, s)
	if len(s) > max {
		s = s[:max]
	}
	return s
}
