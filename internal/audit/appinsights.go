package audit

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strconv"
	"time"

	"github.com/Azure/azure-sdk-for-go/sdk/azcore"
	"github.com/microsoft/ApplicationInsights-Go/appinsights"
)

// AppInsightsOptions tunes the Application Insights sink. Zero values give
// the defaults.
type AppInsightsOptions struct {
	ServerID      string                 // cloud_RoleName; events carry their own server_id too
	Credential    azcore.TokenCredential // required when the config asks for Entra auth
	BatchSize     int                    // events per request; default 100
	BatchInterval time.Duration          // longest wait before a partial batch is sent; default 5s
	MaxPending    int                    // unconfirmed events kept while ingestion fails; default 10000
	Transport     http.RoundTripper      // default: a clone of http.DefaultTransport
	Warn          io.Writer              // ingestion warnings; default os.Stderr
	WarnEvery     time.Duration          // default 1m
}

// AppInsightsSink sends events to Application Insights as custom events
// through ApplicationInsights-Go, whose in-memory channel batches, gzips
// and retries them (at 10 s, 30 s and 60 s, then gives up).
type AppInsightsSink struct {
	client     appinsights.TelemetryClient
	transport  *ingestTransport
	stats      *ingestStats
	warn       *warner
	serverID   string
	maxPending uint64
}

// errBacklog is returned by Write while ingestion fails and MaxPending
// events are already waiting: the library's retries would otherwise hold
// an unbounded number of events in memory.
var errBacklog = errors.New("ingestion is failing and the backlog is full")

// NewAppInsightsSink starts a sink for cfg. It fails when cfg asks for
// Entra auth and no credential is given.
func NewAppInsightsSink(cfg AppInsightsConfig, opts AppInsightsOptions) (*AppInsightsSink, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("application insights: %w", err)
	}
	if cfg.AAD && opts.Credential == nil {
		return nil, errors.New("application insights: Entra auth is configured but no credential was given")
	}
	if opts.BatchSize <= 0 {
		opts.BatchSize = 100
	}
	if opts.BatchInterval <= 0 {
		opts.BatchInterval = 5 * time.Second
	}
	if opts.MaxPending <= 0 {
		opts.MaxPending = 10000
	}
	if opts.Transport == nil {
		opts.Transport = http.DefaultTransport.(*http.Transport).Clone()
	}
	if opts.Warn == nil {
		opts.Warn = os.Stderr
	}
	s := &AppInsightsSink{
		stats:      &ingestStats{},
		warn:       newWarner(opts.Warn, opts.WarnEvery),
		serverID:   opts.ServerID,
		maxPending: uint64(opts.MaxPending),
	}
	s.transport = &ingestTransport{base: opts.Transport, stats: s.stats, warn: s.warn}
	if cfg.AAD {
		scope := cfg.Scope
		if scope == "" {
			scope = DefaultScope
		}
		s.transport.tokens = &tokenSource{cred: opts.Credential, scope: scope}
	}
	tc := appinsights.NewTelemetryConfiguration(cfg.InstrumentationKey)
	tc.EndpointUrl = cfg.TrackURL
	tc.MaxBatchSize = opts.BatchSize
	tc.MaxBatchInterval = opts.BatchInterval
	tc.Client = &http.Client{
		Transport: s.transport,
		Timeout:   30 * time.Second, // the library sets no deadline of its own
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if len(via) >= 5 {
				return errors.New("too many redirects")
			}
			return nil
		},
	}
	s.client = appinsights.NewTelemetryClientFromConfig(tc)
	if opts.ServerID != "" {
		s.client.Context().Tags.Cloud().SetRole(opts.ServerID)
	}
	return s, nil
}

// Name implements Sink.
func (s *AppInsightsSink) Name() string { return "appinsights" }

// Write hands e to the library as a custom event. While ingestion fails and
// MaxPending events wait, it refuses (the Auditor counts the drop).
func (s *AppInsightsSink) Write(e Event) error {
	if s.stats.failing.Load() && s.stats.pending() >= s.maxPending {
		return errBacklog
	}
	t, err := telemetry(e)
	if err != nil {
		return err
	}
	s.stats.tracked.Add(1)
	s.client.Track(t)
	return nil
}

// Lost implements Loser: events the endpoint rejected for good.
func (s *AppInsightsSink) Lost() uint64 { return s.stats.lost.Load() }

// Close flushes the library's buffer, retrying failed sends until ctx's
// deadline, and reports the events the endpoint has not confirmed by then.
// Without a deadline it waits for the library's full retry schedule or for
// ctx to be cancelled.
func (s *AppInsightsSink) Close(ctx context.Context) error {
	retry := []time.Duration{0} // 0: the library's usual retries
	if d, ok := ctx.Deadline(); ok {
		s.transport.setDeadline(d)
		r := time.Until(d) * 3 / 4 // leave room for the last attempt
		if r <= 0 {
			r = time.Millisecond // 0 would mean "retry as usual"
		}
		retry = []time.Duration{r}
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		if ch := s.client.Channel().Close(retry...); ch != nil {
			<-ch
		}
	}()
	select {
	case <-done:
	case <-ctx.Done():
	}
	s.warn.close(ctx)
	pending, lost := s.stats.pending(), s.stats.lost.Load()
	if pending == 0 && lost == 0 {
		return nil
	}
	return fmt.Errorf("%d of %d events not confirmed by the ingestion endpoint, %d rejected by it", pending, s.stats.tracked.Load(), lost)
}

// telemetry maps e to a custom event: every field as a custom dimension
// (the JSON names and values of the stdout line), latency_ms and
// arguments_bytes also as measurements, the trace id as operation id, the
// MCP session as session id and the server id as cloud role.
func telemetry(e Event) (*appinsights.EventTelemetry, error) {
	props, err := properties(e)
	if err != nil {
		return nil, err
	}
	t := appinsights.NewEventTelemetry(AppInsightsEventName)
	t.Timestamp = e.Timestamp
	t.Properties = props
	t.Measurements["latency_ms"] = float64(e.LatencyMS)
	t.Measurements["arguments_bytes"] = float64(e.ArgumentsBytes)
	t.Tags.Operation().SetId(e.OperationID)
	if e.MCPSessionID != "" {
		t.Tags.Session().SetId(e.MCPSessionID)
	}
	if e.ServerID != "" {
		t.Tags.Cloud().SetRole(e.ServerID)
	}
	return t, nil
}

// properties renders e through its JSON form, so custom dimensions and the
// stdout line can never disagree on names or values.
func properties(e Event) (map[string]string, error) {
	b, err := json.Marshal(e)
	if err != nil {
		return nil, fmt.Errorf("encode event: %w", err)
	}
	var m map[string]any
	dec := json.NewDecoder(bytes.NewReader(b))
	dec.UseNumber()
	if err := dec.Decode(&m); err != nil {
		return nil, fmt.Errorf("decode event: %w", err)
	}
	props := make(map[string]string, len(m))
	for k, v := range m {
		switch v := v.(type) {
		case string:
			props[k] = v
		case bool:
			props[k] = strconv.FormatBool(v)
		case json.Number:
			props[k] = v.String()
		default:
			return nil, fmt.Errorf("event field %s has unexpected type %T", k, v)
		}
	}
	return props, nil
}
