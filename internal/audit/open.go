package audit

import (
	"fmt"
	"io"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
)

// Open builds the production Auditor for cfg: the JSON-lines sink on stdout
// always, and the Application Insights sink when cfg has a connection
// string. Warnings go to stderr. cred is used when cfg asks for Entra auth;
// nil means Credential(cfg.AppInsights).
func Open(cfg Config, stdout, stderr io.Writer, cred azcore.TokenCredential) (*Auditor, error) {
	sinks := []Sink{NewJSONSink(stdout)}
	if ai := cfg.AppInsights; ai != nil {
		if ai.AAD && cred == nil {
			var err error
			if cred, err = Credential(ai); err != nil {
				return nil, err
			}
		}
		s, err := NewAppInsightsSink(*ai, AppInsightsOptions{ServerID: cfg.ServerID, Credential: cred, Warn: stderr})
		if err != nil {
			return nil, err
		}
		sinks = append(sinks, s)
	}
	return New(Options{ServerID: cfg.ServerID, Warn: stderr}, sinks...), nil
}

// Credential returns the managed identity credential that
// APPLICATIONINSIGHTS_AUTHENTICATION_STRING names: the user-assigned
// identity with ClientId, else the system-assigned identity. This is the
// meaning Azure Functions gives the setting, so the server and the host's
// own telemetry use the same identity. (DefaultAzureCredential is not used:
// it would quietly pick up developer or environment credentials instead.)
func Credential(ai *AppInsightsConfig) (azcore.TokenCredential, error) {
	var opts azidentity.ManagedIdentityCredentialOptions
	if ai != nil && ai.ClientID != "" {
		opts.ID = azidentity.ClientID(ai.ClientID)
	}
	cred, err := azidentity.NewManagedIdentityCredential(&opts)
	if err != nil {
		return nil, fmt.Errorf("managed identity for APPLICATIONINSIGHTS_AUTHENTICATION_STRING: %w", err)
	}
	return cred, nil
}
