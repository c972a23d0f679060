package infra

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

var (
	maxInstancesParam = regexp.MustCompile(`((?:@\w+\([^)]*\)\s*|//[^\n]*\n\s*)*)param maximumInstanceCount\b`)
	lineComment       = regexp.MustCompile(`(?m)^\s*//.*$`)
	apiTypeDefault    = regexp.MustCompile(`param (apiType|apimApiType) string = '(\w*)'`)
)

// checkDeployRules covers defects a real deployment found late: values the
// platform refuses, settings that yield an unusable token audience, and
// decisions whose reason must stay next to the code.
func checkDeployRules(files []*bicepFile) []string {
	var problems []string
	for _, f := range files {
		raw := string(f.raw)
		// Flex Consumption: maximumInstanceCount is 40 to 1000.
		for _, m := range maxInstancesParam.FindAllStringSubmatch(raw, -1) {
			for _, want := range []string{"@minValue(40)", "@maxValue(1000)"} {
				if !strings.Contains(m[1], want) {
					problems = append(problems, fmt.Sprintf("%s: param maximumInstanceCount lacks %s (Flex Consumption accepts 40 to 1000)", f.path, want))
				}
			}
		}
		// An existing registration without a given URI: the identifier URI
		// (hence scope and audience) must fall back to api://<client id>.
		if out := declaration(f, "output_declaration", "identifierUri"); out != nil && declaration(f, "parameter_declaration", "existingAppIdentifierUri") != nil {
			var text strings.Builder
			closure(files, f, out, map[string]bool{}, &text)
			if !strings.Contains(text.String(), "'api://${existingAppClientId}'") {
				problems = append(problems, fmt.Sprintf("%s: output identifierUri has no api://${existingAppClientId} fallback: existingAppClientId alone yields scope /user_impersonation and an empty audience", f.path))
			}
		}
		// The storage role decision keeps its reason beside the assignment.
		if strings.Contains(raw, "ba92f5b4-2d11-453d-a403-e96b0029c9fe") {
			// Comment lines as one text, so a phrase may wrap.
			comments := strings.Join(strings.Fields(strings.ReplaceAll(strings.Join(lineComment.FindAllString(raw, -1), " "), "//", " ")), " ")
			if !strings.Contains(comments, "AzureWebJobsStorage") || !strings.Contains(comments, "Storage Blob Data Owner") {
				problems = append(problems, fmt.Sprintf("%s: no comment says why AzureWebJobsStorage gets Storage Blob Data Contributor rather than the documented Storage Blob Data Owner", f.path))
			}
		}
		// The gateway's default keeps the whole MCP surface reachable: the
		// MCP API type fronts tools and resources, not prompts or completions.
		for _, m := range apiTypeDefault.FindAllStringSubmatch(raw, -1) {
			if m[2] != "http" {
				problems = append(problems, fmt.Sprintf("%s: param %s defaults to %q; the default must be \"http\" (the MCP type drops prompts and completions)", f.path, m[1], m[2]))
			}
		}
		problems = append(problems, checkResourceMatchesURI(files, f)...)
		for _, r := range f.resources() {
			if r.typ == "Microsoft.ApiManagement/service/apis" && !r.existing {
				if typ, _ := r.value("properties.type"); typ == "mcp" {
					problems = append(problems, checkMCPTypeAPI(r)...)
				}
			}
			if r.typ == "Microsoft.Web/sites" && !r.existing {
				if _, ok := r.value("properties.siteConfig.cors.allowedOrigins"); !ok {
					problems = append(problems, fmt.Sprintf("%s: properties.siteConfig.cors.allowedOrigins is missing (browser preflights at the direct URL)", r))
				}
			}
		}
	}
	return problems
}

// checkMCPTypeAPI holds the MCP-type API to its documented shape
// (2025-09-01-preview): mcpProperties.endpoints an array of {name,
// uriTemplate} with one streamable `message` endpoint, no backendId.
func checkMCPTypeAPI(r resource) []string {
	var problems []string
	fail := func(format string, a ...any) {
		problems = append(problems, fmt.Sprintf("%s: %s", r, fmt.Sprintf(format, a...)))
	}
	if r.version < "2025-09-01-preview" {
		fail("type 'mcp' at %s; the documented shape starts at 2025-09-01-preview", r.version)
	}
	if _, ok := r.value("properties.backendId"); ok {
		fail("properties.backendId is not in the documented MCP API shape (use serviceUrl)")
	}
	if got, _ := r.value("properties.mcpProperties.transportType"); got != "streamable" {
		fail("mcpProperties.transportType is %q, want streamable", got)
	}
	ep := r.file.prop(r.body, "properties.mcpProperties.endpoints")
	if ep == nil || ep.Kind() != "array" {
		fail("mcpProperties.endpoints must be an array of {name, uriTemplate}")
	} else if t := compact(r.file.text(ep)); !strings.Contains(t, "name:'message'") || !strings.Contains(t, "uriTemplate:'/mcp'") {
		fail("mcpProperties.endpoints has no {name: 'message', uriTemplate: '/mcp'} entry")
	}
	return problems
}

// checkResourceMatchesURI: a custom domain that becomes an https identifier
// URI must also be the PRM resource at its endpoint (MCP_RESOURCE_URL for
// the function app, the gateway's resource for API Management), or RFC 8707
// clients still send a resource Entra does not know (AADSTS9010010).
func checkResourceMatchesURI(files []*bicepFile, f *bicepFile) []string {
	param := func(module, name string) string {
		var text strings.Builder
		for _, g := range files {
			if strings.HasSuffix(filepath.ToSlash(g.path), module) {
				for _, body := range moduleBodies(f, g.path) {
					closure(files, f, f.prop(body, "params."+name), map[string]bool{}, &text)
				}
			}
		}
		return text.String()
	}
	uris := param("modules/entra.bicep", "customResourceUris")
	if uris == "" {
		return nil
	}
	var problems []string
	for _, tc := range []struct{ domain, module, param string }{
		{"functionCustomDomain", "modules/function-config.bicep", "resourceUrl"},
		{"apimCustomDomain", "modules/apim-mcp.bicep", "customDomain"},
	} {
		if strings.Contains(uris, tc.domain) && !strings.Contains(param(tc.module, tc.param), tc.domain) {
			problems = append(problems, fmt.Sprintf("%s: %s is an identifier URI but does not reach %s of %s: the PRM resource must be that exact URL", f.path, tc.domain, tc.param, tc.module))
		}
	}
	if strings.Contains(uris, "/'") || strings.Contains(uris, "/mcp/") {
		problems = append(problems, fmt.Sprintf("%s: a custom identifier URI ends with a slash; Entra compares the resource exactly", f.path))
	}
	return problems
}
