package tools

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/delegate"
	"github.com/snippets-mcp/server/internal/identity"
)

func TestSetCaller(t *testing.T) {
	const token = "eyJhbGciOiJSUzI1NiJ9.user-token.sig"
	base := identity.Identity{TenantID: "tid", ObjectID: "oid", Name: "Ada Lovelace <ada@example.com>", ClientID: "agent", Method: identity.MethodJWT}
	tests := []struct {
		name string
		id   identity.Identity
		mode string
	}{
		{"delegated", base, audit.ModeDelegated},
		{"app only", func() identity.Identity { i := base; i.AppOnly = true; return i }(), audit.ModeAppOnly},
		{"dev", func() identity.Identity { i := base; i.Method = identity.MethodDev; return i }(), audit.ModeDev},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var e audit.Event
			setCaller(&e, tt.id.WithBearerToken(token))
			if e.TenantID != "tid" || e.CallerIdentity != "tid/oid" || e.AgentID != "agent" || e.AuthorizationMode != tt.mode {
				t.Fatalf("setCaller gave %+v", e)
			}
			b, _ := json.Marshal(e)
			for _, leak := range []string{"Ada", "example.com", token} {
				if strings.Contains(string(b), leak) {
					t.Errorf("event JSON contains %q: %s", leak, b)
				}
			}
		})
	}
	var e audit.Event
	setCaller(&e, nil)
	if e != (audit.Event{}) {
		t.Errorf("setCaller(nil) changed the event: %+v", e)
	}
}

func TestDelegateUser(t *testing.T) {
	id := (identity.Identity{TenantID: "t", ObjectID: "o", AppOnly: false}).WithBearerToken("tok")
	if got, want := delegateUser(id), (delegate.User{TenantID: "t", ObjectID: "o", Token: "tok"}); got != want {
		t.Errorf("delegateUser = %+v, want %+v", got, want)
	}
	app := &identity.Identity{TenantID: "t", ObjectID: "sp", AppOnly: true}
	if got := delegateUser(app); !got.AppOnly || got.Token != "" {
		t.Errorf("delegateUser(app-only) = %+v", got)
	}
	if got := delegateUser(nil); got != (delegate.User{}) {
		t.Errorf("delegateUser(nil) = %+v", got)
	}
}
