package audit

import (
	"errors"
	"fmt"
	"net/url"
	"regexp"
	"strings"
	"time"

	"github.com/snippets-mcp/server/internal/httpx"
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

// Config is the audit configuration; internal/config builds it from the
// environment.
type Config struct {
	ServerID    string             // server_id in events and cloud_RoleName
	AppInsights *AppInsightsConfig // nil: stdout only
	Anchors     AnchorConfig
}

// AnchorConfig says whether and where chain anchors are written.
type AnchorConfig struct {
	Interval  time.Duration // 0: no anchors; else between MinAnchorInterval and MaxAnchorInterval
	Container string        // "" means DefaultAnchorContainer
}

// Bounds of AnchorConfig.Interval: often enough to matter, rarely enough
// that a day's blob stays far below 50,000 blocks.
const (
	MinAnchorInterval = time.Second
	MaxAnchorInterval = time.Hour
)

// containerName is Blob Storage's rule for container names.
var containerName = regexp.MustCompile(`^[a-z0-9](?:[a-z0-9]|-[a-z0-9]){2,62}$`)

// Validate checks the interval bounds and the container name.
func (c AnchorConfig) Validate() error {
	if c.Interval != 0 && (c.Interval < MinAnchorInterval || c.Interval > MaxAnchorInterval) {
		return ErrAnchorInterval
	}
	if c.Container != "" && !containerName.MatchString(c.Container) {
		return ErrAnchorContainer
	}
	return nil
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

// Errors of Validate; the returned error wraps one of them.
var (
	ErrNoIngestion     = errors.New("no track URL or instrumentation key")
	ErrTokenOverHTTP   = errors.New("IngestionEndpoint must be https for Entra tokens (plain http is allowed only to a loopback address)")
	ErrAnchorInterval  = errors.New("must be a duration from 1s to 1h (for example 60s), or off")
	ErrAnchorContainer = errors.New("must be a container name: 3 to 63 lower-case letters, digits and single hyphens, starting and ending with a letter or digit")
)

// Validate checks c; a nil AppInsights (stdout only) is valid.
func (c Config) Validate() error {
	if err := c.Anchors.Validate(); err != nil {
		return err
	}
	if c.AppInsights == nil {
		return nil
	}
	return c.AppInsights.Validate()
}

// Validate checks that c names an ingestion endpoint and sends Entra
// tokens nowhere but over https (or to loopback, for tests).
func (c AppInsightsConfig) Validate() error {
	if c.TrackURL == "" || c.InstrumentationKey == "" {
		return ErrNoIngestion
	}
	if c.AAD && !tokenSafe(c.TrackURL) {
		return ErrTokenOverHTTP
	}
	return nil
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

// ParseConnectionString reads an Application Insights connection string
// (InstrumentationKey=...;IngestionEndpoint=...). Its errors never repeat
// the value. The result sends no Entra token until ParseAuthentication's
// answer is applied (AAD, ClientID).
func ParseConnectionString(s string) (*AppInsightsConfig, error) {
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
		return nil, fmt.Errorf("the connection string's Authorization=%s is not supported (only ikey; Entra auth is set with the authentication string)", a)
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

// ParseAuthentication reads an authentication string,
// "Authorization=AAD[;ClientId=<guid>]", as Azure Functions defines it, and
// returns the client id ("" for the system-assigned identity).
func ParseAuthentication(s string) (string, error) {
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
	return httpx.IsLoopback(u.Hostname())
}
