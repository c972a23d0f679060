// Package azdpkg reproduces how azd (1.26.0 and later) packages a service
// with `language: go` and `host: function`: `go mod download`, then
// `go build -o app .` in the project folder with GOOS=linux GOARCH=amd64
// CGO_ENABLED=0, then a zip holding only `app` (mode 0755, executable bit
// also in the zip entry) and the project's host.json. `make stage` and the
// infra tests use it, so what they check is what azd deploys.
package azdpkg

import (
	"archive/zip"
	"context"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
)

// Binary is the file name azd gives the built executable; host.json's
// customHandler.description.defaultExecutablePath must name it.
const Binary = "app"

// Env is the build environment azd sets on top of the caller's.
var Env = []string{"GOOS=linux", "GOARCH=amd64", "CGO_ENABLED=0"}

// Files are the only files azd stages, at the package root.
var Files = []string{Binary, "host.json"}

// Build runs azd's two commands in projectDir. out is where the binary
// lands: azd writes Binary in projectDir; tests pass a temporary path so
// they never touch the working tree (the argv is otherwise identical).
func Build(ctx context.Context, projectDir, out string) error {
	for _, args := range [][]string{{"mod", "download"}, {"build", "-o", out, "."}} {
		cmd := exec.CommandContext(ctx, "go", args...)
		cmd.Dir = projectDir
		cmd.Env = append(os.Environ(), Env...)
		if b, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("go %v in %s: %w\n%s", args, projectDir, err, b)
		}
	}
	return nil
}

// Stage copies the built binary (mode 0755) and projectDir/host.json into
// stageDir, which must not exist yet.
func Stage(projectDir, bin, stageDir string) error {
	if err := os.Mkdir(stageDir, 0o755); err != nil {
		return err
	}
	if err := copyFile(bin, filepath.Join(stageDir, Binary), 0o755); err != nil {
		return err
	}
	return copyFile(filepath.Join(projectDir, "host.json"), filepath.Join(stageDir, "host.json"), 0o644)
}

// Zip writes the staged files into zipPath with their Unix modes in the
// entries' external attributes, as azd does (on Windows it sets the
// executable bit on `app` explicitly; the host runs it on Linux).
func Zip(stageDir, zipPath string) error {
	f, err := os.Create(zipPath)
	if err != nil {
		return err
	}
	zw := zip.NewWriter(f)
	for _, name := range Files {
		if err := addFile(zw, stageDir, name); err != nil {
			f.Close()
			return err
		}
	}
	if err := zw.Close(); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

func addFile(zw *zip.Writer, dir, name string) error {
	src, err := os.Open(filepath.Join(dir, name))
	if err != nil {
		return err
	}
	defer src.Close()
	fi, err := src.Stat()
	if err != nil {
		return err
	}
	h, err := zip.FileInfoHeader(fi)
	if err != nil {
		return err
	}
	h.Name, h.Method = name, zip.Deflate
	if name == Binary {
		h.SetMode(0o755)
	}
	w, err := zw.CreateHeader(h)
	if err != nil {
		return err
	}
	_, err = io.Copy(w, src)
	return err
}

func copyFile(from, to string, mode os.FileMode) error {
	src, err := os.Open(from)
	if err != nil {
		return err
	}
	defer src.Close()
	dst, err := os.OpenFile(to, os.O_WRONLY|os.O_CREATE|os.O_EXCL, mode)
	if err != nil {
		return err
	}
	if _, err := io.Copy(dst, src); err != nil {
		dst.Close()
		return err
	}
	if err := dst.Close(); err != nil {
		return err
	}
	// The umask may have cleared bits; the mode is part of the contract.
	return os.Chmod(to, mode)
}
