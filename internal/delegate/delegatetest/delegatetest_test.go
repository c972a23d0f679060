package delegatetest_test

import (
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net/http"
	"net/url"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/delegate/delegatetest"
)

// spy records the failures a check reports instead of failing the test.
type spy struct {
	testing.TB
	errs []string
}

func (s *spy) Helper()                        {}
func (s *spy) Errorf(format string, a ...any) { s.errs = append(s.errs, fmt.Sprintf(format, a...)) }

func TestCheckNoLeak(t *testing.T) {
	t.Parallel()
	const tenant, app = "tenant-1", "app-1"
	entra := delegatetest.NewEntra(t, tenant, app)
	graph := delegatetest.NewGraph(t, entra)
	entra.Secret = "s3cret"
	client := delegatetest.Client(t, entra.Certificate(), graph.Certificate())
	inbound := delegatetest.UserToken(tenant, "oid-1", "", time.Now().Add(time.Hour))

	check := func() []string {
		s := &spy{TB: t}
		delegatetest.CheckNoLeak(s, inbound, entra, graph)
		return s.errs
	}
	if errs := check(); len(errs) != 1 || !strings.Contains(errs[0], "never reached") {
		t.Errorf("before any exchange: %q", errs)
	}

	form := url.Values{"grant_type": {"urn:ietf:params:oauth:grant-type:jwt-bearer"}, "requested_token_use": {"on_behalf_of"},
		"client_id": {app}, "client_secret": {entra.Secret}, "scope": {entra.Scope}, "assertion": {inbound}}
	resp, err := client.PostForm(entra.URL()+"/"+tenant+"/oauth2/v2.0/token", form)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK || entra.Exchanges() != 1 || len(entra.Tokens()) != 1 {
		t.Fatalf("exchange: status %d, exchanges %d, tokens %d", resp.StatusCode, entra.Exchanges(), len(entra.Tokens()))
	}
	if errs := check(); len(errs) != 0 {
		t.Errorf("after a proper exchange: %q", errs)
	}

	// The same token passed through to Graph is a leak.
	req, _ := http.NewRequest(http.MethodGet, graph.URL()+"/v1.0/me", nil)
	req.Header.Set("Authorization", "Bearer "+inbound)
	resp, err = client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusUnauthorized {
		t.Errorf("Graph accepted the inbound token: %d", resp.StatusCode)
	}
	if errs := check(); len(errs) != 1 || !strings.Contains(errs[0], "reached Graph") {
		t.Errorf("after pass-through: %q", errs)
	}
}

func TestCertFile(t *testing.T) {
	t.Parallel()
	entra := delegatetest.NewEntra(t, "tenant-1", "app-1")
	pem, err := os.ReadFile(delegatetest.CertFile(t, entra.Certificate()))
	if err != nil {
		t.Fatal(err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(pem) {
		t.Fatal("no certificate in the file")
	}
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: pool}}
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get(entra.URL() + "/tenant-1/v2.0/.well-known/openid-configuration")
	if err != nil {
		t.Fatalf("a client trusting the file cannot reach the authority: %v", err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Errorf("status %d", resp.StatusCode)
	}
}
