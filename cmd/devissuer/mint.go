package main

import (
	"encoding/json"
	"fmt"
	"io"
	"net/url"
	"strings"
	"time"

	jose "github.com/go-jose/go-jose/v4"
)

const maxTTL = 24 * time.Hour

func runMint(args []string, stdout, stderr io.Writer) error {
	fs, c := flags("mint", stderr)
	aud := fs.String("aud", DefaultAudience, "audience (aud); must be in the server's MCP_AUTH_AUDIENCE")
	tid := fs.String("tid", DefaultTenant, "tenant id (tid)")
	oid := fs.String("oid", DefaultObjectID, "object id of the caller (oid); picks the private snippet space")
	name := fs.String("name", "Dev User", "display name (name)")
	azp := fs.String("azp", DefaultClientID, "client id of the calling agent (azp)")
	scp := fs.String("scp", "user_impersonation", "delegated scopes, space-separated (scp); ignored with -app")
	roles := fs.String("roles", "", "app roles, comma-separated (roles), e.g. Snippets.Read,Snippets.Write")
	app := fs.Bool("app", false, "app-only token: no scp, idtyp=app")
	ttl := fs.Duration("ttl", time.Hour, "lifetime (at most 24h)")
	issuer := fs.String("issuer", "", "issuer URL, http://<loopback host:port> (default: from -addr)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("mint: unexpected argument %q", fs.Arg(0))
	}
	if *ttl <= 0 || *ttl > maxTTL {
		return fmt.Errorf("mint: -ttl %s: must be positive and at most %s", *ttl, maxTTL)
	}
	iss, err := issuerURL(*issuer, c.addr)
	if err != nil {
		return err
	}
	key, err := loadOrCreateKey(c.dir)
	if err != nil {
		return err
	}

	now := time.Now()
	claims := map[string]any{
		"iss":  iss,
		"aud":  *aud,
		"tid":  *tid,
		"oid":  *oid,
		"sub":  *oid,
		"name": *name,
		"azp":  *azp,
		"ver":  "2.0",
		"iat":  now.Unix(),
		"nbf":  now.Unix(),
		"exp":  now.Add(*ttl).Unix(),
	}
	if *app {
		claims["idtyp"] = "app"
	} else if s := strings.TrimSpace(*scp); s != "" {
		claims["scp"] = s
	}
	if list := splitList(*roles); len(list) > 0 {
		claims["roles"] = list
	}
	tok, err := mint(key, claims)
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(stdout, tok)
	return err
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
