package audit

import (
	"errors"
	"os"
	"strings"
	"testing"
	"time"
)

func TestConfigFromEnvServerID(t *testing.T) {
	host, _ := os.Hostname()
	tests := []struct {
		env  map[string]string
		want string
	}{
		{map[string]string{"MCP_SERVER_ID": "mcp-1", "WEBSITE_SITE_NAME": "site"}, "mcp-1"},
		{map[string]string{"WEBSITE_SITE_NAME": "site"}, "site"},
		{map[string]string{}, host},
	}
	for _, tt := range tests {
		c, err := ConfigFromEnv(envMap(tt.env))
		if err != nil {
			t.Fatal(err)
		}
		if c.ServerID != tt.want || c.AppInsights != nil {
			t.Errorf("env %v: got %+v, want server id %q and no Application Insights", tt.env, c, tt.want)
		}
	}
}

func TestConfigFromEnvAppInsights(t *testing.T) {
	const ikey = "InstrumentationKey=11111111-2222-3333-4444-555555555555"
	tests := []struct {
		name, cs, auth string
		track, scope   string
		aad            bool
		clientID       string
	}{
		{name: "regional endpoint with slash", cs: ikey + ";IngestionEndpoint=https://westeurope-5.in.applicationinsights.azure.com/;LiveEndpoint=https://westeurope.livediagnostics.monitor.azure.com/;ApplicationId=abc",
			track: "https://westeurope-5.in.applicationinsights.azure.com/v2.1/track", scope: DefaultScope},
		{name: "endpoint without slash", cs: ikey + ";IngestionEndpoint=https://in.example.com",
			track: "https://in.example.com/v2.1/track", scope: DefaultScope},
		{name: "endpoint with a path", cs: ikey + ";IngestionEndpoint=https://proxy.example.com/ai",
			track: "https://proxy.example.com/ai/v2.1/track", scope: DefaultScope},
		{name: "case-insensitive keys, spaces, trailing separator", cs: " instrumentationkey = abc ; ingestionendpoint = https://in.example.com/ ; ",
			track: "https://in.example.com/v2.1/track", scope: DefaultScope},
		{name: "default endpoint", cs: ikey,
			track: "https://dc.services.visualstudio.com/v2.1/track", scope: DefaultScope},
		{name: "endpoint suffix", cs: ikey + ";EndpointSuffix=applicationinsights.us",
			track: "https://dc.applicationinsights.us/v2.1/track", scope: DefaultScope},
		{name: "endpoint suffix and location", cs: ikey + ";EndpointSuffix=applicationinsights.azure.cn;Location=chinaeast2",
			track: "https://chinaeast2.dc.applicationinsights.azure.cn/v2.1/track", scope: DefaultScope},
		{name: "sovereign audience", cs: ikey + ";IngestionEndpoint=https://usgovvirginia-1.in.applicationinsights.azure.us/;AADAudience=https://monitor.azure.us/",
			auth: "Authorization=AAD", aad: true,
			track: "https://usgovvirginia-1.in.applicationinsights.azure.us/v2.1/track", scope: "https://monitor.azure.us//.default"},
		{name: "system-assigned identity", cs: ikey + ";IngestionEndpoint=https://in.example.com/", auth: "Authorization=AAD",
			aad: true, track: "https://in.example.com/v2.1/track", scope: DefaultScope},
		{name: "user-assigned identity", cs: ikey + ";IngestionEndpoint=https://in.example.com/", auth: "ClientId=7c0bd0a4-3e44-4b7a-a2d2-8c5d0c1e9f00;Authorization=aad",
			aad: true, clientID: "7c0bd0a4-3e44-4b7a-a2d2-8c5d0c1e9f00", track: "https://in.example.com/v2.1/track", scope: DefaultScope},
		{name: "loopback http with Entra auth (tests)", cs: ikey + ";IngestionEndpoint=http://127.0.0.1:8080/", auth: "Authorization=AAD",
			aad: true, track: "http://127.0.0.1:8080/v2.1/track", scope: DefaultScope},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(envMap(map[string]string{EnvConnectionString: tt.cs, EnvAuthentication: tt.auth}))
			if err != nil {
				t.Fatal(err)
			}
			ai := c.AppInsights
			if ai == nil {
				t.Fatal("no Application Insights config")
			}
			if ai.TrackURL != tt.track || ai.Scope != tt.scope || ai.AAD != tt.aad || ai.ClientID != tt.clientID {
				t.Errorf("got track %q scope %q aad %v client %q", ai.TrackURL, ai.Scope, ai.AAD, ai.ClientID)
			}
			if !strings.HasSuffix(ai.IngestionEndpoint, "/") || ai.InstrumentationKey == "" {
				t.Errorf("endpoint %q, ikey %q", ai.IngestionEndpoint, ai.InstrumentationKey)
			}
		})
	}
}

func TestConfigFromEnvErrors(t *testing.T) {
	const secretish = "S3NT1NEL" // must never be echoed by an error
	good := "InstrumentationKey=abc;IngestionEndpoint=https://in.example.com/"
	tests := []struct {
		name, cs, auth, wantVar string
	}{
		{"part without =", "InstrumentationKey=abc;" + secretish, "", EnvConnectionString},
		{"no instrumentation key", "IngestionEndpoint=https://in.example.com/" + secretish, "", EnvConnectionString},
		{"duplicate key", "InstrumentationKey=abc;instrumentationkey=" + secretish, "", EnvConnectionString},
		{"endpoint not a URL", "InstrumentationKey=abc;IngestionEndpoint=in.example.com/" + secretish, "", EnvConnectionString},
		{"endpoint with query", "InstrumentationKey=abc;IngestionEndpoint=https://in.example.com/?k=" + secretish, "", EnvConnectionString},
		{"bad audience", good + ";AADAudience=monitor" + secretish, "", EnvConnectionString},
		{"too long", good + ";X=" + strings.Repeat("a", 4096) + secretish, "", EnvConnectionString},
		{"auth not AAD", good, "Authorization=" + "ikey", EnvAuthentication},
		{"auth malformed", good, "Authorization=AAD;" + secretish, EnvAuthentication},
		{"auth client id not a guid", good, "Authorization=AAD;ClientId=" + secretish, EnvAuthentication},
		{"auth unknown key", good, "Authorization=AAD;ClientSecret=" + secretish, EnvAuthentication},
		{"token over plain http", "InstrumentationKey=abc;IngestionEndpoint=http://in.example.com/" + secretish, "Authorization=AAD", EnvConnectionString},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := ConfigFromEnv(envMap(map[string]string{EnvConnectionString: tt.cs, EnvAuthentication: tt.auth}))
			var ce *ConfigError
			if !errors.As(err, &ce) {
				t.Fatalf("err = %v, want a *ConfigError", err)
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

func TestConfigFromEnvAnchors(t *testing.T) {
	tests := []struct {
		name      string
		env       map[string]string
		interval  time.Duration
		container string
		errVar    string
	}{
		{"defaults", map[string]string{}, DefaultAnchorInterval, DefaultAnchorContainer, ""},
		{"off", map[string]string{EnvAnchorInterval: "off"}, 0, DefaultAnchorContainer, ""},
		{"zero is off", map[string]string{EnvAnchorInterval: "0"}, 0, DefaultAnchorContainer, ""},
		{"set", map[string]string{EnvAnchorInterval: "5s", EnvAnchorContainer: "my-anchors"}, 5 * time.Second, "my-anchors", ""},
		{"too short", map[string]string{EnvAnchorInterval: "10ms"}, 0, "", EnvAnchorInterval},
		{"too long", map[string]string{EnvAnchorInterval: "2h"}, 0, "", EnvAnchorInterval},
		{"not a duration", map[string]string{EnvAnchorInterval: "60"}, 0, "", EnvAnchorInterval},
		{"bad container", map[string]string{EnvAnchorContainer: "Audit_Anchors"}, 0, "", EnvAnchorContainer},
		{"short container", map[string]string{EnvAnchorContainer: "ab"}, 0, "", EnvAnchorContainer},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := ConfigFromEnv(envMap(tt.env))
			if tt.errVar != "" {
				var ce *ConfigError
				if !errors.As(err, &ce) || ce.Var != tt.errVar {
					t.Fatalf("err = %v, want a ConfigError naming %s", err, tt.errVar)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if c.Anchors.Interval != tt.interval || c.Anchors.Container != tt.container {
				t.Errorf("got %+v, want interval %s, container %q", c.Anchors, tt.interval, tt.container)
			}
		})
	}
}
