package config

import (
	"os"
	"strings"
	"time"

	"github.com/snippets-mcp/server/internal/audit"
)

// The audit settings, as Azure Functions names the Application Insights ones.
const (
	envAppInsights     = "APPLICATIONINSIGHTS_CONNECTION_STRING"
	envAppInsightsAuth = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
	envServerID        = "MCP_SERVER_ID"
	envAnchorInterval  = "MCP_AUDIT_ANCHOR_INTERVAL"  // Go duration between chain anchors; "off" disables them
	envAnchorContainer = "MCP_AUDIT_ANCHOR_CONTAINER" // container of the anchor blobs
)

// loadAudit reads the server id (MCP_SERVER_ID, else the site name, else
// the host name) and the Application Insights connection. A malformed
// connection or authentication string is an error naming the variable;
// its message never repeats the value.
func (c *Config) loadAudit(getenv func(string) string) error {
	c.Audit = audit.Config{ServerID: strings.TrimSpace(getenv(envServerID))}
	if c.Audit.ServerID == "" {
		c.Audit.ServerID = strings.TrimSpace(getenv("WEBSITE_SITE_NAME"))
	}
	if c.Audit.ServerID == "" {
		c.Audit.ServerID, _ = os.Hostname()
	}
	if err := c.loadAnchors(getenv); err != nil {
		return err
	}
	cs := strings.TrimSpace(getenv(envAppInsights))
	if cs == "" {
		return nil
	}
	ai, err := audit.ParseConnectionString(cs)
	if err != nil {
		return &Error{envAppInsights, err.Error()}
	}
	if as := strings.TrimSpace(getenv(envAppInsightsAuth)); as != "" {
		if ai.ClientID, err = audit.ParseAuthentication(as); err != nil {
			return &Error{envAppInsightsAuth, err.Error()}
		}
		ai.AAD = true
	}
	c.Audit.AppInsights = ai
	return nameVar(c.Audit.Validate(), []named{
		{audit.ErrTokenOverHTTP, envAppInsights, envAppInsightsAuth + " asks for Entra tokens"},
		{audit.ErrNoIngestion, envAppInsights, ""},
	})
}

// loadAnchors reads where and how often the audit chain's head is anchored:
// every DefaultAnchorInterval in DefaultAnchorContainer unless set.
func (c *Config) loadAnchors(getenv func(string) string) error {
	c.Audit.Anchors = audit.AnchorConfig{Interval: audit.DefaultAnchorInterval, Container: audit.DefaultAnchorContainer}
	switch v := strings.TrimSpace(getenv(envAnchorInterval)); strings.ToLower(v) {
	case "":
	case "off", "0":
		c.Audit.Anchors.Interval = 0
	default:
		d, err := time.ParseDuration(v)
		if err != nil || d <= 0 {
			return &Error{envAnchorInterval, audit.ErrAnchorInterval.Error()}
		}
		c.Audit.Anchors.Interval = d
	}
	if v := strings.TrimSpace(getenv(envAnchorContainer)); v != "" {
		c.Audit.Anchors.Container = v
	}
	return nameVar(c.Audit.Anchors.Validate(), []named{
		{audit.ErrAnchorInterval, envAnchorInterval, ""},
		{audit.ErrAnchorContainer, envAnchorContainer, ""},
	})
}
