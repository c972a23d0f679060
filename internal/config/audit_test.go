package config

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/audit"
)

// dev is the least environment Load accepts; tests add their variables.
var dev = []string{"MCP_AUTH_MODE", "dev", "SNIPPETS_STORAGE", "UseDevelopmentStorage=true"}

func TestLoadAuditServerID(t *testing.T) {
	host, _ := os.Hostname()
	tests := []struct {
		env  []string
		want string
	}{
		{[]string{"MCP_SERVER_ID", "mcp-1", "WEBSITE_SITE_NAME", "site"}, "mcp-1"},
		{[]string{"WEBSITE_SITE_NAME", "site"}, "site"},
		{nil, host},
	}
	for _, tt := range tests {
		c, err := Load(env(append(tt.env, dev...)...))
		if err != nil {
			t.Fatal(err)
		}
		if c.Audit.ServerID != tt.want || c.Audit.AppInsights != nil {
			t.Errorf("env %v: got %+v, want server id %q and no Application Insights", tt.env, c.Audit, tt.want)
		}
	}
}

func TestLoadAuditAppInsights(t *testing.T) {
	const ikey = "InstrumentationKey=11111111-2222-3333-4444-555555555555"
	c, err := Load(env(append([]string{
		"APPLICATIONINSIGHTS_CONNECTION_STRING", ikey + ";IngestionEndpoint=https://in.example.com/",
		"APPLICATIONINSIGHTS_AUTHENTICATION_STRING", "Authorization=AAD;ClientId=7c0bd0a4-3e44-4b7a-a2d2-8c5d0c1e9f00",
	}, dev...)...))
	if err != nil {
		t.Fatal(err)
	}
	ai := c.Audit.AppInsights
	if ai == nil || ai.TrackURL != "https://in.example.com/v2.1/track" || !ai.AAD || ai.ClientID != "7c0bd0a4-3e44-4b7a-a2d2-8c5d0c1e9f00" {
		t.Fatalf("Application Insights = %+v", ai)
	}
	c, err = Load(env(append([]string{"APPLICATIONINSIGHTS_CONNECTION_STRING", ikey}, dev...)...))
	if err != nil || c.Audit.AppInsights == nil || c.Audit.AppInsights.AAD {
		t.Fatalf("without an authentication string: %+v, %v", c, err)
	}
}

// Each malformed string is refused naming its variable, in one line that
// never repeats the value.
func TestLoadAuditErrors(t *testing.T) {
	const secretish = "S3NT1NEL" // must never be echoed by an error
	good := "InstrumentationKey=abc;IngestionEndpoint=https://in.example.com/"
	const cs, as = "APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING"
	tests := []struct {
		name, cs, auth, wantVar string
	}{
		{"part without =", "InstrumentationKey=abc;" + secretish, "", cs},
		{"no instrumentation key", "IngestionEndpoint=https://in.example.com/" + secretish, "", cs},
		{"endpoint not a URL", "InstrumentationKey=abc;IngestionEndpoint=in.example.com/" + secretish, "", cs},
		{"auth not AAD", good, "Authorization=ikey", as},
		{"auth client id not a guid", good, "Authorization=AAD;ClientId=" + secretish, as},
		{"token over plain http", "InstrumentationKey=abc;IngestionEndpoint=http://in.example.com/" + secretish, "Authorization=AAD", cs},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := Load(env(append([]string{cs, tt.cs, as, tt.auth}, dev...)...))
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want an *Error", err)
			}
			msg := err.Error()
			if ce.Var != tt.wantVar || !strings.HasPrefix(msg, tt.wantVar+": ") || strings.Contains(msg, "\n") {
				t.Errorf("error %q should be one line naming %s", msg, tt.wantVar)
			}
			if strings.Contains(msg, secretish) {
				t.Errorf("error %q repeats the value", msg)
			}
		})
	}
}

func TestLoadAuditAnchors(t *testing.T) {
	tests := []struct {
		name      string
		env       []string
		interval  time.Duration
		container string
		errVar    string
	}{
		{"defaults", nil, audit.DefaultAnchorInterval, audit.DefaultAnchorContainer, ""},
		{"off", []string{envAnchorInterval, "off"}, 0, audit.DefaultAnchorContainer, ""},
		{"zero is off", []string{envAnchorInterval, "0"}, 0, audit.DefaultAnchorContainer, ""},
		{"set", []string{envAnchorInterval, "5s", envAnchorContainer, "my-anchors"}, 5 * time.Second, "my-anchors", ""},
		{"too short", []string{envAnchorInterval, "10ms"}, 0, "", envAnchorInterval},
		{"too long", []string{envAnchorInterval, "2h"}, 0, "", envAnchorInterval},
		{"not a duration", []string{envAnchorInterval, "60"}, 0, "", envAnchorInterval},
		{"bad container", []string{envAnchorContainer, "Audit_Anchors"}, 0, "", envAnchorContainer},
		{"short container", []string{envAnchorContainer, "ab"}, 0, "", envAnchorContainer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := Load(env(append(tt.env, dev...)...))
			if tt.errVar != "" {
				var ce *Error
				if !errors.As(err, &ce) || ce.Var != tt.errVar {
					t.Fatalf("err = %v, want an Error naming %s", err, tt.errVar)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Audit.Anchors.Interval != tt.interval || c.Audit.Anchors.Container != tt.container {
				t.Errorf("got %+v, want interval %s, container %q", c.Audit.Anchors, tt.interval, tt.container)
			}
		})
	}
}
