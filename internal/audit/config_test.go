package audit

import (
	"errors"
	"strings"
	"testing"
)

// parse applies a connection string and an optional authentication string
// the way internal/config does, and validates the result.
func parse(cs, auth string) (*AppInsightsConfig, error) {
	ai, err := ParseConnectionString(cs)
	if err != nil {
		return nil, err
	}
	if auth != "" {
		if ai.ClientID, err = ParseAuthentication(auth); err != nil {
			return nil, err
		}
		ai.AAD = true
	}
	return ai, ai.Validate()
}

func TestParseConnectionString(t *testing.T) {
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
			ai, err := parse(tt.cs, tt.auth)
			if err != nil {
				t.Fatal(err)
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

// Each malformed string is refused in one line that never repeats the
// value; internal/config's tests check which variable each is blamed on.
func TestParseErrors(t *testing.T) {
	const secretish = "S3NT1NEL" // must never be echoed by an error
	good := "InstrumentationKey=abc;IngestionEndpoint=https://in.example.com/"
	const (
		connection     = "connection string"
		authentication = "authentication string"
		validate       = "validate"
	)
	tests := []struct {
		name, cs, auth, fails string
	}{
		{"part without =", "InstrumentationKey=abc;" + secretish, "", connection},
		{"no instrumentation key", "IngestionEndpoint=https://in.example.com/" + secretish, "", connection},
		{"duplicate key", "InstrumentationKey=abc;instrumentationkey=" + secretish, "", connection},
		{"endpoint not a URL", "InstrumentationKey=abc;IngestionEndpoint=in.example.com/" + secretish, "", connection},
		{"endpoint with query", "InstrumentationKey=abc;IngestionEndpoint=https://in.example.com/?k=" + secretish, "", connection},
		{"bad audience", good + ";AADAudience=monitor" + secretish, "", connection},
		{"too long", good + ";X=" + strings.Repeat("a", 4096) + secretish, "", connection},
		{"auth not AAD", good, "Authorization=" + "ikey", authentication},
		{"auth malformed", good, "Authorization=AAD;" + secretish, authentication},
		{"auth client id not a guid", good, "Authorization=AAD;ClientId=" + secretish, authentication},
		{"auth unknown key", good, "Authorization=AAD;ClientSecret=" + secretish, authentication},
		{"token over plain http", "InstrumentationKey=abc;IngestionEndpoint=http://in.example.com/" + secretish, "Authorization=AAD", validate},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ai, err := ParseConnectionString(tt.cs)
			failed := connection
			if err == nil && tt.auth != "" {
				_, err = ParseAuthentication(tt.auth)
				failed = authentication
				ai.AAD = true
			}
			if err == nil {
				err = ai.Validate()
				failed = validate
			}
			if err == nil || failed != tt.fails {
				t.Fatalf("err = %v at the %s, want an error at the %s", err, failed, tt.fails)
			}
			msg := err.Error()
			if strings.Contains(msg, "\n") {
				t.Errorf("error %q should be one line", msg)
			}
			if strings.Contains(msg, secretish) {
				t.Errorf("error %q repeats the value", msg)
			}
			if failed == validate && !errors.Is(err, ErrTokenOverHTTP) {
				t.Errorf("error %v, want ErrTokenOverHTTP", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	if err := (Config{}).Validate(); err != nil {
		t.Errorf("stdout only: %v", err)
	}
	if err := (Config{AppInsights: &AppInsightsConfig{}}).Validate(); !errors.Is(err, ErrNoIngestion) {
		t.Errorf("empty Application Insights config: %v, want ErrNoIngestion", err)
	}
}

func TestTokenSafe(t *testing.T) {
	for u, want := range map[string]bool{
		"https://in.example.com/v2.1/track": true,
		"http://127.0.0.1:8080/v2.1/track":  true,
		"http://[::1]:8080/v2.1/track":      true,
		"http://localhost:8080/v2.1/track":  true,
		"http://in.example.com/v2.1/track":  false,
		"ftp://127.0.0.1/":                  false,
		"http://%zz/":                       false,
	} {
		if got := tokenSafe(u); got != want {
			t.Errorf("tokenSafe(%q) = %v, want %v", u, got, want)
		}
	}
}

func TestOpenRefusesAnInvalidConfig(t *testing.T) {
	if _, err := Open(Config{AppInsights: &AppInsightsConfig{}}, &syncBuffer{}, &syncBuffer{}, nil); !errors.Is(err, ErrNoIngestion) {
		t.Errorf("Open(empty Application Insights) = %v, want ErrNoIngestion", err)
	}
}
