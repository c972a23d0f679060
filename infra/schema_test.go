package infra

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	yaml "go.yaml.in/yaml/v3"

	"github.com/snippets-mcp/server/internal/azdpkg"
)

// offlineLoader serves local files only and never fetches. A remote $ref (in
// azure.yaml.json only the azure.ai.* and Foundry branches have them) compiles
// to the schema `false`: a document that would need it fails validation
// instead of silently passing, and a function service never touches it.
type offlineLoader struct {
	mu     sync.Mutex
	remote []string // URLs replaced by `false`
}

func (l *offlineLoader) Load(url string) (any, error) {
	if strings.HasPrefix(url, "file://") {
		return jsonschema.FileLoader{}.Load(url)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	l.remote = append(l.remote, url)
	return false, nil
}

func compileSchema(t *testing.T, name string) *jsonschema.Schema {
	t.Helper()
	// The schemas are pinned external data (testdata/pins.txt): cached,
	// mirrored in ../shared/schemas, or downloaded, always digest-checked.
	// Both are required at once so that a skip names every missing one.
	key := "schemas/" + name
	path := requirePinned(t, "schemas/azure.yaml.json", "schemas/host.json.schema.json")[key]
	abs, err := filepath.Abs(path)
	if err != nil {
		t.Fatal(err)
	}
	loader := &offlineLoader{}
	c := jsonschema.NewCompiler()
	c.UseLoader(loader)
	s, err := c.Compile("file://" + filepath.ToSlash(abs))
	if err != nil {
		t.Fatalf("compile %s: %v", name, err)
	}
	for _, u := range loader.remote {
		if !strings.Contains(u, "azure.ai") && !strings.Contains(strings.ToLower(u), "foundry") {
			t.Fatalf("%s refers to remote schema %s outside the azure.ai branches; keep a local copy in shared/schemas", name, u)
		}
	}
	return s
}

// instance reads a JSON or YAML document into the form the validator expects.
func instance(path string) (any, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read %s: %w", path, err)
	}
	if ext := filepath.Ext(path); ext == ".yaml" || ext == ".yml" {
		var v any
		if err := yaml.Unmarshal(raw, &v); err != nil {
			return nil, fmt.Errorf("parse YAML %s: %w", path, err)
		}
		if raw, err = json.Marshal(v); err != nil {
			return nil, fmt.Errorf("convert %s to JSON: %w", path, err)
		}
	}
	v, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	if err != nil {
		return nil, fmt.Errorf("parse JSON %s: %w", path, err)
	}
	return v, nil
}

// checkDocument validates path against the schema, then the project's own
// expectations of it, and returns the problems.
func checkDocument(s *jsonschema.Schema, path string, extra func(map[string]any) []string) []string {
	v, err := instance(path)
	if err != nil {
		return []string{err.Error()}
	}
	var problems []string
	if err := s.Validate(v); err != nil {
		var ve *jsonschema.ValidationError
		if errors.As(err, &ve) {
			problems = append(problems, fmt.Sprintf("%s: %v", path, ve))
		} else {
			problems = append(problems, fmt.Sprintf("%s: %v", path, err))
		}
	}
	m, ok := v.(map[string]any)
	if !ok {
		return append(problems, path+": not an object")
	}
	for _, p := range extra(m) {
		problems = append(problems, path+": "+p)
	}
	return problems
}

// get follows a dotted path through nested objects.
func get(m map[string]any, path string) any {
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		o, ok := cur.(map[string]any)
		if !ok {
			return nil
		}
		cur = o[k]
	}
	return cur
}

// azureYAMLExpectations: one Flex function service that azd builds itself
// with `language: go` (azd 1.26.0+): no custom language (an alpha feature
// that stops `azd up`), no dist folder, no packaging hook.
func azureYAMLExpectations(m map[string]any) []string {
	var problems []string
	svcs, _ := m["services"].(map[string]any)
	if len(svcs) != 1 {
		return []string{fmt.Sprintf("want exactly one service, found %d", len(svcs))}
	}
	for name, s := range svcs {
		svc, _ := s.(map[string]any)
		for path, want := range map[string]string{
			"host":     "function",
			"language": "go",
			"project":  ".",
		} {
			if got := fmt.Sprint(get(svc, path)); got != want {
				problems = append(problems, fmt.Sprintf("services.%s.%s is %q, want %q", name, path, got, want))
			}
		}
		for _, k := range []string{"dist", "hooks"} {
			if svc[k] != nil {
				problems = append(problems, fmt.Sprintf("services.%s.%s is set; azd packages a go service itself (app and host.json)", name, k))
			}
		}
	}
	if got := fmt.Sprint(get(m, "requiredVersions.azd")); got != ">= 1.26.0" {
		problems = append(problems, fmt.Sprintf("requiredVersions.azd is %q, want \">= 1.26.0\" (the first azd with language go for functions)", got))
	}
	if got := fmt.Sprint(get(m, "infra.path")); got != "infra" {
		problems = append(problems, fmt.Sprintf("infra.path is %q, want \"infra\"", got))
	}
	return problems
}

// hostJSONExpectations: the MCP custom-handler profile running our binary.
func hostJSONExpectations(m map[string]any) []string {
	var problems []string
	for path, want := range map[string]string{
		"version":              "2.0",
		"configurationProfile": "mcp-custom-handler",
		"customHandler.description.defaultExecutablePath": azdpkg.Binary,
		"customHandler.http.defaultAuthorizationLevel":    "anonymous",
	} {
		if got := fmt.Sprint(get(m, path)); got != want {
			problems = append(problems, fmt.Sprintf("%s is %q, want %q", path, got, want))
		}
	}
	if get(m, "customHandler.port") != nil {
		problems = append(problems, "customHandler.port is set; the server listens on FUNCTIONS_CUSTOMHANDLER_PORT chosen by the host")
	}
	return problems
}

func TestSchemas(t *testing.T) {
	t.Parallel()
	azure, host := compileSchema(t, "azure.yaml.json"), compileSchema(t, "host.json.schema.json")
	for _, p := range checkDocument(azure, filepath.Join("..", "azure.yaml"), azureYAMLExpectations) {
		t.Error(p)
	}
	for _, p := range checkDocument(host, filepath.Join("..", "host.json"), hostJSONExpectations) {
		t.Error(p)
	}
}

// TestSchemaFixtures proves the schema checks fail on planted mistakes: each
// archive under testdata/schema plants one into a copy of azure.yaml and host.json.
func TestSchemaFixtures(t *testing.T) {
	t.Parallel()
	azure, host := compileSchema(t, "azure.yaml.json"), compileSchema(t, "host.json.schema.json")
	for _, name := range fixtures(t, "testdata/schema") {
		t.Run(filepath.Base(name), func(t *testing.T) {
			t.Parallel()
			dir, want := plant(t, name, map[string]string{"../azure.yaml": "azure.yaml", "../host.json": "host.json"})
			var problems []string
			if p := filepath.Join(dir, "azure.yaml"); exists(p) {
				problems = append(problems, checkDocument(azure, p, azureYAMLExpectations)...)
			}
			if p := filepath.Join(dir, "host.json"); exists(p) {
				problems = append(problems, checkDocument(host, p, hostJSONExpectations)...)
			}
			if len(problems) == 0 {
				t.Fatal("no problems reported")
			}
			expectProblems(t, problems, want)
		})
	}
}

func TestOfflineLoaderNeverFetches(t *testing.T) {
	t.Parallel()
	l := &offlineLoader{}
	v, err := l.Load("https://example.com/schema.json")
	if err != nil || v != false || len(l.remote) != 1 {
		t.Fatalf("remote load = %v, %v, recorded %v; want the schema false, recorded", v, err, l.remote)
	}
}

func exists(p string) bool {
	_, err := os.Stat(p)
	return err == nil
}
