package delegate

import (
	"context"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Kind says why a delegated call failed. Its value is stable and short, fit
// for an audit event's result code.
type Kind string

const (
	KindNotConfigured       Kind = "not_configured"       // the server has no delegation set up
	KindAppOnly             Kind = "app_only"             // the caller is an application, not a user
	KindInteractionRequired Kind = "interaction_required" // MFA, sign-in frequency, device compliance, claims challenge
	KindConsentRequired     Kind = "consent_required"     // nobody consented to the Graph permission
	KindUnauthorized        Kind = "unauthorized"         // the user's token or the delegated token is not accepted
	KindForbidden           Kind = "forbidden"            // policy denies it; signing in again will not help
	KindThrottled           Kind = "throttled"            // 429: try again after RetryAfter
	KindTimeout             Kind = "timeout"              // no answer within the configured bound
	KindUnavailable         Kind = "unavailable"          // Entra, Graph or the managed identity endpoint failed
	KindBadResponse         Kind = "bad_response"         // an answer that could not be understood
	KindMisconfigured       Kind = "misconfigured"        // Entra rejected the server's own credential or request
)

// Error is a delegated call that failed. UserMessage is safe and useful to
// show to the person calling the tool; no field ever holds a token.
type Error struct {
	Kind Kind
	// Code is Entra's AADSTS code or Graph's error code, when there is one.
	Code string
	// Claims is the claims challenge of an interaction_required answer, as
	// Entra or Graph sent it (a JSON object). A client that can ask Entra for
	// a token with extra claims retries with it.
	Claims string
	// RetryAfter is set for KindThrottled when the service said how long to wait.
	RetryAfter time.Duration
	// CorrelationID is Entra's correlation id or Graph's request-id, to quote to support.
	CorrelationID string

	msg   string // for the user
	cause string // for operators: what happened, without response bodies
	err   error
}

func (e *Error) Error() string {
	s := "delegate: " + string(e.Kind)
	if e.Code != "" {
		s += " (" + e.Code + ")"
	}
	if e.cause != "" {
		s += ": " + e.cause
	}
	return s
}

// Unwrap gives the underlying error, e.g. for errors.Is(err, context.DeadlineExceeded).
func (e *Error) Unwrap() error { return e.err }

// UserMessage is what the user should read: what happened and what to do.
func (e *Error) UserMessage() string { return e.msg }

// messages builds user messages; it knows the app and where to sign in.
type messages struct {
	clientID  string
	signInURL string
	timeout   time.Duration
}

func (m messages) signInAgain() string {
	if m.signInURL != "" {
		return "Sign in again (in a browser: " + m.signInURL + "; in an MCP client: sign out of this server's account and connect again), then retry."
	}
	return "Sign in again (in an MCP client: sign out of this server's account and connect again), then retry."
}

func ref(code, correlation string) string {
	var parts []string
	if code != "" {
		parts = append(parts, code)
	}
	if correlation != "" {
		parts = append(parts, "correlation id "+correlation)
	}
	if len(parts) == 0 {
		return ""
	}
	return " (" + strings.Join(parts, ", ") + ")"
}

func notConfigured() *Error {
	return &Error{Kind: KindNotConfigured, cause: "delegation is not configured",
		msg: "This server is not configured to call Microsoft Graph on your behalf. An operator must set WEBSITE_AUTH_CLIENT_ID and OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID (see docs/DELEGATION.md)."}
}

func appOnly() *Error {
	return &Error{Kind: KindAppOnly, cause: "app-only caller",
		msg: "This tool needs a signed-in user: it reads Microsoft Graph on behalf of the user who calls it, and this caller is an application without a user (an app-only token). Call it with a user's delegated token."}
}

func noUserToken() *Error {
	return &Error{Kind: KindUnauthorized, cause: "no inbound user token",
		msg: "The server did not receive your access token, so it cannot act on your behalf. Connect with an Authorization: Bearer token issued for this server."}
}

func (m messages) tenantNotAllowed(tenant string) *Error {
	return &Error{Kind: KindForbidden, cause: "tenant " + tenant + " not in WEBSITE_AUTH_AAD_ALLOWED_TENANTS",
		msg: "Your organization (tenant " + tenant + ") is not one this server acts for. Ask the operator to add it to WEBSITE_AUTH_AAD_ALLOWED_TENANTS."}
}

// interrupted is a call cut short by its deadline or by the caller going away.
func (m messages) interrupted(ctx context.Context, what string, err error) *Error {
	if errors.Is(ctx.Err(), context.Canceled) {
		return &Error{Kind: KindTimeout, err: err, cause: "cancelled while waiting for " + what,
			msg: "The call was cancelled before " + what + " answered. Try again."}
	}
	return &Error{Kind: KindTimeout, err: err, cause: what + " did not answer in time",
		msg: fmt.Sprintf("%s did not answer within %s. Try again in a moment.", what, m.timeout)}
}

// entraError is the error body of Entra's token endpoint.
type entraError struct {
	Error         string `json:"error"`
	Description   string `json:"error_description"`
	Codes         []int  `json:"error_codes"`
	SubError      string `json:"suberror"`
	Claims        string `json:"claims"`
	CorrelationID string `json:"correlation_id"`
}

// AADSTS codes that decide the kind; the error field alone is too coarse
// (Entra answers invalid_grant for consent, MFA and expiry alike).
var (
	interactionCodes = codeSet(50072, 50074, 50076, 50079, 50158, 53000, 53001, 50132, 50133, 50173, 70043, 70044, 50078, 50089)
	consentCodes     = codeSet(65001, 65004, 65005, 90094, 90008, 700016)
	blockedCodes     = codeSet(53003, 530032, 50105, 50057, 50053)
	serverCodes      = codeSet(7000215, 7000222, 700024, 700027, 70021, 70011, 500011, 7000112, 700025, 50012, 700212, 700213)
)

func codeSet(codes ...int) map[int]bool {
	m := make(map[int]bool, len(codes))
	for _, c := range codes {
		m[c] = true
	}
	return m
}

func (b entraError) aadsts() string {
	if len(b.Codes) == 0 {
		return ""
	}
	return "AADSTS" + strconv.Itoa(b.Codes[0])
}

func (b entraError) has(set map[int]bool) bool {
	for _, c := range b.Codes {
		if set[c] {
			return true
		}
	}
	return false
}

// entraFailure turns Entra's token endpoint error into an Error.
func (m messages) entraFailure(status int, b entraError, retryAfter time.Duration) *Error {
	e := &Error{Code: b.aadsts(), CorrelationID: b.CorrelationID,
		cause: fmt.Sprintf("token endpoint answered %d %s", status, b.Error)}
	r := ref(e.Code, e.CorrelationID)
	switch {
	case b.Error == "consent_required" || b.SubError == "consent_required" || b.has(consentCodes):
		e.Kind = KindConsentRequired
		e.msg = "This server's application (client id " + m.clientID + ") has not been granted permission to read your profile from Microsoft Graph (User.Read) in your organization" + r +
			". Ask an administrator to grant consent for it: Microsoft Entra admin center > Enterprise applications > the application > Permissions > Grant admin consent, or `az ad app permission admin-consent --id " + m.clientID + "`. Then retry."
	case b.has(blockedCodes):
		e.Kind = KindForbidden
		e.msg = "Your organization's policy does not allow this server to act on your behalf" + r + ". Signing in again will not change that; contact your administrator."
	case b.Error == "interaction_required" || b.Claims != "" || b.has(interactionCodes):
		e.Kind = KindInteractionRequired
		e.Claims = b.Claims
		e.msg = "Microsoft Entra needs you to sign in again before this server can act on your behalf, for example to complete multi-factor authentication or because of a sign-in frequency or device compliance policy" + r + ". " + m.signInAgain()
	case b.Error == "invalid_client" || b.Error == "unauthorized_client" || b.Error == "invalid_scope" || b.Error == "invalid_resource" || b.has(serverCodes):
		e.Kind = KindMisconfigured
		e.msg = "Microsoft Entra rejected this server's own credentials or request for acting on your behalf" + r + ". This is a server configuration problem that you cannot fix; tell the operator (docs/DELEGATION.md describes the required Entra setup)."
	case status == http.StatusTooManyRequests:
		e.Kind = KindThrottled
		e.RetryAfter = retryAfter
		e.msg = "Microsoft Entra is throttling requests" + r + ". " + waitHint(retryAfter)
	case status >= 500 || b.Error == "temporarily_unavailable":
		e.Kind = KindUnavailable
		e.msg = "Microsoft Entra is temporarily unavailable" + r + ". Try again in a moment; if it persists, give the operator the correlation id."
	case b.Error == "invalid_grant" || b.Error == "invalid_request":
		e.Kind = KindUnauthorized
		e.msg = "Microsoft Entra did not accept your sign-in for acting on your behalf" + r + ". " + m.signInAgain()
	default:
		e.Kind = KindUnavailable
		e.msg = "Microsoft Entra refused to act on your behalf" + r + ". Try again; if it persists, give the operator the correlation id."
	}
	return e
}

func waitHint(d time.Duration) string {
	if d > 0 {
		return fmt.Sprintf("Try again in %d seconds.", int((d+time.Second-1)/time.Second))
	}
	return "Try again in a little while."
}

// retryAfter reads a Retry-After header: delay seconds or an HTTP date.
func retryAfter(h http.Header, now time.Time) time.Duration {
	v := strings.TrimSpace(h.Get("Retry-After"))
	if v == "" {
		return 0
	}
	if n, err := strconv.Atoi(v); err == nil && n >= 0 {
		return time.Duration(n) * time.Second
	}
	if t, err := http.ParseTime(v); err == nil && t.After(now) {
		return t.Sub(now)
	}
	return 0
}

func (m messages) badResponse(who, cause string, err error) *Error {
	return &Error{Kind: KindBadResponse, err: err, cause: cause,
		msg: who + " sent an answer this server could not understand. Try again; if it persists, tell the operator."}
}
