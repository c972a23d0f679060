package storage

import "testing"

func TestSegmentEscapes(t *testing.T) {
	t.Parallel()
	cases := []struct{ name, in, want string }{
		{"letters, digits and hyphen kept", "AZaz09-", "AZaz09-"},
		{"underscore escaped", "a_b", "a_5fb"},
		{"dot", "a.b", "a_2eb"},
		{"space", "a b", "a_20b"},
		{"NUL", "\x00", "_00"},
		{"high byte", "\xff", "_ff"},
		{"UTF-8, byte by byte", "é", "_c3_a9"},
		{"percent", "%2F", "_252F"},
		{"empty", "", "_"},
		{"a lone underscore is not the empty id", "_", "_5f"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := Segment(c.in); got != c.want {
				t.Errorf("Segment(%q) = %q, want %q", c.in, got, c.want)
			}
		})
	}
}

func TestMeta(t *testing.T) {
	t.Parallel()
	v, w := "v", "w"
	cases := []struct {
		name string
		m    map[string]*string
		key  string
		want string
	}{
		{"nil map", nil, "sha256", ""},
		{"same case", map[string]*string{"sha256": &v}, "sha256", "v"},
		{"other case", map[string]*string{"Sha256": &v}, "sha256", "v"},
		{"key asked in upper case", map[string]*string{"sha256": &v}, "SHA256", "v"},
		{"missing", map[string]*string{"owner": &v}, "sha256", ""},
		{"nil value", map[string]*string{"sha256": nil}, "sha256", ""},
		{"nil value next to one in another case", map[string]*string{"sha256": nil, "Sha256": &w}, "sha256", "w"},
		{"prefix is not a match", map[string]*string{"sha2567": &v}, "sha256", ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			if got := Meta(c.m, c.key); got != c.want {
				t.Errorf("Meta(%v, %q) = %q, want %q", c.m, c.key, got, c.want)
			}
		})
	}
}
