package audit

import (
	"encoding/json"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/audit/aitest"
)

// TestNoSecretsInAnySink records events built the way the tool-call path
// builds them, from arguments that hold a secret-looking value and from an
// identity that carries the caller's bearer token, and checks that neither
// (nor the ingestion token, nor the caller's name) reaches stdout, stderr or
// the ingestion payload.
func TestNoSecretsInAnySink(t *testing.T) {
	t.Parallel()
	secret := "sk-live-" + randHex(20)
	userToken := "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9." + randHex(32) + "." + randHex(32)
	ingestionToken := "ingest-" + randHex(24)
	name := "Grace Hopper " + randHex(4)
	email := "grace." + randHex(4) + "@example.com"

	srv := aitest.NewServer(t)
	cfg := aiConfig(t, srv, "Authorization=AAD")
	var stdout, stderr syncBuffer
	ai := newAISink(t, cfg, AppInsightsOptions{Credential: &fakeCred{token: ingestionToken}, Warn: &stderr})
	aud := New(Options{ServerID: cfg.ServerID, Warn: &stderr}, NewJSONSink(&stdout), ai)

	calls := []any{
		// Arguments as mcp-go hands them over.
		map[string]any{"name": "deploy-notes", "content": "token: " + secret, "headers": map[string]any{"Authorization": "Bearer " + userToken}},
		// The raw JSON of a call whose arguments failed validation.
		json.RawMessage(`{"api_key":"` + secret + `","note":`),
	}
	var digests []string
	for i, args := range calls {
		e := Event{ToolName: "save_snippet", ProtocolVersion: "2025-11-25", ResultCode: ResultOK, Message: "saved", LatencyMS: 12}
		if i == 1 {
			e.ResultCode, e.Message = ResultInvalidArguments, "invalid arguments"
		}
		e.TenantID, e.CallerIdentity, e.AgentID, e.AuthorizationMode = "tid", "tid/oid", "agent", ModeDelegated
		e.OperationID = OperationID("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
		e.ArgumentsBytes, e.ArgumentsSHA256 = ArgumentsDigest(args)
		digests = append(digests, e.ArgumentsSHA256)
		aud.Record(e)
	}
	if err := aud.Close(testCtx(t, 10*time.Second)); err != nil {
		t.Fatalf("Close: %v", err)
	}

	// Positive controls: the events did arrive, the digests are there, and
	// the ingestion token was sent where it belongs.
	reqs := srv.Requests()
	if len(reqs) != 1 || len(reqs[0].Envelopes) != 2 || reqs[0].Authorization != "Bearer "+ingestionToken {
		t.Fatalf("ingestion got %d requests, want one with both events and the ingestion token", len(reqs))
	}
	for _, d := range digests {
		if len(d) != 64 || !strings.Contains(stdout.String(), d) || !srv.PayloadContains(d) {
			t.Fatalf("digest %q missing from a sink", d)
		}
	}

	outputs := map[string]string{"stdout": stdout.String(), "stderr": stderr.String()}
	for i, r := range reqs {
		outputs["ingestion payload "+string(rune('0'+i))] = string(r.Payload)
	}
	for where, out := range outputs {
		for what, leak := range map[string]string{
			"secret argument": secret, "secret's random part": secret[len("sk-live-"):],
			"caller bearer token": userToken, "token signature": userToken[len(userToken)-64:],
			"ingestion token": ingestionToken, "caller name": name, "caller e-mail": email,
			"argument name": "deploy-notes",
		} {
			if strings.Contains(out, leak) {
				t.Errorf("%s contains the %s", where, what)
			}
		}
	}
}
