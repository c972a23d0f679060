package delegate

import (
	"fmt"
	"net/url"
	"strconv"
	"strings"
	"time"
)

// Defaults. The timeout bounds a whole Profile call (token exchange and
// Graph request together) and stays far below the host's 240 s proxy limit.
const (
	DefaultGraphEndpoint = "https://graph.microsoft.com"
	DefaultAuthorityHost = "https://login.microsoftonline.com/"
	DefaultTimeout       = 20 * time.Second
	DefaultCacheSize     = 1000
	maxTimeout           = 2 * time.Minute
)

// Config says how the server exchanges user tokens on behalf of its callers.
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
	// AssertionAudience is the audience of that managed identity token; it
	// follows the cloud of AuthorityHost unless MCP_OBO_ASSERTION_AUDIENCE says otherwise.
	AssertionAudience string

	// ClientSecret (MCP_OBO_CLIENT_SECRET) and CertificatePath
	// (MCP_OBO_CLIENT_CERTIFICATE_PATH, PEM or PKCS#12, with
	// MCP_OBO_CLIENT_CERTIFICATE_PASSWORD) are for local development only.
	ClientSecret        string
	CertificatePath     string
	CertificatePassword string
	// AllowSecret must be set by the caller to accept a secret or
	// certificate: the server sets it when the auth mode is not easyauth.
	// Even then New refuses them when InAzure is true.
	AllowSecret bool
	// InAzure is true when running on App Service or Functions (WEBSITE_INSTANCE_ID).
	InAzure bool

	// AuthorityHost is the Entra authority (AZURE_AUTHORITY_HOST), https only.
	AuthorityHost string
	// DisableInstanceDiscovery is true when AuthorityHost is not a well-known
	// cloud, so MSAL does not ask the public cloud about a private authority.
	DisableInstanceDiscovery bool
	// GraphEndpoint is the Microsoft Graph base URL (MCP_GRAPH_ENDPOINT), https only.
	GraphEndpoint string

	// SignInURL is where a browser user signs in again to the app
	// (https://WEBSITE_HOSTNAME/.auth/login/aad when built-in auth is on);
	// empty when there is no such page (jwt mode).
	SignInURL string

	Timeout   time.Duration // MCP_OBO_TIMEOUT: bound on one Profile call
	CacheSize int           // MCP_OBO_CACHE_SIZE: per-user credentials kept
}

// ConfigError is a configuration mistake; it names the variable.
type ConfigError struct{ Var, Msg string }

func (e *ConfigError) Error() string { return e.Var + ": " + e.Msg }

// Enabled reports whether delegation is configured: an application and a
// way for it to authenticate.
func (c Config) Enabled() bool {
	return c.ClientID != "" && (c.ManagedIdentityClientID != "" || c.ClientSecret != "" || c.CertificatePath != "")
}

// ConfigFromEnv reads the delegation settings through getenv. With no
// credential configured it returns a Config whose Enabled is false and no
// error: delegation is optional.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{
		ClientID:                strings.TrimSpace(getenv("WEBSITE_AUTH_CLIENT_ID")),
		ManagedIdentityClientID: strings.TrimSpace(getenv("OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID")),
		ClientSecret:            getenv("MCP_OBO_CLIENT_SECRET"),
		CertificatePath:         getenv("MCP_OBO_CLIENT_CERTIFICATE_PATH"),
		CertificatePassword:     getenv("MCP_OBO_CLIENT_CERTIFICATE_PASSWORD"),
		InAzure:                 getenv("WEBSITE_INSTANCE_ID") != "",
		Timeout:                 DefaultTimeout,
		CacheSize:               DefaultCacheSize,
	}

	for _, t := range strings.FieldsFunc(getenv("WEBSITE_AUTH_AAD_ALLOWED_TENANTS"), func(r rune) bool { return r == ',' || r == ' ' || r == ';' }) {
		if !validTenant(t) {
			return Config{}, &ConfigError{"WEBSITE_AUTH_AAD_ALLOWED_TENANTS", fmt.Sprintf("%q is not a tenant id", t)}
		}
		c.Tenants = append(c.Tenants, t)
	}

	var err error
	if c.AuthorityHost, err = httpsURL(getenv, "AZURE_AUTHORITY_HOST", DefaultAuthorityHost); err != nil {
		return Config{}, err
	}
	c.DisableInstanceDiscovery = !knownAuthority(c.AuthorityHost)
	if c.GraphEndpoint, err = httpsURL(getenv, "MCP_GRAPH_ENDPOINT", DefaultGraphEndpoint); err != nil {
		return Config{}, err
	}
	c.GraphEndpoint = strings.TrimSuffix(c.GraphEndpoint, "/")
	if u, _ := url.Parse(c.GraphEndpoint); u.Path != "" {
		return Config{}, &ConfigError{"MCP_GRAPH_ENDPOINT", fmt.Sprintf("%q must be the Graph base URL without a path (the server adds /v1.0/me)", c.GraphEndpoint)}
	}
	c.AssertionAudience = getenv("MCP_OBO_ASSERTION_AUDIENCE")
	if c.AssertionAudience == "" {
		c.AssertionAudience = assertionAudience(c.AuthorityHost)
	}

	if v := getenv("MCP_OBO_TIMEOUT"); v != "" {
		d, perr := time.ParseDuration(v)
		if perr != nil || d <= 0 || d > maxTimeout {
			return Config{}, &ConfigError{"MCP_OBO_TIMEOUT", fmt.Sprintf("%q is not a duration between 0 and %s (e.g. 20s)", v, maxTimeout)}
		}
		c.Timeout = d
	}
	if v := getenv("MCP_OBO_CACHE_SIZE"); v != "" {
		n, perr := strconv.Atoi(v)
		if perr != nil || n < 1 || n > 1_000_000 {
			return Config{}, &ConfigError{"MCP_OBO_CACHE_SIZE", fmt.Sprintf("%q is not a number between 1 and 1000000", v)}
		}
		c.CacheSize = n
	}

	if host := getenv("WEBSITE_HOSTNAME"); host != "" && strings.EqualFold(getenv("WEBSITE_AUTH_ENABLED"), "true") {
		c.SignInURL = "https://" + host + "/.auth/login/aad"
	}

	if err := c.validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}

// validate checks the credential choice. New repeats it, so a Config built
// by hand gets the same checks.
func (c Config) validate() error {
	credentials := 0
	for _, v := range []string{c.ManagedIdentityClientID, c.ClientSecret, c.CertificatePath} {
		if v != "" {
			credentials++
		}
	}
	switch {
	case credentials > 0 && c.ClientID == "":
		return &ConfigError{"WEBSITE_AUTH_CLIENT_ID", "required for on-behalf-of delegation (the server's own Entra application id)"}
	case credentials > 1:
		return &ConfigError{"OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID", "set exactly one of OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID, MCP_OBO_CLIENT_SECRET, MCP_OBO_CLIENT_CERTIFICATE_PATH"}
	case c.InAzure && c.ClientSecret != "":
		return &ConfigError{"MCP_OBO_CLIENT_SECRET", "not accepted in Azure: use OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID (a managed identity as federated credential)"}
	case c.InAzure && c.CertificatePath != "":
		return &ConfigError{"MCP_OBO_CLIENT_CERTIFICATE_PATH", "not accepted in Azure: use OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID (a managed identity as federated credential)"}
	}
	return nil
}

func httpsURL(getenv func(string) string, name, def string) (string, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	u, err := url.Parse(v)
	if err != nil || u.Scheme != "https" || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return "", &ConfigError{name, fmt.Sprintf("%q is not an absolute https URL", v)}
	}
	return v, nil
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
