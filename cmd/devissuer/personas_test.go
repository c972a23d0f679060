package main

import (
	"bytes"
	"encoding/base64"
	"encoding/json"
	"flag"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/snippets-mcp/server/internal/identity"
)

// claimsOf decodes a compact JWS's payload without verifying it.
func claimsOf(t *testing.T, tok string) map[string]any {
	t.Helper()
	parts := strings.Split(strings.TrimSpace(tok), ".")
	if len(parts) != 3 {
		t.Fatalf("not a compact JWS: %q", tok)
	}
	b, err := base64.RawURLEncoding.DecodeString(parts[1])
	if err != nil {
		t.Fatal(err)
	}
	var m map[string]any
	if err := json.Unmarshal(b, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

// TestPersonasWithTheRealValidator mints each -as caller and checks what
// the server's own validator makes of it: two people on different client
// apps (so one may approve the other's request) and an app-only agent.
func TestPersonasWithTheRealValidator(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	addr := startIssuer(t, dir)

	a, err := identity.NewJWT(t.Context(), identity.JWTConfig{
		Issuer: "http://" + addr, Audiences: []string{DefaultAudience}, Tenants: []string{DefaultTenant},
	})
	if err != nil {
		t.Fatal(err)
	}
	ids := map[string]*identity.Identity{}
	for _, name := range personaNames() {
		var out, errOut bytes.Buffer
		if err := run(t.Context(), []string{"mint", "-addr", addr, "-dir", dir, "-as", name}, &out, &errOut); err != nil {
			t.Fatalf("mint -as %s: %v (%s)", name, err, errOut.String())
		}
		c := claimsOf(t, out.String())
		p := personas[name]
		if p.app != (c["sub"] == c["oid"]) {
			t.Errorf("%s: sub %v, oid %v: a user's sub must differ from its oid, an app's must equal it", name, c["sub"], c["oid"])
		}
		r := httptest.NewRequest(http.MethodPost, "/mcp", nil)
		r.Header.Set("Authorization", "Bearer "+strings.TrimSpace(out.String()))
		id, err := a.Authenticate(r)
		if err != nil {
			t.Fatalf("%s: rejected: %v", name, err)
		}
		if id.AppOnly != p.app || id.ObjectID != p.oid || id.ClientID != p.azp || strings.Join(id.Roles, ",") != p.roles {
			t.Errorf("%s: identity %+v, want %+v", name, id, p)
		}
		if string(id.Kind) != p.kind {
			t.Errorf("%s: the server reads kind %q, want %q", name, id.Kind, p.kind)
		}
		if id.Facets.Blueprint != p.blueprint {
			t.Errorf("%s: blueprint %q, want %q", name, id.Facets.Blueprint, p.blueprint)
		}
		if !p.app && (!id.HasScope("user_impersonation") || c["preferred_username"] != p.upn || c["name"] != p.name) {
			t.Errorf("%s: user token lacks scope, upn or name: %v", name, c)
		}
		ids[name] = id
	}
	kinds := map[identity.Kind]bool{}
	for _, id := range ids {
		kinds[id.Kind] = true
	}
	for _, k := range identity.Kinds {
		if !kinds[k] {
			t.Errorf("no persona of kind %s", k)
		}
	}
	w, ap := ids["writer"], ids["approver"]
	if w.ObjectID == ap.ObjectID || w.ClientID == ap.ClientID {
		t.Error("writer and approver share an object id or a client app: the server would refuse the approval")
	}
	if !w.HasRole("Snippets.Delete") || !ap.HasRole("Snippets.Approve") {
		t.Error("writer cannot delete or approver cannot approve")
	}
}

func TestMintPersonaOverridesAndSub(t *testing.T) {
	t.Parallel()
	dir := t.TempDir()
	mintClaims := func(args ...string) map[string]any {
		var out, errOut bytes.Buffer
		if err := run(t.Context(), append([]string{"mint", "-dir", dir}, args...), &out, &errOut); err != nil {
			t.Fatalf("mint %v: %v (%s)", args, err, errOut.String())
		}
		return claimsOf(t, out.String())
	}
	c := mintClaims("-as", "writer", "-roles", "Snippets.Read", "-oid", "other")
	if c["oid"] != "other" || c["roles"].([]any)[0] != "Snippets.Read" || c["azp"] != DefaultClientID {
		t.Errorf("explicit flags did not override -as: %v", c)
	}
	// Pairwise: the same person through another app has another sub.
	s1, s2 := mintClaims("-oid", "u")["sub"], mintClaims("-oid", "u", "-azp", "other-app")["sub"]
	if s1 == s2 || s1 == "u" {
		t.Errorf("sub not pairwise: %v, %v", s1, s2)
	}
	if got := mintClaims("-sub", "fixed")["sub"]; got != "fixed" {
		t.Errorf("-sub ignored: %v", got)
	}
	if c := mintClaims("-app", "-oid", "sp"); c["sub"] != "sp" || c["idtyp"] != "app" || c["scp"] != nil {
		t.Errorf("app token: %v", c)
	}
	var out, errOut bytes.Buffer
	if err := run(t.Context(), []string{"mint", "-dir", dir, "-as", "nobody"}, &out, &errOut); err == nil || out.Len() != 0 {
		t.Errorf("unknown -as accepted: %v %q", err, out.String())
	}
}

// TestHelpListsEverything: `devissuer -h` names every command, every flag
// of each, and every -as caller.
func TestHelpListsEverything(t *testing.T) {
	t.Parallel()
	for _, arg := range []string{"-h", "--help", "help"} {
		var out, errOut bytes.Buffer
		if err := run(t.Context(), []string{arg}, &out, &errOut); err == nil {
			t.Errorf("%s: no ErrHelp", arg)
		}
		help := out.String()
		want := []string{"serve", "mint", "env"}
		fs, _, _ := mintFlags(&bytes.Buffer{})
		fs.VisitAll(func(f *flag.Flag) { want = append(want, "-"+f.Name) })
		want = append(want, personaNames()...)
		for _, w := range want {
			if !strings.Contains(help, w) {
				t.Errorf("%s: help lacks %q", arg, w)
			}
		}
	}
}
