package config

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"github.com/snippets-mcp/server/internal/delegate"
)

// Bounds of the delegation settings that are numbers.
const (
	maxOBOTimeout   = 2 * time.Minute
	maxOBOCacheSize = 1_000_000
)

const useManagedIdentity = "use OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID (a managed identity as federated credential)"

// loadDelegate reads the on-behalf-of settings. With no credential set,
// delegation is off (Delegate.Enabled is false) and that is no error. A
// certificate file is read here, so delegate.New opens no file. A client
// secret or certificate is allowed only outside easyauth mode.
func (c *Config) loadDelegate(getenv func(string) string) error {
	d := delegate.Config{
		ClientID:                strings.TrimSpace(getenv("WEBSITE_AUTH_CLIENT_ID")),
		Tenants:                 list(getenv("WEBSITE_AUTH_AAD_ALLOWED_TENANTS")),
		ManagedIdentityClientID: strings.TrimSpace(getenv("OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID")),
		AssertionAudience:       getenv("MCP_OBO_ASSERTION_AUDIENCE"),
		ClientSecret:            getenv("MCP_OBO_CLIENT_SECRET"),
		CertificatePassword:     getenv("MCP_OBO_CLIENT_CERTIFICATE_PASSWORD"),
		AllowSecret:             c.AuthMode != AuthEasyAuth,
		InAzure:                 getenv("WEBSITE_INSTANCE_ID") != "",
		AuthorityHost:           getenv("AZURE_AUTHORITY_HOST"),
		GraphEndpoint:           getenv("MCP_GRAPH_ENDPOINT"),
	}
	if host := getenv("WEBSITE_HOSTNAME"); host != "" && strings.EqualFold(getenv("WEBSITE_AUTH_ENABLED"), "true") {
		d.SignInURL = "https://" + host + "/.auth/login/aad"
	}
	var err error
	if d.Timeout, err = duration(getenv, "MCP_OBO_TIMEOUT", delegate.DefaultTimeout, maxOBOTimeout); err != nil {
		return err
	}
	if d.CacheSize, err = count(getenv, "MCP_OBO_CACHE_SIZE", delegate.DefaultCacheSize, maxOBOCacheSize); err != nil {
		return err
	}
	if path := getenv("MCP_OBO_CLIENT_CERTIFICATE_PATH"); path != "" {
		if d.Certificate, err = os.ReadFile(path); err != nil {
			return &Error{"MCP_OBO_CLIENT_CERTIFICATE_PATH", err.Error()}
		}
	}
	c.Delegate = d
	return nameVar(d.Validate(), delegateVars(d))
}

// delegateVars names the variable behind each of delegate's Config errors.
func delegateVars(d delegate.Config) []named {
	local := "MCP_OBO_CLIENT_SECRET"
	if d.ClientSecret == "" {
		local = "MCP_OBO_CLIENT_CERTIFICATE_PATH"
	}
	return []named{
		{delegate.ErrTenant, "WEBSITE_AUTH_AAD_ALLOWED_TENANTS", ""},
		{delegate.ErrAuthorityHost, "AZURE_AUTHORITY_HOST", ""},
		{delegate.ErrGraphEndpoint, "MCP_GRAPH_ENDPOINT", ""},
		{delegate.ErrNoClientID, "WEBSITE_AUTH_CLIENT_ID", ""},
		{delegate.ErrCredentials, "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID", "set only one of OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID, MCP_OBO_CLIENT_SECRET, MCP_OBO_CLIENT_CERTIFICATE_PATH"},
		{delegate.ErrSecretInAzure, "MCP_OBO_CLIENT_SECRET", useManagedIdentity},
		{delegate.ErrCertificateInAzure, "MCP_OBO_CLIENT_CERTIFICATE_PATH", useManagedIdentity},
		{delegate.ErrSecretNotAllowed, local, "MCP_AUTH_MODE jwt or dev; in Azure " + useManagedIdentity},
		{delegate.ErrCertificate, "MCP_OBO_CLIENT_CERTIFICATE_PATH", ""},
	}
}

// count reads a whole number between 1 and max; unset means def.
func count(getenv func(string) string, name string, def, max int) (int, error) {
	v := getenv(name)
	if v == "" {
		return def, nil
	}
	n, err := strconv.Atoi(v)
	if err != nil || n < 1 || n > max {
		return 0, &Error{name, fmt.Sprintf("%q is not a number between 1 and %d", v, max)}
	}
	return n, nil
}
