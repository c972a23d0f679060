package infra

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// TestDeployDocs keeps the facts a first deployment depends on in the docs:
// previews named up front, costs, deploying without API Management, the
// Entra clean-up that lets an environment be deployed again, the license,
// and the minimum azd version.
func TestDeployDocs(t *testing.T) {
	t.Parallel()
	read := func(p string) string {
		b, err := os.ReadFile(filepath.Join("..", p))
		if err != nil {
			t.Fatal(err)
		}
		return string(b)
	}
	readme, deploy := read("README.md"), read("docs/DEPLOY.md")
	head := readme
	if i := strings.Index(readme, "\n## "); i > 0 {
		head = readme[:i] // "up front": before the first section
	}
	for _, tc := range []struct {
		name, doc, want string
	}{
		{"preview custom handler", head, "EnableMcpCustomHandlerPreview"},
		{"preview apim mcp type", head, "MCP server API type"},
		{"preview prm", head, "Protected Resource Metadata"},
		{"no deployment run", head, "No deployment has been run"},
		{"license up front", head, "[LICENSE](LICENSE)"},
		{"cost apim hourly", readme, "Basic v2** bills per hour"},
		{"cost flex", readme, "Flex Consumption** bills per use"},
		{"cost log analytics", readme, "Log Analytics** bills per GB ingested"},
		{"without apim", readme, "azd env set APIM_ENABLED false"},
		{"azd down purge", readme, "azd down --purge"},
		{"entra deleted items", readme, "deleted items"},
		{"purge command", deploy, "directory/deletedItems/"},
		{"azd version", deploy, "**1.26.0 or later**"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if !strings.Contains(tc.doc, tc.want) {
				t.Errorf("docs do not say %q", tc.want)
			}
		})
	}
	if _, err := os.Stat(filepath.Join("..", "LICENSE")); err != nil {
		t.Errorf("LICENSE: %v", err)
	}
}
