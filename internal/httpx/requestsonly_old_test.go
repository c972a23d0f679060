package httpx

import (
	"encoding/json"
	"strings"
	"testing"
)

// isRequestTwoDecodes is isRequest as it was before it skipped the second
// decode for a message with an id: both of mcp-go's decodes, always. It is
// the oracle the tests below hold isRequest to, and the baseline of
// BenchmarkIsRequest.
func isRequestTwoDecodes(body []byte) bool {
	var post struct {
		ID     json.RawMessage `json:"id"`
		Result json.RawMessage `json:"result,omitempty"`
		Error  json.RawMessage `json:"error,omitempty"`
		Method string          `json:"method,omitempty"`
	}
	if json.Unmarshal(body, &post) != nil {
		return true
	}
	if post.Method == "" && post.ID != nil {
		return false
	}
	var msg struct {
		JSONRPC string `json:"jsonrpc"`
		Method  string `json:"method"`
		ID      any    `json:"id,omitempty"`
		Result  any    `json:"result,omitempty"`
	}
	if json.Unmarshal(body, &msg) != nil || msg.JSONRPC != "2.0" {
		return true
	}
	return msg.ID != nil
}

// isRequestBodies are messages whose judgement turns on the id, the
// version and the second decode's errors: duplicate and differently cased
// ids, null after a value and a value after null, numbers the second decode
// cannot hold, versions that are not strings.
var isRequestBodies = []string{
	`{"jsonrpc":"2.0","id":1,"method":"tools/call","params":{"name":"x"}}`,
	`{"jsonrpc":"2.0","id":"1","method":"ping"}`,
	`{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1}}`,
	`{"jsonrpc":"2.0","id":null,"method":"notifications/cancelled"}`,
	`{"jsonrpc":"2.0","id":1,"id":null,"method":"notifications/cancelled"}`,
	`{"jsonrpc":"2.0","id":null,"id":1,"method":"notifications/cancelled"}`,
	`{"jsonrpc":"2.0","ID":1,"method":"notifications/cancelled"}`,
	`{"jsonrpc":"2.0","id":1,"Id":null,"method":"notifications/cancelled"}`,
	`{"jsonrpc":"2.0","id":1e400,"method":"notifications/cancelled"}`,
	`{"jsonrpc":"2.0","id":1e400,"id":null,"method":"notifications/cancelled"}`,
	`{"jsonrpc":"2.0","id":[1e400],"method":"ping"}`,
	`{"jsonrpc":"2.0","method":"notifications/cancelled","result":1e400}`,
	`{"jsonrpc":"2.0","id":1,"method":"ping","result":1e400}`,
	`{"jsonrpc":2,"id":1,"method":"ping"}`,
	`{"jsonrpc":2,"method":"notifications/cancelled"}`,
	`{"jsonrpc":2,"jsonrpc":"2.0","method":"notifications/cancelled"}`,
	`{"jsonrpc":"1.0","id":1,"method":"ping"}`,
	`{"jsonrpc":"2.0","id":{},"method":"ping"}`,
	`{"jsonrpc":"2.0","id":false,"method":"ping"}`,
	`{"jsonrpc":"2.0","id":1,"result":{}}`,
	`{"jsonrpc":"2.0","id":null,"result":{}}`,
	`{"jsonrpc":"2.0","id":1,"method":1}`,
	`{"jsonrpc":"2.0"}`, `null`, `1`, `"x"`, `[]`, `{`, ``, ` {"jsonrpc":"2.0","id" : null ,"method":"x"} `,
}

// TestIsRequestMatchesTwoDecodes: skipping the second decode for a message
// with an id changes no judgement.
func TestIsRequestMatchesTwoDecodes(t *testing.T) {
	for _, b := range isRequestBodies {
		if got, want := isRequest([]byte(b)), isRequestTwoDecodes([]byte(b)); got != want {
			t.Errorf("%s: isRequest %v, both decodes %v", b, got, want)
		}
	}
}

func FuzzIsRequestMatchesTwoDecodes(f *testing.F) {
	for _, b := range isRequestBodies {
		f.Add([]byte(b))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if got, want := isRequest(body), isRequestTwoDecodes(body); got != want {
			t.Errorf("%q: isRequest %v, both decodes %v", body, got, want)
		}
	})
}

// BenchmarkIsRequest: a tools/call (whoami's, and save_snippet's with a
// 1 KiB snippet) judged with both decodes, as before, and as now.
func BenchmarkIsRequest(b *testing.B) {
	for _, c := range []struct{ name, body string }{
		{"whoami", `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"whoami","arguments":{}}}`},
		{"save_1KiB", `{"jsonrpc":"2.0","id":7,"method":"tools/call","params":{"name":"save_snippet","arguments":{"snippetname":"bench","snippet":"` +
			strings.Repeat("x", 1024) + `"}}}`},
	} {
		body := []byte(c.body)
		b.Run(c.name+"/two_decodes", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !isRequestTwoDecodes(body) {
					b.Fatal("not a request")
				}
			}
		})
		b.Run(c.name+"/now", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if !isRequest(body) {
					b.Fatal("not a request")
				}
			}
		})
	}
}
