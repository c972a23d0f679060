// Package aitest is a stand-in for the Application Insights ingestion
// endpoint: it decodes the wire format that ApplicationInsights-Go sends
// (gzip-compressed, newline-delimited JSON envelopes, POSTed to
// <IngestionEndpoint>/v2.1/track) and keeps what it received for tests.
package aitest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
)

// TrackPath is the path the sink posts to.
const TrackPath = "/v2.1/track"

// Envelope is one telemetry item as sent on the wire.
type Envelope struct {
	Ver        int               `json:"ver"`
	Name       string            `json:"name"`
	Time       string            `json:"time"`
	SampleRate float64           `json:"sampleRate"`
	Seq        string            `json:"seq"`
	IKey       string            `json:"iKey"`
	Tags       map[string]string `json:"tags"`
	Data       Data              `json:"data"`
}

// Data is the envelope's payload. Only custom events (EventData) are
// decoded; anything else is an error, since the audit sink sends nothing else.
type Data struct {
	BaseType string    `json:"baseType"`
	BaseData EventData `json:"baseData"`
}

// EventData is a custom event.
type EventData struct {
	Ver          int                `json:"ver"`
	Name         string             `json:"name"`
	Properties   map[string]string  `json:"properties"`
	Measurements map[string]float64 `json:"measurements"`
}

// Decode reads a track request: POST, Content-Encoding gzip, Content-Type
// application/x-json-stream, one JSON envelope per line.
func Decode(r *http.Request) ([]Envelope, error) {
	payload, err := Payload(r)
	if err != nil {
		return nil, err
	}
	return ParseEnvelopes(payload)
}

// Payload checks the request's method and headers and returns its
// decompressed body.
func Payload(r *http.Request) ([]byte, error) {
	if r.Method != http.MethodPost {
		return nil, fmt.Errorf("method %s, want POST", r.Method)
	}
	if ce := r.Header.Get("Content-Encoding"); ce != "gzip" {
		return nil, fmt.Errorf("Content-Encoding %q, want gzip", ce)
	}
	if ct := r.Header.Get("Content-Type"); ct != "application/x-json-stream" {
		return nil, fmt.Errorf("Content-Type %q, want application/x-json-stream", ct)
	}
	zr, err := gzip.NewReader(r.Body)
	if err != nil {
		return nil, fmt.Errorf("gunzip body: %w", err)
	}
	payload, err := io.ReadAll(zr)
	if err != nil {
		return nil, fmt.Errorf("gunzip body: %w", err)
	}
	return payload, nil
}

// ParseEnvelopes decodes newline-delimited envelopes. Unknown fields are
// errors, so that a change of wire format fails tests instead of passing
// silently.
func ParseEnvelopes(payload []byte) ([]Envelope, error) {
	var out []Envelope
	sc := bufio.NewScanner(bytes.NewReader(payload))
	sc.Buffer(make([]byte, 64<<10), 4<<20)
	for sc.Scan() {
		line := sc.Bytes()
		if len(bytes.TrimSpace(line)) == 0 {
			return nil, fmt.Errorf("line %d is empty", len(out)+1)
		}
		dec := json.NewDecoder(bytes.NewReader(line))
		dec.DisallowUnknownFields()
		var e Envelope
		if err := dec.Decode(&e); err != nil {
			return nil, fmt.Errorf("line %d: %w", len(out)+1, err)
		}
		if e.Data.BaseType != "EventData" {
			return nil, fmt.Errorf("line %d: baseType %q, want EventData", len(out)+1, e.Data.BaseType)
		}
		out = append(out, e)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("split lines: %w", err)
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("no envelopes")
	}
	return out, nil
}

// Request is one request the Server received.
type Request struct {
	Path          string
	Authorization string // the Authorization header, verbatim
	Payload       []byte // decompressed body
	Envelopes     []Envelope
	Err           error // why decoding failed, if it did
}

// Server is a local ingestion endpoint.
type Server struct {
	*httptest.Server
	IKey string // the instrumentation key of ConnectionString

	mu       sync.Mutex
	requests []Request
	status   int
	changed  chan struct{} // closed and replaced on every request
}

// NewServer starts a Server that answers like the real endpoint (200 with
// itemsReceived/itemsAccepted) and stops it when the test ends.
func NewServer(tb testing.TB) *Server {
	s := &Server{IKey: "00000000-0000-4000-8000-000000000001", changed: make(chan struct{})}
	s.Server = httptest.NewServer(http.HandlerFunc(s.serve))
	tb.Cleanup(s.Close)
	return s
}

// ConnectionString points a sink at the server.
func (s *Server) ConnectionString() string {
	return "InstrumentationKey=" + s.IKey + ";IngestionEndpoint=" + s.URL + "/"
}

// SetStatus makes the server answer every request with code (0: normal
// answers again). The payload is still decoded and recorded.
func (s *Server) SetStatus(code int) {
	s.mu.Lock()
	s.status = code
	s.mu.Unlock()
}

func (s *Server) serve(w http.ResponseWriter, r *http.Request) {
	req := Request{Path: r.URL.Path, Authorization: r.Header.Get("Authorization")}
	if r.URL.Path == TrackPath {
		if req.Payload, req.Err = Payload(r); req.Err == nil {
			req.Envelopes, req.Err = ParseEnvelopes(req.Payload)
		}
	} else {
		req.Err = fmt.Errorf("path %s, want %s", r.URL.Path, TrackPath)
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	status := s.status
	close(s.changed)
	s.changed = make(chan struct{})
	s.mu.Unlock()

	w.Header().Set("Content-Type", "application/json")
	switch {
	case req.Err != nil && r.URL.Path != TrackPath:
		http.Error(w, req.Err.Error(), http.StatusNotFound)
	case req.Err != nil:
		http.Error(w, req.Err.Error(), http.StatusBadRequest)
	case status != 0:
		w.WriteHeader(status)
		fmt.Fprintf(w, `{"itemsReceived":%d,"itemsAccepted":0,"errors":[]}`, len(req.Envelopes))
	default:
		fmt.Fprintf(w, `{"itemsReceived":%d,"itemsAccepted":%d,"errors":[]}`, len(req.Envelopes), len(req.Envelopes))
	}
}

// Requests returns a copy of what the server has received so far.
func (s *Server) Requests() []Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Request(nil), s.requests...)
}

// Envelopes returns every envelope received in requests that decoded.
func (s *Server) Envelopes() []Envelope {
	var out []Envelope
	for _, r := range s.Requests() {
		out = append(out, r.Envelopes...)
	}
	return out
}

// WaitRequests waits until at least n requests have arrived or ctx ends.
func (s *Server) WaitRequests(ctx context.Context, n int) ([]Request, error) {
	for {
		s.mu.Lock()
		got, changed := len(s.requests), s.changed
		s.mu.Unlock()
		if got >= n {
			return s.Requests(), nil
		}
		select {
		case <-changed:
		case <-ctx.Done():
			return s.Requests(), fmt.Errorf("got %d requests, want %d: %w", got, n, ctx.Err())
		}
	}
}

// PayloadContains reports whether any request's decompressed payload contains needle.
func (s *Server) PayloadContains(needle string) bool {
	for _, r := range s.Requests() {
		if strings.Contains(string(r.Payload), needle) {
			return true
		}
	}
	return false
}
