package infra

import (
	"bufio"
	"bytes"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"
)

// External data the checks need (JSON schemas, Bicep type definitions) is
// pinned in testdata/pins.txt: a path, the SHA-256 of its content, and the
// upstream raw URL at a fixed commit. A file is used only when its digest
// matches, from the first of: the download cache, the offline mirror beside
// the repository, a download into the cache.
var (
	pinsFile     = filepath.Join("testdata", "pins.txt")
	pinCacheDir  = filepath.Join("..", ".cache", "infra-data") // ignored by git
	pinMirrorDir = filepath.Join("..", "..", "shared")         // offline mirror, when checked out beside the repo
)

type pin struct {
	path   string // relative, slash-separated
	sha256 string
	url    string
}

func readPins(name string) (map[string]pin, error) {
	raw, err := os.ReadFile(name)
	if err != nil {
		return nil, fmt.Errorf("read pins: %w", err)
	}
	pins := map[string]pin{}
	sc := bufio.NewScanner(bytes.NewReader(raw))
	for n := 1; sc.Scan(); n++ {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		f := strings.Fields(line)
		if len(f) != 3 || len(f[1]) != 64 || !strings.HasPrefix(f[2], "https://") {
			return nil, fmt.Errorf("%s:%d: want <path> <sha256> <https url>", name, n)
		}
		pins[f[0]] = pin{path: f[0], sha256: f[1], url: f[2]}
	}
	return pins, sc.Err()
}

// pinStore resolves pinned files once per test binary; tests run in parallel
// and share the result.
type pinStore struct {
	pins     map[string]pin
	cache    string
	mirror   string
	client   *http.Client
	download bool

	mu      sync.Mutex
	netDown error             // first transport failure: later downloads are not tried
	found   map[string]string // path -> local file with the pinned digest
	why     map[string]string // path -> why it is unavailable
}

var (
	pinsOnce sync.Once
	pinsErr  error
	pinsMain *pinStore
)

func pinned() (*pinStore, error) {
	pinsOnce.Do(func() {
		var p map[string]pin
		p, pinsErr = readPins(pinsFile)
		pinsMain = &pinStore{
			pins: p, cache: pinCacheDir, mirror: pinMirrorDir,
			client: &http.Client{Timeout: 30 * time.Second},
			// INFRA_DATA_OFFLINE=1 skips the download step (a machine known to be offline).
			download: os.Getenv("INFRA_DATA_OFFLINE") == "",
		}
	})
	return pinsMain, pinsErr
}

// requirePinned returns the local files for paths, or ends the test: under
// CI=true a missing file fails it, elsewhere the test is skipped, naming
// every missing file and why.
func requirePinned(t testing.TB, paths ...string) map[string]string {
	t.Helper()
	s, err := pinned()
	if err != nil {
		t.Fatal(err)
	}
	got, missing := s.resolve(paths...)
	if len(missing) == 0 {
		return got
	}
	msg := "pinned external data not available (neither " + s.cache + " nor the mirror " + s.mirror +
		" holds it with the pinned digest, and it could not be downloaded):\n  " + strings.Join(missing, "\n  ")
	if os.Getenv("CI") == "true" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return nil
}

func (s *pinStore) resolve(paths ...string) (map[string]string, []string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.found == nil {
		s.found, s.why = map[string]string{}, map[string]string{}
	}
	got := map[string]string{}
	var missing []string
	for _, p := range paths {
		if _, done := s.found[p]; !done && s.why[p] == "" {
			if local, err := s.fetch(p); err != nil {
				s.why[p] = err.Error()
			} else {
				s.found[p] = local
			}
		}
		if local, ok := s.found[p]; ok {
			got[p] = local
		} else {
			missing = append(missing, p+": "+s.why[p])
		}
	}
	sort.Strings(missing)
	return got, missing
}

// fetch finds one pinned file: cache, then mirror, then download into the cache.
func (s *pinStore) fetch(path string) (string, error) {
	pn, ok := s.pins[path]
	if !ok {
		return "", fmt.Errorf("not pinned in %s (add its path, digest and upstream URL)", pinsFile)
	}
	var tried []string
	for _, dir := range []string{s.cache, s.mirror} {
		local := filepath.Join(dir, filepath.FromSlash(path))
		err := checkDigest(local, pn.sha256)
		if err == nil {
			return local, nil
		}
		tried = append(tried, err.Error())
	}
	if !s.download {
		return "", fmt.Errorf("%s; download off (INFRA_DATA_OFFLINE)", strings.Join(tried, "; "))
	}
	if s.netDown != nil {
		// One timeout per file would make an offline run wait minutes.
		return "", fmt.Errorf("%s; download not tried after an earlier failure (%v)", strings.Join(tried, "; "), s.netDown)
	}
	local := filepath.Join(s.cache, filepath.FromSlash(path))
	if err := downloadPinned(s.client, pn.url, pn.sha256, local); err != nil {
		var transport *url.Error
		if errors.As(err, &transport) {
			s.netDown = err
		}
		return "", fmt.Errorf("%s; %v", strings.Join(tried, "; "), err)
	}
	return local, nil
}

func checkDigest(name, want string) error {
	raw, err := os.ReadFile(name)
	if err != nil {
		if os.IsNotExist(err) {
			return fmt.Errorf("%s absent", name)
		}
		return err
	}
	if got := sha256Hex(raw); got != want {
		return fmt.Errorf("%s has sha256 %s, pinned %s", name, got, want)
	}
	return nil
}

func sha256Hex(b []byte) string {
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

// maxPinnedSize bounds a download; the largest pinned file is under 2 MB.
const maxPinnedSize = 64 << 20

// downloadPinned fetches src and writes it to dest only when its digest is
// want. The content goes to a temporary file in dest's folder and is renamed
// into place, so a reader never sees a partial or unverified file.
func downloadPinned(c *http.Client, src, want, dest string) error {
	resp, err := c.Get(src)
	if err != nil {
		return err // a *url.Error naming the URL
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("download %s: %s", src, resp.Status)
	}
	raw, err := io.ReadAll(io.LimitReader(resp.Body, maxPinnedSize+1))
	if err != nil {
		return fmt.Errorf("download %s: %w", src, err)
	}
	if len(raw) > maxPinnedSize {
		return fmt.Errorf("download %s: larger than %d bytes", src, maxPinnedSize)
	}
	if got := sha256Hex(raw); got != want {
		return fmt.Errorf("download %s: sha256 %s, pinned %s; not cached", src, got, want)
	}
	if err := os.MkdirAll(filepath.Dir(dest), 0o755); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(dest), ".download-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op after the rename
	if _, err := tmp.Write(raw); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), dest)
}

func TestPinsWellFormed(t *testing.T) {
	t.Parallel()
	pins, err := readPins(pinsFile)
	if err != nil {
		t.Fatal(err)
	}
	for path, p := range pins {
		if !strings.HasPrefix(p.url, "https://raw.githubusercontent.com/") || !strings.HasSuffix(p.url, "/"+filepath.Base(strings.Replace(path, "host.json.schema.json", "host.json", 1))) {
			t.Errorf("%s: url %s is not a raw GitHub file of the same name", path, p.url)
		}
	}
}

// TestPinnedMirrorDigests verifies the offline mirror against the pins when
// the mirror is present: a copy that drifted from upstream is refused.
func TestPinnedMirrorDigests(t *testing.T) {
	t.Parallel()
	pins, err := readPins(pinsFile)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(pinMirrorDir); err != nil {
		t.Skipf("offline mirror %s absent: nothing to verify", pinMirrorDir)
	}
	for path, p := range pins {
		t.Run(path, func(t *testing.T) {
			if err := checkDigest(filepath.Join(pinMirrorDir, filepath.FromSlash(path)), p.sha256); err != nil {
				t.Error(err)
			}
		})
	}
}

func TestDownloadPinned(t *testing.T) {
	t.Parallel()
	body := []byte(`{"pinned": true}`)
	srv := newFileServer(t, body)
	good := sha256Hex(body)
	for _, tc := range []struct {
		name, path, digest string
		wantErr            string // "" for success
	}{
		{"digest matches", "/f.json", good, ""},
		{"digest mismatch refused", "/f.json", strings.Repeat("0", 64), "not cached"},
		{"not found refused", "/missing.json", good, "404"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dest := filepath.Join(t.TempDir(), "sub", "f.json")
			err := downloadPinned(srv.Client(), srv.URL+tc.path, tc.digest, dest)
			_, statErr := os.Stat(dest)
			if tc.wantErr == "" {
				if err != nil || statErr != nil {
					t.Fatalf("got err %v, stat %v; want the file cached", err, statErr)
				}
				if got, _ := os.ReadFile(dest); !bytes.Equal(got, body) {
					t.Fatalf("cached %q, want %q", got, body)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Fatalf("got err %v, want one mentioning %q", err, tc.wantErr)
			}
			if statErr == nil {
				t.Fatal("a refused download left a file in the cache")
			}
			if left, _ := filepath.Glob(filepath.Join(filepath.Dir(dest), ".download-*")); len(left) > 0 {
				t.Fatalf("temporary files left: %v", left)
			}
		})
	}
}

// TestPinStoreOrder: the cache is used first, a mirror copy with the wrong
// digest is refused, and a download lands in the cache.
func TestPinStoreOrder(t *testing.T) {
	t.Parallel()
	body := []byte("types")
	srv := newFileServer(t, body)
	for _, tc := range []struct {
		name          string
		cache, mirror []byte // nil: absent
		download      bool
		wantFrom      string // "cache", "mirror" or "" (missing)
	}{
		{"cache first", body, body, false, "cache"},
		{"mirror when no cache", nil, body, false, "mirror"},
		{"wrong mirror digest refused", nil, []byte("drifted"), false, ""},
		{"download into cache", nil, nil, true, "cache"},
		{"nothing anywhere", nil, nil, false, ""},
	} {
		t.Run(tc.name, func(t *testing.T) {
			root := t.TempDir()
			s := &pinStore{
				pins:   map[string]pin{"a/f.json": {path: "a/f.json", sha256: sha256Hex(body), url: srv.URL + "/f.json"}},
				cache:  filepath.Join(root, "cache"),
				mirror: filepath.Join(root, "mirror"),
				client: srv.Client(), download: tc.download,
			}
			for dir, data := range map[string][]byte{s.cache: tc.cache, s.mirror: tc.mirror} {
				if data != nil {
					writeFile(t, filepath.Join(dir, "a", "f.json"), data)
				}
			}
			got, missing := s.resolve("a/f.json", "not/pinned.json")
			if len(missing) == 0 || !strings.Contains(strings.Join(missing, "\n"), "not/pinned.json: not pinned") {
				t.Errorf("missing = %v, want the unpinned path named", missing)
			}
			local, ok := got["a/f.json"]
			switch {
			case tc.wantFrom == "" && ok:
				t.Fatalf("got %s, want the file reported missing", local)
			case tc.wantFrom == "":
				if len(missing) != 2 {
					t.Fatalf("missing = %v, want both paths", missing)
				}
			case !ok:
				t.Fatalf("missing %v, want the file from the %s", missing, tc.wantFrom)
			case tc.wantFrom == "cache" && !strings.HasPrefix(local, s.cache), tc.wantFrom == "mirror" && !strings.HasPrefix(local, s.mirror):
				t.Fatalf("got %s, want it from the %s", local, tc.wantFrom)
			}
		})
	}
}

// TestPinStoreStopsAfterNetworkFailure: on a machine that cannot reach the
// upstream, the first transport error ends downloading for the run.
func TestPinStoreStopsAfterNetworkFailure(t *testing.T) {
	t.Parallel()
	srv := newFileServer(t, nil)
	base := srv.URL
	srv.Close() // nothing listens any more
	root := t.TempDir()
	s := &pinStore{
		pins: map[string]pin{
			"a.json": {path: "a.json", sha256: strings.Repeat("0", 64), url: base + "/f.json"},
			"b.json": {path: "b.json", sha256: strings.Repeat("0", 64), url: base + "/f.json"},
		},
		cache: filepath.Join(root, "cache"), mirror: filepath.Join(root, "mirror"),
		client: srv.Client(), download: true,
	}
	_, missing := s.resolve("a.json", "b.json")
	if len(missing) != 2 || !strings.Contains(missing[1], "not tried after an earlier failure") {
		t.Fatalf("missing = %q, want b.json not tried after a.json failed", missing)
	}
}

func newFileServer(t *testing.T, body []byte) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path != "/f.json" {
			http.NotFound(w, r)
			return
		}
		w.Write(body)
	}))
	t.Cleanup(srv.Close)
	return srv
}

func writeFile(t *testing.T, name string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(name), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(name, data, 0o644); err != nil {
		t.Fatal(err)
	}
}
