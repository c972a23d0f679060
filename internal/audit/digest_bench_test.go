package audit

import (
	"encoding/json"
	"strings"
	"testing"
)

// BenchmarkArgumentsDigest compares the two digests of a tool call's
// arguments: canonical (ArgumentsDigest of the decoded arguments, what a
// tools/call event recorded before) and received (ReceivedArgumentsDigest
// of the bytes as sent, what it records now), for whoami's empty arguments
// and save_snippet's with a 1 KiB snippet of code.
func BenchmarkArgumentsDigest(b *testing.B) {
	save, _ := json.Marshal(map[string]any{"snippetname": "notes-2026", "shared": false, "etag": `"0x8D1"`,
		"snippet": strings.Repeat("func f() { return \"<x>\" }\n", 40)})
	for _, c := range []struct {
		name string
		raw  []byte
	}{{"whoami", []byte(`{}`)}, {"save_1KiB", save}} {
		var decoded any
		if err := json.Unmarshal(c.raw, &decoded); err != nil {
			b.Fatal(err)
		}
		b.Run(c.name+"/canonical", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ArgumentsDigest(decoded)
			}
		})
		b.Run(c.name+"/received", func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				ReceivedArgumentsDigest(c.raw)
			}
		})
	}
}
