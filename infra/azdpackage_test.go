package infra

import (
	"archive/zip"
	"bytes"
	"context"
	"debug/elf"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/snippets-mcp/server/internal/azdpkg"
	"github.com/snippets-mcp/server/internal/storage/azurite"
)

// checkPackage reports how the zip at path differs from what the Functions
// host can run: exactly app and host.json at the root, app executable
// (0755 in the entry's Unix mode), host.json naming app as its executable.
func checkPackage(path string) []string {
	zr, err := zip.OpenReader(path)
	if err != nil {
		return []string{err.Error()}
	}
	defer zr.Close()
	var problems []string
	var names []string
	entries := map[string]*zip.File{}
	for _, f := range zr.File {
		names = append(names, f.Name)
		entries[f.Name] = f
	}
	slices.Sort(names)
	if want := slices.Sorted(slices.Values(azdpkg.Files)); !slices.Equal(names, want) {
		problems = append(problems, fmt.Sprintf("package holds %v, want exactly %v at the root", names, want))
	}
	hj, ok := entries["host.json"]
	if !ok {
		return append(problems, "no host.json at the package root")
	}
	b, err := readEntry(hj)
	if err != nil {
		return append(problems, err.Error())
	}
	var host struct {
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string `json:"defaultExecutablePath"`
			} `json:"description"`
		} `json:"customHandler"`
	}
	if err := json.Unmarshal(b, &host); err != nil {
		return append(problems, "host.json: "+err.Error())
	}
	exe := host.CustomHandler.Description.DefaultExecutablePath
	f, ok := entries[exe]
	if !ok {
		return append(problems, fmt.Sprintf("host.json defaultExecutablePath %q is not in the package", exe))
	}
	// The host runs on Linux and honours the Unix mode of the entry: the
	// high 16 bits of the external attributes, made by a Unix creator.
	if got := f.ExternalAttrs >> 16 & 0o777; got != 0o755 {
		problems = append(problems, fmt.Sprintf("%s has Unix mode %#o in the zip, want 0755", exe, got))
	}
	if got := f.CreatorVersion >> 8; got != 3 {
		problems = append(problems, fmt.Sprintf("%s: zip creator %d is not Unix (3), so the mode bits are ignored", exe, got))
	}
	return problems
}

func readEntry(f *zip.File) ([]byte, error) {
	r, err := f.Open()
	if err != nil {
		return nil, err
	}
	defer r.Close()
	return io.ReadAll(r)
}

// TestPackageFixtures proves checkPackage fails on each packaging mistake
// azd or a hand-made stage step has made: lost execute bit, renamed binary,
// extra folder, a non-Unix zip.
func TestPackageFixtures(t *testing.T) {
	t.Parallel()
	host := func(exe string) []byte {
		return []byte(`{"version":"2.0","customHandler":{"description":{"defaultExecutablePath":"` + exe + `"}}}`)
	}
	type entry struct {
		name    string
		mode    os.FileMode
		body    []byte
		nonUnix bool
	}
	for _, tc := range []struct {
		name    string
		entries []entry
		want    string
	}{
		{"ok", []entry{{"app", 0o755, []byte("x"), false}, {"host.json", 0o644, host("app"), false}}, ""},
		{"execute-bit-lost", []entry{{"app", 0o644, []byte("x"), false}, {"host.json", 0o644, host("app"), false}}, "Unix mode 0644"},
		{"non-unix-zip", []entry{{"app", 0o755, []byte("x"), true}, {"host.json", 0o644, host("app"), false}}, "is not Unix"},
		{"executable-renamed", []entry{{"app", 0o755, []byte("x"), false}, {"host.json", 0o644, host("snippets-mcp"), false}}, `"snippets-mcp" is not in the package`},
		{"dist-folder", []entry{{"dist/app", 0o755, []byte("x"), false}, {"dist/host.json", 0o644, host("app"), false}}, "no host.json at the package root"},
		{"extra-file", []entry{{"app", 0o755, []byte("x"), false}, {"host.json", 0o644, host("app"), false}, {"local.settings.json", 0o644, nil, false}}, "want exactly"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var buf bytes.Buffer
			zw := zip.NewWriter(&buf)
			for _, e := range tc.entries {
				h := &zip.FileHeader{Name: e.name, Method: zip.Deflate}
				h.SetMode(e.mode)
				if e.nonUnix {
					h.CreatorVersion = 0 // MS-DOS: what a Windows zip tool writes
				}
				w, err := zw.CreateHeader(h)
				if err != nil {
					t.Fatal(err)
				}
				w.Write(e.body)
			}
			if err := zw.Close(); err != nil {
				t.Fatal(err)
			}
			p := filepath.Join(t.TempDir(), "p.zip")
			if err := os.WriteFile(p, buf.Bytes(), 0o644); err != nil {
				t.Fatal(err)
			}
			got := strings.Join(checkPackage(p), "\n")
			if tc.want == "" && got != "" || tc.want != "" && !strings.Contains(got, tc.want) {
				t.Errorf("problems = %q, want one containing %q", got, tc.want)
			}
		})
	}
}

// TestAzdPackage builds the package as azd does for `language: go` and
// starts it as the Functions host does: the executable named in host.json,
// in the package root, with FUNCTIONS_CUSTOMHANDLER_PORT, answering within 60 s.
func TestAzdPackage(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the server (-short)")
	}
	t.Parallel()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	root, work := "..", t.TempDir()
	bin := filepath.Join(work, "build", azdpkg.Binary)
	if err := azdpkg.Build(ctx, root, bin); err != nil {
		t.Fatal(err)
	}
	stage, zipPath := filepath.Join(work, "stage"), filepath.Join(work, "stage.zip")
	if err := azdpkg.Stage(root, bin, stage); err != nil {
		t.Fatal(err)
	}
	if err := azdpkg.Zip(stage, zipPath); err != nil {
		t.Fatal(err)
	}
	for _, p := range checkPackage(zipPath) {
		t.Error(p)
	}
	if fi, err := os.Stat(filepath.Join(stage, azdpkg.Binary)); err != nil || fi.Mode().Perm() != 0o755 {
		t.Errorf("staged %s: mode %v, err %v; want 0755", azdpkg.Binary, fi.Mode().Perm(), err)
	}
	ef, err := elf.Open(bin)
	if err != nil {
		t.Fatalf("%s is not an ELF binary: %v", bin, err)
	}
	defer ef.Close()
	if ef.Machine != elf.EM_X86_64 {
		t.Errorf("binary machine %v, want EM_X86_64 (GOARCH=amd64)", ef.Machine)
	}
	for _, p := range ef.Progs {
		if p.Type == elf.PT_INTERP {
			t.Error("binary needs a dynamic loader; CGO_ENABLED=0 builds a static one")
		}
	}
	if runtime.GOOS != "linux" || runtime.GOARCH != "amd64" {
		t.Skipf("cannot start a linux/amd64 binary on %s/%s", runtime.GOOS, runtime.GOARCH)
	}
	startFromPackage(t, ctx, zipPath)
}

// startFromPackage unzips as the host does (modes from the entries), reads
// defaultExecutablePath from the packaged host.json and runs it with a free
// port. Storage points at a closed port: the server must start while
// storage is down, as on a cold start during a storage incident.
func startFromPackage(t *testing.T, ctx context.Context, zipPath string) {
	dir := filepath.Join(t.TempDir(), "wwwroot")
	zr, err := zip.OpenReader(zipPath)
	if err != nil {
		t.Fatal(err)
	}
	defer zr.Close()
	if err := os.Mkdir(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	for _, f := range zr.File {
		b, err := readEntry(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(dir, f.Name), b, f.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	var host struct {
		CustomHandler struct {
			Description struct {
				DefaultExecutablePath string   `json:"defaultExecutablePath"`
				WorkingDirectory      string   `json:"workingDirectory"`
				Arguments             []string `json:"arguments"`
			} `json:"description"`
		} `json:"customHandler"`
	}
	b, err := os.ReadFile(filepath.Join(dir, "host.json"))
	if err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(b, &host); err != nil {
		t.Fatal(err)
	}
	d := host.CustomHandler.Description
	port, closed := freeTCPPort(t), freeTCPPort(t)
	cmd := exec.CommandContext(ctx, filepath.Join(dir, d.DefaultExecutablePath), d.Arguments...)
	cmd.Dir = filepath.Join(dir, d.WorkingDirectory)
	cmd.Env = []string{
		"PATH=/usr/bin:/bin",
		fmt.Sprintf("FUNCTIONS_CUSTOMHANDLER_PORT=%d", port),
		"MCP_AUTH_MODE=dev",
		// Azurite's published well-known development account, at a port
		// nothing listens on.
		"SNIPPETS_STORAGE=" + azurite.ConnString(fmt.Sprintf("http://127.0.0.1:%d", closed)),
	}
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start %s as the host would: %v", d.DefaultExecutablePath, err)
	}
	defer func() {
		cmd.Process.Signal(os.Interrupt)
		cmd.Wait()
	}()
	// The Functions host gives a custom handler 60 s to listen.
	deadline := time.Now().Add(60 * time.Second)
	url := fmt.Sprintf("http://127.0.0.1:%d/", port)
	for {
		resp, err := http.Get(url)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode >= 500 {
				t.Errorf("GET / = %d, want a non-5xx answer", resp.StatusCode)
			}
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("the handler did not answer %s within 60 s: %v\nstderr:\n%s", url, err, stderr.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func freeTCPPort(t *testing.T) int {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer ln.Close()
	return ln.Addr().(*net.TCPAddr).Port
}
