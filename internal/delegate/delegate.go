// Package delegate calls Microsoft Graph on behalf of the signed-in caller.
// It exchanges the caller's validated inbound token for a Graph token with
// the on-behalf-of flow and never sends the inbound token anywhere but to
// Entra's token endpoint, as the exchange's assertion.
package delegate

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"slices"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/cloud"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/runtime"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// User is the caller to act for, as the server's identity layer established it.
type User struct {
	TenantID string
	ObjectID string
	// Token is the validated inbound bearer token (audience: this server).
	Token   string
	AppOnly bool
}

// Delegator exchanges user tokens and calls Graph. It is safe for
// concurrent use. A nil *Delegator answers every call with KindNotConfigured.
type Delegator struct {
	cfg      Config
	scope    string // the Graph token's scope: <graph>/.default
	resource string // the Graph host, for audit events
	msgs     messages
	http     *http.Client
	now      func() time.Time
	creds    *cache[azcore.TokenCredential]
	newCred  credentialFunc
}

// New returns a Delegator for cfg. It fails when cfg is not Enabled, does
// not pass Validate, or a credential cannot be prepared. It opens no file.
func New(cfg Config) (*Delegator, error) {
	if !cfg.Enabled() {
		return nil, notConfigured()
	}
	cfg = cfg.WithDefaults()
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	graph, _ := url.Parse(cfg.GraphEndpoint) // Validate checked it
	newCred, err := credentials(cfg, clientOptions(cfg, cfg.HTTPClient))
	if err != nil {
		return nil, err
	}
	return &Delegator{
		cfg:      cfg,
		scope:    graph.Scheme + "://" + graph.Host + "/.default",
		resource: graph.Host,
		msgs:     messages{clientID: cfg.ClientID, signInURL: cfg.SignInURL, timeout: cfg.Timeout},
		http:     graphClient(cfg.HTTPClient),
		now:      cfg.Now,
		creds:    newCache[azcore.TokenCredential](cfg.CacheSize),
		newCred:  newCred,
	}, nil
}

// graphClient is c (or a plain client) that never follows redirects: the
// delegated token goes to the configured Graph host and nowhere else.
func graphClient(c *http.Client) *http.Client {
	hc := http.Client{}
	if c != nil {
		hc = *c
	}
	hc.CheckRedirect = func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }
	return &hc
}

// clientOptions are the Azure SDK options of every Entra request.
func clientOptions(cfg Config, c *http.Client) azcore.ClientOptions {
	co := azcore.ClientOptions{
		Cloud: cloud.Configuration{ActiveDirectoryAuthorityHost: cfg.AuthorityHost},
		// Few, short retries: the whole call is bounded by cfg.Timeout, and
		// a retry must not eat that budget waiting on a long Retry-After.
		Retry: policy.RetryOptions{MaxRetries: 1, RetryDelay: 300 * time.Millisecond, MaxRetryDelay: 2 * time.Second, TryTimeout: cfg.Timeout / 2},
	}
	if c != nil {
		co.Transport = c
	}
	return co
}

// credentialFunc makes the on-behalf-of credential for one user token.
type credentialFunc func(tenant, userToken string) (azcore.TokenCredential, error)

// credentials prepares the app's own credential, the one Validate let
// through: a managed identity's assertion, a certificate or a secret.
func credentials(cfg Config, co azcore.ClientOptions) (credentialFunc, error) {
	oboOpts := &azidentity.OnBehalfOfCredentialOptions{ClientOptions: co, DisableInstanceDiscovery: cfg.DisableInstanceDiscovery}
	switch {
	case cfg.ManagedIdentityClientID != "":
		assertion, err := managedIdentityAssertion(cfg, co)
		if err != nil {
			return nil, err
		}
		return func(tenant, userToken string) (azcore.TokenCredential, error) {
			return azidentity.NewOnBehalfOfCredentialWithClientAssertions(tenant, cfg.ClientID, userToken, assertion, oboOpts)
		}, nil
	case len(cfg.Certificate) > 0:
		certs, key, err := azidentity.ParseCertificates(cfg.Certificate, []byte(cfg.CertificatePassword))
		if err != nil {
			return nil, fmt.Errorf("%w: %v", ErrCertificate, err)
		}
		return func(tenant, userToken string) (azcore.TokenCredential, error) {
			return azidentity.NewOnBehalfOfCredentialWithCertificate(tenant, cfg.ClientID, userToken, certs, key, oboOpts)
		}, nil
	default:
		return func(tenant, userToken string) (azcore.TokenCredential, error) {
			return azidentity.NewOnBehalfOfCredentialWithSecret(tenant, cfg.ClientID, userToken, cfg.ClientSecret, oboOpts)
		}, nil
	}
}

// managedIdentityAssertion returns the client assertion of the Azure path:
// the managed identity's token for the federated credential's audience.
func managedIdentityAssertion(cfg Config, co azcore.ClientOptions) (func(context.Context) (string, error), error) {
	mi, err := azidentity.NewManagedIdentityCredential(&azidentity.ManagedIdentityCredentialOptions{
		ClientOptions: co,
		ID:            azidentity.ClientID(cfg.ManagedIdentityClientID),
	})
	if err != nil {
		return nil, fmt.Errorf("managed identity %s for OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID: %w", cfg.ManagedIdentityClientID, err)
	}
	scope := strings.TrimSuffix(cfg.AssertionAudience, "/") + "/.default"
	return func(ctx context.Context) (string, error) {
		tk, err := mi.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{scope}})
		if err != nil {
			return "", &assertionError{err}
		}
		return tk.Token, nil
	}, nil
}

// Resource is the downstream host (the Graph host) for audit events.
func (d *Delegator) Resource() string {
	if d == nil {
		return ""
	}
	return d.resource
}

// Profile returns the caller's Graph profile, read with a token obtained on
// the caller's behalf. Every failure is an *Error; the whole call (exchange
// and Graph request) takes at most the configured timeout.
func (d *Delegator) Profile(ctx context.Context, u User) (Profile, error) {
	if d == nil {
		return Profile{}, notConfigured()
	}
	ctx, cancel := context.WithTimeout(ctx, d.cfg.Timeout)
	defer cancel()
	token, key, err := d.token(ctx, u)
	if err != nil {
		return Profile{}, err
	}
	p, err := d.me(ctx, token, u)
	if err != nil {
		var de *Error
		if errors.As(err, &de) && (de.Kind == KindUnauthorized || de.Kind == KindInteractionRequired) {
			// Graph refused the delegated token: exchange again next time.
			d.creds.remove(key)
		}
		return Profile{}, err
	}
	return p, nil
}

// token returns a Graph access token for u and the cache key it came from.
func (d *Delegator) token(ctx context.Context, u User) (string, string, error) {
	if u.AppOnly {
		return "", "", appOnly()
	}
	if u.Token == "" {
		return "", "", noUserToken()
	}
	tenant, err := d.tenantFor(u)
	if err != nil {
		return "", "", err
	}
	key := userKey(tenant, u.ObjectID, u.Token)
	cred, err := d.creds.getOrAdd(key, d.now(), func() (azcore.TokenCredential, time.Time, error) {
		c, err := d.newCred(tenant, u.Token)
		return c, tokenExpiry(u.Token, d.now()), err
	})
	if err != nil {
		return "", "", &Error{Kind: KindMisconfigured, err: err, cause: "create on-behalf-of credential: " + err.Error(),
			msg: "This server's delegation settings are not usable. Tell the operator (docs/DELEGATION.md)."}
	}
	tk, err := cred.GetToken(ctx, policy.TokenRequestOptions{Scopes: []string{d.scope}})
	if err != nil {
		// Nothing useful is cached for this user token; don't keep it.
		d.creds.remove(key)
		return "", "", d.tokenFailure(ctx, err)
	}
	return tk.Token, key, nil
}

// tokenFailure turns a failed exchange into an Error. The azidentity error
// text is not copied: it can quote whole response bodies.
func (d *Delegator) tokenFailure(ctx context.Context, err error) *Error {
	if ctx.Err() != nil {
		return d.msgs.interrupted(ctx, "Microsoft Entra ID", err)
	}
	var ae *assertionError
	if errors.As(err, &ae) {
		e := &Error{Kind: KindUnavailable, err: err, cause: "managed identity endpoint failed",
			msg: "This server could not get its managed identity credential, which it needs to act on your behalf. Try again in a moment; if it persists, tell the operator (docs/DELEGATION.md, managed identity)."}
		var afe *azidentity.AuthenticationFailedError
		if errors.As(ae.err, &afe) && afe.RawResponse != nil && afe.RawResponse.StatusCode < 500 && afe.RawResponse.StatusCode != http.StatusTooManyRequests {
			e.Kind = KindMisconfigured
			e.cause = fmt.Sprintf("managed identity endpoint answered %d", afe.RawResponse.StatusCode)
			e.msg = "This server's managed identity could not provide the credential it needs to act on your behalf. This is a server configuration problem; tell the operator (check OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID and the identity assigned to the app)."
		}
		return e
	}
	var afe *azidentity.AuthenticationFailedError
	if errors.As(err, &afe) && afe.RawResponse != nil {
		resp := afe.RawResponse
		body, _ := runtime.Payload(resp)
		var b entraError
		if json.Unmarshal(body, &b) == nil && b.Error != "" {
			e := d.msgs.entraFailure(resp.StatusCode, b, retryAfter(resp.Header, d.now()))
			e.err = err
			return e
		}
		switch {
		case resp.StatusCode == http.StatusTooManyRequests:
			ra := retryAfter(resp.Header, d.now())
			return &Error{Kind: KindThrottled, RetryAfter: ra, err: err, cause: "token endpoint answered 429",
				msg: "Microsoft Entra is throttling requests. " + waitHint(ra)}
		case resp.StatusCode >= 500:
			return &Error{Kind: KindUnavailable, err: err, cause: fmt.Sprintf("token endpoint answered %d", resp.StatusCode),
				msg: "Microsoft Entra is temporarily unavailable. Try again in a moment."}
		}
		return d.msgs.badResponse("Microsoft Entra ID", fmt.Sprintf("token endpoint answered %d without an OAuth error", resp.StatusCode), err)
	}
	if text := err.Error(); strings.Contains(text, "json decode error") || strings.Contains(text, "missing access_token") {
		return d.msgs.badResponse("Microsoft Entra ID", "token endpoint answer is not a token response", err)
	}
	return &Error{Kind: KindUnavailable, err: err, cause: "token request failed without a response",
		msg: "Microsoft Entra ID could not be reached. Try again in a moment."}
}

// tenantFor picks the tenant to exchange in: the caller's, which must be
// one of the allowed tenants when they are configured.
func (d *Delegator) tenantFor(u User) (string, error) {
	allowed := d.cfg.Tenants
	switch {
	case u.TenantID != "" && (len(allowed) == 0 || slices.ContainsFunc(allowed, func(t string) bool { return strings.EqualFold(t, u.TenantID) })):
		if !validTenant(u.TenantID) {
			return "", d.msgs.tenantNotAllowed(u.TenantID)
		}
		return u.TenantID, nil
	case u.TenantID == "" && len(allowed) == 1:
		return allowed[0], nil
	case u.TenantID == "":
		return "", &Error{Kind: KindUnauthorized, cause: "caller has no tenant id",
			msg: "Your token does not say which organization (tenant) you belong to, so the server cannot act on your behalf. Sign in with a work or school account."}
	default:
		return "", d.msgs.tenantNotAllowed(u.TenantID)
	}
}

// assertionError marks a failure to get the managed identity's token, as
// opposed to Entra refusing the exchange.
type assertionError struct{ err error }

func (e *assertionError) Error() string { return "managed identity assertion: " + e.err.Error() }
func (e *assertionError) Unwrap() error { return e.err }
