package delegatetest

import (
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"
	"time"
)

// ManagedIdentity is the App Service / Functions managed identity endpoint
// (IDENTITY_ENDPOINT with the IDENTITY_HEADER secret, api-version
// 2019-08-01). It gives Token to ClientID for Audience. Like the real one it
// speaks plain HTTP on loopback.
type ManagedIdentity struct {
	Header   string // the IDENTITY_HEADER value it requires
	ClientID string
	Audience string
	Token    string
	// Status, when non-zero, is answered instead of a token. Set it before
	// the first request.
	Status int

	recorder
	srv *httptest.Server
}

// NewManagedIdentity starts the endpoint for one user-assigned identity
// with a random header secret and token. It is closed when the test ends.
func NewManagedIdentity(t testing.TB, clientID, audience string) *ManagedIdentity {
	m := &ManagedIdentity{Header: randomHex(16), ClientID: clientID, Audience: audience, Token: "mi-assertion-" + randomHex(16)}
	m.srv = httptest.NewServer(http.HandlerFunc(m.serve))
	t.Cleanup(m.srv.Close)
	return m
}

// URL is the endpoint, for IDENTITY_ENDPOINT.
func (m *ManagedIdentity) URL() string { return m.srv.URL + "/msi/token" }

func (m *ManagedIdentity) serve(w http.ResponseWriter, r *http.Request) {
	m.record(r)
	q := r.URL.Query()
	switch {
	case r.Header.Get("X-IDENTITY-HEADER") != m.Header:
		writeJSON(w, http.StatusUnauthorized, map[string]any{"statusCode": 401, "message": "bad identity header"})
	case r.URL.Path != "/msi/token" || q.Get("api-version") != "2019-08-01" || q.Get("client_id") != m.ClientID || q.Get("resource") != m.Audience:
		writeJSON(w, http.StatusBadRequest, map[string]any{"statusCode": 400, "message": "unexpected request " + r.URL.RawQuery})
	case m.Status != 0:
		writeJSON(w, m.Status, map[string]any{"statusCode": m.Status, "message": "identity not available"})
	default:
		writeJSON(w, http.StatusOK, map[string]any{
			"access_token": m.Token, "expires_on": strconv.FormatInt(time.Now().Add(time.Hour).Unix(), 10),
			"resource": m.Audience, "token_type": "Bearer", "client_id": m.ClientID,
		})
	}
}
