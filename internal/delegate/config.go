package delegate

import (
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Defaults, for the zero values of Config. The timeout bounds a whole
// Profile call (token exchange and Graph request together) and stays far
// below the host's 240 s proxy limit.
const (
	DefaultGraphEndpoint = "https://graph.microsoft.com"
	DefaultAuthorityHost = "https://login.microsoftonline.com/"
	DefaultTimeout       = 20 * time.Second
	DefaultCacheSize     = 1000
)

// Config says how the server exchanges user tokens on behalf of its
// callers. internal/config builds it from the environment (the variables
// named below); New validates it with Validate and fills in the defaults
// of zero values (WithDefaults).
type Config struct {
	// ClientID is the server's own Entra application (WEBSITE_AUTH_CLIENT_ID):
	// the audience of inbound user tokens and the client of the exchange.
	ClientID string
	// Tenants are the allowed tenant ids (WEBSITE_AUTH_AAD_ALLOWED_TENANTS).
	// The caller's tenant must be one of them; empty means the caller's own.
	Tenants []string

	// ManagedIdentityClientID (OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID) names
	// the user-assigned managed identity whose token is the app's client
	// assertion: no secret exists anywhere. This is the Azure path.
	ManagedIdentityClientID string
	// AssertionAudience is the audience of that managed identity token
	// (MCP_OBO_ASSERTION_AUDIENCE); "" follows the cloud of AuthorityHost.
	AssertionAudience string

	// ClientSecret (MCP_OBO_CLIENT_SECRET) and Certificate (the contents of
	// the file MCP_OBO_CLIENT_CERTIFICATE_PATH names, PEM or PKCS#12, with
	// CertificatePassword from MCP_OBO_CLIENT_CERTIFICATE_PASSWORD) are for
	// local development only. The loader reads the file, so New opens none.
	ClientSecret        string
	Certificate         []byte
	CertificatePassword string
	// AllowSecret must be set to accept a secret or certificate: the loader
	// sets it when the auth mode is not easyauth. Even then they are
	// refused when InAzure is true.
	AllowSecret bool
	// InAzure is true when running on App Service or Functions (WEBSITE_INSTANCE_ID).
	InAzure bool

	// AuthorityHost is the Entra authority (AZURE_AUTHORITY_HOST), https
	// only; "" means DefaultAuthorityHost.
	AuthorityHost string
	// DisableInstanceDiscovery keeps MSAL from asking the public cloud
	// about the authority. WithDefaults sets it for every AuthorityHost that
	// is not a well-known cloud, so a private authority is never named there.
	DisableInstanceDiscovery bool
	// GraphEndpoint is the Microsoft Graph base URL (MCP_GRAPH_ENDPOINT),
	// https only, without a path; "" means DefaultGraphEndpoint.
	GraphEndpoint string

	// SignInURL is where a browser user signs in again to the app
	// (https://WEBSITE_HOSTNAME/.auth/login/aad when built-in auth is on);
	// empty when there is no such page (jwt mode).
	SignInURL string

	Timeout   time.Duration // MCP_OBO_TIMEOUT: bound on one Profile call; 0 means DefaultTimeout
	CacheSize int           // MCP_OBO_CACHE_SIZE: per-user credentials kept; 0 means DefaultCacheSize

	// HTTPClient, when set, sends every request (Entra, managed identity,
	// Graph), e.g. one that trusts a local test authority's certificate;
	// nil means a plain client. Redirects are never followed either way.
	HTTPClient *http.Client
	// Now replaces time.Now for cache expiry; nil means time.Now.
	Now func() time.Time
}

// Errors of Validate; the returned error wraps exactly one of them.
var (
	ErrNoClientID         = errors.New("required for on-behalf-of delegation (the server's own Entra application id)")
	ErrCredentials        = errors.New("more than one credential: set exactly one of a managed identity, a client secret and a client certificate")
	ErrSecretInAzure      = errors.New("a client secret is not accepted in Azure")
	ErrCertificateInAzure = errors.New("a client certificate is not accepted in Azure")
	ErrSecretNotAllowed   = errors.New("a client secret or certificate is accepted only for local development")
	ErrCertificate        = errors.New("cannot read a certificate and private key (PEM or PKCS#12)")
	ErrTenant             = errors.New("not a tenant id")
	ErrAuthorityHost      = errors.New("not an absolute https URL")
	ErrGraphEndpoint      = errors.New("not the Graph base URL: an absolute https URL without a path (the server adds /v1.0/me)")
	ErrNegative           = errors.New("timeout and cache size must not be negative")
)

// Enabled reports whether delegation is configured: an application and a
// way for it to authenticate.
func (c Config) Enabled() bool {
	return c.ClientID != "" && c.credentials() > 0
}

func (c Config) credentials() int {
	n := 0
	for _, set := range []bool{c.ManagedIdentityClientID != "", c.ClientSecret != "", len(c.Certificate) > 0} {
		if set {
			n++
		}
	}
	return n
}

// WithDefaults returns c with each zero value replaced by its default.
func (c Config) WithDefaults() Config {
	if c.AuthorityHost == "" {
		c.AuthorityHost = DefaultAuthorityHost
	}
	c.DisableInstanceDiscovery = c.DisableInstanceDiscovery || !knownAuthority(c.AuthorityHost)
	if c.GraphEndpoint == "" {
		c.GraphEndpoint = DefaultGraphEndpoint
	}
	c.GraphEndpoint = strings.TrimSuffix(c.GraphEndpoint, "/")
	if c.AssertionAudience == "" {
		c.AssertionAudience = assertionAudience(c.AuthorityHost)
	}
	if c.Timeout == 0 {
		c.Timeout = DefaultTimeout
	}
	if c.CacheSize == 0 {
		c.CacheSize = DefaultCacheSize
	}
	if c.Now == nil {
		c.Now = time.Now
	}
	return c
}

// Validate checks c, whether or not delegation is Enabled: the URLs and
// tenants, then the credential choice. New calls it; the loader calls it
// too, so that a mistake stops the server at start.
func (c Config) Validate() error {
	for _, t := range c.Tenants {
		if !validTenant(t) {
			return fmt.Errorf("%q is %w", t, ErrTenant)
		}
	}
	if c.AuthorityHost != "" && !httpsURL(c.AuthorityHost) {
		return fmt.Errorf("%q is %w", c.AuthorityHost, ErrAuthorityHost)
	}
	if g := strings.TrimSuffix(c.GraphEndpoint, "/"); g != "" {
		if u, err := url.Parse(g); !httpsURL(g) || err != nil || u.Path != "" {
			return fmt.Errorf("%q is %w", c.GraphEndpoint, ErrGraphEndpoint)
		}
	}
	if c.Timeout < 0 || c.CacheSize < 0 {
		return ErrNegative
	}
	return c.validateCredential()
}

// validateCredential checks the credential choice: one, for a named
// application, and a secret or certificate only where they are allowed.
func (c Config) validateCredential() error {
	n := c.credentials()
	secret, cert := c.ClientSecret != "", len(c.Certificate) > 0
	switch {
	case n > 0 && c.ClientID == "":
		return ErrNoClientID
	case n > 1:
		return ErrCredentials
	case c.InAzure && secret:
		return ErrSecretInAzure
	case c.InAzure && cert:
		return ErrCertificateInAzure
	case (secret || cert) && !c.AllowSecret:
		return ErrSecretNotAllowed
	case cert:
		if _, _, err := azidentity.ParseCertificates(c.Certificate, []byte(c.CertificatePassword)); err != nil {
			return fmt.Errorf("%w: %v", ErrCertificate, err)
		}
	}
	return nil
}

// httpsURL reports whether v is an absolute https URL without query or
// fragment.
func httpsURL(v string) bool {
	u, err := url.Parse(v)
	return err == nil && u.Scheme == "https" && u.Host != "" && u.RawQuery == "" && u.Fragment == ""
}

// validTenant accepts what Entra accepts in an authority path: a GUID or a
// domain name.
func validTenant(t string) bool {
	if t == "" {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || r == '-' || r == '.') {
			return false
		}
	}
	return true
}

// wellKnownAuthorities are the Entra hosts MSAL can discover by itself.
var wellKnownAuthorities = map[string]bool{
	"login.microsoftonline.com":        true,
	"login.microsoft.com":              true,
	"login.windows.net":                true,
	"sts.windows.net":                  true,
	"login.microsoftonline.us":         true,
	"login-us.microsoftonline.com":     true,
	"login.usgovcloudapi.net":          true,
	"login.chinacloudapi.cn":           true,
	"login.partner.microsoftonline.cn": true,
	"login.microsoftonline.de":         true,
}

func knownAuthority(host string) bool {
	u, err := url.Parse(host)
	return err == nil && wellKnownAuthorities[strings.ToLower(u.Hostname())]
}

// assertionAudience is the audience of the managed identity token that a
// federated credential accepts; each cloud has its own.
func assertionAudience(authority string) string {
	u, _ := url.Parse(authority)
	switch strings.ToLower(u.Hostname()) {
	case "login.microsoftonline.us", "login-us.microsoftonline.com", "login.usgovcloudapi.net":
		return "api://AzureADTokenExchangeUSGov"
	case "login.chinacloudapi.cn", "login.partner.microsoftonline.cn":
		return "api://AzureADTokenExchangeChina"
	}
	return "api://AzureADTokenExchange"
}
