package config

import (
	"os"
	"strings"

	"github.com/snippets-mcp/server/internal/audit"
)

// The audit settings, as Azure Functions names the Application Insights ones.
const (
	envAppInsights     = "APPLICATIONINSIGHTS_CONNECTION_STRING"
	envAppInsightsAuth = "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
	envServerID        = "MCP_SERVER_ID"
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
