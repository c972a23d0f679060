package audit

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/audit/aitest"
)

func TestOpenStdoutOnly(t *testing.T) {
	t.Parallel()
	cfg := Config{ServerID: "srv"}
	var stdout, stderr syncBuffer
	aud, err := Open(cfg, &stdout, &stderr, nil)
	if err != nil {
		t.Fatal(err)
	}
	aud.Record(Event{ToolName: "whoami", ResultCode: ResultOK})
	if err := aud.Close(testCtx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	var e Event
	if err := json.Unmarshal([]byte(stdout.String()), &e); err != nil || e.ServerID != "srv" || e.ToolName != "whoami" {
		t.Fatalf("stdout %q: %v", stdout.String(), err)
	}
}

func TestOpenWithAppInsights(t *testing.T) {
	t.Parallel()
	srv := aitest.NewServer(t)
	cfg := aiConfig(t, srv, "Authorization=AAD")
	var stdout, stderr syncBuffer
	aud, err := Open(cfg, &stdout, &stderr, &fakeCred{token: "tok"})
	if err != nil {
		t.Fatal(err)
	}
	aud.Record(Event{ToolName: "whoami", ResultCode: ResultOK})
	if err := aud.Close(testCtx(t, 10*time.Second)); err != nil {
		t.Fatal(err)
	}
	envs := srv.Envelopes()
	if len(envs) != 1 || envs[0].Tags["ai.cloud.role"] != cfg.ServerID || srv.Requests()[0].Authorization != "Bearer tok" {
		t.Fatalf("ingestion got %+v", srv.Requests())
	}
	if strings.Count(stdout.String(), "\n") != 1 {
		t.Errorf("stdout %q", stdout.String())
	}
}

// Without a credential, Open builds the managed identity credential that the
// authentication string names. Nothing is recorded, so no token is requested
// (there is no identity endpoint here).
func TestOpenBuildsManagedIdentityCredential(t *testing.T) {
	t.Parallel()
	for _, auth := range []string{"Authorization=AAD", "Authorization=AAD;ClientId=7c0bd0a4-3e44-4b7a-a2d2-8c5d0c1e9f00"} {
		ai, err := parse("InstrumentationKey=k;IngestionEndpoint=https://in.example.com/", auth)
		if err != nil {
			t.Fatal(err)
		}
		cfg := Config{AppInsights: ai}
		cred, err := Credential(cfg.AppInsights)
		if err != nil || cred == nil {
			t.Fatalf("%s: Credential = %v, %v", auth, cred, err)
		}
		aud, err := Open(cfg, &syncBuffer{}, &syncBuffer{}, nil)
		if err != nil {
			t.Fatalf("%s: Open: %v", auth, err)
		}
		if err := aud.Close(testCtx(t, 10*time.Second)); err != nil {
			t.Fatalf("%s: Close: %v", auth, err)
		}
	}
}
