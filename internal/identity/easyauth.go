package identity

import (
	"cmp"
	"encoding/base64"
	"encoding/json"
	"net/http"
	"strings"
)

// Header names set by Functions/App Service built-in authentication. The
// platform strips them from incoming requests and sets them itself, which
// is why they are trusted only in easyauth mode and nowhere else.
const (
	HeaderPrincipal   = "X-Ms-Client-Principal"
	HeaderPrincipalID = "X-Ms-Client-Principal-Id"
	maxPrincipalBytes = 32 << 10
)

// Claim types appear in short form or as long URIs; both are accepted. Roles
// come only from "roles" and the two role URIs: the principal's role_typ is
// ignored, because honouring it would let it turn any claim (scp, groups,
// oid) into app roles. sub arrives as nameidentifier when the platform maps
// JWT claims the .NET way.
var claimAliases = map[string]string{
	"http://schemas.microsoft.com/identity/claims/tenantid":                "tid",
	"http://schemas.microsoft.com/identity/claims/objectidentifier":        "oid",
	"http://schemas.microsoft.com/identity/claims/scope":                   "scp",
	"http://schemas.microsoft.com/ws/2008/06/identity/claims/role":         "roles",
	"http://schemas.microsoft.com/ws/2008/06/identity/claims/roles":        "roles",
	"http://schemas.xmlsoap.org/ws/2005/05/identity/claims/nameidentifier": "sub",
}

// singleClaims may appear once, or repeated with the same value: a principal
// with two tenants or two token kinds is not one identity.
var singleClaims = map[string]bool{"tid": true, "oid": true, "sub": true, "idtyp": true, "azp": true, "appid": true,
	"xms_act_fct": true, "xms_sub_fct": true, "xms_par_app_azp": true}

// Principal rejection reasons beyond the shared token-kind ones.
const reasonConflictingClaims = "principal has conflicting claims"

// EasyAuth reads the platform principal.
type EasyAuth struct{}

type principal struct {
	AuthType string `json:"auth_typ"`
	NameType string `json:"name_typ"`
	Claims   []struct {
		Type  string `json:"typ"`
		Value string `json:"val"`
	} `json:"claims"`
}

// Authenticate decodes X-MS-CLIENT-PRINCIPAL into an identity.
func (EasyAuth) Authenticate(r *http.Request) (*Identity, error) {
	values := r.Header.Values(HeaderPrincipal)
	if len(values) == 0 {
		return nil, ErrNoCredentials
	}
	id, err := ParsePrincipal(values)
	if err != nil {
		return nil, err
	}
	// The platform sets the id header from the same principal; a mismatch
	// means the request did not come through the platform as expected.
	if pid := r.Header.Get(HeaderPrincipalID); pid != "" && !strings.EqualFold(pid, id.ObjectID) {
		return nil, &RejectError{Reason: "principal headers disagree"}
	}
	// The platform validated the token; it is kept, by the same reading
	// rules as in jwt mode, only as the on-behalf-of assertion.
	if tok, err := bearerToken(r.Header); err == nil {
		id = id.WithBearerToken(tok)
	}
	return id, nil
}

// ParsePrincipal decodes the values of the X-MS-CLIENT-PRINCIPAL header.
// Exactly one value is accepted.
func ParsePrincipal(values []string) (*Identity, error) {
	p, err := decodePrincipal(values)
	if err != nil {
		return nil, err
	}
	id, single, idTokenMark, err := p.claims()
	if err != nil {
		return nil, err
	}
	id.TenantID, id.ObjectID = single["tid"], single["oid"]
	id.ClientID = cmp.Or(single["azp"], single["appid"])
	if id.TenantID == "" || id.ObjectID == "" {
		return nil, &RejectError{Reason: "principal has no tenant or object id"}
	}
	// The platform validated the token; what kind of token it was is ours to
	// check, with the same rules as jwt mode (tokenKind.appOnly).
	kind := tokenKind{objectID: id.ObjectID, subject: single["sub"], hasClient: id.ClientID != "",
		idTokenMark: idTokenMark, scopes: id.Scopes}
	if v, ok := single["idtyp"]; ok {
		kind.idType = &v
	}
	if id.AppOnly, err = kind.appOnly(); err != nil {
		return nil, err
	}
	id.Facets = Facets{Actor: ParseFacets(single["xms_act_fct"]), Subject: ParseFacets(single["xms_sub_fct"]),
		Blueprint: single["xms_par_app_azp"]}
	id.Kind = classify(id.AppOnly, id.Facets)
	return id, nil
}

// decodePrincipal reads the one header value: base64 (padded or not) of
// the principal's JSON, bounded in size.
func decodePrincipal(values []string) (principal, error) {
	var p principal
	if len(values) != 1 {
		return p, &RejectError{Reason: "expected exactly one principal header"}
	}
	v := strings.TrimSpace(values[0])
	if len(v) > maxPrincipalBytes {
		return p, &RejectError{Reason: "principal header too large"}
	}
	raw, err := base64.StdEncoding.DecodeString(v)
	if err != nil {
		if raw, err = base64.RawStdEncoding.DecodeString(v); err != nil {
			return p, &RejectError{Reason: "principal header is not base64"}
		}
	}
	if err := json.Unmarshal(raw, &p); err != nil {
		return p, &RejectError{Reason: "principal header is not a principal"}
	}
	return p, nil
}

// claims reads the claims into an identity: the single-valued ones (which
// must not disagree when repeated) into single, the rest onto id.
func (p principal) claims() (id *Identity, single map[string]string, idTokenMark bool, err error) {
	id = &Identity{Method: MethodEasyAuth}
	nameType := canonical(p.NameType)
	single = make(map[string]string, len(singleClaims))
	for _, c := range p.Claims {
		typ := canonical(c.Type)
		if singleClaims[typ] {
			if v, seen := single[typ]; seen && v != c.Value {
				return nil, nil, false, &RejectError{Reason: reasonConflictingClaims}
			}
			single[typ] = c.Value
			continue
		}
		switch {
		case typ == "scp":
			id.Scopes = append(id.Scopes, strings.Fields(c.Value)...)
		case typ == "roles":
			id.Roles = appendUnique(id.Roles, c.Value)
		case typ == "nonce" || typ == "at_hash" || typ == "c_hash":
			idTokenMark = true
		case typ == "name" || typ == "preferred_username" || nameType != "" && typ == nameType:
			if id.Name == "" {
				id.Name = c.Value
			}
			if typ == "preferred_username" && id.UPN == "" {
				id.UPN = c.Value
			}
		case typ == "upn" || typ == "http://schemas.xmlsoap.org/ws/2005/05/identity/claims/upn":
			if id.UPN == "" {
				id.UPN = c.Value
			}
		}
	}
	return id, single, idTokenMark, nil
}

func canonical(t string) string {
	if a, ok := claimAliases[t]; ok {
		return a
	}
	return t
}

func appendUnique(list []string, v string) []string {
	for _, x := range list {
		if x == v {
			return list
		}
	}
	return append(list, v)
}
