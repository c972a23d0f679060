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
	"net/url"
	"strings"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/policy"
	"github.com/Azure/azure-sdk-for-go/sdk/azidentity"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/bloberror"

	"github.com/snippets-mcp/server/internal/storage/azurite"
)

// UseDevelopmentStorage=true means Azurite's development account at its
// default blob port.
var azuriteConnectionString = azurite.ConnString("http://127.0.0.1:10000")

// Options says how to reach Blob Storage, in either of the forms Azure
// Functions knows: a connection string, or an identity-based service URI.
// The zero value is not usable: one of the two forms must be set.
type Options struct {
	// ConnectionString is an account connection string, or
	// "UseDevelopmentStorage=true" for the local emulator (Azurite). When it
	// is set, the fields below are ignored.
	ConnectionString string
	// ServiceURI is the blob service endpoint
	// (https://<account>.blob.core.windows.net), reached with a Microsoft
	// Entra credential; used when ConnectionString is "".
	ServiceURI string
	// Credential picks that credential: "managedidentity" (any case), or ""
	// for azidentity's default credential chain.
	Credential string
	// ClientID names a user-assigned managed identity when Credential is
	// "managedidentity"; "" means the system-assigned one.
	ClientID string
}

// Errors of Options.Validate; the returned error wraps one of them.
var (
	ErrNotConfigured = errors.New("no storage configured")
	ErrServiceURI    = errors.New("not an absolute http(s) URL")
	ErrCredential    = errors.New("credential not supported")
)

const managedIdentity = "managedidentity"

// Validate checks o without contacting storage.
func (o Options) Validate() error {
	if o.ConnectionString != "" {
		return nil
	}
	if o.ServiceURI == "" {
		return ErrNotConfigured
	}
	if u, err := url.Parse(o.ServiceURI); err != nil || (u.Scheme != "https" && u.Scheme != "http") || u.Host == "" {
		return fmt.Errorf("%q is %w", o.ServiceURI, ErrServiceURI)
	}
	if o.Credential != "" && !strings.EqualFold(o.Credential, managedIdentity) {
		return fmt.Errorf("%w: %q (use managedidentity, or leave it unset for the default credential chain)", ErrCredential, o.Credential)
	}
	return nil
}

// Connect returns a Blob client for o. Retries are kept short: a tool call
// must fail fast with a retryable error rather than sit in backoff while
// the host's proxy timeout runs. Errors do not name the setting o came
// from; the caller does.
func Connect(o Options) (*azblob.Client, error) {
	if err := o.Validate(); err != nil {
		return nil, err
	}
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
	if cs := o.ConnectionString; cs != "" {
		if strings.EqualFold(strings.TrimSpace(strings.TrimSuffix(cs, ";")), "UseDevelopmentStorage=true") {
			cs = azuriteConnectionString
		}
		c, err := azblob.NewClientFromConnectionString(cs, opts)
		if err != nil {
			return nil, fmt.Errorf("not a usable storage connection string: %w", err)
		}
		return c, nil
	}
	cred, err := credential(o)
	if err != nil {
		return nil, fmt.Errorf("create credential: %w", err)
	}
	c, err := azblob.NewClient(o.ServiceURI, cred, opts)
	if err != nil {
		return nil, fmt.Errorf("connect to %s: %w", o.ServiceURI, err)
	}
	return c, nil
}

func credential(o Options) (azcore.TokenCredential, error) {
	if !strings.EqualFold(o.Credential, managedIdentity) {
		return azidentity.NewDefaultAzureCredential(nil)
	}
	mi := &azidentity.ManagedIdentityCredentialOptions{}
	if o.ClientID != "" {
		mi.ID = azidentity.ClientID(o.ClientID)
	}
	return azidentity.NewManagedIdentityCredential(mi)
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
