package infra

import (
	"bytes"
	"encoding/json"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
)

// xnode is an element of a parsed policy document.
type xnode struct {
	name     string
	attrs    map[string]string
	children []*xnode
	text     string // character data directly inside, trimmed
	parent   *xnode
}

// policyDoc is a parsed policy file.
type policyDoc struct {
	path     string
	root     *xnode
	comments []string
	raw      string
}

// parsePolicy parses a policy file with the standard XML decoder in strict
// mode: an unescaped quote or '&&' in an expression is an error here as it
// would be for API Management's 'xml' format.
func parsePolicy(path string) (*policyDoc, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read policy %s: %w", path, err)
	}
	doc := &policyDoc{path: path, raw: string(raw)}
	dec := xml.NewDecoder(bytes.NewReader(raw))
	var cur *xnode
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return nil, fmt.Errorf("%s: not well-formed XML: %w", path, err)
		}
		switch t := tok.(type) {
		case xml.StartElement:
			n := &xnode{name: t.Name.Local, attrs: map[string]string{}, parent: cur}
			for _, a := range t.Attr {
				n.attrs[a.Name.Local] = a.Value
			}
			if cur == nil {
				if doc.root != nil {
					return nil, fmt.Errorf("%s: more than one root element", path)
				}
				doc.root = n
			} else {
				cur.children = append(cur.children, n)
			}
			cur = n
		case xml.EndElement:
			cur = cur.parent
		case xml.CharData:
			if cur != nil {
				cur.text = strings.TrimSpace(cur.text + string(t))
			}
		case xml.Comment:
			doc.comments = append(doc.comments, string(t))
		}
	}
	if doc.root == nil {
		return nil, fmt.Errorf("%s: no root element", path)
	}
	return doc, nil
}

// all returns n's descendants (n included) with the given element name, in
// document order.
func (n *xnode) all(name string) []*xnode {
	var out []*xnode
	var visit func(*xnode)
	visit = func(c *xnode) {
		if c.name == name {
			out = append(out, c)
		}
		for _, k := range c.children {
			visit(k)
		}
	}
	visit(n)
	return out
}

func (n *xnode) child(name string) *xnode {
	for _, c := range n.children {
		if c.name == name {
			return c
		}
	}
	return nil
}

// within reports whether n has an ancestor named name.
func (n *xnode) within(name string) *xnode {
	for p := n.parent; p != nil; p = p.parent {
		if p.name == name {
			return p
		}
	}
	return nil
}

// allText is every attribute value and text under n, for pattern checks.
func (n *xnode) allText() string {
	var b strings.Builder
	var visit func(*xnode)
	visit = func(c *xnode) {
		for _, v := range c.attrs {
			b.WriteString(v + "\n")
		}
		b.WriteString(c.text + "\n")
		for _, k := range c.children {
			visit(k)
		}
	}
	visit(n)
	return b.String()
}

// order is the document position of every element, for "A comes before B".
func (d *policyDoc) order() map[*xnode]int {
	pos := map[*xnode]int{}
	var visit func(*xnode)
	visit = func(c *xnode) {
		pos[c] = len(pos)
		for _, k := range c.children {
			visit(k)
		}
	}
	visit(d.root)
	return pos
}

var (
	sections      = []string{"inbound", "backend", "outbound", "on-error"}
	tokenInTrace  = regexp.MustCompile(`(?i)authorization|bearer|jwt|token`)
	responseBody  = regexp.MustCompile(`context\s*\.\s*Response\s*\.\s*Body`)
	functionKeyRe = regexp.MustCompile(`(?i)x-functions-key|[?&]code=`)
)

// lintCommon applies to every policy file.
func lintCommon(d *policyDoc) []string {
	var problems []string
	fail := func(format string, a ...any) { problems = append(problems, d.path+": "+fmt.Sprintf(format, a...)) }
	if d.root.name != "policies" {
		fail("root element is <%s>, want <policies>", d.root.name)
		return problems
	}
	for _, s := range sections {
		if d.root.child(s) == nil {
			fail("no <%s> section", s)
		}
	}
	text := d.root.allText()
	if responseBody.MatchString(text) {
		fail("reads context.Response.Body (buffers the streamed response and may log content)")
	}
	if functionKeyRe.MatchString(text) {
		fail("sends a function key; the gateway forwards the caller's Entra token instead")
	}
	for _, tr := range d.root.all("trace") {
		if tokenInTrace.MatchString(tr.allText()) {
			fail("<trace> records a token or Authorization header")
		}
	}
	for _, fr := range d.root.all("forward-request") {
		if fr.attrs["buffer-response"] != "false" {
			fail(`<forward-request> must set buffer-response="false"`)
		}
		t, err := strconv.Atoi(fr.attrs["timeout"])
		if err != nil || t <= 0 || t > 240 {
			fail("<forward-request> timeout %q must be 1..240 s (the Functions host gives up at 240 s)", fr.attrs["timeout"])
		}
	}
	return problems
}

// lintMCP is the hardened checklist for the MCP API's policy.
func lintMCP(d *policyDoc) []string {
	var problems []string
	fail := func(format string, a ...any) { problems = append(problems, d.path+": "+fmt.Sprintf(format, a...)) }
	inbound := d.root.child("inbound")
	if inbound == nil {
		return []string{d.path + ": no <inbound> section"}
	}
	pos := d.order()

	// Token validation.
	vs := inbound.all("validate-azure-ad-token")
	var tokenVar string
	if len(vs) != 1 {
		fail("want one <validate-azure-ad-token> in inbound, found %d", len(vs))
	} else {
		v := vs[0]
		for attr, want := range map[string]string{"header-name": "Authorization", "failed-validation-httpcode": "401"} {
			if v.attrs[attr] != want {
				fail("<validate-azure-ad-token> %s=%q, want %q", attr, v.attrs[attr], want)
			}
		}
		for _, attr := range []string{"tenant-id", "output-token-variable-name"} {
			if v.attrs[attr] == "" {
				fail("<validate-azure-ad-token> has no %s", attr)
			}
		}
		tokenVar = v.attrs["output-token-variable-name"]
		for list, item := range map[string]string{"client-application-ids": "application-id", "audiences": "audience"} {
			l := v.child(list)
			if l == nil || len(l.all(item)) == 0 {
				fail("<validate-azure-ad-token> has no <%s> with an <%s>", list, item)
				continue
			}
			for _, it := range l.all(item) {
				if it.text == "" {
					fail("<validate-azure-ad-token> has an empty <%s>", item)
				}
			}
		}
	}

	// Origin and protocol-version checks: a <when> that tests the header and
	// returns the status.
	guard := func(header, status, why string) {
		for _, w := range inbound.all("when") {
			if !strings.Contains(w.attrs["condition"], header) {
				continue
			}
			for _, s := range w.all("set-status") {
				if s.attrs["code"] == status && s.within("return-response") != nil {
					return
				}
			}
		}
		fail("no %s check: want a <when> on %s returning %s", why, header, status)
	}
	guard(`"Origin"`, "403", "Origin")
	guard(`"MCP-Protocol-Version"`, "400", "MCP-Protocol-Version")

	// Rate limits keyed on the validated caller.
	vars := map[string]string{}
	for _, sv := range inbound.all("set-variable") {
		vars[sv.attrs["name"]] = sv.attrs["value"]
	}
	derivesFromToken := func(expr string) bool {
		if tokenVar == "" {
			return false
		}
		if strings.Contains(expr, `"`+tokenVar+`"`) && strings.Contains(expr, `"oid"`) {
			return true
		}
		for name, val := range vars {
			if strings.Contains(expr, `"`+name+`"`) && strings.Contains(val, `"`+tokenVar+`"`) && strings.Contains(val, `"oid"`) {
				return true
			}
		}
		return false
	}
	limits := inbound.all("rate-limit-by-key")
	general, tools := 0, 0
	for _, rl := range limits {
		calls, err := strconv.Atoi(rl.attrs["calls"])
		if err != nil || calls <= 0 {
			fail("<rate-limit-by-key> calls=%q is not a positive number", rl.attrs["calls"])
		}
		if p, err := strconv.Atoi(rl.attrs["renewal-period"]); err != nil || p <= 0 {
			fail("<rate-limit-by-key> renewal-period=%q is not a positive number", rl.attrs["renewal-period"])
		}
		if !derivesFromToken(rl.attrs["counter-key"]) {
			fail("<rate-limit-by-key> counter-key %q is not derived from the validated token's oid claim", rl.attrs["counter-key"])
		}
		for _, h := range []string{"retry-after-header-name", "remaining-calls-header-name"} {
			if rl.attrs[h] == "" {
				fail("<rate-limit-by-key> has no %s", h)
			}
		}
		if len(vs) == 1 && pos[rl] < pos[vs[0]] {
			fail("<rate-limit-by-key> comes before token validation")
		}
		w := rl.within("when")
		switch {
		case w == nil:
			if general == 0 || calls < general {
				general = calls
			}
		case mentionsToolCall(w.attrs["condition"], vars):
			if tools == 0 || calls < tools {
				tools = calls
			}
		}
	}
	switch {
	case general == 0:
		fail("no unconditional <rate-limit-by-key>")
	case tools == 0:
		fail("no <rate-limit-by-key> for tools/call")
	case tools >= general:
		fail("tools/call limit (%d) is not tighter than the general limit (%d)", tools, general)
	}
	problems = append(problems, lintToolCall(d)...)

	// Backend: exactly the streaming forward-request.
	if b := d.root.child("backend"); b == nil || len(b.all("forward-request")) != 1 {
		fail("want one <forward-request> in <backend>")
	}

	// Outbound never replaces the body (that would buffer the stream).
	if o := d.root.child("outbound"); o != nil && len(o.all("set-body")) > 0 {
		fail("<outbound> sets the body, which buffers the streamed response")
	}

	// on-error: the 401 challenge points at the gateway's metadata.
	challenge := false
	if e := d.root.child("on-error"); e != nil {
		for _, rr := range e.all("return-response") {
			st := rr.child("set-status")
			for _, h := range rr.all("set-header") {
				if st != nil && st.attrs["code"] == "401" && strings.EqualFold(h.attrs["name"], "WWW-Authenticate") &&
					strings.Contains(h.allText(), "Bearer") && strings.Contains(h.allText(), "resource_metadata=") {
					challenge = true
				}
			}
		}
	}
	if !challenge {
		fail(`<on-error> has no 401 return-response with WWW-Authenticate: Bearer ... resource_metadata="..."`)
	}
	// on-error branches on the status: LastError.Source values are documented
	// for validate-jwt only, so a Source match may never fire.
	if e := d.root.child("on-error"); e != nil {
		for _, w := range e.all("when") {
			if c := w.attrs["condition"]; strings.Contains(c, "LastError.Source") {
				fail("<on-error> tests LastError.Source (%s); test context.Response.StatusCode", strings.TrimSpace(c))
			} else if len(w.all("return-response")) > 0 && !strings.Contains(c, "StatusCode") {
				fail("<on-error> <when condition=%q> does not test the status code", c)
			}
		}
	}

	// CORS: the <cors> policy comes first in inbound, before the token check,
	// so a preflight is answered, not refused 401; it names the origins and
	// the MCP headers a browser client sends.
	if cs := inbound.all("cors"); len(cs) != 1 {
		fail("want one <cors> in inbound (browser preflights), found %d", len(cs))
	} else {
		c := cs[0]
		if vs := inbound.all("validate-azure-ad-token"); len(vs) == 1 && pos[c] > pos[vs[0]] {
			fail("<cors> comes after <validate-azure-ad-token>: preflights carry no token and would get 401")
		}
		if c.attrs["allow-credentials"] == "true" {
			fail("<cors allow-credentials=\"true\">: tokens travel in Authorization, never cookies")
		}
		if o := c.child("allowed-origins"); o == nil || len(o.all("origin")) == 0 {
			fail("<cors> has no <allowed-origins> with an <origin>")
		}
		hdrs := strings.ToLower(c.allText())
		for _, h := range []string{"authorization", "mcp-protocol-version", "www-authenticate"} {
			if !strings.Contains(hdrs, h) {
				fail("<cors> does not name the %s header", h)
			}
		}
	}

	// The token forwarding is justified in a comment.
	stated := false
	for _, c := range d.comments {
		if strings.Contains(strings.Join(strings.Fields(c), " "), "same audience") {
			stated = true
		}
	}
	if !stated {
		fail("no comment states why the caller's token may be forwarded (the function is the same resource, same audience)")
	}
	return problems
}

func mentionsToolCall(cond string, vars map[string]string) bool {
	if strings.Contains(cond, "tools/call") {
		return true
	}
	for name, val := range vars {
		if strings.Contains(cond, `"`+name+`"`) && strings.Contains(val, "tools/call") {
			return true
		}
	}
	return false
}

var namedValueRe = regexp.MustCompile(`\{\{([A-Za-z0-9._-]+)\}\}`)

// lintPRM checks the anonymous Protected Resource Metadata policy.
func lintPRM(d *policyDoc) []string {
	var problems []string
	fail := func(format string, a ...any) { problems = append(problems, d.path+": "+fmt.Sprintf(format, a...)) }
	for _, v := range []string{"validate-azure-ad-token", "validate-jwt", "check-header"} {
		if len(d.root.all(v)) > 0 {
			fail("metadata must be anonymous, found <%s>", v)
		}
	}
	inbound := d.root.child("inbound")
	var rr *xnode
	if inbound != nil {
		rr = inbound.child("return-response")
	}
	if rr == nil {
		return append(problems, d.path+": no <return-response> in <inbound>")
	}
	if st := rr.child("set-status"); st == nil || st.attrs["code"] != "200" {
		fail("metadata response status is not 200")
	}
	jsonType := false
	for _, h := range rr.all("set-header") {
		if strings.EqualFold(h.attrs["name"], "Content-Type") && strings.Contains(h.allText(), "application/json") {
			jsonType = true
		}
	}
	if !jsonType {
		fail("metadata response has no Content-Type: application/json")
	}
	body := rr.child("set-body")
	if body == nil {
		return append(problems, d.path+": metadata response has no body")
	}
	var doc struct {
		Resource             string   `json:"resource"`
		AuthorizationServers []string `json:"authorization_servers"`
		ScopesSupported      []string `json:"scopes_supported"`
	}
	// Named values are substituted by the gateway; they hold plain strings.
	if err := json.Unmarshal([]byte(body.text), &doc); err != nil {
		return append(problems, fmt.Sprintf("%s: metadata body is not JSON: %v", d.path, err))
	}
	isNamed := func(s string) bool { return namedValueRe.MatchString(s) && namedValueRe.FindString(s) == s }
	switch {
	case doc.Resource == "":
		fail("metadata has no resource")
	case isNamed(doc.Resource):
	case !strings.HasPrefix(doc.Resource, "https://") || !strings.HasSuffix(doc.Resource, "/mcp"):
		fail("metadata resource %q is not the gateway's https MCP URL (no trailing slash)", doc.Resource)
	}
	if len(doc.AuthorizationServers) == 0 {
		fail("metadata has no authorization_servers")
	}
	if len(doc.ScopesSupported) == 0 {
		fail("metadata has no scopes_supported")
	}
	for _, s := range doc.ScopesSupported {
		if !isNamed(s) && !strings.Contains(s, "://") {
			fail("scope %q is not fully qualified (api://.../user_impersonation); a bare scope resolves against Microsoft Graph", s)
		}
	}
	return problems
}

// lintPolicies checks every policy file under dir/policies: well-formed XML,
// the common rules, the checklist for the file's role, and its bindings to the
// Bicep that deploys it.
func lintPolicies(dir string) ([]string, error) {
	paths, err := filepath.Glob(filepath.Join(dir, "policies", "*.xml"))
	if err != nil {
		return nil, fmt.Errorf("list policies: %w", err)
	}
	if len(paths) == 0 {
		return nil, fmt.Errorf("no policy files under %s/policies", dir)
	}
	var problems []string
	var docs []*policyDoc
	for _, p := range paths {
		d, err := parsePolicy(p)
		if err != nil {
			problems = append(problems, err.Error())
			continue
		}
		docs = append(docs, d)
		problems = append(problems, lintCommon(d)...)
		switch filepath.Base(p) {
		case "mcp-api.xml":
			problems = append(problems, lintMCP(d)...)
		case "prm.xml":
			problems = append(problems, lintPRM(d)...)
		}
	}
	for _, want := range []string{"mcp-api.xml", "prm.xml"} {
		if _, err := os.Stat(filepath.Join(dir, "policies", want)); err != nil {
			problems = append(problems, fmt.Sprintf("policies/%s is missing", want))
		}
	}
	b, err := checkBindings(dir, docs)
	if err != nil {
		return nil, err
	}
	return append(problems, b...), nil
}

var markerRe = regexp.MustCompile(`__[A-Z][A-Z0-9_]*__`)

// checkBindings ties policies to the Bicep: each file is loaded by some
// module, every {{named value}} it uses is declared, every __MARKER__ is
// substituted, and every backend-id names a declared backend.
func checkBindings(dir string, docs []*policyDoc) ([]string, error) {
	files, _, err := bicepFiles(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, f := range files {
			f.close()
		}
	}()
	named, backends := map[string]bool{}, map[string]bool{}
	var text strings.Builder
	for _, f := range files {
		text.Write(f.src)
		for _, r := range f.resources() {
			n := f.resolve(f.prop(r.body, "name"))
			switch r.typ {
			case "Microsoft.ApiManagement/service/namedValues":
				named[n] = true
			case "Microsoft.ApiManagement/service/backends":
				backends[n] = true
			}
		}
	}
	bicep := text.String()
	var problems []string
	for _, d := range docs {
		base := filepath.Base(d.path)
		if !strings.Contains(bicep, "policies/"+base+"')") {
			problems = append(problems, fmt.Sprintf("%s: no Bicep module loads this policy", d.path))
		}
		for _, m := range namedValueRe.FindAllStringSubmatch(d.raw, -1) {
			if !named[m[1]] {
				problems = append(problems, fmt.Sprintf("%s: named value {{%s}} is not declared in Bicep", d.path, m[1]))
			}
		}
		for _, m := range markerRe.FindAllString(d.raw, -1) {
			// Replaced as a quoted string: bare, or as a whole element ('<x>M</x>').
			if !regexp.MustCompile(`'(<[a-z-]+>)?` + m + `(</[a-z-]+>)?'`).MatchString(bicep) {
				problems = append(problems, fmt.Sprintf("%s: placeholder %s is never replaced by the Bicep that loads it", d.path, m))
			}
		}
		for _, sb := range d.root.all("set-backend-service") {
			if id := sb.attrs["backend-id"]; id != "" && !backends[id] {
				problems = append(problems, fmt.Sprintf("%s: backend-id %q is not a declared backend", d.path, id))
			}
		}
	}
	return problems, nil
}
