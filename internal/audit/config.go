package audit

import (
	"fmt"
	"net"
	"net/url"
	"os"
	"regexp"
	"strings"
	"time"
)

// Environment variables read by ConfigFromEnv.
const (
	EnvConnectionString = "APPLICATIONINSIGHTS_CONNECTION_STRING"
	EnvAuthentication   = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
	EnvServerID         = "MCP_SERVER_ID"
	EnvAnchorInterval   = "MCP_AUDIT_ANCHOR_INTERVAL"  // Go duration between chain anchors; "off" disables them
	EnvAnchorContainer  = "MCP_AUDIT_ANCHOR_CONTAINER" // container of the anchor blobs
)

// DefaultScope is the Entra scope of Azure Monitor ingestion in the public
// cloud. Connection strings of other clouds carry AADAudience instead.
const DefaultScope = "https://monitor.azure.com//.default"

// trackPath is the ingestion API that accepts Entra tokens (v2/track does
// not). Every official SDK posts here, relative to IngestionEndpoint.
const trackPath = "v2.1/track"

// defaultIngestion is where a connection string without IngestionEndpoint
// or EndpointSuffix sends telemetry.
const defaultIngestion = "https://dc.services.visualstudio.com/"

// maxConnectionString is the documented maximum length.
const maxConnectionString = 4096

// Config is the audit configuration read from the environment.
type Config struct {
	ServerID    string             // server_id in events and cloud_RoleName
	AppInsights *AppInsightsConfig // nil: stdout only
	Anchors     AnchorConfig
}

// AnchorConfig says whether and where chain anchors are written.
type AnchorConfig struct {
	Interval  time.Duration // 0: no anchors (MCP_AUDIT_ANCHOR_INTERVAL=off)
	Container string
}

// AppInsightsConfig says where and how to send events to Application Insights.
type AppInsightsConfig struct {
	InstrumentationKey string
	IngestionEndpoint  string // with a trailing slash
	TrackURL           string // IngestionEndpoint + "v2.1/track"
	AAD                bool   // send an Entra bearer token with every request
	ClientID           string // user-assigned managed identity; "" means system-assigned
	Scope              string // token scope when AAD is set
}

// ConfigError is a configuration mistake; it names the variable.
type ConfigError struct {
	Var, Msg string
}

func (e *ConfigError) Error() string { return e.Var + ": " + e.Msg }

// ConfigFromEnv reads the audit configuration through getenv (os.Getenv in
// production). A malformed connection or authentication string is an error
// naming the variable; its message never repeats the value.
func ConfigFromEnv(getenv func(string) string) (Config, error) {
	c := Config{ServerID: strings.TrimSpace(getenv(EnvServerID))}
	if c.ServerID == "" {
		c.ServerID = strings.TrimSpace(getenv("WEBSITE_SITE_NAME"))
	}
	if c.ServerID == "" {
		c.ServerID, _ = os.Hostname()
	}
	var err error
	if c.Anchors, err = anchorConfig(getenv); err != nil {
		return Config{}, err
	}
	cs := strings.TrimSpace(getenv(EnvConnectionString))
	if cs == "" {
		return c, nil
	}
	ai, err := parseConnectionString(cs)
	if err != nil {
		return Config{}, &ConfigError{EnvConnectionString, err.Error()}
	}
	if as := strings.TrimSpace(getenv(EnvAuthentication)); as != "" {
		if ai.ClientID, err = parseAuthentication(as); err != nil {
			return Config{}, &ConfigError{EnvAuthentication, err.Error()}
		}
		ai.AAD = true
		if !tokenSafe(ai.TrackURL) {
			return Config{}, &ConfigError{EnvConnectionString, "IngestionEndpoint must be https when " + EnvAuthentication + " asks for Entra tokens (plain http is allowed only on loopback)"}
		}
	}
	c.AppInsights = ai
	return c, nil
}

// Bounds of MCP_AUDIT_ANCHOR_INTERVAL: often enough to matter, rarely
// enough that a day's blob stays far below 50,000 blocks.
const (
	minAnchorInterval = time.Second
	maxAnchorInterval = time.Hour
)

// containerName is Blob Storage's rule for container names.
var containerName = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$`)

func anchorConfig(getenv func(string) string) (AnchorConfig, error) {
	c := AnchorConfig{Interval: DefaultAnchorInterval, Container: DefaultAnchorContainer}
	switch v := strings.TrimSpace(getenv(EnvAnchorInterval)); strings.ToLower(v) {
	case "":
	case "off", "0":
		c.Interval = 0
	default:
		d, err := time.ParseDuration(v)
		if err != nil || d < minAnchorInterval || d > maxAnchorInterval {
			return AnchorConfig{}, &ConfigError{EnvAnchorInterval, fmt.Sprintf("must be a duration from %s to %s (for example 60s), or off", minAnchorInterval, maxAnchorInterval)}
		}
		c.Interval = d
	}
	if v := strings.TrimSpace(getenv(EnvAnchorContainer)); v != "" {
		if !containerName.MatchString(v) || len(v) > 63 {
			return AnchorConfig{}, &ConfigError{EnvAnchorContainer, "must be a container name: 3 to 63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit"}
		}
		c.Container = v
	}
	return c, nil
}

// pairs splits "k1=v1;k2=v2" with case-insensitive keys (stored lower-case).
func pairs(s string) (map[string]string, error) {
	m := map[string]string{}
	for part := range strings.SplitSeq(s, ";") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		k, v, ok := strings.Cut(part, "=")
		k, v = strings.TrimSpace(k), strings.TrimSpace(v)
		if !ok || k == "" {
			return nil, fmt.Errorf("malformed: every part must be key=value separated by ';' (found a part without '=')")
		}
		key := strings.ToLower(k)
		if _, dup := m[key]; dup {
			return nil, fmt.Errorf("malformed: key %s appears twice", k)
		}
		m[key] = v
	}
	return m, nil
}

func parseConnectionString(s string) (*AppInsightsConfig, error) {
	if len(s) > maxConnectionString {
		return nil, fmt.Errorf("longer than %d characters", maxConnectionString)
	}
	m, err := pairs(s)
	if err != nil {
		return nil, err
	}
	ai := &AppInsightsConfig{InstrumentationKey: m["instrumentationkey"], Scope: DefaultScope}
	if ai.InstrumentationKey == "" {
		return nil, fmt.Errorf("InstrumentationKey is missing (expected InstrumentationKey=<guid>;IngestionEndpoint=https://...)")
	}
	if a := m["authorization"]; a != "" && !strings.EqualFold(a, "ikey") {
		return nil, fmt.Errorf("Authorization=%s is not supported in the connection string (only ikey; Entra auth is set with %s)", a, EnvAuthentication)
	}
	endpoint := m["ingestionendpoint"]
	if endpoint == "" {
		endpoint = defaultIngestion
		if suffix := strings.Trim(m["endpointsuffix"], "./"); suffix != "" {
			host := "dc." + suffix
			if loc := strings.Trim(m["location"], "."); loc != "" {
				host = loc + "." + host
			}
			endpoint = "https://" + host + "/"
		}
	}
	u, err := url.Parse(endpoint)
	if err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
		return nil, fmt.Errorf("IngestionEndpoint is not an absolute http(s) URL without query")
	}
	if !strings.HasSuffix(u.Path, "/") {
		u.Path += "/" // resolve v2.1/track below the endpoint, not beside its last segment
	}
	ai.IngestionEndpoint = u.String()
	ai.TrackURL = u.JoinPath(trackPath).String()
	if aud := m["aadaudience"]; aud != "" {
		a, err := url.Parse(aud)
		if err != nil || a.Scheme != "https" || a.Host == "" {
			return nil, fmt.Errorf("AADAudience is not an https URL")
		}
		ai.Scope = strings.TrimSuffix(aud, "/") + "//.default"
	}
	return ai, nil
}

var guid = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// parseAuthentication reads "Authorization=AAD[;ClientId=<guid>]" and
// returns the client id ("" for the system-assigned identity).
func parseAuthentication(s string) (string, error) {
	m, err := pairs(s)
	if err != nil {
		return "", err
	}
	if !strings.EqualFold(m["authorization"], "AAD") {
		return "", fmt.Errorf("expected Authorization=AAD (optionally ;ClientId=<client id of a user-assigned identity>)")
	}
	for k := range m {
		if k != "authorization" && k != "clientid" {
			return "", fmt.Errorf("unknown key %q (expected Authorization and ClientId)", k)
		}
	}
	id := m["clientid"]
	if id != "" && !guid.MatchString(id) {
		return "", fmt.Errorf("ClientId is not a GUID (the client id of a user-assigned managed identity)")
	}
	return id, nil
}

// tokenSafe reports whether a bearer token may be sent to rawURL: https, or
// plain http to a loopback address (local tests).
func tokenSafe(rawURL string) bool {
	u, err := url.Parse(rawURL)
	if err != nil {
		return false
	}
	if u.Scheme == "https" {
		return true
	}
	if u.Scheme != "http" {
		return false
	}
	host := u.Hostname()
	if strings.EqualFold(host, "localhost") {
		return true
	}
	ip := net.ParseIP(host)
	return ip != nil && ip.IsLoopback()
}
