package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const maxTTL = 24 * time.Hour

// mintOpts are mint's flags.
type mintOpts struct {
	as, aud, tid, oid, sub, name, upn, azp, scp, roles, issuer string
	act, subFct, blueprint                                     string // Agent ID facets and blueprint
	app                                                        bool
	ttl                                                        time.Duration
}

func mintFlags(stderr io.Writer) (*flag.FlagSet, *common, *mintOpts) {
	fs, c := flags("mint", stderr)
	o := &mintOpts{}
	fs.StringVar(&o.as, "as", "", "ready-made caller: "+strings.Join(personaNames(), ", ")+" (sets oid, name, upn, azp, roles, app, act, subfct, blueprint; other flags override)")
	fs.StringVar(&o.aud, "aud", DefaultAudience, "audience (aud); must be in the server's MCP_AUTH_AUDIENCE")
	fs.StringVar(&o.tid, "tid", DefaultTenant, "tenant id (tid)")
	fs.StringVar(&o.oid, "oid", DefaultObjectID, "object id of the caller (oid); picks the private snippet space")
	fs.StringVar(&o.sub, "sub", "", "subject (sub) (default: pairwise from tid, azp and oid for a user; the oid for -app)")
	fs.StringVar(&o.name, "name", "Dev User", "display name (name); empty for none")
	fs.StringVar(&o.upn, "upn", "", "user principal name (preferred_username); empty for none")
	fs.StringVar(&o.azp, "azp", DefaultClientID, "client id of the calling agent (azp)")
	fs.StringVar(&o.scp, "scp", "user_impersonation", "delegated scopes, space-separated (scp); ignored with -app")
	fs.StringVar(&o.roles, "roles", "", "app roles, comma-separated (roles), e.g. Snippets.Read,Snippets.Write")
	fs.BoolVar(&o.app, "app", false, "app-only token: no scp, idtyp=app, sub=oid")
	fs.StringVar(&o.act, "act", "", "Entra Agent ID actor facets, space-separated (xms_act_fct), e.g. \"3 9 11\"; 11 = an agent acts")
	fs.StringVar(&o.subFct, "subfct", "", "Agent ID subject facets (xms_sub_fct); 11 = the subject is an agent, 13 = an agent's user account")
	fs.StringVar(&o.blueprint, "blueprint", "", "agent blueprint app id (xms_par_app_azp); recorded in audit events, never decided on")
	fs.DurationVar(&o.ttl, "ttl", time.Hour, "lifetime (at most 24h)")
	fs.StringVar(&o.issuer, "issuer", "", "issuer URL, http://<loopback host:port> (default: from -addr)")
	return fs, c, o
}

// applyPersona fills the flags the user did not set from -as.
func (o *mintOpts) applyPersona(fs *flag.FlagSet) error {
	if o.as == "" {
		return nil
	}
	p, err := lookupPersona(o.as)
	if err != nil {
		return err
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	for name, v := range map[string]*string{"oid": &p.oid, "name": &p.name, "upn": &p.upn, "azp": &p.azp, "roles": &p.roles,
		"act": &p.act, "subfct": &p.subFct, "blueprint": &p.blueprint} {
		if !set[name] {
			fs.Set(name, *v)
		}
	}
	if !set["app"] {
		o.app = p.app
	}
	return nil
}

func runMint(args []string, stdout, stderr io.Writer) error {
	fs, c, o := mintFlags(stderr)
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("mint: unexpected argument %q", fs.Arg(0))
	}
	if err := o.applyPersona(fs); err != nil {
		return err
	}
	if o.ttl <= 0 || o.ttl > maxTTL {
		return fmt.Errorf("mint: -ttl %s: must be positive and at most %s", o.ttl, maxTTL)
	}
	iss, err := issuerURL(o.issuer, c.addr)
	if err != nil {
		return err
	}
	key, err := loadOrCreateKey(c.dir)
	if err != nil {
		return err
	}
	tok, err := mint(key, o.claims(iss, time.Now()))
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
}

// claims are the token's claims, shaped like an Entra v2 access token.
func (o *mintOpts) claims(iss string, now time.Time) map[string]any {
	claims := map[string]any{
		"iss": iss,
		"aud": o.aud,
		"tid": o.tid,
		"oid": o.oid,
		"azp": o.azp,
		"ver": "2.0",
		"iat": now.Unix(),
		"nbf": now.Unix(),
		"exp": now.Add(o.ttl).Unix(),
	}
	sub := pairwiseSubject(o.tid, o.azp, o.oid)
	if o.app {
		claims["idtyp"] = "app"
		sub = o.oid
	} else if s := strings.TrimSpace(o.scp); s != "" {
		claims["scp"] = s
	}
	if o.sub != "" {
		sub = o.sub
	}
	claims["sub"] = sub
	if o.name != "" {
		claims["name"] = o.name
	}
	if o.upn != "" {
		claims["preferred_username"] = o.upn
	}
	if list := splitList(o.roles); len(list) > 0 {
		claims["roles"] = list
	}
	if !o.app && (o.act != "" || o.subFct != "") {
		claims["idtyp"] = "user" // Agent ID tokens carry idtyp; plain dev user tokens keep the shape they had
	}
	for k, v := range map[string]string{"xms_act_fct": o.act, "xms_sub_fct": o.subFct, "xms_par_app_azp": o.blueprint} {
		if v = strings.TrimSpace(v); v != "" {
			claims[k] = v
		}
	}
	return claims
}

// issuerURL is the iss claim: -issuer when given (it must be what serve
// prints, http on a loopback host:port), else http://<addr>.
func issuerURL(issuer, addr string) (string, error) {
	if issuer == "" {
		if err := checkLoopback(addr); err != nil {
			return "", err
		}
		return "http://" + addr, nil
	}
	u, err := url.Parse(issuer)
	if err != nil || u.Scheme != "http" || u.Path != "" || u.RawQuery != "" || u.User != nil {
		return "", fmt.Errorf("-issuer %q: want http://<loopback host:port>, as serve prints it", issuer)
	}
	if err := checkLoopback(u.Host); err != nil {
		return "", err
	}
	return issuer, nil
}

// splitList splits -roles at commas only, as its usage says; config.list
// also splits at spaces and semicolons, a rule for settings, which would
// change what `-roles "a b"` mints.
func splitList(s string) []string {
	var out []string
	for _, v := range strings.Split(s, ",") {
		if v = strings.TrimSpace(v); v != "" {
			out = append(out, v)
		}
	}
	return out
}

// mint signs the claims with RS256 under the key's kid.
func mint(key *signingKey, claims map[string]any) (string, error) {
	signer, err := jose.NewSigner(
		jose.SigningKey{Algorithm: jose.RS256, Key: jose.JSONWebKey{Key: key.priv, KeyID: key.kid}},
		(&jose.SignerOptions{}).WithType("JWT"),
	)
	if err != nil {
		return "", fmt.Errorf("mint: signer: %w", err)
	}
	payload, err := json.Marshal(claims)
	if err != nil {
		return "", fmt.Errorf("mint: claims: %w", err)
	}
	jws, err := signer.Sign(payload)
	if err != nil {
		return "", fmt.Errorf("mint: sign: %w", err)
	}
	tok, err := jws.CompactSerialize()
	if err != nil {
		return "", fmt.Errorf("mint: serialize: %w", err)
	}
	return tok, nil
}
