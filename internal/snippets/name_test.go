package snippets

import (
	"strings"
	"testing"
)

func TestValidateName(t *testing.T) {
	good := []string{"a", "notes", "my-snippet_1.txt", "A.B-C_D", strings.Repeat("x", MaxNameLen)}
	bad := []string{"", ".hidden", "-x", "_x", "a/b", `a\b`, "..", "a..b", "../etc/passwd", "a b", "naïve", "ａbc", /* fullwidth */
		"a\x00b", "a%2fb", "a?b", "a#b", "a:b", strings.Repeat("x", MaxNameLen+1), "snippet\n"}
	for _, n := range good {
		if err := ValidateName(n); err != nil {
			t.Errorf("%q refused: %v", n, err)
		}
	}
	for _, n := range bad {
		err := ValidateName(n)
		if err == nil {
			t.Errorf("%q accepted", n)
			continue
		}
		if !strings.Contains(err.Error(), "names are") {
			t.Errorf("%q: message does not say what is allowed: %v", n, err)
		}
	}
}

func TestSpacesDoNotOverlap(t *testing.T) {
	a := Private("t", "u").prefix()
	b := Shared("t").prefix()
	c := Private("t/u-x", "y").prefix()
	d := Private("t", "_shared").prefix()
	seen := map[string]bool{}
	for _, p := range []string{a, b, c, d} {
		if seen[p] {
			t.Fatalf("prefix %q used twice", p)
		}
		seen[p] = true
		for _, q := range []string{a, b, c, d} {
			if p != q && strings.HasPrefix(q, p) {
				t.Errorf("prefix %q contains %q", p, q)
			}
		}
	}
}
