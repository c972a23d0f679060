package main

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/audit"
)

// dirAnchors is an AnchorStore writing blobs as files below a folder, the
// way `az storage blob download-batch` leaves them.
type dirAnchors struct{ dir string }

func (d dirAnchors) Append(_ context.Context, name string, line []byte) error {
	p := filepath.Join(d.dir, filepath.FromSlash(name))
	if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
		return err
	}
	f, err := os.OpenFile(p, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return err
	}
	defer f.Close()
	_, err = f.Write(line)
	return err
}

func TestRun(t *testing.T) {
	dir := t.TempDir()
	anchors := filepath.Join(dir, "anchors")
	var stdout bytes.Buffer
	aud := audit.New(audit.Options{ServerID: "srv", Warn: &bytes.Buffer{}}, audit.NewJSONSink(&stdout))
	aud.StartAnchors(audit.AnchorOptions{Store: dirAnchors{anchors}, Interval: time.Hour})
	for range 4 {
		aud.Record(audit.Event{Method: "tools/call", ToolName: "whoami", ResultCode: audit.ResultOK})
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if err := aud.Close(ctx); err != nil {
		t.Fatal(err)
	}
	lines := strings.SplitAfter(strings.TrimSpace(stdout.String()), "\n")
	write := func(name string, lines ...string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(strings.Join(lines, "")), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	clean := write("clean.jsonl", lines...)
	cut := write("cut.jsonl", lines[:2]...)

	tests := []struct {
		name     string
		args     []string
		code     int
		out, err string
	}{
		{"clean", []string{"-anchors", anchors, clean}, 0, "4 events, seq 1-4; 1 anchors, the newest at seq 4", ""},
		{"tail cut", []string{"-anchors", anchors, cut}, 1, "truncated: seq 3-4 (2 events) absent", ""},
		{"clean without anchors", []string{clean}, 0, "no anchor covers this segment", ""},
		{"no events named", []string{"-anchors", anchors}, 2, "", "no events file given"},
		{"missing file", []string{filepath.Join(dir, "nope.jsonl")}, 2, "", "nope.jsonl"},
		{"no events in the file", []string{write("empty.jsonl", "just a log line\n")}, 2, "", "no audit events in the input"},
		{"bad anchors", []string{"-anchors", write("bad-anchors.jsonl", "{}\n"), clean}, 2, "", "not an anchor"},
		{"unknown flag", []string{"-x", clean}, 2, "", "usage: auditverify"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out, errOut bytes.Buffer
			code := run(tt.args, strings.NewReader(""), &out, &errOut)
			if code != tt.code {
				t.Errorf("exit %d, want %d\nstdout:\n%s\nstderr:\n%s", code, tt.code, out.String(), errOut.String())
			}
			if !strings.Contains(out.String(), tt.out) || !strings.Contains(errOut.String(), tt.err) {
				t.Errorf("stdout %q, stderr %q; want %q and %q", out.String(), errOut.String(), tt.out, tt.err)
			}
		})
	}
	t.Run("stdin", func(t *testing.T) {
		var out bytes.Buffer
		if code := run([]string{"-anchors", anchors, "-"}, strings.NewReader(stdout.String()), &out, &bytes.Buffer{}); code != 0 {
			t.Errorf("exit %d, want 0:\n%s", code, out.String())
		}
	})
}
