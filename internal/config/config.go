// Package config is the one place the server reads its environment. Load
// builds one Config that holds each package's own options type; each
// package validates its own options (their Validate methods, with sentinel
// errors), and Load calls those same checks so that a mistake stops the
// server at start with one line, an *Error, that names the variable.
package config

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/snippets-mcp/server/internal/approval"
	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/delegate"
	"github.com/snippets-mcp/server/internal/httpx"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/storage"
)

// Auth modes.
const (
	AuthDev      = "dev"
	AuthEasyAuth = "easyauth"
	AuthJWT      = "jwt"
)

// Config is everything the server reads from its environment: the
// options of each package, ready to pass, and the plain settings of the
// handler and the tools.
type Config struct {
	ListenAddr string // host:port
	AuthMode   string
	// JWT is the bearer token validation of jwt mode (zero in other modes).
	JWT            identity.JWTConfig
	ResourceURL    string   // canonical MCP URL published in PRM; "" derives it from the request
	Scopes         []string // scopes published in PRM and challenges
	AllowedOrigins []string
	AllowedHosts   []string
	MaxBodyBytes   int64
	SnippetMaxSize int64
	ToolTimeout    time.Duration
	// ToolPolicy is the legacy JSON document MCP_TOOL_POLICY names, read
	// at load; unset means none.
	ToolPolicy Text
	// OperatorPolicy is the operator's Cedar rules from MCP_OPERATOR_POLICY
	// (the text itself, e.g. an app setting) or MCP_OPERATOR_POLICY_FILE (a
	// file, read at load); unset means the embedded policies/operator.cedar.
	OperatorPolicy Text
	// AllowOperatorPermits (MCP_ALLOW_OPERATOR_PERMITS) admits permit rules
	// in the operator policy; off, a permit stops the start.
	AllowOperatorPermits bool
	// AgentInventory is the agent inventory JSON from MCP_AGENT_INVENTORY or
	// MCP_AGENT_INVENTORY_FILE; unset means the embedded policies/agents.json.
	AgentInventory Text
	// AgentInventoryMode (MCP_AGENT_INVENTORY_MODE) is "enforce" or
	// "audit" and overrides the document's mode; "" keeps it.
	AgentInventoryMode string

	Approval approval.Options
	Storage  storage.Options
	// StorageSetting is the variable Storage came from (SNIPPETS_STORAGE or
	// AzureWebJobsStorage), for error messages.
	StorageSetting string
	Audit          audit.Config
	Delegate       delegate.Config
}

// Text is a document a setting supplied: its bytes, the variable, and what
// to call it in messages (the file's path, or the variable itself when the
// text is its value). The zero Text is "not set".
type Text struct {
	Bytes []byte
	Var   string
	Name  string
}

// Set reports whether a setting supplied the document.
func (t Text) Set() bool { return t.Var != "" }

// Error is a configuration mistake: it names the variable.
type Error struct {
	Var, Msg string
}

func (e *Error) Error() string { return e.Var + ": " + e.Msg }

// Load reads configuration through getenv (os.Getenv in production, a
// map in tests) and checks it whole.
func Load(getenv func(string) string) (*Config, error) {
	c := &Config{}
	for _, step := range []func(*Config, func(string) string) error{
		(*Config).loadListen,
		(*Config).loadAuth,
		(*Config).loadHTTP,
		(*Config).loadLimits,
		(*Config).loadStorage,
		(*Config).loadAudit,
		(*Config).loadDelegate,
		(*Config).loadPolicy,
	} {
		if err := step(c, getenv); err != nil {
			return nil, err
		}
	}
	return c, nil
}

func (c *Config) loadListen(getenv func(string) string) error {
	port := getenv("FUNCTIONS_CUSTOMHANDLER_PORT")
	if port == "" {
		port = "7071"
	}
	if n, err := strconv.Atoi(port); err != nil || n < 0 || n > 65535 {
		return &Error{"FUNCTIONS_CUSTOMHANDLER_PORT", fmt.Sprintf("%q is not a port number", port)}
	}
	host := getenv("MCP_LISTEN_HOST")
	if host == "" {
		host = "127.0.0.1"
	}
	c.ListenAddr = net.JoinHostPort(host, port)
	return nil
}

func (c *Config) loadAuth(getenv func(string) string) error {
	var err error
	if c.AuthMode, err = authMode(getenv); err != nil {
		return err
	}
	switch c.AuthMode {
	case AuthEasyAuth:
		if !strings.EqualFold(getenv("WEBSITE_AUTH_ENABLED"), "true") {
			// Without the platform in front, anyone could send the principal header.
			return &Error{"MCP_AUTH_MODE", "easyauth trusts X-MS-CLIENT-PRINCIPAL, which only Functions built-in auth can vouch for, and WEBSITE_AUTH_ENABLED is not True here; use jwt (or dev on loopback) without the platform"}
		}
	case AuthDev:
		if host, _, _ := net.SplitHostPort(c.ListenAddr); !httpx.IsLoopback(host) {
			return &Error{"MCP_AUTH_MODE", fmt.Sprintf("dev mode serves a fixed identity and is allowed only on a loopback address, not %q (MCP_LISTEN_HOST)", host)}
		}
	case AuthJWT:
		return c.loadJWT(getenv)
	}
	return nil
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

// jwtVars names the variable behind each of identity's JWTConfig errors.
var jwtVars = []named{
	{identity.ErrNoIssuer, "MCP_AUTH_ISSUER", "required when MCP_AUTH_MODE=jwt (the exact issuer of accepted tokens)"},
	{identity.ErrIssuerURL, "MCP_AUTH_ISSUER", ""},
	{identity.ErrNoAudience, "MCP_AUTH_AUDIENCE", "required when MCP_AUTH_MODE=jwt (comma-separated accepted audiences)"},
	{identity.ErrNoTenants, "MCP_AUTH_TENANTS", ""},
}

func (c *Config) loadJWT(getenv func(string) string) error {
	c.JWT = identity.JWTConfig{
		Issuer:    getenv("MCP_AUTH_ISSUER"),
		Audiences: list(getenv("MCP_AUTH_AUDIENCE")),
		Tenants:   list(getenv("MCP_AUTH_TENANTS")),
	}
	if err := nameVar(c.JWT.Validate(), jwtVars); err != nil {
		return err
	}
	var err error
	c.JWT.KeyRefreshInterval, err = duration(getenv, "MCP_AUTH_KEY_REFRESH", identity.DefaultKeyRefreshInterval, time.Hour)
	return err
}

// loadHTTP reads what the front door publishes and admits.
func (c *Config) loadHTTP(getenv func(string) string) error {
	if c.ResourceURL = getenv("MCP_RESOURCE_URL"); c.ResourceURL != "" {
		if _, err := absURL(c.ResourceURL); err != nil {
			return &Error{"MCP_RESOURCE_URL", err.Error()}
		}
	}
	c.Scopes = list(getenv("WEBSITE_AUTH_PRM_DEFAULT_WITH_SCOPES"))
	var err error
	if c.AllowedOrigins, err = origins(getenv("MCP_ALLOWED_ORIGINS")); err != nil {
		return err
	}
	c.AllowedHosts = list(getenv("MCP_ALLOWED_HOSTS"))
	if h := getenv("WEBSITE_HOSTNAME"); h != "" {
		c.AllowedHosts = append(c.AllowedHosts, h)
	}
	return nil
}

// loadLimits reads sizes, deadlines and the approval settings.
func (c *Config) loadLimits(getenv func(string) string) error {
	var err error
	if c.MaxBodyBytes, err = size(getenv, "MCP_MAX_BODY_BYTES", 1<<20); err != nil {
		return err
	}
	if c.SnippetMaxSize, err = size(getenv, "SNIPPET_MAX_BYTES", 256<<10); err != nil {
		return err
	}
	if c.SnippetMaxSize > c.MaxBodyBytes {
		return &Error{"SNIPPET_MAX_BYTES", fmt.Sprintf("%d exceeds MCP_MAX_BODY_BYTES (%d): such a snippet could never arrive", c.SnippetMaxSize, c.MaxBodyBytes)}
	}
	if c.ToolTimeout, err = duration(getenv, "MCP_TOOL_TIMEOUT", 30*time.Second, 200*time.Second); err != nil {
		return err
	}
	if c.Approval.TTL, err = duration(getenv, "MCP_APPROVAL_TTL", 15*time.Minute, 7*24*time.Hour); err != nil {
		return err
	}
	// Off, approvers are people; on, applications acting on their own may
	// approve and deny too.
	c.Approval.AllowAppOnlyApprovers, err = boolean(getenv, "MCP_APPROVAL_ALLOW_APP_ONLY")
	return err
}

// loadPolicy reads the policy inputs an operator can supply: the legacy
// tool policy document, the operator's Cedar rules and the agent
// inventory. The policy engine parses and validates them.
func (c *Config) loadPolicy(getenv func(string) string) error {
	var err error
	if file := getenv("MCP_TOOL_POLICY"); file != "" {
		b, err := os.ReadFile(file)
		if err != nil {
			return &Error{"MCP_TOOL_POLICY", err.Error()}
		}
		c.ToolPolicy = Text{Bytes: b, Var: "MCP_TOOL_POLICY", Name: file}
	}
	if c.OperatorPolicy, err = textOrFile(getenv, "MCP_OPERATOR_POLICY"); err != nil {
		return err
	}
	if c.AllowOperatorPermits, err = boolean(getenv, "MCP_ALLOW_OPERATOR_PERMITS"); err != nil {
		return err
	}
	if c.AgentInventory, err = textOrFile(getenv, "MCP_AGENT_INVENTORY"); err != nil {
		return err
	}
	switch c.AgentInventoryMode = strings.ToLower(strings.TrimSpace(getenv("MCP_AGENT_INVENTORY_MODE"))); c.AgentInventoryMode {
	case "", "enforce", "audit":
		return nil
	default:
		return &Error{"MCP_AGENT_INVENTORY_MODE", fmt.Sprintf("%q is not enforce or audit", c.AgentInventoryMode)}
	}
}

// textOrFile reads a document given either as a setting's value (name)
// or as a file (name_FILE); the zero Text when neither is set.
func textOrFile(getenv func(string) string, name string) (Text, error) {
	text, file := getenv(name), getenv(name+"_FILE")
	switch {
	case text != "" && file != "":
		return Text{}, &Error{name, "set " + name + " (the text) or " + name + "_FILE (a file), not both"}
	case text != "":
		return Text{Bytes: []byte(text), Var: name, Name: name}, nil
	case file != "":
		b, err := os.ReadFile(file)
		if err != nil {
			return Text{}, &Error{name + "_FILE", err.Error()}
		}
		return Text{Bytes: b, Var: name + "_FILE", Name: file}, nil
	}
	return Text{}, nil
}

// named ties a package's sentinel error to the variable it is about, and
// optionally a hint that names the variables to use instead.
type named struct {
	err  error
	name string
	hint string
}

// nameVar turns err into an *Error naming the variable of the first entry
// whose sentinel err wraps; the message is err's text and the hint. An
// error matching no entry is returned unchanged; nil stays nil.
func nameVar(err error, vars []named) error {
	if err == nil {
		return nil
	}
	for _, v := range vars {
		if errors.Is(err, v.err) {
			msg := err.Error()
			if v.hint != "" {
				msg += ": " + v.hint
			}
			return &Error{v.name, msg}
		}
	}
	return err
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

// list splits a comma- or space-separated setting. Its rule differs on
// purpose from devissuer's splitList (commas only): settings are written by
// Azure (space-separated scopes) or by hand with commas or semicolons.
func list(v string) []string {
	return strings.FieldsFunc(v, func(r rune) bool { return r == ',' || r == ' ' || r == ';' })
}

func boolean(getenv func(string) string, name string) (bool, error) {
	switch v := strings.ToLower(strings.TrimSpace(getenv(name))); v {
	case "", "false":
		return false, nil
	case "true":
		return true, nil
	default:
		return false, &Error{name, fmt.Sprintf("%q is not true or false", v)}
	}
}
