package handler

import (
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/snippets-mcp/server/internal/config"
	"github.com/snippets-mcp/server/internal/storage"
)

// A policy input that does not load stops the start with one line naming
// the setting and, for a file, the file: each source, as text and as file.
func TestPolicyErrorsNameTheirSetting(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	misspelled := `forbid (principal, action, resource) when { principal.rolez.contains("x") };`
	badAgents := `{"agents":[{"clientId":"a","name":"A","owner":"o","expires":"2099-01-01","tools":["delete_snipet"]}]}`
	cedarFile, agentsFile := write("op.cedar", misspelled), write("agents.json", badAgents)
	toolFile := write("tools.json", `{"tools": {"nope": {"deny": true}}}`)
	cases := []struct {
		name string
		env  []string
		want string
	}{
		{"operator text", []string{"MCP_OPERATOR_POLICY", misspelled}, "MCP_OPERATOR_POLICY: policy MCP_OPERATOR_POLICY:1:1:"},
		{"operator file", []string{"MCP_OPERATOR_POLICY_FILE", cedarFile}, "MCP_OPERATOR_POLICY_FILE: policy " + cedarFile + ":1:1:"},
		{"inventory text", []string{"MCP_AGENT_INVENTORY", badAgents}, `MCP_AGENT_INVENTORY: agent inventory: a: unknown tool "delete_snipet"`},
		{"inventory file", []string{"MCP_AGENT_INVENTORY_FILE", agentsFile}, "MCP_AGENT_INVENTORY_FILE: " + agentsFile + `: agent inventory: a: unknown tool "delete_snipet"`},
		{"inventory file that does not parse", []string{"MCP_AGENT_INVENTORY_FILE", write("broken.json", `{"agents": [`)}, "MCP_AGENT_INVENTORY_FILE: " + filepath.Join(dir, "broken.json") + ": agent inventory: decode"},
		{"tool policy", []string{"MCP_TOOL_POLICY", toolFile}, "MCP_TOOL_POLICY: " + toolFile + `: `},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			env := map[string]string{"MCP_AUTH_MODE": "dev", "SNIPPETS_STORAGE": "UseDevelopmentStorage=true", c.env[0]: c.env[1]}
			cfg, err := config.Load(func(k string) string { return env[k] })
			if err != nil {
				t.Fatal(err)
			}
			blob, err := storage.Connect(cfg.Storage) // a client only: nothing is sent
			if err != nil {
				t.Fatal(err)
			}
			_, err = toolSet(cfg, slog.New(slog.DiscardHandler), blob, nil, nil)
			if err == nil || !strings.HasPrefix(err.Error(), c.want) || strings.Contains(err.Error(), "\n") {
				t.Errorf("error %v, want one line starting %q", err, c.want)
			}
		})
	}
}
