package snippets

import (
	"errors"
	"path"
	"regexp"
	"strings"
	"testing"
)

// nameRef is NameRule written as a regular expression, independently of
// ValidateName's hand-written loop ('..' is checked separately).
var nameRef = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$`)

// FuzzValidateName checks ValidateName against the rule it documents, and
// that every accepted name stays one path level inside its space's prefix.
// Rejections are *InvalidError with a message that names the rule.
//
// go test ./internal/snippets -run '^$' -fuzz FuzzValidateName -fuzztime 5m
func FuzzValidateName(f *testing.F) {
	for _, s := range []string{
		"notes", "a", "A.b_c-d", "9lives", strings.Repeat("x", 128), strings.Repeat("x", 129),
		"", ".", "..", "../x", "a/b", "a\\b", "a..b", ".hidden", "-a", "_a", "a\x00b", "n\u043etes",
		"\uff4e", "a\u200bb", "%2e%2e", "a.", "a b", "CON", "a\xffb",
	} {
		f.Add(s)
	}
	sp := Private("tenant-1", "owner-1")
	f.Fuzz(func(t *testing.T, name string) {
		err := ValidateName(name)
		want := nameRef.MatchString(name) && !strings.Contains(name, "..")
		if (err == nil) != want {
			t.Fatalf("ValidateName(%q) = %v, the rule says valid=%v", name, err, want)
		}
		if err != nil {
			var inv *InvalidError
			if !errors.As(err, &inv) || !strings.Contains(inv.Msg, NameRule) {
				t.Fatalf("rejection of %q is not an InvalidError naming the rule: %v", name, err)
			}
			return
		}
		if p := sp.prefix() + name; path.Clean(p) != p || path.Dir(p)+"/" != sp.prefix() {
			t.Fatalf("accepted name %q leaves its space: %q", name, p)
		}
		if perr := ValidatePrefix(name); perr != nil {
			t.Fatalf("valid name %q is not a valid prefix: %v", name, perr)
		}
	})
}
