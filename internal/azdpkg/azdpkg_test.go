package azdpkg

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// project writes a module with the given files into a new directory.
func project(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

const goMod = "module example.test/app\n\ngo 1.22\n"

// A build for another target, or with cgo, compiles one of the files that
// break it: the build succeeding proves the environment azd sets.
var targetGuards = map[string]string{
	"go.mod":  goMod,
	"main.go": "package main\n\nfunc main() { println(\"hello from app\") }\n",
	"not_linux_amd64.go": "//go:build !linux || !amd64\n\npackage main\n\n" +
		"var _ = built_for_another_target\n",
	"cgo.go": "//go:build cgo\n\npackage main\n\nvar _ = built_with_cgo\n",
}

func TestBuild(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		files   map[string]string
		wantErr []string // in the error; nil means success
	}{
		{"linux amd64 without cgo", targetGuards, nil},
		{"compile error", map[string]string{"go.mod": goMod, "main.go": "package main\n\nfunc main() { undefined_name() }\n"},
			[]string{"go [build -o", "undefined: undefined_name"}},
		{"no module", map[string]string{"main.go": "package main\n\nfunc main() {}\n"}, []string{"go [mod download]"}},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := project(t, c.files)
			out := filepath.Join(t.TempDir(), Binary)
			err := Build(context.Background(), dir, out)
			if c.wantErr != nil {
				if err == nil {
					t.Fatal("Build succeeded, want an error")
				}
				for _, w := range c.wantErr {
					if !strings.Contains(err.Error(), w) {
						t.Errorf("Build error %q, want it to contain %q", err, w)
					}
				}
				if !strings.Contains(err.Error(), dir) {
					t.Errorf("Build error %q, want it to name the project folder %s", err, dir)
				}
				return
			}
			if err != nil {
				t.Fatalf("Build: %v", err)
			}
			f, err := elf.Open(out)
			if err != nil {
				t.Fatalf("the binary is not ELF: %v", err)
			}
			defer f.Close()
			if f.Machine != elf.EM_X86_64 {
				t.Errorf("machine %v, want %v", f.Machine, elf.EM_X86_64)
			}
			// CGO_ENABLED=0 links statically: no interpreter.
			if slices.ContainsFunc(f.Progs, func(p *elf.Prog) bool { return p.Type == elf.PT_INTERP }) {
				t.Error("the binary has a dynamic loader, want a static one")
			}
			if _, err := os.Stat(filepath.Join(dir, Binary)); !os.IsNotExist(err) {
				t.Errorf("Build wrote %s in the project folder (%v), want only at out", Binary, err)
			}
		})
	}
}

func TestBuildCanceled(t *testing.T) {
	t.Parallel()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if err := Build(ctx, project(t, targetGuards), filepath.Join(t.TempDir(), Binary)); err == nil {
		t.Fatal("Build with a canceled context succeeded, want an error")
	}
}

func TestStage(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name       string
		noHostJSON bool
		noBinary   bool
		stageExist bool
		wantErr    bool
	}{
		{"stages both", false, false, false, false},
		{"stage folder exists", false, false, true, true},
		{"no host.json", true, false, false, true},
		{"no binary", false, true, false, true},
	}
	// A staged file that cannot be read is an error too.
	t.Run("binary is a folder", func(t *testing.T) {
		t.Parallel()
		proj := t.TempDir()
		if err := os.WriteFile(filepath.Join(proj, "host.json"), []byte("{}"), 0o600); err != nil {
			t.Fatal(err)
		}
		if err := Stage(proj, t.TempDir(), filepath.Join(t.TempDir(), "stage")); err == nil {
			t.Fatal("Stage of a folder as the binary succeeded, want an error")
		}
	})
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			proj := t.TempDir()
			if !c.noHostJSON {
				if err := os.WriteFile(filepath.Join(proj, "host.json"), []byte(`{"version":"2.0"}`), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			bin := filepath.Join(t.TempDir(), "built")
			if !c.noBinary {
				// Written without the executable bit: Stage must set it.
				if err := os.WriteFile(bin, []byte("\x7fELF binary"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			stage := filepath.Join(t.TempDir(), "stage")
			if c.stageExist {
				if err := os.Mkdir(stage, 0o755); err != nil {
					t.Fatal(err)
				}
			}
			err := Stage(proj, bin, stage)
			if c.wantErr {
				if err == nil {
					t.Fatal("Stage succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Stage: %v", err)
			}
			entries, err := os.ReadDir(stage)
			if err != nil {
				t.Fatal(err)
			}
			var names []string
			for _, e := range entries {
				names = append(names, e.Name())
			}
			if want := slices.Sorted(slices.Values(Files)); !slices.Equal(names, want) {
				t.Errorf("staged %q, want %q", names, want)
			}
			for name, want := range map[string]struct {
				body string
				mode fs.FileMode
			}{Binary: {"\x7fELF binary", 0o755}, "host.json": {`{"version":"2.0"}`, 0o644}} {
				fi, err := os.Stat(filepath.Join(stage, name))
				if err != nil {
					t.Fatal(err)
				}
				if got := fi.Mode().Perm(); got != want.mode {
					t.Errorf("%s: mode %v, want %v", name, got, want.mode)
				}
				b, err := os.ReadFile(filepath.Join(stage, name))
				if err != nil {
					t.Fatal(err)
				}
				if string(b) != want.body {
					t.Errorf("%s: %q, want %q", name, b, want.body)
				}
			}
		})
	}
}

func TestZip(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name    string
		files   map[string]string // in the stage folder
		wantErr bool
	}{
		{"app and host.json", map[string]string{Binary: "bin", "host.json": "{}"}, false},
		{"only those two", map[string]string{Binary: "bin", "host.json": "{}", "local.settings.json": "secret"}, false},
		{"no host.json", map[string]string{Binary: "bin"}, true},
		{"no app", map[string]string{"host.json": "{}"}, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			stage := t.TempDir()
			for name, body := range c.files {
				// All 0644: the zip entry of app is executable regardless.
				if err := os.WriteFile(filepath.Join(stage, name), []byte(body), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			zipPath := filepath.Join(t.TempDir(), "stage.zip")
			err := Zip(stage, zipPath)
			if c.wantErr {
				if err == nil {
					t.Fatal("Zip succeeded, want an error")
				}
				return
			}
			if err != nil {
				t.Fatalf("Zip: %v", err)
			}
			zr, err := zip.OpenReader(zipPath)
			if err != nil {
				t.Fatal(err)
			}
			defer zr.Close()
			var names []string
			for _, f := range zr.File {
				names = append(names, f.Name)
				wantMode := fs.FileMode(0o644)
				if f.Name == Binary {
					wantMode = 0o755
				}
				if got := f.Mode().Perm(); got != wantMode {
					t.Errorf("%s: mode %v, want %v", f.Name, got, wantMode)
				}
				if f.Method != zip.Deflate {
					t.Errorf("%s: method %d, want deflate", f.Name, f.Method)
				}
				if f.CreatorVersion>>8 != 3 { // Unix: the mode is in the external attributes
					t.Errorf("%s: creator %d, want Unix (3)", f.Name, f.CreatorVersion>>8)
				}
				rc, err := f.Open()
				if err != nil {
					t.Fatal(err)
				}
				b, err := io.ReadAll(rc)
				rc.Close()
				if err != nil {
					t.Fatal(err)
				}
				if !bytes.Equal(b, []byte(c.files[f.Name])) {
					t.Errorf("%s: %q, want %q", f.Name, b, c.files[f.Name])
				}
			}
			if !slices.Equal(names, Files) {
				t.Errorf("entries %q, want %q", names, Files)
			}
		})
	}
}

func TestZipUnwritable(t *testing.T) {
	t.Parallel()
	if err := Zip(t.TempDir(), filepath.Join(t.TempDir(), "missing", "stage.zip")); err == nil {
		t.Fatal("Zip into a missing folder succeeded, want an error")
	}
}

// copyFile never overwrites, and the mode it is given is the mode the file
// ends with.
func TestCopyFile(t *testing.T) {
	t.Parallel()
	cases := []struct {
		name      string
		srcIsDir  bool
		dstExists bool
		mode      fs.FileMode
		wantErr   bool
	}{
		{"executable", false, false, 0o755, false},
		{"private", false, false, 0o600, false},
		{"group write survives the umask", false, false, 0o775, false},
		{"destination exists", false, true, 0o644, true},
		{"source is a folder", true, false, 0o644, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			t.Parallel()
			dir := t.TempDir()
			src, dst := filepath.Join(dir, "src"), filepath.Join(dir, "dst")
			if c.srcIsDir {
				if err := os.Mkdir(src, 0o755); err != nil {
					t.Fatal(err)
				}
			} else if err := os.WriteFile(src, []byte("new"), 0o600); err != nil {
				t.Fatal(err)
			}
			if c.dstExists {
				if err := os.WriteFile(dst, []byte("old"), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			err := copyFile(src, dst, c.mode)
			if c.wantErr {
				if err == nil {
					t.Fatal("copyFile succeeded, want an error")
				}
				if c.dstExists {
					if b, _ := os.ReadFile(dst); string(b) != "old" {
						t.Errorf("destination now %q, want it untouched (%q)", b, "old")
					}
				}
				return
			}
			if err != nil {
				t.Fatalf("copyFile: %v", err)
			}
			fi, err := os.Stat(dst)
			if err != nil {
				t.Fatal(err)
			}
			if fi.Mode().Perm() != c.mode {
				t.Errorf("mode %v, want %v", fi.Mode().Perm(), c.mode)
			}
			if b, _ := os.ReadFile(dst); string(b) != "new" {
				t.Errorf("content %q, want %q", b, "new")
			}
		})
	}
}
