package scripts

import (
	"encoding/json"
	"os"
	"os/exec"
	"regexp"
	"strings"
	"testing"
)

// readJSONC reads a VS Code / dev container file: JSON with // comments.
func readJSONC(t *testing.T, path string, v any) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	b = regexp.MustCompile(`(?m)^\s*//.*$`).ReplaceAll(b, nil)
	if err := json.Unmarshal(b, v); err != nil {
		t.Fatalf("%s: %v", path, err)
	}
}

// TestEditorFiles: the debug configuration launches the package that is
// the server (package main moved from handler/ to the root once), its
// preLaunchTask exists, and the dev container runs make tools and
// forwards the server's port.
func TestEditorFiles(t *testing.T) {
	t.Parallel()
	var launch struct {
		Configurations []struct {
			Program, PreLaunchTask string
			Env                    map[string]string
		}
	}
	var tasks struct {
		Tasks []struct{ Label, Command string }
	}
	var dc struct {
		ForwardPorts      []int
		PostCreateCommand string
		Features          map[string]map[string]string
	}
	readJSONC(t, "../.vscode/launch.json", &launch)
	readJSONC(t, "../.vscode/tasks.json", &tasks)
	readJSONC(t, "../.devcontainer/devcontainer.json", &dc)
	readJSONC(t, "../.vscode/mcp.json", &map[string]any{})

	labels := map[string]string{}
	for _, tk := range tasks.Tasks {
		labels[tk.Label] = tk.Command
	}
	if labels["make run"] != "make run" {
		t.Errorf("no task runs make run: %v", labels)
	}
	if len(launch.Configurations) == 0 {
		t.Fatal("no launch configuration")
	}
	for _, c := range launch.Configurations {
		pkg := "./" + strings.TrimPrefix(strings.TrimPrefix(c.Program, "${workspaceFolder}"), "/")
		out, err := exec.Command("go", "list", "-C", "..", "-f", "{{.Name}}", pkg).CombinedOutput()
		if err != nil || strings.TrimSpace(string(out)) != "main" {
			t.Errorf("launch program %q (%s) is not package main: %v %s", c.Program, pkg, err, out)
		}
		if _, ok := labels[c.PreLaunchTask]; !ok {
			t.Errorf("preLaunchTask %q is not a task", c.PreLaunchTask)
		}
		if c.Env["MCP_AUTH_MODE"] != "dev" || c.Env["SNIPPETS_STORAGE"] == "" {
			t.Errorf("launch env %v: want dev mode and storage", c.Env)
		}
	}
	if dc.PostCreateCommand != "make tools" || len(dc.ForwardPorts) == 0 || dc.ForwardPorts[0] != 7071 {
		t.Errorf("devcontainer: postCreate %q, ports %v", dc.PostCreateCommand, dc.ForwardPorts)
	}
	// The Go feature pins go.mod's go line exactly.
	mod, _ := os.ReadFile("../go.mod")
	goLine := regexp.MustCompile(`(?m)^go (\S+)$`).FindSubmatch(mod)
	found := false
	for id, opts := range dc.Features {
		if strings.Contains(id, "/features/go:") {
			found = goLine != nil && opts["version"] == string(goLine[1])
		}
	}
	if !found {
		t.Errorf("devcontainer Go feature does not pin go.mod's go %s: %v", goLine[1], dc.Features)
	}
}
