package storage

import "testing"

func TestSegment(t *testing.T) {
	cases := map[string]string{
		"7d3c1b2a-5e4f": "7d3c1b2a-5e4f",
		"":              "_",
		"a/b":           "a_2fb",
		"..":            "_2e_2e",
		"_2f":           "_5f2f",
	}
	for in, want := range cases {
		if got := Segment(in); got != want {
			t.Errorf("Segment(%q) = %q, want %q", in, got, want)
		}
	}
	// Injective on tricky inputs: an escape sequence spelled out is not the escaped byte.
	if Segment("a/") == Segment("a_2f") {
		t.Fatal("two ids share a segment")
	}
}

func TestMetaIgnoresCase(t *testing.T) {
	v := "x"
	if Meta(map[string]*string{"Sha256": &v}, "sha256") != "x" || Meta(nil, "a") != "" {
		t.Fatal("Meta")
	}
}
