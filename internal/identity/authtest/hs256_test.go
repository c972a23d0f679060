package authtest_test

import (
	"testing"

	jose "github.com/go-jose/go-jose/v4"
	"github.com/go-jose/go-jose/v4/jwt"

	"github.com/snippets-mcp/server/internal/identity/authtest"
)

// The key-confusion token names the active key's kid, as its doc says: a
// validator that looks the kid up and lets the token choose the algorithm
// would then HMAC with that key's bytes. Without a kid the token tests
// only that tokens without one are refused.
func TestHS256WithPublicKeyNamesTheKid(t *testing.T) {
	t.Parallel()
	iss := authtest.NewIssuer(t)
	cases := []struct {
		name   string
		rotate bool
	}{
		{"first key", false},
		{"after a rotation", true},
	}
	for _, c := range cases { // in order: the second rotates the issuer's key
		t.Run(c.name, func(t *testing.T) {
			if c.rotate {
				iss.Rotate()
			}
			kid := iss.ActiveKeyID()
			tok, err := jwt.ParseSigned(iss.HS256WithPublicKey(t, authtest.Claims{}), []jose.SignatureAlgorithm{jose.HS256})
			if err != nil {
				t.Fatalf("parse: %v", err)
			}
			h := tok.Headers[0]
			if h.KeyID != kid || h.Algorithm != "HS256" || h.ExtraHeaders[jose.HeaderType] != "JWT" {
				t.Errorf("header kid %q alg %q typ %v, want kid %q alg HS256 typ JWT", h.KeyID, h.Algorithm, h.ExtraHeaders[jose.HeaderType], kid)
			}
			var claims map[string]any
			if err := tok.Claims(iss.PublicKeyPEM(t), &claims); err != nil {
				t.Errorf("not an HMAC keyed with the public key's PEM: %v", err)
			}
		})
	}
}
