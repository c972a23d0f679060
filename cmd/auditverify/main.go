// Command auditverify checks exported audit events against their hash
// chain and the chain anchors: it reports, per segment (one per server
// process start), missing, reordered and edited events and a tail cut off
// before an anchor. docs/AUDIT.md ("Verifying the trail") says how to get
// the inputs.
//
// Usage:
//
//	auditverify [-anchors FILE|DIR]... EVENTS...
//
// EVENTS are files of audit events: the server's stdout (JSON lines), or a
// Log Analytics export of AppEvents or customEvents (JSON array, JSON
// lines, or CSV with a Properties or customDimensions column); "-" reads
// stdin. -anchors names downloaded anchor blobs, or folders of them (read
// recursively). Exit status: 0 no findings, 1 findings, 2 usage or input
// error.
package main

import (
	"errors"
	"flag"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/snippets-mcp/server/internal/audit"
)

func main() { os.Exit(run(os.Args[1:], os.Stdin, os.Stdout, os.Stderr)) }

const usage = `usage: auditverify [-anchors FILE|DIR]... EVENTS...

EVENTS: audit events as the server's stdout writes them (JSON lines), or a Log
Analytics export of AppEvents or customEvents rows (JSON array, JSON lines, or
CSV with a Properties or customDimensions column); "-" reads stdin.
-anchors: anchor blobs downloaded from the audit-anchors container, or folders
holding them (read recursively); may be repeated.

Exit status: 0 no findings, 1 findings, 2 usage or input error.
`

func run(args []string, stdin io.Reader, stdout, stderr io.Writer) int {
	fl := flag.NewFlagSet("auditverify", flag.ContinueOnError)
	fl.SetOutput(stderr)
	fl.Usage = func() { fmt.Fprint(stderr, usage) }
	var anchorPaths []string
	fl.Func("anchors", "anchor blob file or folder (repeatable)", func(s string) error {
		anchorPaths = append(anchorPaths, s)
		return nil
	})
	if err := fl.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return 0
		}
		return 2
	}
	if fl.NArg() == 0 {
		fmt.Fprint(stderr, "auditverify: no events file given\n\n"+usage)
		return 2
	}
	var in audit.Input
	for _, p := range fl.Args() {
		got, err := readEvents(p, stdin)
		if err != nil {
			fmt.Fprintln(stderr, "auditverify:", err)
			return 2
		}
		in.Records = append(in.Records, got.Records...)
		in.Malformed = append(in.Malformed, got.Malformed...)
		in.Skipped += got.Skipped
	}
	var anchors []audit.Anchor
	for _, p := range anchorPaths {
		got, err := readAnchors(p)
		if err != nil {
			fmt.Fprintln(stderr, "auditverify:", err)
			return 2
		}
		anchors = append(anchors, got...)
	}
	if len(in.Records) == 0 && len(in.Malformed) == 0 {
		fmt.Fprintln(stderr, "auditverify: no audit events in the input")
		return 2
	}
	rep := audit.Verify(in, anchors)
	rep.WriteText(stdout)
	if rep.Findings() > 0 {
		return 1
	}
	return 0
}

func readEvents(path string, stdin io.Reader) (audit.Input, error) {
	if path == "-" {
		return audit.ReadEvents("stdin", stdin)
	}
	f, err := os.Open(path)
	if err != nil {
		return audit.Input{}, fmt.Errorf("events: %w", err)
	}
	defer f.Close()
	return audit.ReadEvents(path, f)
}

// readAnchors reads one anchors file, or every file below a folder.
func readAnchors(path string) ([]audit.Anchor, error) {
	var out []audit.Anchor
	err := filepath.WalkDir(path, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return fmt.Errorf("anchors: %w", err)
		}
		if d.IsDir() {
			return nil
		}
		f, err := os.Open(p)
		if err != nil {
			return fmt.Errorf("anchors: %w", err)
		}
		defer f.Close()
		got, err := audit.ReadAnchors(p, f)
		if err != nil {
			return fmt.Errorf("anchors: %w", err)
		}
		out = append(out, got...)
		return nil
	})
	return out, err
}
