package delegate

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"strings"
)

// Profile is the caller's Microsoft Graph profile. It never carries tokens.
type Profile struct {
	DisplayName       string `json:"displayName"`
	Mail              string `json:"mail"`
	UserPrincipalName string `json:"userPrincipalName"`
	JobTitle          string `json:"jobTitle"`
}

// maxGraphBody bounds what is read from Graph; /me is a few hundred bytes.
const maxGraphBody = 1 << 20

const graphName = "Microsoft Graph"

// me reads /v1.0/me with the delegated token.
func (d *Delegator) me(ctx context.Context, token string, u User) (Profile, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, d.cfg.GraphEndpoint+"/v1.0/me?$select=id,displayName,mail,userPrincipalName,jobTitle", nil)
	if err != nil {
		return Profile{}, fmt.Errorf("build Graph request: %w", err)
	}
	req.Header.Set("Authorization", "Bearer "+token)
	req.Header.Set("Accept", "application/json")
	resp, err := d.http.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return Profile{}, d.msgs.interrupted(ctx, graphName, err)
		}
		return Profile{}, &Error{Kind: KindUnavailable, err: err, cause: "Graph request failed without a response",
			msg: "Microsoft Graph could not be reached. Try again in a moment."}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, maxGraphBody+1))
	if err != nil {
		if ctx.Err() != nil {
			return Profile{}, d.msgs.interrupted(ctx, graphName, err)
		}
		return Profile{}, &Error{Kind: KindUnavailable, err: err, cause: "read Graph response",
			msg: "Microsoft Graph's answer was cut off. Try again in a moment."}
	}
	if ctx.Err() != nil {
		// Whatever arrived, it arrived too late to be trusted as complete.
		return Profile{}, d.msgs.interrupted(ctx, graphName, ctx.Err())
	}
	if resp.StatusCode != http.StatusOK {
		return Profile{}, d.graphFailure(resp, body)
	}
	if len(body) > maxGraphBody {
		return Profile{}, d.msgs.badResponse(graphName, "Graph profile larger than 1 MiB", nil)
	}
	var p struct {
		ID string `json:"id"`
		Profile
	}
	if err := json.Unmarshal(body, &p); err != nil {
		return Profile{}, d.msgs.badResponse(graphName, "Graph profile is not JSON", err)
	}
	// /me is the token's subject; anything else means the token or the
	// endpoint is not what this server thinks it is.
	if p.ID == "" || (u.ObjectID != "" && !strings.EqualFold(p.ID, u.ObjectID)) {
		return Profile{}, d.msgs.badResponse(graphName, "Graph profile is not the caller's", nil)
	}
	return p.Profile, nil
}

// graphError is Graph's error body.
type graphError struct {
	Error struct {
		Code string `json:"code"`
	} `json:"error"`
}

func (d *Delegator) graphFailure(resp *http.Response, body []byte) *Error {
	var ge graphError
	_ = json.Unmarshal(body, &ge) // the code is a nicety; the status decides
	e := &Error{Code: ge.Error.Code, CorrelationID: resp.Header.Get("request-id"),
		cause: fmt.Sprintf("Graph answered %d", resp.StatusCode)}
	r := ref(e.Code, e.CorrelationID)
	switch status := resp.StatusCode; {
	case status == http.StatusUnauthorized:
		if claims := challengeClaims(resp.Header.Values("WWW-Authenticate")); claims != "" {
			// Continuous access evaluation: Graph wants a token with these claims.
			e.Kind = KindInteractionRequired
			e.Claims = claims
			e.msg = "Microsoft Graph needs you to sign in again (your session was revoked or your organization's policy changed)" + r + ". " + d.msgs.signInAgain()
			return e
		}
		e.Kind = KindUnauthorized
		e.msg = "Microsoft Graph did not accept the token obtained on your behalf" + r + ". " + d.msgs.signInAgain()
	case status == http.StatusForbidden:
		e.Kind = KindForbidden
		e.msg = "Microsoft Graph denied access to your profile" + r + ". The server's application may lack the delegated User.Read permission, or your account is restricted; ask an administrator to check the application's Microsoft Graph permissions."
	case status == http.StatusTooManyRequests || (status == http.StatusServiceUnavailable && resp.Header.Get("Retry-After") != ""):
		e.Kind = KindThrottled
		e.RetryAfter = retryAfter(resp.Header, d.now())
		e.msg = "Microsoft Graph is throttling requests" + r + ". " + waitHint(e.RetryAfter)
	case status >= 500:
		e.Kind = KindUnavailable
		e.msg = "Microsoft Graph is temporarily unavailable" + r + ". Try again in a moment."
	default:
		e.Kind = KindBadResponse
		e.msg = fmt.Sprintf("Microsoft Graph answered with an unexpected status %d%s. Try again; if it persists, tell the operator.", status, r)
	}
	return e
}

// challengeClaims returns the decoded claims of a Bearer challenge with
// error="insufficient_claims", or "".
func challengeClaims(challenges []string) string {
	for _, c := range challenges {
		params := authParams(c)
		if params["error"] != "insufficient_claims" || params["claims"] == "" {
			continue
		}
		raw := params["claims"]
		for _, enc := range []*base64.Encoding{base64.StdEncoding, base64.RawStdEncoding, base64.URLEncoding, base64.RawURLEncoding} {
			if b, err := enc.DecodeString(raw); err == nil && json.Valid(b) {
				return string(b)
			}
		}
	}
	return ""
}

// authParams parses the key="value" parameters of one WWW-Authenticate
// challenge (RFC 9110 11.6.1), keys lowercased.
func authParams(challenge string) map[string]string {
	out := map[string]string{}
	s := strings.TrimSpace(challenge)
	if i := strings.IndexByte(s, ' '); i >= 0 {
		s = s[i+1:] // drop the scheme
	}
	for s != "" {
		s = strings.TrimLeft(s, " ,")
		eq := strings.IndexByte(s, '=')
		if eq < 0 {
			break
		}
		key := strings.ToLower(strings.TrimSpace(s[:eq]))
		s = strings.TrimLeft(s[eq+1:], " ")
		var val string
		if strings.HasPrefix(s, `"`) {
			var b strings.Builder
			i := 1
			for ; i < len(s) && s[i] != '"'; i++ {
				if s[i] == '\\' && i+1 < len(s) {
					i++
				}
				b.WriteByte(s[i])
			}
			val = b.String()
			s = s[min(i+1, len(s)):]
		} else {
			end := strings.IndexByte(s, ',')
			if end < 0 {
				end = len(s)
			}
			val = strings.TrimSpace(s[:end])
			s = s[end:]
		}
		out[key] = val
	}
	return out
}
