// Package config reads the server's environment into a typed, validated
// configuration. A mistake stops the server at start with one line that
// names the variable.
package config

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"
)

// Auth modes.
const (
	AuthDev      = "dev"
	AuthEasyAuth = "easyauth"
	AuthJWT      = "jwt"
)

// Config is everything the server reads from its environment.
type Config struct {
	ListenAddr     string // host:port
	AuthMode       string
	JWT            JWT
	ResourceURL    string   // canonical MCP URL published in PRM; "" derives it from the request
	Scopes         []string // scopes published in PRM and challenges
	ToolPolicyFile string
	AllowedOrigins []string
	AllowedHosts   []string
	MaxBodyBytes   int64
	SnippetMaxSize int64
	ToolTimeout    time.Duration
	ApprovalTTL    time.Duration
	// ApprovalAllowAppOnly lets applications acting on their own approve
	// and deny (MCP_APPROVAL_ALLOW_APP_ONLY=true); off, approvers are people.
	ApprovalAllowAppOnly bool
	Storage              Storage
}

// JWT configures in-process bearer token validation.
type JWT struct {
	Issuer    string
	Audiences []string
	Tenants   []string
	// KeyRefresh is the least time between key set fetches caused by
	// unknown key ids, so a flood of bogus kids cannot hammer the issuer.
	KeyRefresh time.Duration
}

// Storage is a Blob Storage connection in either of the Functions forms:
// a connection string, or an identity-based service URI.
type Storage struct {
	Setting          string // which variable it came from, for error messages
	ConnectionString string
	ServiceURI       string
	Credential       string // "managedidentity" or "" (the default credential chain)
	ClientID         string // user-assigned managed identity
}

// Error is a configuration mistake: it names the variable.
type Error struct {
	Var, Msg string
}

func (e *Error) Error() string { return e.Var + ": " + e.Msg }

// FromEnv reads the process environment.
func FromEnv() (*Config, error) { return Load(os.Getenv) }

// Load reads configuration through getenv, so tests need not touch the
// process environment.
func Load(getenv func(string) string) (*Config, error) {
	c := &Config{}
	var err error

	port := getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if port == "" {
		port = "7071"
	}
	if n, perr := strconv.Atoi(port); perr != nil || n < 0 || n > 65535 {
		return nil, &Error{"FUNCTIONS_CUSTOMHANDLER_PORT", fmt.Sprintf("%q is not a port number", port)}
	}
	host := getenv("MCP_LISTEN_HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	c.ListenAddr = net.JoinHostPort(host, port)

	if c.AuthMode, err = authMode(getenv); err != nil {
		return nil, err
	}
	if c.AuthMode == AuthEasyAuth && !strings.EqualFold(getenv("WEBSITE_AUTH_ENABLED"), "true") {
		// Without the platform in front, anyone could send the principal header.
		return nil, &Error{"MCP_AUTH_MODE", "easyauth trusts X-MS-CLIENT-PRINCIPAL, which only Functions built-in auth can vouch for, and WEBSITE_AUTH_ENABLED is not True here; use jwt (or dev on loopback) without the platform"}
	}
	if c.AuthMode == AuthDev && !IsLoopback(host) {
		return nil, &Error{"MCP_AUTH_MODE", fmt.Sprintf("dev mode serves a fixed identity and is allowed only on a loopback address, not %q (MCP_LISTEN_HOST)", host)}
	}
	if c.AuthMode == AuthJWT {
		c.JWT = JWT{
			Issuer:    getenv("MCP_AUTH_ISSUER"),
			Audiences: list(getenv("MCP_AUTH_AUDIENCE")),
			Tenants:   list(getenv("MCP_AUTH_TENANTS")),
		}
		if c.JWT.Issuer == "" {
			return nil, &Error{"MCP_AUTH_ISSUER", "required when MCP_AUTH_MODE=jwt (the exact issuer of accepted tokens)"}
		}
		if _, perr := absURL(c.JWT.Issuer); perr != nil {
			return nil, &Error{"MCP_AUTH_ISSUER", perr.Error()}
		}
		if c.JWT.KeyRefresh, err = duration(getenv, "MCP_AUTH_KEY_REFRESH", 30*time.Second, time.Hour); err != nil {
			return nil, err
		}
		if len(c.JWT.Audiences) == 0 {
			return nil, &Error{"MCP_AUTH_AUDIENCE", "required when MCP_AUTH_MODE=jwt (comma-separated accepted audiences)"}
		}
	}

	if c.ResourceURL = getenv("MCP_RESOURCE_URL"); c.ResourceURL != "" {
		if _, perr := absURL(c.ResourceURL); perr != nil {
			return nil, &Error{"MCP_RESOURCE_URL", perr.Error()}
		}
	}
	c.Scopes = list(getenv("WEBSITE_AUTH_PRM_DEFAULT_WITH_SCOPES"))
	c.ToolPolicyFile = getenv("MCP_TOOL_POLICY")

	if c.AllowedOrigins, err = origins(getenv("MCP_ALLOWED_ORIGINS")); err != nil {
		return nil, err
	}
	c.AllowedHosts = list(getenv("MCP_ALLOWED_HOSTS"))
	if h := getenv("WEBSITE_HOSTNAME"); h != "" {
		c.AllowedHosts = append(c.AllowedHosts, h)
	}

	if c.MaxBodyBytes, err = size(getenv, "MCP_MAX_BODY_BYTES", 1<<20); err != nil {
		return nil, err
	}
	if c.SnippetMaxSize, err = size(getenv, "SNIPPET_MAX_BYTES", 256<<10); err != nil {
		return nil, err
	}
	if c.SnippetMaxSize > c.MaxBodyBytes {
		return nil, &Error{"SNIPPET_MAX_BYTES", fmt.Sprintf("%d exceeds MCP_MAX_BODY_BYTES (%d): such a snippet could never arrive", c.SnippetMaxSize, c.MaxBodyBytes)}
	}
	if c.ToolTimeout, err = duration(getenv, "MCP_TOOL_TIMEOUT", 30*time.Second, 200*time.Second); err != nil {
		return nil, err
	}
	if c.ApprovalTTL, err = duration(getenv, "MCP_APPROVAL_TTL", 15*time.Minute, 7*24*time.Hour); err != nil {
		return nil, err
	}
	switch v := strings.ToLower(strings.TrimSpace(getenv("MCP_APPROVAL_ALLOW_APP_ONLY"))); v {
	case "", "false":
	case "true":
		c.ApprovalAllowAppOnly = true
	default:
		return nil, &Error{"MCP_APPROVAL_ALLOW_APP_ONLY", fmt.Sprintf("%q is not true or false", v)}
	}

	if c.Storage, err = storage(getenv); err != nil {
		return nil, err
	}
	return c, nil
}

func authMode(getenv func(string) string) (string, error) {
	mode := strings.ToLower(strings.TrimSpace(getenv("MCP_AUTH_MODE")))
	if mode == "" && strings.EqualFold(getenv("WEBSITE_AUTH_ENABLED"), "true") {
		mode = AuthEasyAuth
	}
	switch mode {
	case AuthDev, AuthEasyAuth, AuthJWT:
		return mode, nil
	case "":
		return "", &Error{"MCP_AUTH_MODE", "not set: choose easyauth (behind Functions built-in auth), jwt (validate bearer tokens here) or dev (loopback only); there is no unauthenticated mode"}
	default:
		return "", &Error{"MCP_AUTH_MODE", fmt.Sprintf("%q is not a mode: choose easyauth, jwt or dev", mode)}
	}
}

// storage resolves SNIPPETS_STORAGE, falling back to AzureWebJobsStorage,
// in the connection-string or the identity-based (__blobServiceUri) form.
func storage(getenv func(string) string) (Storage, error) {
	for _, name := range []string{"SNIPPETS_STORAGE", "AzureWebJobsStorage"} {
		if cs := getenv(name); cs != "" {
			return Storage{Setting: name, ConnectionString: cs}, nil
		}
		uri := getenv(name + "__blobServiceUri")
		if uri == "" {
			if account := getenv(name + "__accountName"); account != "" {
				uri = "https://" + account + ".blob.core.windows.net"
			}
		}
		if uri == "" {
			continue
		}
		if _, err := absURL(uri); err != nil {
			return Storage{}, &Error{name + "__blobServiceUri", err.Error()}
		}
		s := Storage{Setting: name, ServiceURI: uri, ClientID: getenv(name + "__clientId")}
		switch cred := strings.ToLower(getenv(name + "__credential")); cred {
		case "", "managedidentity":
			s.Credential = cred
		default:
			return Storage{}, &Error{name + "__credential", fmt.Sprintf("%q is not supported: use managedidentity, or leave it unset for the default credential chain", cred)}
		}
		return s, nil
	}
	return Storage{}, &Error{"SNIPPETS_STORAGE", "no storage configured: set SNIPPETS_STORAGE (a connection string or UseDevelopmentStorage=true), SNIPPETS_STORAGE__blobServiceUri, or AzureWebJobsStorage"}
}

func origins(v string) ([]string, error) {
	var out []string
	for _, o := range list(v) {
		u, err := url.Parse(o)
		if err != nil || u.Scheme == "" || u.Host == "" || (u.Path != "" && u.Path != "/") || u.RawQuery != "" {
			return nil, &Error{"MCP_ALLOWED_ORIGINS", fmt.Sprintf("%q is not an origin (scheme://host[:port])", o)}
		}
		out = append(out, strings.ToLower(u.Scheme+"://"+u.Host))
	}
	return out, nil
}

func size(getenv func(string) string, name string, def int64) (int64, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n <= 0 || n > 64<<20 {
		return 0, &Error{name, fmt.Sprintf("%q is not a byte count between 1 and 67108864", v)}
	}
	return n, nil
}

func duration(getenv func(string) string, name string, def, max time.Duration) (time.Duration, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	d, err := time.ParseDuration(v)
	if err != nil || d <= 0 || d > max {
		// The example is the default: always in range, and it shows the
		// unit that a bare number ("30") lacks.
		return 0, &Error{name, fmt.Sprintf("%q is not a duration above 0 and at most %s, with a unit (e.g. %s)", v, max, def)}
	}
	return d, nil
}

func absURL(s string) (*url.URL, error) {
	u, err := url.Parse(s)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return nil, fmt.Errorf("%q is not an absolute http(s) URL", s)
	}
	return u, nil
}

// list splits a comma- or space-separated setting.
func list(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == ';' })
}

// IsLoopback reports whether host (a name or IP, without port) is a loopback address.
func IsLoopback(host string) bool {
	host = strings.Trim(host, "[]")
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
