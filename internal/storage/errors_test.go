package storage

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/blob"

	"github.com/snippets-mcp/server/internal/storage/blobtest"
)

func respErr(status int, code string) error {
	return fmt.Errorf("op: %w", &azcore.ResponseError{StatusCode: status, ErrorCode: code})
}

// The classifiers on errors built by hand: one row per error, one column
// per classifier.
func TestClassifiers(t *testing.T) {
	t.Parallel()
	dnsMissing := &net.DNSError{Err: "no such host", Name: "acct.blob.core.windows.net", IsNotFound: true}
	cases := []struct {
		name                            string
		err                             error
		notFound, condFailed, misconfig bool
		reason                          string
	}{
		{"nil", nil, false, false, false, ""},
		{"blob not found", respErr(404, "BlobNotFound"), true, false, false, "storage answered 404 BlobNotFound"},
		{"container not found", respErr(404, "ContainerNotFound"), false, false, false, "storage answered 404 ContainerNotFound"},
		{"condition not met", respErr(412, "ConditionNotMet"), false, true, false, "storage answered 412 ConditionNotMet"},
		{"412 without a code", respErr(412, ""), false, true, false, "storage answered 412 "},
		{"blob already exists", respErr(409, "BlobAlreadyExists"), false, true, false, "storage answered 409 BlobAlreadyExists"},
		{"409 lease", respErr(409, "LeaseIdMissing"), false, true, false, "storage answered 409 LeaseIdMissing"},
		{"bad key", respErr(403, "AuthorizationFailure"), false, false, true, "storage answered 403 AuthorizationFailure"},
		{"401", respErr(401, "NoAuthenticationInformation"), false, false, true, "storage answered 401 NoAuthenticationInformation"},
		{"invalid authentication info on 400", respErr(400, "InvalidAuthenticationInfo"), false, false, true, "storage answered 400 InvalidAuthenticationInfo"},
		{"account disabled", respErr(400, "AccountIsDisabled"), false, false, true, "storage answered 400 AccountIsDisabled"},
		{"authentication failed", respErr(400, "AuthenticationFailed"), false, false, true, "storage answered 400 AuthenticationFailed"},
		{"server busy", respErr(503, "ServerBusy"), false, false, false, "storage answered 503 ServerBusy"},
		{"internal error", respErr(500, "InternalError"), false, false, false, "storage answered 500 InternalError"},
		// As the transport reports a missing account: a DNS error inside a dial error.
		{"missing account", fmt.Errorf("get: %w", &net.OpError{Op: "dial", Net: "tcp", Err: dnsMissing}), false, false, true, "transport: dial failed"},
		{"DNS timeout", &net.DNSError{Err: "timeout", IsTimeout: true}, false, false, false, "transport failed"},
		{"deadline", fmt.Errorf("get: %w", context.DeadlineExceeded), false, false, false, "storage did not answer in time"},
		{"canceled", fmt.Errorf("get: %w", context.Canceled), false, false, false, "request canceled"},
		{"connection refused", &net.OpError{Op: "dial", Net: "tcp", Err: errors.New("connection refused")}, false, false, false, "transport: dial failed"},
		{"reset", &net.OpError{Op: "read", Net: "tcp", Err: errors.New("reset")}, false, false, false, "transport: read failed"},
		{"EOF", errors.New("unexpected EOF"), false, false, false, "transport failed"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			err := c.err
			if got := IsNotFound(err); got != c.notFound {
				t.Errorf("IsNotFound = %v, want %v", got, c.notFound)
			}
			if got := IsConditionFailed(err); got != c.condFailed {
				t.Errorf("IsConditionFailed = %v, want %v", got, c.condFailed)
			}
			if got := IsMisconfigured(err); got != c.misconfig {
				t.Errorf("IsMisconfigured = %v, want %v", got, c.misconfig)
			}
			if got := Reason(err); got != c.reason {
				t.Errorf("Reason = %q, want %q", got, c.reason)
			}
		})
	}
}

// Reason never repeats what the error text carries besides status and
// code: the request URL with its names, and the request id.
func TestReasonLeavesOutTheURL(t *testing.T) {
	t.Parallel()
	f, cl := fakeWithContainer(t)
	f.SetRule(blobtest.Answer(blobtest.Match(http.MethodGet, "/c/"), 1, http.StatusForbidden, "AuthorizationFailure"))
	_, err := cl.DownloadBuffer(context.Background(), "c", "tenant-7/secret-name", make([]byte, 1), nil)
	if err == nil {
		t.Fatal("download answered 403 succeeded")
	}
	got := Reason(err)
	if want := "storage answered 403 AuthorizationFailure"; got != want {
		t.Errorf("Reason = %q, want %q", got, want)
	}
	if !strings.Contains(err.Error(), "secret-name") {
		t.Fatalf("the SDK's error no longer names the blob (%v): this test proves nothing", err)
	}
}

func TestExplain(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"nil", nil, ""},
		{"bad key", respErr(403, "AuthorizationFailure"), Misconfigured},
		{"no container", respErr(404, "ContainerNotFound"), "storage containers are not created yet (the server creates them at start; retryable)"},
		{"busy", respErr(503, "ServerBusy"), "storage is unavailable right now (storage answered 503 ServerBusy; retryable)"},
		{"deadline", context.DeadlineExceeded, "storage is unavailable right now (storage did not answer in time; retryable)"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := Explain(c.err); got != c.want {
				t.Errorf("Explain = %q, want %q", got, c.want)
			}
		})
	}
}

// The classifiers on what the SDK really returns from the fake.
func TestClassifiersOnSDKErrors(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	ifMatch := func(etag azcore.ETag) *azblob.UploadBufferOptions {
		return &azblob.UploadBufferOptions{AccessConditions: &blob.AccessConditions{
			ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfMatch: to.Ptr(etag)}}}
	}
	ifNone := &azblob.UploadBufferOptions{AccessConditions: &blob.AccessConditions{
		ModifiedAccessConditions: &blob.ModifiedAccessConditions{IfNoneMatch: to.Ptr(azcore.ETagAny)}}}
	cases := []struct {
		name                            string
		op                              func(*azblob.Client) error
		notFound, condFailed, misconfig bool
	}{
		{"get a missing blob", func(c *azblob.Client) error {
			_, err := c.DownloadBuffer(ctx, "c", "missing", make([]byte, 1), nil)
			return err
		}, true, false, false},
		{"get from a missing container", func(c *azblob.Client) error {
			_, err := c.DownloadBuffer(ctx, "nope", "b", make([]byte, 1), nil)
			return err
		}, false, false, false},
		{"delete a missing blob", func(c *azblob.Client) error {
			_, err := c.DeleteBlob(ctx, "c", "missing", nil)
			return err
		}, true, false, false},
		{"create what exists", func(c *azblob.Client) error {
			_, err := c.UploadBuffer(ctx, "c", "b", []byte("y"), ifNone)
			return err
		}, false, true, false},
		{"replace a changed blob", func(c *azblob.Client) error {
			_, err := c.UploadBuffer(ctx, "c", "b", []byte("y"), ifMatch(`"0x0"`))
			return err
		}, false, true, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f, cl := fakeWithContainer(t)
			f.Put("c", "b", []byte("x"), nil)
			err := c.op(cl)
			if err == nil {
				t.Fatal("no error, want one")
			}
			if got := IsNotFound(err); got != c.notFound {
				t.Errorf("IsNotFound(%v) = %v, want %v", err, got, c.notFound)
			}
			if got := IsConditionFailed(err); got != c.condFailed {
				t.Errorf("IsConditionFailed(%v) = %v, want %v", err, got, c.condFailed)
			}
			if got := IsMisconfigured(err); got != c.misconfig {
				t.Errorf("IsMisconfigured(%v) = %v, want %v", err, got, c.misconfig)
			}
		})
	}
}

func TestEnsureContainer(t *testing.T) {
	t.Parallel()
	containerOps := func(r *http.Request) bool { return r.URL.Query().Get("restype") == "container" }
	cases := []struct {
		name      string
		exists    bool
		rule      blobtest.Rule
		wantErr   string // "" means none
		wantMisc  bool
		wantAfter bool // the container exists afterwards
	}{
		{"creates a missing container", false, nil, "", false, true},
		{"an existing container is fine", true, nil, "", false, true},
		{"refused credentials", false, blobtest.Answer(containerOps, 1, http.StatusForbidden, "AuthorizationFailure"), `create container "snippets"`, true, false},
		{"outage", false, blobtest.Answer(containerOps, 100, http.StatusInternalServerError, "InternalError"), `create container "snippets"`, false, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := blobtest.New(t)
			f.Put("snippets", "keep", []byte("x"), nil)
			if !c.exists {
				f.DeleteContainer("snippets")
			}
			f.SetRule(c.rule)
			err := EnsureContainer(context.Background(), testClient(t, f.ConnString()), "snippets")
			switch {
			case c.wantErr == "" && err != nil:
				t.Fatalf("EnsureContainer: %v, want nil", err)
			case c.wantErr != "" && (err == nil || !strings.Contains(err.Error(), c.wantErr)):
				t.Fatalf("EnsureContainer: %v, want an error containing %q", err, c.wantErr)
			}
			if got := IsMisconfigured(err); got != c.wantMisc {
				t.Errorf("IsMisconfigured(%v) = %v, want %v", err, got, c.wantMisc)
			}
			f.SetRule(nil)
			// Whether the container is there: listing it works or not.
			_, lerr := testClient(t, f.ConnString()).NewListBlobsFlatPager("snippets", nil).NextPage(context.Background())
			if got := lerr == nil; got != c.wantAfter {
				t.Errorf("container exists afterwards: %v (%v), want %v", got, lerr, c.wantAfter)
			}
			if c.exists {
				if got := f.Names("snippets"); len(got) != 1 || got[0] != "keep" {
					t.Errorf("blobs of the existing container = %q, want [keep]: it must not be emptied", got)
				}
			}
		})
	}
}
