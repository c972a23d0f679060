package storage

import (
	"strconv"
	"strings"
	"testing"
)

// unsegment reverses Segment, so the fuzz test can show no information is
// lost (and so no two ids share a segment).
func unsegment(t *testing.T, s string) string {
	if s == "_" {
		return ""
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '_' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			t.Fatalf("segment %q ends inside an escape", s)
		}
		n, err := strconv.ParseUint(s[i+1:i+3], 16, 8)
		if err != nil {
			t.Fatalf("segment %q has a bad escape at %d", s, i)
		}
		b.WriteByte(byte(n))
		i += 2
	}
	return b.String()
}

// FuzzSegment checks that Segment makes exactly one safe path segment of
// any id (only [A-Za-z0-9_-], never empty, no '/', no '.'), that it loses
// nothing (it can be reversed), and that different ids never collide.
//
// go test ./internal/storage -run '^$' -fuzz FuzzSegment -fuzztime 5m
func FuzzSegment(f *testing.F) {
	for _, s := range [][2]string{
		{"", "_"}, {"a/b", "a_2fb"}, {"..", "_2e_2e"}, {"7d3c1b2a-5e4f", "7d3c1b2a_5e4f"},
		{"\x00", "\xff"}, {"\u043e", "o"}, {"_", "_5f"}, {"A", "a"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, a, b string) {
		sa := Segment(a)
		if sa == "" || strings.ContainsAny(sa, "/.\\") {
			t.Fatalf("Segment(%q) = %q is not one safe segment", a, sa)
		}
		for i := 0; i < len(sa); i++ {
			c := sa[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				t.Fatalf("Segment(%q) = %q has byte %q", a, sa, c)
			}
		}
		if got := unsegment(t, sa); got != a {
			t.Fatalf("Segment(%q) = %q decodes to %q", a, sa, got)
		}
		if a != b && Segment(b) == sa {
			t.Fatalf("Segment(%q) == Segment(%q) == %q", a, b, sa)
		}
	})
}
