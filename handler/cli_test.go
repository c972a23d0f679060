package handler

import (
	"strings"
	"testing"
)

func TestCommand(t *testing.T) {
	cases := []struct {
		args        []string
		code        int
		done        bool
		out, errOut string
	}{
		{nil, 0, false, "", ""},
		{[]string{"--help"}, 0, true, "Usage:", ""},
		{[]string{"-h"}, 0, true, "snippets-mcp --version", ""},
		{[]string{"--version"}, 0, true, "snippets-mcp " + version(), ""},
		{[]string{"--port=1"}, 2, true, "", `unknown argument "--port=1"`},
	}
	for _, c := range cases {
		t.Run(strings.Join(c.args, " "), func(t *testing.T) {
			var out, errOut strings.Builder
			code, done := command(c.args, &out, &errOut)
			if code != c.code || done != c.done {
				t.Errorf("got (%d, %v), want (%d, %v)", code, done, c.code, c.done)
			}
			if !strings.Contains(out.String(), c.out) || !strings.Contains(errOut.String(), c.errOut) {
				t.Errorf("stdout %q, stderr %q; want %q and %q", out.String(), errOut.String(), c.out, c.errOut)
			}
			if c.out == "" && out.Len() != 0 {
				t.Errorf("unexpected stdout %q", out.String())
			}
		})
	}
}
