package e2e

import (
	"bufio"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// TestProtocol replays the request/response transcripts in
// testdata/protocol/*.txtar against one server. Each file's comment says
// what it guards against. Sections:
//
//	-- request --   "METHOD /path", header lines, a blank line, the body;
//	                {{repeat "x" N}} in the body expands to N copies of x.
//	-- want --      "status: N", "header: Name: substring",
//	                "contains: substring", "lacks: substring",
//	                "order: a | b | c" (substrings appearing in this order),
//	                "error.code: N", "isError: true|false"
func TestProtocol(t *testing.T) {
	t.Parallel()
	srv, _ := devServer(t, "MCP_MAX_BODY_BYTES=8192", "SNIPPET_MAX_BYTES=4096")
	files, err := filepath.Glob(filepath.Join("testdata", "protocol", "*.txtar"))
	if err != nil || len(files) == 0 {
		t.Fatalf("no transcripts: %v", err)
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			if strings.TrimSpace(string(ar.Comment)) == "" {
				t.Fatal("transcript has no comment saying what it guards against")
			}
			sections := map[string]string{}
			for _, f := range ar.Files {
				sections[f.Name] = string(f.Data)
			}
			resp, body := replay(t, srv.URL, sections["request"])
			check(t, resp, body, sections["want"])
		})
	}
}

func replay(t *testing.T, base, request string) (*http.Response, string) {
	t.Helper()
	head, body, _ := strings.Cut(request, "\n\n")
	lines := strings.Split(strings.TrimSpace(head), "\n")
	method, path, ok := strings.Cut(lines[0], " ")
	if !ok {
		t.Fatalf("bad request line %q", lines[0])
	}
	body = expand(t, strings.TrimSuffix(body, "\n"))
	req, err := http.NewRequest(method, base+path, strings.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range lines[1:] {
		k, v, _ := strings.Cut(l, ":")
		if strings.EqualFold(k, "Host") {
			req.Host = strings.TrimSpace(v)
			continue
		}
		req.Header.Add(strings.TrimSpace(k), strings.TrimSpace(v))
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp, string(b)
}

func expand(t *testing.T, body string) string {
	for {
		i := strings.Index(body, "{{repeat ")
		if i < 0 {
			return body
		}
		j := strings.Index(body[i:], "}}")
		fields := strings.Fields(body[i+len("{{repeat ") : i+j])
		if len(fields) != 2 {
			t.Fatalf("bad repeat directive in %q", body[i:i+j])
		}
		s, _ := strconv.Unquote(fields[0])
		n, _ := strconv.Atoi(fields[1])
		body = body[:i] + strings.Repeat(s, n) + body[i+j+2:]
	}
}

func check(t *testing.T, resp *http.Response, body, want string) {
	t.Helper()
	sc := bufio.NewScanner(strings.NewReader(want))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		key, val, _ := strings.Cut(line, ":")
		val = strings.TrimSpace(val)
		switch key {
		case "status":
			if strconv.Itoa(resp.StatusCode) != val {
				t.Errorf("status %d, want %s; body: %s", resp.StatusCode, val, body)
			}
		case "header":
			name, sub, _ := strings.Cut(val, ":")
			if got := resp.Header.Get(strings.TrimSpace(name)); !strings.Contains(got, strings.TrimSpace(sub)) {
				t.Errorf("header %s = %q, want it to contain %q", name, got, strings.TrimSpace(sub))
			}
		case "contains":
			if !strings.Contains(body, val) {
				t.Errorf("body does not contain %q: %s", val, body)
			}
		case "lacks":
			if strings.Contains(body, val) {
				t.Errorf("body contains %q: %s", val, body)
			}
		case "order":
			rest := body
			for _, part := range strings.Split(val, "|") {
				part = strings.TrimSpace(part)
				i := strings.Index(rest, part)
				if i < 0 {
					t.Errorf("%q missing or out of order (want %s): %s", part, val, body)
					break
				}
				rest = rest[i+len(part):]
			}
		case "error.code":
			var r rpc
			if err := json.Unmarshal([]byte(body), &r); err != nil || r.Error == nil || strconv.Itoa(r.Error.Code) != val {
				t.Errorf("want JSON-RPC error %s, got: %s", val, body)
			}
		case "isError":
			var r rpc
			var tr toolResult
			if err := json.Unmarshal([]byte(body), &r); err != nil || r.Result == nil || json.Unmarshal(r.Result, &tr) != nil {
				t.Errorf("want a tool result, got: %s", body)
			} else if strconv.FormatBool(tr.IsError) != val {
				t.Errorf("isError %v, want %s: %s", tr.IsError, val, body)
			}
		default:
			t.Fatalf("unknown expectation %q", line)
		}
	}
}
