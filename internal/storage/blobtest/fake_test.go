package blobtest_test

import (
	"context"
	"encoding/xml"
	"io"
	"net/http"
	"slices"
	"strings"
	"testing"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore/to"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob"
	"github.com/Azure/azure-sdk-for-go/sdk/storage/azblob/container"

	"github.com/snippets-mcp/server/internal/storage/blobtest"
)

// reply is what the fake answered to one raw request.
type reply struct {
	status int
	header http.Header
	body   string
}

// send makes one raw request to base+path with the given headers.
func send(t *testing.T, method, url string, header map[string]string, body string) reply {
	t.Helper()
	req, err := http.NewRequest(method, url, strings.NewReader(body))
	if err != nil {
		t.Fatalf("request %s %s: %v", method, url, err)
	}
	for k, v := range header {
		req.Header.Set(k, v)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, url, err)
	}
	defer resp.Body.Close()
	b, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("%s %s: read body: %v", method, url, err)
	}
	return reply{resp.StatusCode, resp.Header, string(b)}
}

// checkReply compares the status and, where wanted, the error code.
func checkReply(t *testing.T, got reply, status int, code string) {
	t.Helper()
	if got.status != status {
		t.Errorf("status = %d, want %d (body %q)", got.status, status, got.body)
	}
	if c := got.header.Get("x-ms-error-code"); c != code {
		t.Errorf("x-ms-error-code = %q, want %q", c, code)
	}
}

func TestConnString(t *testing.T) {
	t.Parallel()
	want := "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=" + blobtest.AccountKey +
		";BlobEndpoint=http://127.0.0.1:1/devstoreaccount1;"
	for _, base := range []string{"http://127.0.0.1:1", "http://127.0.0.1:1/"} {
		t.Run(base, func(t *testing.T) {
			t.Parallel()
			if got := blobtest.ConnString(base); got != want {
				t.Errorf("ConnString(%q) = %q, want %q", base, got, want)
			}
		})
	}
}

// Container operations and request paths the fake does not serve.
func TestFakeContainers(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		method     string
		path       string // below the server URL
		existing   bool   // container "c" exists beforehand
		status     int
		code       string
		wantExists bool
	}{
		{"create", http.MethodPut, "/devstoreaccount1/c?restype=container", false, 201, "", true},
		{"create again", http.MethodPut, "/devstoreaccount1/c?restype=container", true, 409, "ContainerAlreadyExists", true},
		{"list a missing container", http.MethodGet, "/devstoreaccount1/c?restype=container&comp=list", false, 404, "ContainerNotFound", false},
		{"list", http.MethodGet, "/devstoreaccount1/c?restype=container&comp=list", true, 200, "", true},
		{"container verb it does not serve", http.MethodDelete, "/devstoreaccount1/c?restype=container", true, 400, "UnsupportedHttpVerb", true},
		{"another account", http.MethodGet, "/otheraccount/c/b", true, 400, "InvalidUri", true},
		{"no container in the path", http.MethodGet, "/devstoreaccount1", true, 400, "InvalidUri", true},
		{"blob in a missing container", http.MethodPut, "/devstoreaccount1/c/b", false, 404, "ContainerNotFound", false},
		{"no blob name", http.MethodGet, "/devstoreaccount1/c/", true, 400, "InvalidUri", true},
		{"blob verb it does not serve", http.MethodPost, "/devstoreaccount1/c/b", true, 400, "UnsupportedHttpVerb", true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := blobtest.New(t)
			if c.existing {
				f.Put("c", "b", []byte("x"), nil)
			}
			checkReply(t, send(t, c.method, f.URL+c.path, nil, ""), c.status, c.code)
			// Whether "c" exists afterwards, as the REST API sees it.
			list := send(t, http.MethodGet, f.URL+"/devstoreaccount1/c?restype=container&comp=list", nil, "")
			if got := list.status == http.StatusOK; got != c.wantExists {
				t.Errorf("container exists afterwards: %v (%d), want %v", got, list.status, c.wantExists)
			}
			if c.existing && !slices.Equal(f.Names("c"), []string{"b"}) {
				t.Errorf("blobs = %q, want [b] untouched", f.Names("c"))
			}
		})
	}
}

func TestFakeContainerHelpers(t *testing.T) {
	t.Parallel()
	f := blobtest.New(t)
	f.Put("c", "b", []byte("x"), nil) // creates the container
	f.CreateContainer("c")            // keeps what is in it
	if got := f.Names("c"); !slices.Equal(got, []string{"b"}) {
		t.Errorf("after CreateContainer of an existing one: %q, want [b]", got)
	}
	f.DeleteContainer("c")
	if got := f.Names("c"); got != nil {
		t.Errorf("after DeleteContainer: %q, want none", got)
	}
	checkReply(t, send(t, http.MethodGet, f.URL+"/devstoreaccount1/c/b", nil, ""), 404, "ContainerNotFound")
	f.CreateContainer("c")
	checkReply(t, send(t, http.MethodGet, f.URL+"/devstoreaccount1/c/b", nil, ""), 404, "BlobNotFound")
}

// Put, Get, Head and Delete with the access conditions the stores send.
func TestFakeBlobs(t *testing.T) {
	t.Parallel()
	const blobURL = "/devstoreaccount1/c/dir/b"
	cases := []struct {
		name     string
		existing bool // "dir/b" exists beforehand, with ETag etag
		method   string
		header   map[string]string // "{etag}" stands for the existing ETag
		status   int
		code     string
		wantBody string // what Get answers afterwards; "" means 404
	}{
		{"put new", false, http.MethodPut, nil, 201, "", "new"},
		{"put over", true, http.MethodPut, nil, 201, "", "new"},
		{"create-only on a missing blob", false, http.MethodPut, map[string]string{"If-None-Match": "*"}, 201, "", "new"},
		{"create-only on an existing blob", true, http.MethodPut, map[string]string{"If-None-Match": "*"}, 409, "BlobAlreadyExists", "old"},
		{"replace the version read", true, http.MethodPut, map[string]string{"If-Match": "{etag}"}, 201, "", "new"},
		{"replace another version", true, http.MethodPut, map[string]string{"If-Match": `"0x8DC000000000999"`}, 412, "ConditionNotMet", "old"},
		{"replace any version", true, http.MethodPut, map[string]string{"If-Match": "*"}, 201, "", "new"},
		{"replace a missing blob", false, http.MethodPut, map[string]string{"If-Match": "{etag}"}, 412, "ConditionNotMet", ""},
		{"get a missing blob", false, http.MethodGet, nil, 404, "BlobNotFound", ""},
		{"head a missing blob", false, http.MethodHead, nil, 404, "BlobNotFound", ""},
		{"delete", true, http.MethodDelete, nil, 202, "", ""},
		{"delete the version read", true, http.MethodDelete, map[string]string{"If-Match": "{etag}"}, 202, "", ""},
		{"delete another version", true, http.MethodDelete, map[string]string{"If-Match": `"0x8DC000000000999"`}, 412, "ConditionNotMet", "old"},
		{"delete a missing blob", false, http.MethodDelete, nil, 404, "BlobNotFound", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			f := blobtest.New(t)
			f.CreateContainer("c")
			etag := `"none"`
			if c.existing {
				r := send(t, http.MethodPut, f.URL+blobURL, nil, "old")
				checkReply(t, r, 201, "")
				etag = r.header.Get("ETag")
			}
			header := map[string]string{}
			for k, v := range c.header {
				header[k] = strings.ReplaceAll(v, "{etag}", etag)
			}
			got := send(t, c.method, f.URL+blobURL, header, "new")
			checkReply(t, got, c.status, c.code)
			if c.method == http.MethodPut && c.status == 201 {
				if e := got.header.Get("ETag"); e == "" || e == etag {
					t.Errorf("ETag after the write = %q, want a new one (before: %q)", e, etag)
				}
				if got.header.Get("Last-Modified") == "" {
					t.Error("no Last-Modified after the write")
				}
			}
			after := send(t, http.MethodGet, f.URL+blobURL, nil, "")
			switch {
			case c.wantBody == "" && after.status != 404:
				t.Errorf("afterwards: %d %q, want 404", after.status, after.body)
			case c.wantBody != "" && (after.status != 200 || after.body != c.wantBody):
				t.Errorf("afterwards: %d %q, want 200 %q", after.status, after.body, c.wantBody)
			}
		})
	}
}

// What Put stores comes back from Get and Head: metadata (in lower case),
// content type, ETag, length.
func TestFakeGetAndHead(t *testing.T) {
	t.Parallel()
	f := blobtest.New(t)
	f.CreateContainer("c")
	put := send(t, http.MethodPut, f.URL+"/devstoreaccount1/c/b", map[string]string{
		"x-ms-meta-Sha256": "abc", "x-ms-meta-owner": "o1", "x-ms-blob-content-type": "application/json", "x-ms-blob-type": "BlockBlob",
	}, `{"a":1}`)
	checkReply(t, put, 201, "")
	for _, method := range []string{http.MethodGet, http.MethodHead} {
		t.Run(method, func(t *testing.T) {
			t.Parallel()
			got := send(t, method, f.URL+"/devstoreaccount1/c/b", nil, "")
			checkReply(t, got, 200, "")
			wantBody := `{"a":1}`
			if method == http.MethodHead {
				wantBody = ""
			}
			if got.body != wantBody {
				t.Errorf("body = %q, want %q", got.body, wantBody)
			}
			for k, want := range map[string]string{
				"x-ms-meta-sha256": "abc", "x-ms-meta-owner": "o1", "Content-Type": "application/json",
				"Content-Length": "7", "ETag": put.header.Get("ETag"), "x-ms-blob-type": "BlockBlob",
				"Last-Modified": put.header.Get("Last-Modified"),
			} {
				if v := got.header.Get(k); v != want {
					t.Errorf("%s = %q, want %q", k, v, want)
				}
			}
		})
	}
}

// The listing in the service's XML, as the SDK's pager reads it: name
// order, prefix, page size with a marker, metadata on request, ETags
// without quotes.
func TestFakeList(t *testing.T) {
	t.Parallel()
	f := blobtest.New(t)
	for _, n := range []string{"t1/b", "t1/a", "t2/a", "t1/c", "t1/d", "u"} {
		f.Put("c", n, []byte(n), map[string]string{"owner": "o-" + n})
	}
	cl, err := azblob.NewClientFromConnectionString(f.ConnString(), nil)
	if err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		name      string
		opts      *azblob.ListBlobsFlatOptions
		wantPages [][]string
	}{
		{"everything", nil, [][]string{{"t1/a", "t1/b", "t1/c", "t1/d", "t2/a", "u"}}},
		{"prefix", &azblob.ListBlobsFlatOptions{Prefix: to.Ptr("t1/")}, [][]string{{"t1/a", "t1/b", "t1/c", "t1/d"}}},
		{"pages of two", &azblob.ListBlobsFlatOptions{Prefix: to.Ptr("t1/"), MaxResults: to.Ptr(int32(2))}, [][]string{{"t1/a", "t1/b"}, {"t1/c", "t1/d"}}},
		{"pages of four", &azblob.ListBlobsFlatOptions{MaxResults: to.Ptr(int32(4))}, [][]string{{"t1/a", "t1/b", "t1/c", "t1/d"}, {"t2/a", "u"}}},
		{"no match", &azblob.ListBlobsFlatOptions{Prefix: to.Ptr("v")}, [][]string{nil}},
		{"with metadata", &azblob.ListBlobsFlatOptions{Prefix: to.Ptr("t2"), Include: container.ListBlobsInclude{Metadata: true}}, [][]string{{"t2/a"}}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			var pages [][]string
			pager := cl.NewListBlobsFlatPager("c", c.opts)
			for pager.More() {
				page, err := pager.NextPage(context.Background())
				if err != nil {
					t.Fatalf("page %d: %v", len(pages), err)
				}
				var names []string
				for _, b := range page.Segment.BlobItems {
					names = append(names, *b.Name)
					if b.Properties == nil || b.Properties.ETag == nil || strings.Contains(string(*b.Properties.ETag), `"`) {
						t.Errorf("%s: ETag %v, want one without quotes", *b.Name, b.Properties)
					} else if got := *b.Properties.ContentLength; got != int64(len(*b.Name)) {
						t.Errorf("%s: Content-Length %d, want %d", *b.Name, got, len(*b.Name))
					}
					meta := b.Metadata["owner"]
					switch {
					case c.opts != nil && c.opts.Include.Metadata && (meta == nil || *meta != "o-"+*b.Name):
						t.Errorf("%s: owner metadata %v, want %q", *b.Name, meta, "o-"+*b.Name)
					case (c.opts == nil || !c.opts.Include.Metadata) && meta != nil:
						t.Errorf("%s: metadata %q listed without being asked for", *b.Name, *meta)
					}
				}
				pages = append(pages, names)
			}
			if !slices.EqualFunc(pages, c.wantPages, slices.Equal) {
				t.Errorf("pages = %q, want %q", pages, c.wantPages)
			}
		})
	}
}

// The raw listing carries the marker of the next page as the name to
// start from, and an empty one on the last page.
func TestFakeListMarker(t *testing.T) {
	t.Parallel()
	f := blobtest.New(t)
	for _, n := range []string{"a", "b", "c"} {
		f.Put("c", n, nil, nil)
	}
	type result struct {
		Names      []string `xml:"Blobs>Blob>Name"`
		NextMarker string   `xml:"NextMarker"`
	}
	cases := []struct {
		query      string
		wantNames  []string
		wantMarker string
	}{
		{"maxresults=2", []string{"a", "b"}, "c"},
		{"maxresults=2&marker=c", []string{"c"}, ""},
		{"marker=b", []string{"b", "c"}, ""},
		{"maxresults=0", []string{"a", "b", "c"}, ""},
		{"maxresults=x", []string{"a", "b", "c"}, ""},
	}
	for _, c := range cases {
		t.Run(c.query, func(t *testing.T) {
			t.Parallel()
			got := send(t, http.MethodGet, f.URL+"/devstoreaccount1/c?restype=container&comp=list&"+c.query, nil, "")
			checkReply(t, got, 200, "")
			var res result
			if err := xml.Unmarshal([]byte(got.body), &res); err != nil {
				t.Fatalf("listing %q: %v", got.body, err)
			}
			if !slices.Equal(res.Names, c.wantNames) || res.NextMarker != c.wantMarker {
				t.Errorf("names %q, next marker %q; want %q, %q", res.Names, res.NextMarker, c.wantNames, c.wantMarker)
			}
		})
	}
}
