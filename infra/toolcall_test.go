package infra

// The gateway's tighter tools/call limit only holds if the policy recognises
// every request the server runs as tools/call. API Management cannot run here,
// so this file checks the classifying expression offline in three ways:
//
//   - structurally: it reads Mcp-Method, parses the body as JSON with
//     preserveContent, and does not match the raw body text;
//   - by evaluation: each C# statement of the expression is looked up in
//     csStatements, a hand-written Go translation of that exact statement
//     (Newtonsoft's parse is modelled by parseJToken), and the translated
//     expression is run against toolCallCorpus. A statement without a
//     translation is reported, so the XML and the model cannot drift apart;
//   - against the server: TestToolCallCorpusMatchesServer posts every corpus
//     body to a real mcp-go Streamable HTTP server configured like
//     handler/app.go and records whether a tool ran, so the corpus's claims
//     come from the server's own parse (encoding/json), not from this file.
//
// What only a real gateway proves: that the expression compiles, that
// Body.As<JToken> is Newtonsoft with its default settings (duplicate names:
// later value wins; the model assumes so), and that GetValueOrDefault joins
// repeated headers with commas. docs/DEPLOY.md lists the check to run.

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"sync/atomic"
	"testing"
	"unicode"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"
)

// gatewayRequest is what the classifying expression can see of a request.
type gatewayRequest struct {
	method  string              // HTTP method; "" means POST
	headers map[string][]string // canonical names
	body    *string             // nil: context.Request.Body == null
}

func (r gatewayRequest) httpMethod() string {
	if r.method == "" {
		return http.MethodPost
	}
	return r.method
}

// toolCallCase is one request of the corpus. runs is what the server does
// with it (checked against mcp-go); strict is the bucket the policy must
// choose. runs implies strict; the converse is a decision written in why.
type toolCallCase struct {
	name   string
	req    gatewayRequest
	runs   bool
	strict bool
	why    string
}

func ptr(s string) *string { return &s }

func post(b string, headers ...string) gatewayRequest {
	h := map[string][]string{}
	for i := 0; i+1 < len(headers); i += 2 {
		k := http.CanonicalHeaderKey(headers[i])
		h[k] = append(h[k], headers[i+1])
	}
	return gatewayRequest{headers: h, body: ptr(b)}
}

const (
	probeList = `{"jsonrpc":"2.0","id":1,"method":"tools/list"}`
	probeCall = `{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"probe"}}`
)

var toolCallCorpus = []toolCallCase{
	// Ordinary traffic stays in the general bucket, or the tighter limit
	// would throttle every client.
	{name: "tools/list", req: post(probeList)},
	{name: "initialize", req: post(`{"jsonrpc":"2.0","id":0,"method":"initialize","params":{"protocolVersion":"2025-06-18","capabilities":{},"clientInfo":{"name":"c","version":"1"}}}`)},
	{name: "notification", req: post(`{"jsonrpc":"2.0","method":"notifications/initialized"}`)},
	{name: "tools/list with matching Mcp-Method", req: post(probeList, "Mcp-Method", "tools/list")},
	{name: "tools/call only inside params", req: post(`{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{"method":"tools/call"}}`)},
	{name: "response without method", req: post(`{"jsonrpc":"2.0","id":1,"result":{}}`)},
	{name: "look-alike key U+217F", req: post(`{"jsonrpc":"2.0","id":1,"ⅿethod":"tools/call","params":{"name":"probe"}}`),
		why: "Go's key folding does not map U+217F to m; the server sees no method"},
	{name: "exact duplicate, tools/list last", req: post(`{"jsonrpc":"2.0","id":1,"method":"tools/call","method":"tools/list","params":{"name":"probe"}}`),
		why: "later value wins in encoding/json and in Newtonsoft's default parse"},
	{name: "GET with a tools/call body", req: gatewayRequest{method: http.MethodGet, body: ptr(probeCall)},
		why: "the server dispatches JSON-RPC from POST only"},
	{name: "DELETE", req: gatewayRequest{method: http.MethodDelete}},

	// Forms the server runs as tools/call.
	{name: "plain", req: post(probeCall), runs: true, strict: true},
	{name: "escaped slash", req: post(`{"jsonrpc":"2.0","id":1,"method":"tools\/call","params":{"name":"probe"}}`), runs: true, strict: true},
	{name: "unicode escape", req: post(`{"jsonrpc":"2.0","id":1,"method":"\u0074ools/call","params":{"name":"probe"}}`), runs: true, strict: true},
	{name: "all escaped", req: post(`{"jsonrpc":"2.0","id":1,"method":"\u0074\u006F\u006f\u006c\u0073\u002f\u0063\u0061\u006c\u006c","params":{"name":"probe"}}`), runs: true, strict: true},
	{name: "whitespace", req: post("{\r\n\t\"jsonrpc\" : \"2.0\" ,\n \"id\" : 1 ,\n \"method\"\t:\n\"tools/call\" , \"params\" : { \"name\" : \"probe\" } }\n"), runs: true, strict: true},
	{name: "escaped key", req: post(`{"jsonrpc":"2.0","id":1,"\u006dethod":"tools/call","params":{"name":"probe"}}`), runs: true, strict: true},
	{name: "key Method", req: post(`{"jsonrpc":"2.0","id":1,"Method":"tools/call","params":{"name":"probe"}}`), runs: true, strict: true},
	{name: "key METHOD", req: post(`{"jsonrpc":"2.0","id":1,"METHOD":"tools/call","params":{"name":"probe"}}`), runs: true, strict: true},
	{name: "exact duplicate, tools/call last", req: post(`{"jsonrpc":"2.0","id":1,"method":"tools/list","method":"tools/call","params":{"name":"probe"}}`), runs: true, strict: true},
	{name: "case-variant duplicate", req: post(`{"jsonrpc":"2.0","id":1,"method":"tools/list","Method":"tools/call","params":{"name":"probe"}}`), runs: true, strict: true},
	{name: "null after tools/call", req: post(`{"jsonrpc":"2.0","id":1,"method":"tools/call","method":null,"params":{"name":"probe"}}`), runs: true, strict: true,
		why: "encoding/json leaves a string unchanged on null; Newtonsoft keeps the null"},
	{name: "Mcp-Method says tools/list", req: post(probeCall, "Mcp-Method", "tools/list", "Mcp-Protocol-Version", "2025-06-18"), runs: true, strict: true,
		why: "before 2026-07-28 the server ignores Mcp-Method"},
	{name: "Mcp-Method tools/call, no version", req: post(probeCall, "Mcp-Method", "tools/call"), runs: true, strict: true},

	// Strict by decision: the server runs no tool, but the gateway cannot
	// tell it apart cheaply or the request is malformed anyway.
	{name: "batch", req: post(`[` + probeCall + `]`), strict: true, why: "the server refuses batches; arrays never take the general bucket"},
	{name: "batch of tools/list", req: post(`[` + probeList + `]`), strict: true, why: "arrays never take the general bucket"},
	{name: "value Tools/Call", req: post(`{"jsonrpc":"2.0","id":1,"method":"Tools/Call","params":{"name":"probe"}}`), strict: true,
		why: "unknown method to the server; compared without case so a laxer server could not turn it into a bypass"},
	{name: "Mcp-Method tools/call, body tools/list", req: post(probeList, "Mcp-Method", "tools/call"), strict: true, why: "header and body disagree"},
	{name: "Mcp-Method without body method", req: post(`{"jsonrpc":"2.0","id":1,"result":{}}`, "Mcp-Method", "tools/list"), strict: true, why: "header and body disagree"},
	{name: "repeated Mcp-Method", req: post(probeList, "Mcp-Method", "tools/list", "Mcp-Method", "tools/list"), strict: true, why: "the joined header is no single method"},
	{name: "method not a string", req: post(`{"jsonrpc":"2.0","id":1,"method":["tools/call"],"params":{"name":"probe"}}`), strict: true},
	{name: "truncated", req: post(`{"jsonrpc":"2.0","id":1,"method":"tools/call"`), strict: true, why: "unparseable"},
	{name: "byte order mark", req: post("\ufeff" + probeCall), strict: true, why: "unparseable to the server"},
	{name: "scalar", req: post(`"tools/call"`), strict: true},
	{name: "empty POST", req: post(``), strict: true},
	{name: "POST without body", req: gatewayRequest{}, strict: true},
}

// jtoken models the Newtonsoft.Json.Linq tree Body.As<JToken> returns.
type jtoken struct {
	typ   string // JTokenType: Object, Array, String, Integer, Float, Boolean, Null
	str   string
	props []jprop // Object: document order, one per exact name
}

type jprop struct {
	name  string
	value *jtoken
}

var errCSharpException = errors.New("C# exception")

// parseJToken models Newtonsoft's default parse with Go's decoder: escapes
// decoded, a repeated exact name replaces the earlier value
// (DuplicatePropertyNameHandling.Replace), names differing in case kept
// apart, trailing content an error. Newtonsoft also accepts some non-JSON
// (comments, single quotes); the server refuses those bodies outright, so
// where the model throws and Newtonsoft would not, no tool runs either way.
func parseJToken(s string) (*jtoken, error) {
	dec := json.NewDecoder(strings.NewReader(s))
	dec.UseNumber()
	tok, err := readJToken(dec)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCSharpException, err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, fmt.Errorf("%w: additional text after the JSON value", errCSharpException)
	}
	return tok, nil
}

func readJToken(dec *json.Decoder) (*jtoken, error) {
	t, err := dec.Token()
	if err != nil {
		return nil, err
	}
	switch v := t.(type) {
	case json.Delim:
		if v == '[' {
			for dec.More() {
				if _, err := readJToken(dec); err != nil {
					return nil, err
				}
			}
			_, err := dec.Token()
			return &jtoken{typ: "Array"}, err
		}
		obj := &jtoken{typ: "Object"}
	props:
		for dec.More() {
			k, err := dec.Token()
			if err != nil {
				return nil, err
			}
			name := k.(string)
			val, err := readJToken(dec)
			if err != nil {
				return nil, err
			}
			for i := range obj.props {
				if obj.props[i].name == name {
					obj.props[i].value = val
					continue props
				}
			}
			obj.props = append(obj.props, jprop{name, val})
		}
		_, err := dec.Token()
		return obj, err
	case string:
		return &jtoken{typ: "String", str: v}, nil
	case json.Number:
		if strings.ContainsAny(v.String(), ".eE") {
			return &jtoken{typ: "Float", str: v.String()}, nil
		}
		return &jtoken{typ: "Integer", str: v.String()}, nil
	case bool:
		return &jtoken{typ: "Boolean", str: map[bool]string{true: "True", false: "False"}[v]}, nil
	default:
		return &jtoken{typ: "Null"}, nil
	}
}

// ordinalIgnoreCase models .NET's StringComparison.OrdinalIgnoreCase:
// equal after simple upper-casing each character.
func ordinalIgnoreCase(a *string, b string) bool {
	if a == nil {
		return false
	}
	ra, rb := []rune(*a), []rune(b)
	if len(ra) != len(rb) {
		return false
	}
	for i := range ra {
		if unicode.ToUpper(ra[i]) != unicode.ToUpper(rb[i]) {
			return false
		}
	}
	return true
}

// csState holds the expression's local variables.
type csState struct {
	req     gatewayRequest
	header  string
	root    *jtoken
	message *jtoken
	keys    []jprop
	method  *string // nil: C# null
	raw     *string
}

// csStep runs one statement: a non-nil result is its return value.
type csStep func(s *csState) (*bool, error)

func returns(v bool) *bool { return &v }

// returnIf translates `if (cond) { return v; }`.
func returnIf(v bool, cond func(s *csState) bool) csStep {
	return func(s *csState) (*bool, error) {
		if cond(s) {
			return &v, nil
		}
		return nil, nil
	}
}

// getHeader models GetValueOrDefault: repeated values joined with commas.
func (s *csState) getHeader(name string) string {
	return strings.Join(s.req.headers[http.CanonicalHeaderKey(name)], ",")
}

// csStatements translates each C# statement the classifier may contain,
// keyed by its text without whitespace. The first group is the substring
// match the security review found dodgeable; it is kept so that planting it
// back (testdata/policy/tool-call-substring.txtar) shows which bodies pass.
var csStatements = map[string]csStep{
	`if (context.Request.Headers.GetValueOrDefault("Mcp-Method", "") == "tools/call") { return true; }`: returnIf(true, func(s *csState) bool { return s.getHeader("Mcp-Method") == "tools/call" }),
	`if (context.Request.Body == null) { return false; }`:                                               returnIf(false, func(s *csState) bool { return s.req.body == nil }),
	`string body = context.Request.Body.As<string>(preserveContent: true);`: func(s *csState) (*bool, error) {
		s.raw = s.req.body
		return nil, nil
	},
	`return body != null && body.Contains("\"tools/call\"");`: func(s *csState) (*bool, error) {
		return returns(s.raw != nil && strings.Contains(*s.raw, `"tools/call"`)), nil
	},

	`if (context.Request.Method != "POST") { return false; }`: returnIf(false, func(s *csState) bool { return s.req.httpMethod() != "POST" }),
	`string header = context.Request.Headers.GetValueOrDefault("Mcp-Method", "");`: func(s *csState) (*bool, error) {
		s.header = s.getHeader("Mcp-Method")
		return nil, nil
	},
	`JToken root = null;`: func(s *csState) (*bool, error) { return nil, nil },
	`try { root = context.Request.Body == null ? null : context.Request.Body.As<JToken>(preserveContent: true); } catch (Exception) { return true; }`: func(s *csState) (*bool, error) {
		if s.req.body == nil {
			return nil, nil
		}
		root, err := parseJToken(*s.req.body)
		if err != nil {
			return returns(true), nil
		}
		s.root = root
		return nil, nil
	},
	`JObject message = root as JObject;`: func(s *csState) (*bool, error) {
		if s.root != nil && s.root.typ == "Object" {
			s.message = s.root
		}
		return nil, nil
	},
	`if (message == null) { return true; }`: returnIf(true, func(s *csState) bool { return s.message == nil }),
	`JProperty[] keys = message.Properties().Where(p => string.Equals(p.Name, "method", StringComparison.OrdinalIgnoreCase)).ToArray();`: func(s *csState) (*bool, error) {
		for _, p := range s.message.props {
			if ordinalIgnoreCase(&p.name, "method") {
				s.keys = append(s.keys, p)
			}
		}
		return nil, nil
	},
	`if (keys.Length > 1) { return true; }`:                                             returnIf(true, func(s *csState) bool { return len(s.keys) > 1 }),
	`if (keys.Length == 1 && keys[0].Value.Type != JTokenType.String) { return true; }`: returnIf(true, func(s *csState) bool { return len(s.keys) == 1 && s.keys[0].value.typ != "String" }),
	`string method = keys.Length == 1 ? (string)keys[0].Value : "";`: func(s *csState) (*bool, error) {
		if len(s.keys) != 1 {
			s.method = ptr("")
			return nil, nil
		}
		// Newtonsoft's explicit string conversion: null for a JSON null,
		// text for scalars, an exception for objects and arrays.
		switch v := s.keys[0].value; v.typ {
		case "Null":
			s.method = nil
		case "Object", "Array":
			return nil, fmt.Errorf("%w: cannot convert %s to String", errCSharpException, v.typ)
		default:
			s.method = ptr(v.str)
		}
		return nil, nil
	},
	`if (string.Equals(method, "tools/call", StringComparison.OrdinalIgnoreCase)) { return true; }`: returnIf(true, func(s *csState) bool { return ordinalIgnoreCase(s.method, "tools/call") }),
	`if (string.Equals(header, "tools/call", StringComparison.OrdinalIgnoreCase)) { return true; }`: returnIf(true, func(s *csState) bool { return ordinalIgnoreCase(&s.header, "tools/call") }),
	`return header != "" && header != method;`: func(s *csState) (*bool, error) {
		return returns(s.header != "" && (s.method == nil || s.header != *s.method)), nil
	},
}

var csStatementsByText = func() map[string]csStep {
	m := map[string]csStep{}
	for text, step := range csStatements {
		m[compact(text)] = step
	}
	return m
}()

// splitStatements splits a multi-statement expression @{ ... } into its
// top-level statements: a statement ends at ';' or at the '}' closing a
// block, unless catch, else or finally continues it.
func splitStatements(expr string) ([]string, error) {
	expr = strings.TrimSpace(expr)
	if !strings.HasPrefix(expr, "@{") || !strings.HasSuffix(expr, "}") {
		return nil, errors.New("not a multi-statement expression @{ ... }")
	}
	src := expr[2 : len(expr)-1]
	var out []string
	start, depth := 0, 0
	for i := 0; i < len(src); i++ {
		switch c := src[i]; c {
		case '"', '\'':
			for i++; i < len(src) && src[i] != c; i++ {
				if src[i] == '\\' {
					i++
				}
			}
		case '(', '{':
			depth++
		case ')':
			depth--
		case '}':
			depth--
			if depth != 0 {
				continue
			}
			rest := strings.TrimLeft(src[i+1:], " \t\r\n")
			if strings.HasPrefix(rest, "catch") || strings.HasPrefix(rest, "else") || strings.HasPrefix(rest, "finally") {
				continue
			}
			out = append(out, strings.TrimSpace(src[start:i+1]))
			start = i + 1
		case ';':
			if depth == 0 {
				out = append(out, strings.TrimSpace(src[start:i+1]))
				start = i + 1
			}
		}
	}
	if depth != 0 || strings.TrimSpace(src[start:]) != "" {
		return nil, errors.New("unbalanced braces or a statement without ';'")
	}
	return out, nil
}

// classifier is a classifying expression translated statement by statement.
type classifier []csStep

func translate(expr string) (classifier, error) {
	stmts, err := splitStatements(expr)
	if err != nil {
		return nil, err
	}
	var c classifier
	for _, st := range stmts {
		step, ok := csStatementsByText[compact(st)]
		if !ok {
			return nil, fmt.Errorf("statement has no Go translation in csStatements (add one, or keep the expression to the translated forms): %s", st)
		}
		c = append(c, step)
	}
	return c, nil
}

// strict reports whether the expression puts req in the tools/call bucket.
// An error is an exception the expression does not catch: APIM would fail
// the request with a runtime error instead of limiting it.
func (c classifier) strict(req gatewayRequest) (bool, error) {
	s := &csState{req: req}
	for _, step := range c {
		ret, err := step(s)
		if err != nil {
			return false, err
		}
		if ret != nil {
			return *ret, nil
		}
	}
	return false, errors.New("an execution path ends without return")
}

var variableRe = regexp.MustCompile(`context\.Variables\["([^"]+)"\]`)

// toolCallExpression returns the set-variable expression that the condition
// of the tools/call rate limit reads; "" when there is no such limit (lintMCP
// reports that).
func toolCallExpression(d *policyDoc) (string, error) {
	inbound := d.root.child("inbound")
	if inbound == nil {
		return "", nil
	}
	vars := map[string]string{}
	for _, sv := range inbound.all("set-variable") {
		vars[sv.attrs["name"]] = sv.attrs["value"]
	}
	for _, rl := range inbound.all("rate-limit-by-key") {
		w := rl.within("when")
		if w == nil || !mentionsToolCall(w.attrs["condition"], vars) {
			continue
		}
		for _, m := range variableRe.FindAllStringSubmatch(w.attrs["condition"], -1) {
			if v, ok := vars[m[1]]; ok {
				return v, nil
			}
		}
		return "", errors.New("the tools/call limit's condition reads no set-variable; classify in one so the check can read it")
	}
	return "", nil
}

var (
	parsesBodyRe   = regexp.MustCompile(`Body\s*\.\s*As<(JToken|JObject)>\(\s*preserveContent\s*:\s*true\s*\)`)
	rawBodyRe      = regexp.MustCompile(`Body\s*\.\s*As<\s*(string|byte\[\])\s*>`)
	bodyReadRe     = regexp.MustCompile(`Body\s*\.\s*As<[^>]*>\(([^)]*)\)`)
	catchStrictRe  = regexp.MustCompile(`catch\s*(\([^)]*\))?\s*\{\s*return\s+true\s*;\s*\}`)
	mcpMethodHdrRe = regexp.MustCompile(`Headers\s*\.\s*GetValueOrDefault\(\s*"Mcp-Method"`)
)

// lintToolCall checks the tools/call classifier: its shape, then its
// translation against the corpus.
func lintToolCall(d *policyDoc) []string {
	var problems []string
	fail := func(format string, a ...any) {
		problems = append(problems, d.path+": tools/call classifier: "+fmt.Sprintf(format, a...))
	}
	expr, err := toolCallExpression(d)
	if err != nil {
		fail("%v", err)
		return problems
	}
	if expr == "" {
		return nil
	}
	if !mcpMethodHdrRe.MatchString(expr) {
		fail("does not read the Mcp-Method header")
	}
	if !parsesBodyRe.MatchString(expr) {
		fail("does not parse the body as JSON (Body.As<JToken>(preserveContent: true))")
	}
	if rawBodyRe.MatchString(expr) {
		fail("matches the raw body text; JSON escapes, key case and duplicate keys dodge that")
	}
	for _, m := range bodyReadRe.FindAllStringSubmatch(expr, -1) {
		if !strings.Contains(compact(m[1]), "preserveContent:true") {
			fail("reads the body without preserveContent: true, so the server would get none")
		}
	}
	if strings.Contains(expr, "As<J") && !catchStrictRe.MatchString(expr) {
		fail("a body that does not parse must land in the tools/call bucket: want catch { return true; }")
	}
	c, err := translate(expr)
	if err != nil {
		fail("%v", err)
		return problems
	}
	for _, tc := range toolCallCorpus {
		got, err := c.strict(tc.req)
		switch {
		case err != nil:
			fail("%q: %v", tc.name, err)
		case got != tc.strict:
			fail("%q is classified %s, want %s", tc.name, bucket(got), bucket(tc.strict))
		}
	}
	return problems
}

func bucket(strict bool) string {
	if strict {
		return "tools/call"
	}
	return "general"
}

func mcpPolicy(t *testing.T) classifier {
	t.Helper()
	d, err := parsePolicy("policies/mcp-api.xml")
	if err != nil {
		t.Fatal(err)
	}
	expr, err := toolCallExpression(d)
	if err != nil || expr == "" {
		t.Fatalf("no tools/call classifier in policies/mcp-api.xml (%v)", err)
	}
	c, err := translate(expr)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestToolCallClassifier runs the deployed policy's classifier, as
// translated, over the corpus.
func TestToolCallClassifier(t *testing.T) {
	t.Parallel()
	c := mcpPolicy(t)
	for _, tc := range toolCallCorpus {
		t.Run(tc.name, func(t *testing.T) {
			got, err := c.strict(tc.req)
			if err != nil {
				t.Fatal(err)
			}
			if got != tc.strict {
				t.Errorf("bucket = %s, want %s (server runs a tool: %v) %s", bucket(got), bucket(tc.strict), tc.runs, tc.why)
			}
		})
	}
}

// TestToolCallCorpusMatchesServer sends every corpus request to mcp-go's
// Streamable HTTP server, with the options handler/app.go uses, and checks
// whether a tool ran: the corpus's runs column is the server's own parse.
func TestToolCallCorpusMatchesServer(t *testing.T) {
	t.Parallel()
	var calls atomic.Int64
	s := server.NewMCPServer("probe", "1", server.WithToolCapabilities(false))
	s.AddTool(mcp.NewTool("probe"), func(context.Context, mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		calls.Add(1)
		return mcp.NewToolResultText("ok"), nil
	})
	h := server.NewStreamableHTTPServer(s,
		server.WithStateLess(true),
		server.WithDisableStreaming(true),
		server.WithDisableLocalhostProtection(true),
		server.WithStreamableHTTPLogger(slog.New(slog.DiscardHandler)))
	for _, tc := range toolCallCorpus {
		t.Run(tc.name, func(t *testing.T) {
			if tc.runs && !tc.strict {
				t.Fatal("corpus error: a request the server runs as tools/call must be strict")
			}
			var r io.Reader = http.NoBody
			if tc.req.body != nil {
				r = bytes.NewReader([]byte(*tc.req.body))
			}
			req := httptest.NewRequest(tc.req.httpMethod(), "/mcp", r)
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Accept", "application/json, text/event-stream")
			for k, vs := range tc.req.headers {
				req.Header[k] = vs
			}
			before := calls.Load()
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, req)
			if got := calls.Load() > before; got != tc.runs {
				t.Errorf("server ran the tool = %v, want %v (HTTP %d: %.200s)", got, tc.runs, rec.Code, rec.Body.String())
			}
		})
	}
}

// TestMethodKeyFolding justifies comparing the key with OrdinalIgnoreCase:
// encoding/json matches "method" under Unicode simple folding, and no letter
// of it folds to anything outside ASCII, so both compare the same names.
func TestMethodKeyFolding(t *testing.T) {
	t.Parallel()
	for _, r := range "method" {
		for f := unicode.SimpleFold(r); f != r; f = unicode.SimpleFold(f) {
			if f > unicode.MaxASCII {
				t.Errorf("%q folds to %q: Go would match a key OrdinalIgnoreCase misses", r, f)
			}
		}
	}
}

func TestSplitStatements(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, expr string
		want       []string
	}{
		{"statements", `@{ int a = 1; return a; }`, []string{"int a = 1;", "return a;"}},
		{"blocks", `@{ if (a) { return b; } return c; }`, []string{"if (a) { return b; }", "return c;"}},
		{"try catch", `@{ try { x(); } catch (Exception) { return true; } return false; }`, []string{"try { x(); } catch (Exception) { return true; }", "return false;"}},
		{"literals", `@{ return "a;}" + 'b'; }`, []string{`return "a;}" + 'b';`}},
		{"escaped quote", `@{ return "\";"; }`, []string{`return "\";";`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := splitStatements(tt.expr)
			if err != nil {
				t.Fatal(err)
			}
			if strings.Join(got, "\n") != strings.Join(tt.want, "\n") {
				t.Errorf("got %q, want %q", got, tt.want)
			}
		})
	}
}
