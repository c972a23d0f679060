package storage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"

	"github.com/snippets-mcp/server/internal/storage/blobtest"
)

func TestOptionsValidate(t *testing.T) {
	cases := []struct {
		name string
		o    Options
		want error
	}{
		{"zero", Options{}, ErrNotConfigured},
		{"connection string", Options{ConnectionString: "UseDevelopmentStorage=true"}, nil},
		{"connection string wins", Options{ConnectionString: "x", ServiceURI: "ftp://a", Credential: "key"}, nil},
		{"service URI, default chain", Options{ServiceURI: "https://acct.blob.core.windows.net"}, nil},
		{"managed identity", Options{ServiceURI: "https://acct.blob.core.windows.net", Credential: "ManagedIdentity", ClientID: "cid"}, nil},
		{"not a URL", Options{ServiceURI: "ftp://a"}, ErrServiceURI},
		{"relative", Options{ServiceURI: "acct.blob.core.windows.net"}, ErrServiceURI},
		{"account key credential", Options{ServiceURI: "https://a", Credential: "key"}, ErrCredential},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			err := c.o.Validate()
			if c.want == nil && err != nil || c.want != nil && !errors.Is(err, c.want) {
				t.Errorf("Validate = %v, want %v", err, c.want)
			}
		})
	}
}

// Connect accepts each form Azure Functions knows; a client is made
// without contacting storage.
func TestConnectForms(t *testing.T) {
	f := blobtest.New(t)
	cases := []struct {
		name    string
		o       Options
		url     string // the client's URL prefix; "" expects an error
		errText string
	}{
		{"development storage", Options{ConnectionString: "UseDevelopmentStorage=true;"}, "http://127.0.0.1:10000/devstoreaccount1", ""},
		{"connection string", Options{ConnectionString: f.ConnString()}, f.URL, ""},
		{"managed identity", Options{ServiceURI: "https://acct.blob.core.windows.net/", Credential: "managedidentity", ClientID: "cid"}, "https://acct.blob.core.windows.net/", ""},
		{"system-assigned identity", Options{ServiceURI: "https://acct.blob.core.windows.net/", Credential: "managedidentity"}, "https://acct.blob.core.windows.net/", ""},
		{"default credential chain", Options{ServiceURI: "https://acct.blob.core.windows.net/"}, "https://acct.blob.core.windows.net/", ""},
		{"bad connection string", Options{ConnectionString: "AccountName=only"}, "", "not a usable storage connection string"},
		{"nothing", Options{}, "", ErrNotConfigured.Error()},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			client, err := Connect(c.o)
			if c.url == "" {
				if err == nil || !strings.Contains(err.Error(), c.errText) {
					t.Fatalf("Connect = %v, want an error containing %q", err, c.errText)
				}
				return
			}
			if err != nil {
				t.Fatalf("Connect: %v", err)
			}
			if !strings.HasPrefix(client.URL(), c.url) {
				t.Errorf("URL = %q, want prefix %q", client.URL(), c.url)
			}
		})
	}
}

func TestClassification(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("get: %w", err) }
	notFound := &azcore.ResponseError{StatusCode: 404, ErrorCode: "BlobNotFound"}
	noContainer := &azcore.ResponseError{StatusCode: 404, ErrorCode: "ContainerNotFound"}
	cases := []struct {
		name           string
		err            error
		notFound, cond bool
		reason         string
	}{
		{"missing blob", wrap(notFound), true, false, "storage answered 404 BlobNotFound"},
		{"missing container is an outage", wrap(noContainer), false, false, "storage answered 404 ContainerNotFound"},
		{"etag changed", wrap(&azcore.ResponseError{StatusCode: 412, ErrorCode: "ConditionNotMet"}), false, true, "storage answered 412 ConditionNotMet"},
		{"already exists", wrap(&azcore.ResponseError{StatusCode: 409, ErrorCode: "BlobAlreadyExists"}), false, true, "storage answered 409 BlobAlreadyExists"},
		{"deadline", wrap(context.DeadlineExceeded), false, false, "storage did not answer in time"},
		{"canceled", wrap(context.Canceled), false, false, "request canceled"},
		{"dial", wrap(&net.OpError{Op: "dial", Err: errors.New("refused")}), false, false, "transport: dial failed"},
		{"other", errors.New("boom"), false, false, "transport failed"},
		{"nil", nil, false, false, ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			if got := IsNotFound(c.err); got != c.notFound {
				t.Errorf("IsNotFound = %v", got)
			}
			if got := IsConditionFailed(c.err); got != c.cond {
				t.Errorf("IsConditionFailed = %v", got)
			}
			if got := Reason(c.err); got != c.reason {
				t.Errorf("Reason = %q, want %q", got, c.reason)
			}
		})
	}
}

func TestEnsureContainerThroughConnect(t *testing.T) {
	f := blobtest.New(t)
	c, err := Connect(Options{ConnectionString: f.ConnString()})
	if err != nil {
		t.Fatal(err)
	}
	for range 2 { // the second call finds it there
		if err := EnsureContainer(t.Context(), c, "snippets"); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithCancel(t.Context())
	cancel()
	if err := EnsureContainer(ctx, c, "approvals"); err == nil || !strings.Contains(err.Error(), `create container "approvals"`) {
		t.Errorf("EnsureContainer(canceled) = %v", err)
	}
}
