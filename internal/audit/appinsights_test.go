package audit

import (
	"bytes"
	"compress/gzip"
	"context"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/audit/aitest"
)

// aiConfig parses the configuration the way production does, pointed at srv.
func aiConfig(t *testing.T, srv *aitest.Server, authString string) Config {
	t.Helper()
	ai, err := parse(srv.ConnectionString(), authString)
	if err != nil {
		t.Fatal(err)
	}
	return Config{ServerID: "snippets-mcp-test", AppInsights: ai}
}

func newAISink(t *testing.T, cfg Config, opts AppInsightsOptions) *AppInsightsSink {
	t.Helper()
	opts.ServerID = cfg.ServerID
	if opts.BatchInterval == 0 {
		opts.BatchInterval = time.Hour // only Close flushes, unless a batch fills
	}
	s, err := NewAppInsightsSink(*cfg.AppInsights, opts)
	if err != nil {
		t.Fatal(err)
	}
	return s
}

// waitFor polls cond until it holds or ctx ends (a wait, not a timing assertion).
func waitFor(t *testing.T, ctx context.Context, what string, cond func() bool) {
	t.Helper()
	for !cond() {
		select {
		case <-ctx.Done():
			t.Fatalf("gave up waiting for %s", what)
		case <-time.After(2 * time.Millisecond):
		}
	}
}

// stringify renders a decoded JSON value the way custom dimensions hold it.
func stringify(t *testing.T, v any) string {
	switch v := v.(type) {
	case string:
		return v
	case bool:
		return strconv.FormatBool(v)
	case float64:
		return strconv.FormatFloat(v, 'f', -1, 64)
	}
	t.Fatalf("unexpected JSON value %T", v)
	return ""
}

func TestAppInsightsWireFormat(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(t)
	token := "ingestion-token-" + randHex(16)
	cred := &fakeCred{token: token}
	cfg := aiConfig(t, srv, "Authorization=AAD;ClientId=7c0bd0a4-3e44-4b7a-a2d2-8c5d0c1e9f00")
	var stdout, stderr syncBuffer
	ai := newAISink(t, cfg, AppInsightsOptions{Credential: cred, Warn: &stderr})
	aud := New(Options{ServerID: cfg.ServerID, Warn: &stderr}, NewJSONSink(&stdout), ai)

	first := fullEvent()
	first.ServerID = cfg.ServerID
	second := Event{ToolName: "list_snippets", ResultCode: ResultOK, LatencyMS: 3} // no session, server id filled in
	aud.Record(first)
	aud.Record(second)
	if err := aud.Close(testCtx(t, 10*time.Second)); err != nil {
		t.Fatalf("Close: %v", err)
	}

	reqs := srv.Requests()
	if len(reqs) != 1 {
		t.Fatalf("got %d requests, want the two events in one batch flushed by Close", len(reqs))
	}
	req := reqs[0]
	if req.Err != nil {
		t.Fatalf("request did not decode: %v", req.Err)
	}
	if req.Authorization != "Bearer "+token {
		t.Errorf("Authorization = %q, want the credential's bearer token", req.Authorization)
	}
	if calls := cred.calls(); len(calls) != 1 || !slices.Equal(calls[0], []string{DefaultScope}) {
		t.Errorf("token requests = %v, want one for %s", calls, DefaultScope)
	}
	if len(req.Envelopes) != 2 {
		t.Fatalf("got %d envelopes", len(req.Envelopes))
	}

	lines := strings.Split(strings.TrimSuffix(stdout.String(), "\n"), "\n")
	if len(lines) != 2 {
		t.Fatalf("stdout has %d lines", len(lines))
	}
	for i, env := range req.Envelopes {
		var line map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &line); err != nil {
			t.Fatal(err)
		}
		wantName := "Microsoft.ApplicationInsights." + strings.ReplaceAll(srv.IKey, "-", "") + ".Event"
		if env.Name != wantName || env.IKey != srv.IKey || env.Ver != 1 || env.SampleRate != 100 {
			t.Errorf("envelope %d header: name %q ikey %q ver %d rate %v", i, env.Name, env.IKey, env.Ver, env.SampleRate)
		}
		ts, err := time.Parse(time.RFC3339Nano, env.Time)
		wantTS, _ := time.Parse(time.RFC3339Nano, line["timestamp"].(string))
		if err != nil || !ts.Truncate(time.Millisecond).Equal(wantTS) {
			t.Errorf("envelope %d time %q, line timestamp %v", i, env.Time, line["timestamp"])
		}
		if env.Data.BaseData.Name != AppInsightsEventName || env.Data.BaseData.Ver != 2 {
			t.Errorf("envelope %d event name %q ver %d", i, env.Data.BaseData.Name, env.Data.BaseData.Ver)
		}
		// Tags: the trace id as operation id, the server id as role name.
		if got := env.Tags["ai.operation.id"]; got != line["operation_id"] || got == "" {
			t.Errorf("envelope %d ai.operation.id = %q, line operation_id %v", i, got, line["operation_id"])
		}
		if got := env.Tags["ai.cloud.role"]; got != cfg.ServerID {
			t.Errorf("envelope %d ai.cloud.role = %q, want %q", i, got, cfg.ServerID)
		}
		if got, want := env.Tags["ai.session.id"], line["mcp_session_id"]; got != want {
			t.Errorf("envelope %d ai.session.id = %q, want %q", i, got, want)
		}
		if !strings.HasPrefix(env.Tags["ai.internal.sdkVersion"], "go:") {
			t.Errorf("envelope %d sdk version tag %q", i, env.Tags["ai.internal.sdkVersion"])
		}
		// Every field of the stdout line is a custom dimension with the same value.
		props := env.Data.BaseData.Properties
		for _, f := range eventFields {
			if _, ok := line[f]; !ok {
				t.Fatalf("stdout line lacks %s", f)
			}
		}
		for f, v := range line {
			if props[f] != stringify(t, v) {
				t.Errorf("envelope %d property %s = %q, want %q", i, f, props[f], stringify(t, v))
			}
		}
		if len(props) != len(line) {
			t.Errorf("envelope %d has %d properties, want %d (the stdout line's fields)", i, len(props), len(line))
		}
		// latency_ms and arguments_bytes are measurements too.
		m := env.Data.BaseData.Measurements
		if m["latency_ms"] != line["latency_ms"] || m["arguments_bytes"] != line["arguments_bytes"] || len(m) != 2 {
			t.Errorf("envelope %d measurements %v", i, m)
		}
	}
	if p := req.Envelopes[0].Data.BaseData.Properties; p["tool_name"] != "delete_snippet" || p["approval_required"] != "true" || p["latency_ms"] != "87" {
		t.Errorf("first event properties %v", p)
	}
	if stderr.String() != "" {
		t.Errorf("stderr = %q", stderr.String())
	}
}

func TestAppInsightsInstrumentationKeyOnly(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(t)
	cred := &fakeCred{token: "unused"}
	cfg := aiConfig(t, srv, "")
	aud := New(Options{Warn: &syncBuffer{}}, newAISink(t, cfg, AppInsightsOptions{Credential: cred, Warn: &syncBuffer{}}))
	aud.Record(Event{ToolName: "t"})
	if err := aud.Close(testCtx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	reqs := srv.Requests()
	if len(reqs) != 1 || reqs[0].Err != nil || len(reqs[0].Envelopes) != 1 {
		t.Fatalf("requests = %+v", reqs)
	}
	if reqs[0].Authorization != "" || len(cred.calls()) != 0 {
		t.Errorf("sent Authorization %q after %d token requests; want none without Authorization=AAD", reqs[0].Authorization, len(cred.calls()))
	}
}

func TestAppInsightsFailingEndpointBoundsBacklog(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(t)
	srv.SetStatus(http.StatusInternalServerError) // retriable: the library keeps the events
	cfg := aiConfig(t, srv, "")
	var stderr syncBuffer
	ai := newAISink(t, cfg, AppInsightsOptions{BatchSize: 1, MaxPending: 3, Warn: &stderr, WarnEvery: time.Hour})
	aud := New(Options{Warn: &stderr, WarnEvery: time.Hour}, ai)

	ctx := testCtx(t, 10*time.Second)
	aud.Record(Event{ToolName: "first"})
	waitFor(t, ctx, "the first send to fail", ai.stats.failing.Load)
	for range 7 {
		aud.Record(Event{}) // returns at once; two more fit the backlog, five do not
	}
	closeCtx, cancel := context.WithTimeout(ctx, 300*time.Millisecond)
	defer cancel()
	err := aud.Close(closeCtx)
	if err == nil || !strings.Contains(err.Error(), "appinsights sink: 3 of 3 events not confirmed") || !strings.Contains(err.Error(), "appinsights sink: 5 events dropped") {
		t.Fatalf("Close error = %v", err)
	}
	if aud.Dropped() != 5 {
		t.Errorf("Dropped() = %d, want 5", aud.Dropped())
	}
	out := stderr.String()
	if !strings.Contains(out, "audit: Application Insights ingestion answered 500") || !strings.Contains(out, "backlog is full") {
		t.Errorf("stderr = %q", out)
	}
}

func TestAppInsightsUnreachableEndpoint(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(t)
	cfg := aiConfig(t, srv, "")
	srv.Close() // nothing listens any more
	var stderr syncBuffer
	aud := New(Options{Warn: &stderr}, newAISink(t, cfg, AppInsightsOptions{Warn: &stderr}))
	aud.Record(Event{})
	aud.Record(Event{})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	err := aud.Close(ctx)
	if err == nil || !strings.Contains(err.Error(), "2 of 2 events not confirmed") {
		t.Fatalf("Close error = %v", err)
	}
	if !strings.Contains(stderr.String(), "audit: cannot reach Application Insights ingestion") {
		t.Errorf("stderr = %q", stderr.String())
	}
}

func TestAppInsightsRejectedBatchIsCounted(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(t)
	srv.SetStatus(http.StatusForbidden)
	cfg := aiConfig(t, srv, "Authorization=AAD")
	var stderr syncBuffer
	aud := New(Options{Warn: &stderr}, newAISink(t, cfg, AppInsightsOptions{Credential: &fakeCred{token: "tok"}, Warn: &stderr}))
	aud.Record(Event{})
	aud.Record(Event{})
	err := aud.Close(testCtx(t, 10*time.Second))
	if err == nil || !strings.Contains(err.Error(), "0 of 2 events not confirmed by the ingestion endpoint, 2 rejected by it") {
		t.Fatalf("Close error = %v", err)
	}
	if aud.Dropped() != 2 {
		t.Errorf("Dropped() = %d, want 2", aud.Dropped())
	}
	if !strings.Contains(stderr.String(), "answered 403 and 2 events were lost; grant the identity the Monitoring Metrics Publisher role") {
		t.Errorf("stderr = %q", stderr.String())
	}
}

func TestAppInsightsNoTokenNoRequest(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(t)
	cfg := aiConfig(t, srv, "Authorization=AAD")
	var stderr syncBuffer
	cred := &fakeCred{err: errors.New("ManagedIdentityCredential: no identity endpoint\nlong troubleshooting text")}
	aud := New(Options{Warn: &stderr}, newAISink(t, cfg, AppInsightsOptions{Credential: cred, Warn: &stderr}))
	aud.Record(Event{})
	ctx, cancel := context.WithTimeout(t.Context(), 300*time.Millisecond)
	defer cancel()
	if err := aud.Close(ctx); err == nil || !strings.Contains(err.Error(), "1 of 1 events not confirmed") {
		t.Fatalf("Close error = %v", err)
	}
	if n := len(srv.Requests()); n != 0 {
		t.Errorf("the endpoint got %d requests without a token", n)
	}
	if got := stderr.String(); got != "audit: cannot get an Entra token for Application Insights ingestion: ManagedIdentityCredential: no identity endpoint\n" {
		t.Errorf("stderr = %q", got)
	}
}

func TestNewAppInsightsSinkChecks(t *testing.T) {
	t.Parallel()
	cfg := AppInsightsConfig{InstrumentationKey: "k", TrackURL: "http://in.example.com/v2.1/track", AAD: true, Scope: DefaultScope}
	if _, err := NewAppInsightsSink(cfg, AppInsightsOptions{Credential: &fakeCred{}}); err == nil {
		t.Error("accepted Entra auth over plain http to a remote host")
	}
	cfg.TrackURL = "https://in.example.com/v2.1/track"
	if _, err := NewAppInsightsSink(cfg, AppInsightsOptions{}); err == nil {
		t.Error("accepted Entra auth without a credential")
	}
	if _, err := NewAppInsightsSink(AppInsightsConfig{}, AppInsightsOptions{}); err == nil {
		t.Error("accepted an empty config")
	}
}

// roundTripFunc adapts a function to http.RoundTripper.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func gzipRequest(t *testing.T, lines int) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	zw := gzip.NewWriter(&buf)
	for range lines {
		io.WriteString(zw, `{"name":"x"}`+"\n")
	}
	zw.Close()
	req, err := http.NewRequest(http.MethodPost, "https://in.example.com/v2.1/track", &buf)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Encoding", "gzip")
	return req
}

func TestIngestTransportAccounting(t *testing.T) {
	t.Parallel()
	status, body := 0, ""
	var auths []string
	base := roundTripFunc(func(r *http.Request) (*http.Response, error) {
		auths = append(auths, r.Header.Get("Authorization"))
		io.Copy(io.Discard, r.Body)
		return &http.Response{StatusCode: status, Body: io.NopCloser(strings.NewReader(body)), Header: http.Header{}}, nil
	})
	cred := &fakeCred{token: "tok"}
	stats := &ingestStats{}
	var stderr syncBuffer
	w := newWarner(&stderr, time.Nanosecond)
	tr := &ingestTransport{base: base, tokens: &tokenSource{cred: cred, scope: "s"}, stats: stats, warn: w}
	stats.tracked.Store(10)

	steps := []struct {
		status           int
		body             string
		lines            int
		accepted, lost   uint64
		failing          bool
		responseReadable bool
	}{
		{http.StatusOK, `{"itemsReceived":3,"itemsAccepted":3,"errors":[]}`, 3, 3, 0, false, true},
		{http.StatusServiceUnavailable, ``, 4, 3, 0, true, true},
		// 206: one item accepted, one retriable (the library sends it again), one rejected for good.
		{http.StatusPartialContent, `{"itemsReceived":3,"itemsAccepted":1,"errors":[{"index":1,"statusCode":500,"message":"x"},{"index":2,"statusCode":400,"message":"y"}]}`, 3, 4, 1, false, true},
		{http.StatusBadRequest, `{}`, 2, 4, 3, true, true},
		{http.StatusPermanentRedirect, ``, 2, 4, 3, true, true}, // a hop: no verdict
	}
	for i, s := range steps {
		status, body = s.status, s.body
		resp, err := tr.RoundTrip(gzipRequest(t, s.lines))
		if err != nil {
			t.Fatalf("step %d: %v", i, err)
		}
		got, _ := io.ReadAll(resp.Body)
		if string(got) != s.body {
			t.Errorf("step %d: the library would read %q, want %q", i, got, s.body)
		}
		if stats.accepted.Load() != s.accepted || stats.lost.Load() != s.lost || stats.failing.Load() != s.failing {
			t.Errorf("step %d: accepted %d lost %d failing %v", i, stats.accepted.Load(), stats.lost.Load(), stats.failing.Load())
		}
	}
	if stats.pending() != 3 {
		t.Errorf("pending = %d, want 10-4-3", stats.pending())
	}
	for _, a := range auths {
		if a != "Bearer tok" {
			t.Errorf("Authorization %q", a)
		}
	}
	if n := len(cred.calls()); n != 1 {
		t.Errorf("GetToken called %d times, want 1 (cached)", n)
	}
	w.close(t.Context())
	if strings.Contains(stderr.String(), "tok\n") || !strings.Contains(stderr.String(), "accepted 1 of 3 events in a batch; 1 rejected for good") {
		t.Errorf("stderr = %q", stderr.String())
	}
}
