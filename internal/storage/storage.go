// Package storage connects to Blob Storage in the forms Azure Functions
// users know, and classifies its errors so callers can tell a client
// mistake from a retryable outage.
package storage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/snippets-mcp/server/internal/config"
)

// Azurite's well-known development account. The key is published in
// Azurite's documentation; it opens nothing but a local emulator.
const azuriteConnectionString = "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;" +
	"AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;" +
	"BlobEndpoint=http://127.0.0.1:10000/devstoreaccount1;"

// Connect returns a Blob client for the configured connection. Retries are
// kept short: a tool call must fail fast with a retryable error rather than
// sit in backoff while the host's proxy timeout runs.
func Connect(s config.Storage) (*azblob.Client, error) {
	opts := &azblob.ClientOptions{ClientOptions: azcore.ClientOptions{
		Retry: policy.RetryOptions{
			MaxRetries:    2,
			TryTimeout:    10 * time.Second,
			RetryDelay:    200 * time.Millisecond,
			MaxRetryDelay: 2 * time.Second,
		},
		// Every attempt is recorded for writers that must tell their own
		// retried write from someone else's change (see Tries).
		PerRetryPolicies: []policy.Policy{tracker{}},
	}}
	if cs := s.ConnectionString; cs != "" {
		if strings.EqualFold(strings.TrimSpace(strings.TrimSuffix(cs, ";")), "UseDevelopmentStorage=true") {
			cs = azuriteConnectionString
		}
		c, err := azblob.NewClientFromConnectionString(cs, opts)
		if err != nil {
			return nil, fmt.Errorf("%s: not a usable storage connection string: %w", s.Setting, err)
		}
		return c, nil
	}
	var cred azcore.TokenCredential
	var err error
	if s.Credential == "managedidentity" {
		mi := &azidentity.ManagedIdentityCredentialOptions{}
		if s.ClientID != "" {
			mi.ID = azidentity.ClientID(s.ClientID)
		}
		cred, err = azidentity.NewManagedIdentityCredential(mi)
	} else {
		cred, err = azidentity.NewDefaultAzureCredential(nil)
	}
	if err != nil {
		return nil, fmt.Errorf("%s: create credential: %w", s.Setting, err)
	}
	c, err := azblob.NewClient(s.ServiceURI, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("%s: connect to %s: %w", s.Setting, s.ServiceURI, err)
	}
	return c, nil
}

// EnsureContainer creates the container if it does not exist yet.
func EnsureContainer(ctx context.Context, c *azblob.Client, name string) error {
	_, err := c.CreateContainer(ctx, name, nil)
	if err == nil || bloberror.HasCode(err, bloberror.ContainerAlreadyExists) {
		return nil
	}
	return fmt.Errorf("create container %q: %w", name, err)
}

// IsNotFound reports a missing blob. A missing container is not "not
// found" to a caller: it means storage is not set up yet (the server
// creates its containers in the background), which is an outage.
func IsNotFound(err error) bool {
	return bloberror.HasCode(err, bloberror.BlobNotFound)
}

// IsConditionFailed reports an ETag precondition that did not hold.
func IsConditionFailed(err error) bool {
	return bloberror.HasCode(err, bloberror.ConditionNotMet, bloberror.BlobAlreadyExists) ||
		statusOf(err) == http.StatusPreconditionFailed || statusOf(err) == http.StatusConflict
}

// IsMisconfigured reports an error that no retry will cure because this
// server's storage settings are wrong: the service refused its credentials
// or permissions (401, 403: a bad account key, a missing role assignment),
// or the account does not exist (its host name does not resolve). An operator must fix the configuration; telling
// callers "retry" would hide that.
func IsMisconfigured(err error) bool {
	if err == nil {
		return false
	}
	if s := statusOf(err); s == http.StatusUnauthorized || s == http.StatusForbidden {
		return true
	}
	if bloberror.HasCode(err, bloberror.InvalidAuthenticationInfo, bloberror.AccountIsDisabled, bloberror.AuthenticationFailed) {
		return true
	}
	var dns *net.DNSError
	return errors.As(err, &dns) && dns.IsNotFound
}

// Misconfigured is what callers and operators are told when IsMisconfigured.
const Misconfigured = "storage refused this server's credentials or does not exist; an operator must fix the storage configuration"

func statusOf(err error) int {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return re.StatusCode
	}
	return 0
}

// Reason describes a storage error for logs without what the error text
// carries besides: the request URL (tenant and object ids, snippet names)
// and the request id. It gives the HTTP status and the service's error
// code, or the kind of transport failure.
func Reason(err error) string {
	var re *azcore.ResponseError
	if errors.As(err, &re) {
		return fmt.Sprintf("storage answered %d %s", re.StatusCode, re.ErrorCode)
	}
	var op *net.OpError
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return "storage did not answer in time"
	case errors.Is(err, context.Canceled):
		return "request canceled"
	case errors.As(err, &op):
		return "transport: " + op.Op + " failed"
	case err == nil:
		return ""
	}
	return "transport failed"
}
