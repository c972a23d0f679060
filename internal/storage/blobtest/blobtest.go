// Package blobtest provides an in-memory Blob Storage REST fake and a
// fault-injecting proxy, for tests of code that talks to Blob Storage
// through the Azure SDK.
//
// The fake implements what this server's stores use: container creation,
// Put Blob with If-Match and If-None-Match, Get and Head with metadata,
// Delete with If-Match, and flat listing with prefix, marker, page size and
// metadata. Faults apply to the fake and to the proxy alike: a rule can
// drop the connection after storage acted (the reply is lost), drop it
// before, delay the reply, or answer with a status of its own.
//
//	f := blobtest.New(t)
//	f.SetRule(blobtest.DropAfterApplied(blobtest.Match(http.MethodPut, "/snippets/"), 1))
//	client, _ := azblob.NewClientFromConnectionString(f.ConnString(), nil)
package blobtest

import (
	"bytes"
	"encoding/xml"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httputil"
	"net/url"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/storage/azurite"
)

// Account and AccountKey are Azurite's development account, which the
// connection strings use (this fake ignores the key).
const (
	Account    = azurite.Account
	AccountKey = azurite.Key
)

// ConnString returns a connection string for a Blob endpoint at base
// (scheme and host, no path), with the development account.
func ConnString(base string) string {
	return azurite.ConnString(strings.TrimSuffix(base, "/"))
}

// Action is what a rule does with one request.
type Action int

const (
	Serve     Action = iota // answer normally
	DropAfter               // let storage act, then close the connection without a reply
	DropFirst               // close the connection without letting storage act
)

// Fault is a rule's verdict for one request.
type Fault struct {
	Action Action
	Delay  time.Duration // wait this long before acting
	Status int           // when not 0 (and Action is Serve): answer this status without acting
	Code   string        // x-ms-error-code for Status
}

// Rule decides the fault for a request; nil means none.
type Rule func(r *http.Request) Fault

// Match reports requests of method whose path contains part.
func Match(method, part string) func(*http.Request) bool {
	return func(r *http.Request) bool {
		return r.Method == method && strings.Contains(r.URL.Path, part) && r.URL.Query().Get("restype") == ""
	}
}

// DropAfterApplied drops the reply of the first n requests that match,
// after storage acted on them: the connection drops once the write is done.
func DropAfterApplied(match func(*http.Request) bool, n int) Rule {
	return counted(match, n, Fault{Action: DropAfter})
}

// Answer makes the first n matching requests fail with status and code
// without storage acting.
func Answer(match func(*http.Request) bool, n, status int, code string) Rule {
	return counted(match, n, Fault{Status: status, Code: code})
}

func counted(match func(*http.Request) bool, n int, f Fault) Rule {
	var mu sync.Mutex
	left := n
	return func(r *http.Request) Fault {
		mu.Lock()
		defer mu.Unlock()
		if left != 0 && match(r) {
			left--
			return f
		}
		return Fault{}
	}
}

// faulty applies the current rule around next.
type faulty struct {
	mu   sync.Mutex
	rule Rule
	next http.Handler
	seen []string // "METHOD path" of every request, in order
}

func (h *faulty) SetRule(r Rule) {
	h.mu.Lock()
	defer h.mu.Unlock()
	h.rule = r
}

func (h *faulty) Requests() []string {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]string(nil), h.seen...)
}

func (h *faulty) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	h.mu.Lock()
	rule := h.rule
	h.seen = append(h.seen, r.Method+" "+r.URL.Path)
	h.mu.Unlock()
	var f Fault
	if rule != nil {
		f = rule(r)
	}
	if f.Delay > 0 {
		// The server notices a client that gave up only once the body is
		// read: without this, a delayed write waits out its delay and then
		// acts for a client long gone (and Close waits for it).
		body, err := io.ReadAll(r.Body)
		if err != nil {
			return
		}
		r.Body = io.NopCloser(bytes.NewReader(body))
		select {
		case <-time.After(f.Delay):
		case <-r.Context().Done():
			return
		}
	}
	switch {
	case f.Action == DropFirst:
		_, _ = io.Copy(io.Discard, r.Body)
		hangUp(w)
	case f.Action == DropAfter:
		rec := httptest.NewRecorder()
		h.next.ServeHTTP(rec, r)
		hangUp(w)
	case f.Status != 0:
		_, _ = io.Copy(io.Discard, r.Body)
		w.Header().Set("x-ms-error-code", f.Code)
		w.WriteHeader(f.Status)
	default:
		h.next.ServeHTTP(w, r)
	}
}

// hangUp closes the client's connection without writing a reply.
func hangUp(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	c, _, err := hj.Hijack()
	if err == nil {
		_ = c.Close()
	}
}

// Server is a running fake or proxy.
type Server struct {
	*faulty
	URL string // scheme and host
}

// ConnString is the connection string of the server.
func (s *Server) ConnString() string { return ConnString(s.URL) }

// NewProxy starts a proxy to the Blob endpoint at target (scheme and host,
// e.g. Azurite's) that applies the rule set with SetRule.
func NewProxy(tb testing.TB, target string) *Server {
	u, err := url.Parse(target)
	if err != nil {
		tb.Fatalf("blobtest: target %q: %v", target, err)
	}
	return start(tb, httputil.NewSingleHostReverseProxy(u))
}

// New starts an in-memory fake with no containers.
func New(tb testing.TB) *Fake {
	f := &Fake{containers: map[string]map[string]*blob{}}
	f.Server = start(tb, http.HandlerFunc(f.serve))
	return f
}

func start(tb testing.TB, h http.Handler) *Server {
	fh := &faulty{next: h}
	srv := httptest.NewServer(fh)
	tb.Cleanup(srv.Close)
	return &Server{faulty: fh, URL: srv.URL}
}

// Fake is the in-memory Blob service.
type Fake struct {
	*Server
	mu         sync.Mutex
	version    int
	containers map[string]map[string]*blob
}

type blob struct {
	body     []byte
	meta     map[string]string // keys lower-cased, without the x-ms-meta- prefix
	etag     string
	modified time.Time
	ctype    string
}

// Put stores a blob directly, bypassing the REST API: for planting foreign
// or corrupt content. It creates the container.
func (f *Fake) Put(container, name string, body []byte, meta map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.containers[container] == nil {
		f.containers[container] = map[string]*blob{}
	}
	f.containers[container][name] = f.newBlob(body, meta, "")
}

// Names lists the blob names of a container, sorted.
func (f *Fake) Names(container string) []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	var out []string
	for n := range f.containers[container] {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}

// CreateContainer creates an empty container unless it exists.
func (f *Fake) CreateContainer(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.containers[name] == nil {
		f.containers[name] = map[string]*blob{}
	}
}

// DeleteContainer removes a container and its blobs (storage not set up).
func (f *Fake) DeleteContainer(name string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	delete(f.containers, name)
}

func (f *Fake) newBlob(body []byte, meta map[string]string, ctype string) *blob {
	f.version++
	return &blob{body: body, meta: meta, etag: fmt.Sprintf(`"0x8DC%012X"`, f.version),
		modified: time.Now().UTC().Truncate(time.Second), ctype: ctype}
}

func (f *Fake) serve(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(r.Body)
	if err != nil {
		return
	}
	w.Header().Set("x-ms-request-id", "00000000-0000-0000-0000-000000000000")
	w.Header().Set("x-ms-version", "2025-01-05")
	// Path: /<account>/<container>[/<blob name>]
	parts := strings.SplitN(strings.TrimPrefix(r.URL.Path, "/"), "/", 3)
	if len(parts) < 2 || parts[0] != Account {
		fail(w, http.StatusBadRequest, "InvalidUri")
		return
	}
	q := r.URL.Query()
	f.mu.Lock()
	defer f.mu.Unlock()
	cname := parts[1]
	c, ok := f.containers[cname]
	if q.Get("restype") == "container" {
		switch {
		case q.Get("comp") == "list" && ok:
			f.list(w, c, q)
		case q.Get("comp") == "list":
			fail(w, http.StatusNotFound, "ContainerNotFound")
		case r.Method == http.MethodPut && ok:
			fail(w, http.StatusConflict, "ContainerAlreadyExists")
		case r.Method == http.MethodPut:
			f.containers[cname] = map[string]*blob{}
			w.WriteHeader(http.StatusCreated)
		default:
			fail(w, http.StatusBadRequest, "UnsupportedHttpVerb")
		}
		return
	}
	if !ok {
		fail(w, http.StatusNotFound, "ContainerNotFound")
		return
	}
	if len(parts) < 3 || parts[2] == "" {
		fail(w, http.StatusBadRequest, "InvalidUri")
		return
	}
	name := parts[2]
	b := c[name]
	if status, code := precondition(r, b); status != 0 {
		fail(w, status, code)
		return
	}
	switch r.Method {
	case http.MethodPut:
		meta := map[string]string{}
		for k, v := range r.Header {
			if lk := strings.ToLower(k); strings.HasPrefix(lk, "x-ms-meta-") && len(v) > 0 {
				meta[strings.TrimPrefix(lk, "x-ms-meta-")] = v[0]
			}
		}
		nb := f.newBlob(body, meta, r.Header.Get("x-ms-blob-content-type"))
		c[name] = nb
		w.Header().Set("ETag", nb.etag)
		w.Header().Set("Last-Modified", nb.modified.Format(http.TimeFormat))
		w.WriteHeader(http.StatusCreated)
	case http.MethodGet, http.MethodHead:
		h := w.Header()
		for k, v := range b.meta {
			h.Set("x-ms-meta-"+k, v)
		}
		h.Set("ETag", b.etag)
		h.Set("Last-Modified", b.modified.Format(http.TimeFormat))
		h.Set("Content-Length", strconv.Itoa(len(b.body)))
		h.Set("Content-Type", b.ctype)
		h.Set("x-ms-blob-type", "BlockBlob")
		if r.Method == http.MethodGet {
			_, _ = w.Write(b.body)
		}
	case http.MethodDelete:
		delete(c, name)
		w.WriteHeader(http.StatusAccepted)
	default:
		fail(w, http.StatusBadRequest, "UnsupportedHttpVerb")
	}
}

// precondition applies the access conditions the stores send.
func precondition(r *http.Request, b *blob) (int, string) {
	ifMatch, ifNone := r.Header.Get("If-Match"), r.Header.Get("If-None-Match")
	switch {
	case b == nil && r.Method != http.MethodPut:
		return http.StatusNotFound, "BlobNotFound"
	case ifNone == "*" && b != nil:
		return http.StatusConflict, "BlobAlreadyExists"
	case ifMatch != "" && b == nil:
		return http.StatusPreconditionFailed, "ConditionNotMet"
	case ifMatch != "" && ifMatch != "*" && ifMatch != b.etag:
		return http.StatusPreconditionFailed, "ConditionNotMet"
	}
	return 0, ""
}

func fail(w http.ResponseWriter, status int, code string) {
	w.Header().Set("x-ms-error-code", code)
	w.Header().Set("Content-Type", "application/xml")
	w.WriteHeader(status)
	fmt.Fprintf(w, `<?xml version="1.0" encoding="utf-8"?><Error><Code>%s</Code><Message>%s</Message></Error>`, code, code)
}

type listResult struct {
	XMLName    xml.Name   `xml:"EnumerationResults"`
	Prefix     string     `xml:"Prefix"`
	Marker     string     `xml:"Marker"`
	MaxResults int        `xml:"MaxResults,omitempty"`
	Blobs      []listBlob `xml:"Blobs>Blob"`
	NextMarker string     `xml:"NextMarker"`
}

type listBlob struct {
	Name       string    `xml:"Name"`
	Properties listProps `xml:"Properties"`
	Metadata   *metaXML  `xml:"Metadata,omitempty"`
}

type listProps struct {
	LastModified  string `xml:"Last-Modified"`
	Etag          string `xml:"Etag"`
	ContentLength int    `xml:"Content-Length"`
	ContentType   string `xml:"Content-Type"`
	BlobType      string `xml:"BlobType"`
}

type metaXML struct{ m map[string]string }

func (m metaXML) MarshalXML(e *xml.Encoder, start xml.StartElement) error {
	if err := e.EncodeToken(start); err != nil {
		return err
	}
	keys := make([]string, 0, len(m.m))
	for k := range m.m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		if err := e.EncodeElement(m.m[k], xml.StartElement{Name: xml.Name{Local: k}}); err != nil {
			return err
		}
	}
	return e.EncodeToken(start.End())
}

// list answers a flat listing in name order. The marker is the name to
// start from, as Azurite's is; real markers are opaque.
func (f *Fake) list(w http.ResponseWriter, c map[string]*blob, q url.Values) {
	prefix, marker := q.Get("prefix"), q.Get("marker")
	limit := 5000
	if n, err := strconv.Atoi(q.Get("maxresults")); err == nil && n > 0 {
		limit = n
	}
	names := make([]string, 0, len(c))
	for n := range c {
		if strings.HasPrefix(n, prefix) && n >= marker {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	res := listResult{Prefix: prefix, Marker: marker, MaxResults: limit}
	if len(names) > limit {
		res.NextMarker = names[limit]
		names = names[:limit]
	}
	withMeta := strings.Contains(q.Get("include"), "metadata")
	for _, n := range names {
		b := c[n]
		// The service lists ETags without the quotes its headers carry.
		lb := listBlob{Name: n, Properties: listProps{LastModified: b.modified.Format(http.TimeFormat), Etag: strings.Trim(b.etag, `"`),
			ContentLength: len(b.body), ContentType: b.ctype, BlobType: "BlockBlob"}}
		if withMeta {
			lb.Metadata = &metaXML{b.meta}
		}
		res.Blobs = append(res.Blobs, lb)
	}
	w.Header().Set("Content-Type", "application/xml")
	_, _ = io.WriteString(w, xml.Header)
	_ = xml.NewEncoder(w).Encode(res)
}
