package aitest

import (
	"bytes"
	"compress/gzip"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
)

const goodLine = `{"ver":1,"name":"Microsoft.ApplicationInsights.k.Event","time":"2026-01-02T03:04:05.123456Z","sampleRate":100,"seq":"","iKey":"k","tags":{"ai.operation.id":"abc"},"data":{"baseType":"EventData","baseData":{"ver":2,"name":"mcp.tool_call","properties":{"a":"b"},"measurements":{"latency_ms":5}}}}`

func request(t *testing.T, body string, gz bool, contentType string) *http.Request {
	t.Helper()
	var buf bytes.Buffer
	if gz {
		zw := gzip.NewWriter(&buf)
		zw.Write([]byte(body))
		zw.Close()
	} else {
		buf.WriteString(body)
	}
	r := httptest.NewRequest(http.MethodPost, TrackPath, &buf)
	if gz {
		r.Header.Set("Content-Encoding", "gzip")
	}
	r.Header.Set("Content-Type", contentType)
	return r
}

func TestDecode(t *testing.T) {
	t.Parallel()
	envs, err := Decode(request(t, goodLine+"\n"+goodLine+"\n", true, "application/x-json-stream"))
	if err != nil || len(envs) != 2 {
		t.Fatalf("Decode = %d envelopes, %v", len(envs), err)
	}
	e := envs[0]
	if e.Tags["ai.operation.id"] != "abc" || e.Data.BaseData.Name != "mcp.tool_call" || e.Data.BaseData.Properties["a"] != "b" || e.Data.BaseData.Measurements["latency_ms"] != 5 {
		t.Errorf("decoded %+v", e)
	}

	bad := []struct {
		name, body, contentType, want string
		gz                            bool
	}{
		{"not gzip", goodLine, "application/x-json-stream", "Content-Encoding", false},
		{"wrong content type", goodLine, "application/json", "Content-Type", true},
		{"unknown field", strings.Replace(goodLine, `"seq":""`, `"seq":"","extra":1`, 1), "application/x-json-stream", "unknown field", true},
		{"not an event", strings.Replace(goodLine, `"EventData"`, `"MessageData"`, 1), "application/x-json-stream", "baseType", true},
		{"blank line", goodLine + "\n\n" + goodLine, "application/x-json-stream", "empty", true},
		{"no envelopes", "", "application/x-json-stream", "no envelopes", true},
	}
	for _, tt := range bad {
		if _, err := Decode(request(t, tt.body, tt.gz, tt.contentType)); err == nil || !strings.Contains(err.Error(), tt.want) {
			t.Errorf("%s: err = %v, want one mentioning %q", tt.name, err, tt.want)
		}
	}
}

func TestServer(t *testing.T) {
	t.Parallel()
	s := NewServer(t)
	post := func(path string) *http.Response {
		r := request(t, goodLine+"\n", true, "application/x-json-stream")
		req, _ := http.NewRequest(http.MethodPost, s.URL+path, r.Body)
		req.Header = r.Header
		req.Header.Set("Authorization", "Bearer t")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		return resp
	}
	if resp := post(TrackPath); resp.StatusCode != http.StatusOK {
		t.Errorf("track: %d", resp.StatusCode)
	}
	if resp := post("/v2/track"); resp.StatusCode != http.StatusNotFound {
		t.Errorf("v2/track: %d, want 404 (the sink must use v2.1)", resp.StatusCode)
	}
	s.SetStatus(http.StatusServiceUnavailable)
	if resp := post(TrackPath); resp.StatusCode != http.StatusServiceUnavailable {
		t.Errorf("with SetStatus: %d", resp.StatusCode)
	}
	reqs, err := s.WaitRequests(t.Context(), 3)
	if err != nil {
		t.Fatal(err)
	}
	if reqs[0].Authorization != "Bearer t" || len(reqs[0].Envelopes) != 1 || reqs[1].Err == nil || len(s.Envelopes()) != 2 {
		t.Errorf("recorded %+v", reqs)
	}
	if !s.PayloadContains("mcp.tool_call") || s.PayloadContains("absent") {
		t.Error("PayloadContains is wrong")
	}
	if cs := s.ConnectionString(); !strings.Contains(cs, "IngestionEndpoint="+s.URL+"/") || !strings.Contains(cs, "InstrumentationKey="+s.IKey) {
		t.Errorf("connection string %q", cs)
	}
}
