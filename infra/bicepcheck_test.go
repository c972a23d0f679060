package infra

import (
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"

	sitter "github.com/tree-sitter/go-tree-sitter"
)

// checkBicep runs every Bicep check over the files under dir and returns the
// problems found, each naming its file and position.
func checkBicep(dir string) ([]string, error) {
	files, problems, err := bicepFiles(dir)
	if err != nil {
		return nil, err
	}
	defer func() {
		for _, f := range files {
			f.close()
		}
	}()
	for _, f := range files {
		problems = append(problems, checkReferences(f)...)
		for _, r := range f.resources() {
			problems = append(problems, checkAPIVersion(r)...)
			if !r.existing {
				problems = append(problems, checkHardening(r)...)
			}
		}
	}
	problems = append(problems, checkCoverage(files)...)
	problems = append(problems, checkIdentifierURIs(files)...)
	problems = append(problems, checkDeployRules(files)...)
	return problems, nil
}

var loaders = []string{"loadTextContent", "loadJsonContent", "loadYamlContent", "loadFileAsBase64", "loadDirectoryFileInfo"}

// checkReferences reports load*() arguments and local module paths that do not
// exist relative to the file.
func checkReferences(f *bicepFile) []string {
	var problems []string
	exists := func(n *sitter.Node, what string) {
		rel := f.literal(n)
		if n.Kind() != "string" || strings.Contains(rel, "${") {
			problems = append(problems, fmt.Sprintf("%s: %s path is not a literal string", f.pos(n), what))
			return
		}
		if _, err := os.Stat(filepath.Join(filepath.Dir(f.path), rel)); err != nil {
			problems = append(problems, fmt.Sprintf("%s: %s %q does not exist", f.pos(n), what, rel))
		}
	}
	walk(f.root(), func(n *sitter.Node) bool {
		switch n.Kind() {
		case "call_expression":
			fn := n.ChildByFieldName("function")
			args := n.ChildByFieldName("arguments")
			if fn != nil && args != nil && slices.Contains(loaders, f.text(fn)) && args.NamedChildCount() > 0 {
				exists(args.NamedChild(0), f.text(fn))
			}
		case "module_declaration":
			for i := uint(0); i < n.NamedChildCount(); i++ {
				if c := n.NamedChild(i); c.Kind() == "string" {
					if p := f.literal(c); !strings.HasPrefix(p, "br:") && !strings.HasPrefix(p, "br/") && !strings.HasPrefix(p, "ts:") {
						exists(c, "module")
					}
					break
				}
			}
		}
		return true
	})
	return problems
}

var (
	armVersion   = regexp.MustCompile(`^\d{4}-\d{2}-\d{2}(-preview|-beta|-alpha|-privatepreview)?$`)
	graphVersion = regexp.MustCompile(`^(v1\.0|beta)$`)
	resourceType = regexp.MustCompile(`^[A-Za-z][A-Za-z0-9]*\.[A-Za-z0-9.]+(/[A-Za-z0-9]+)+$`)
)

func checkAPIVersion(r resource) []string {
	switch {
	case !resourceType.MatchString(r.typ):
		return []string{fmt.Sprintf("%s: not a resource type", r)}
	case r.version == "":
		return []string{fmt.Sprintf("%s: no API version", r)}
	case strings.HasPrefix(r.typ, "Microsoft.Graph/"):
		if !graphVersion.MatchString(r.version) {
			return []string{fmt.Sprintf("%s: Graph API version %q is not v1.0 or beta", r, r.version)}
		}
	case !armVersion.MatchString(r.version):
		return []string{fmt.Sprintf("%s: API version %q is not a dated version", r, r.version)}
	}
	return nil
}

// rule is one hardened setting: the property at path must read want (the
// unquoted literal as written in Bicep).
type rule struct {
	path, want, why string
}

var rules = map[string][]rule{
	"Microsoft.Storage/storageAccounts": {
		{"properties.allowSharedKeyAccess", "false", "shared-key access must be disabled"},
		{"properties.allowBlobPublicAccess", "false", "anonymous blob access must be disabled"},
		{"properties.minimumTlsVersion", "TLS1_2", "TLS 1.2 minimum"},
		{"properties.supportsHttpsTrafficOnly", "true", "HTTPS only"},
	},
	"Microsoft.Storage/storageAccounts/blobServices": {
		{"properties.isVersioningEnabled", "true", "versioning keeps overwritten snippets"},
		{"properties.deleteRetentionPolicy.enabled", "true", "soft delete keeps deleted snippets"},
	},
	"Microsoft.Web/sites": {
		{"properties.httpsOnly", "true", "HTTPS only"},
		{"properties.siteConfig.minTlsVersion", "1.2", "TLS 1.2 minimum"},
		{"properties.siteConfig.ftpsState", "Disabled", "FTP off"},
		{"properties.functionAppConfig.runtime.name", "custom", "Flex Consumption custom handler"},
		{"properties.functionAppConfig.deployment.storage.authentication.type", "UserAssignedIdentity", "deployment package read with the identity"},
		{"properties.functionAppConfig.scaleAndConcurrency.instanceMemoryMB", "instanceMemoryMB", "instance memory is a parameter"},
		{"properties.functionAppConfig.scaleAndConcurrency.maximumInstanceCount", "maximumInstanceCount", "maximum instances is a parameter"},
	},
	"Microsoft.Web/serverfarms": {
		{"sku.name", "FC1", "Flex Consumption plan"},
	},
	"Microsoft.Web/sites/basicPublishingCredentialsPolicies": {
		{"properties.allow", "false", "basic-auth publishing off"},
	},
	"Microsoft.Insights/components": {
		{"properties.DisableLocalAuth", "true", "Entra-only telemetry ingestion"},
	},
	"Microsoft.OperationalInsights/workspaces": {
		{"properties.features.disableLocalAuth", "true", "Entra-only workspace access"},
	},
	"Microsoft.ApiManagement/service/backends": {
		{"properties.tls.validateCertificateChain", "true", "backend TLS validation"},
		{"properties.tls.validateCertificateName", "true", "backend TLS validation"},
	},
	"Microsoft.ApiManagement/service/apis/policies": {
		{"properties.format", "xml", "policies are well-formed XML"},
	},
	"Microsoft.ApiManagement/service/policies": {
		{"properties.format", "xml", "policies are well-formed XML"},
	},
	"Microsoft.ApiManagement/service/apis/operations/policies": {
		{"properties.format", "xml", "policies are well-formed XML"},
	},
	"Microsoft.ApiManagement/service/apis": {
		{"properties.subscriptionRequired", "false", "callers authenticate with Entra tokens, not subscription keys"},
	},
	"Microsoft.Graph/applications/federatedIdentityCredentials": {
		{"audiences", "[\n    'api://AzureADTokenExchange'\n  ]", "managed identity as federated credential"},
	},
}

var (
	bodyBytes     = []string{"frontend.request.body.bytes", "frontend.response.body.bytes", "backend.request.body.bytes", "backend.response.body.bytes"}
	secretName    = regexp.MustCompile(`(?i)key|secret|password|connection|token|credential`)
	forbiddenRBAC = map[string]string{
		"8e3af657-a8ff-443c-a75c-2fe8c4bcb635": "Owner",
		"b24988ac-6180-42a0-ab88-20f7382dd24c": "Contributor",
		"18d7d88d-d35e-4fb5-a5c3-7773c20a72d9": "User Access Administrator",
		"b7e6dc6d-f1e8-4753-8033-0f276bb0955b": "Storage Blob Data Owner",
		"17d1049b-9a84-46fb-8f53-869881c3d3ab": "Storage Account Contributor",
	}
)

func checkHardening(r resource) []string {
	var problems []string
	fail := func(format string, a ...any) {
		problems = append(problems, fmt.Sprintf("%s: %s", r, fmt.Sprintf(format, a...)))
	}
	if r.body == nil {
		return nil
	}
	for _, ru := range rules[r.typ] {
		got, ok := r.value(ru.path)
		if !ok {
			fail("%s is missing (%s)", ru.path, ru.why)
		} else if compact(got) != compact(ru.want) {
			fail("%s is %s, want %s (%s)", ru.path, compact(got), compact(ru.want), ru.why)
		}
	}
	name, _ := r.value("name")
	switch r.typ {
	case "Microsoft.ApiManagement/service/diagnostics", "Microsoft.ApiManagement/service/apis/diagnostics":
		for _, p := range bodyBytes {
			if got, ok := r.value("properties." + p); !ok || got != "0" {
				fail("properties.%s must be 0 (no body logging), got %q", p, got)
			}
		}
	case "Microsoft.ApiManagement/service/namedValues":
		if secretName.MatchString(name) {
			if got, _ := r.value("properties.secret"); got != "true" {
				fail("named value %q looks like a secret but is not secret: true", name)
			}
		}
	case "Microsoft.Web/sites/config":
		if name == "authsettingsV2" {
			for path, want := range map[string]string{
				"properties.globalValidation.requireAuthentication":                                      "true",
				"properties.globalValidation.unauthenticatedClientAction":                                "Return401",
				"properties.identityProviders.azureActiveDirectory.enabled":                              "true",
				"properties.identityProviders.azureActiveDirectory.registration.clientSecretSettingName": "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID",
			} {
				if got, _ := r.value(path); got != want {
					fail("%s is %q, want %q", path, got, want)
				}
			}
			for _, path := range []string{
				"properties.identityProviders.azureActiveDirectory.validation.allowedAudiences",
				"properties.identityProviders.azureActiveDirectory.validation.defaultAuthorizationPolicy.allowedApplications",
			} {
				if _, ok := r.value(path); !ok {
					fail("%s is missing", path)
				}
			}
			if iss, _ := r.value("properties.identityProviders.azureActiveDirectory.registration.openIdIssuer"); !strings.HasSuffix(iss, "/v2.0'") && !strings.HasSuffix(iss, "/v2.0") {
				fail("openIdIssuer %s is not the v2 issuer", iss)
			}
		}
	case "Microsoft.Authorization/roleAssignments":
		def, _ := r.value("properties.roleDefinitionId")
		for _, n := range r.file.identifiersIn(r.file.prop(r.body, "properties.roleDefinitionId")) {
			def += " " + n
		}
		for id, role := range forbiddenRBAC {
			if strings.Contains(def, id) {
				fail("grants %s; least privilege allows data-plane roles only", role)
			}
		}
	case "Microsoft.Graph/applications":
		if uris, ok := r.value("identifierUris"); ok && uris != "" {
			if got, _ := r.value("api.requestedAccessTokenVersion"); got != "2" {
				fail("api.requestedAccessTokenVersion is %q, want 2", got)
			}
			for _, p := range []string{"api.oauth2PermissionScopes", "api.preAuthorizedApplications", "appRoles", "requiredResourceAccess"} {
				if _, ok := r.value(p); !ok {
					fail("%s is missing", p)
				}
			}
		}
	}
	return problems
}

// compact drops the whitespace Bicep layout puts in arrays and objects.
func compact(s string) string { return strings.Join(strings.Fields(s), "") }

// identifiersIn returns the literal values of the variables referenced under n,
// so a role id held in a var is still seen.
func (f *bicepFile) identifiersIn(n *sitter.Node) []string {
	var out []string
	if n == nil {
		return nil
	}
	walk(n, func(c *sitter.Node) bool {
		if c.Kind() == "identifier" {
			if v := f.resolve(c); v != "" {
				out = append(out, v)
			}
		}
		return true
	})
	return out
}

// requiredAppSettings is the configuration contract the deployment must write.
var requiredAppSettings = []string{
	"AzureWebJobsFeatureFlags", "AzureWebJobsStorage__blobServiceUri", "AzureWebJobsStorage__credential", "AzureWebJobsStorage__clientId",
	"SNIPPETS_STORAGE__blobServiceUri", "SNIPPETS_STORAGE__credential", "SNIPPETS_STORAGE__clientId", "AZURE_CLIENT_ID",
	"APPLICATIONINSIGHTS_CONNECTION_STRING", "APPLICATIONINSIGHTS_AUTHENTICATION_STRING",
	"MCP_AUTH_MODE", "MCP_RESOURCE_URL", "MCP_ALLOWED_ORIGINS", "MCP_APPROVAL_TTL", "MCP_SERVER_ID",
	"WEBSITE_AUTH_PRM_DEFAULT_WITH_SCOPES", "WEBSITE_AUTH_CLIENT_ID", "WEBSITE_AUTH_AAD_ALLOWED_TENANTS", "OVERRIDE_USE_MI_FIC_ASSERTION_CLIENTID",
}

// requiredResources are the resource types the deployment must declare at least once.
var requiredResources = []string{
	"Microsoft.Resources/resourceGroups",
	"Microsoft.ManagedIdentity/userAssignedIdentities",
	"Microsoft.Storage/storageAccounts", "Microsoft.Storage/storageAccounts/blobServices", "Microsoft.Storage/storageAccounts/blobServices/containers",
	"Microsoft.Storage/storageAccounts/blobServices/containers/immutabilityPolicies",
	"Microsoft.OperationalInsights/workspaces", "Microsoft.Insights/components",
	"Microsoft.Authorization/roleAssignments",
	"Microsoft.Web/serverfarms", "Microsoft.Web/sites", "Microsoft.Web/sites/config", "Microsoft.Web/sites/basicPublishingCredentialsPolicies",
	"Microsoft.Graph/applications", "Microsoft.Graph/servicePrincipals", "Microsoft.Graph/applications/federatedIdentityCredentials",
	"Microsoft.ApiManagement/service", "Microsoft.ApiManagement/service/apis", "Microsoft.ApiManagement/service/apis/policies",
	"Microsoft.ApiManagement/service/backends", "Microsoft.ApiManagement/service/namedValues", "Microsoft.ApiManagement/service/loggers",
	"Microsoft.ApiManagement/service/diagnostics", "Microsoft.ApiManagement/service/apis/diagnostics",
	"Microsoft.Network/virtualNetworks", "Microsoft.Network/privateEndpoints", "Microsoft.Network/privateDnsZones",
}

// checkCoverage checks what no single resource shows: every required type is
// declared, the containers and publishing policies exist by name, the role
// ids and app roles are present, and every app setting of the contract is written.
func checkCoverage(files []*bicepFile) []string {
	var problems []string
	types := map[string]bool{}
	names := map[string]map[string]bool{}
	keys := map[string]bool{}
	var all strings.Builder
	for _, f := range files {
		all.Write(f.src)
		for _, r := range f.resources() {
			if r.existing {
				continue
			}
			types[r.typ] = true
			if names[r.typ] == nil {
				names[r.typ] = map[string]bool{}
			}
			if n, ok := r.value("name"); ok {
				names[r.typ][n] = true
				names[r.typ][f.resolve(f.prop(r.body, "name"))] = true
			}
		}
		walk(f.root(), func(n *sitter.Node) bool {
			if n.Kind() == "object_property" && n.NamedChildCount() > 0 {
				keys[f.literal(n.NamedChild(0))] = true
			}
			return true
		})
	}
	for _, t := range requiredResources {
		if !types[t] {
			problems = append(problems, fmt.Sprintf("no %s is declared", t))
		}
	}
	for typ, want := range map[string][]string{
		"Microsoft.Storage/storageAccounts/blobServices/containers": {"snippets", "approvals", "audit-anchors"},
		"Microsoft.Web/sites/basicPublishingCredentialsPolicies":    {"ftp", "scm"},
		"Microsoft.Web/sites/config":                                {"appsettings", "authsettingsV2"},
	} {
		for _, n := range want {
			if !names[typ][n] {
				problems = append(problems, fmt.Sprintf("no %s named %q", typ, n))
			}
		}
	}
	for _, k := range requiredAppSettings {
		if !keys[k] {
			problems = append(problems, fmt.Sprintf("app setting %s is never written", k))
		}
	}
	text := all.String()
	for what, s := range map[string]string{
		"Storage Blob Data Contributor role id": "ba92f5b4-2d11-453d-a403-e96b0029c9fe",
		"Monitoring Metrics Publisher role id":  "3913510d-42f4-4e42-8a64-420c390055eb",
		"Snippets.Read app role":                "'Snippets.Read'",
		"Snippets.Write app role":               "'Snippets.Write'",
		"Snippets.Delete app role":              "'Snippets.Delete'",
		"Snippets.Approve app role":             "'Snippets.Approve'",
		"user_impersonation scope":              "'user_impersonation'",
		"Graph User.Read permission id":         "e1fe6dd8-ba31-4d61-89e7-88639da4683d",
		"VS Code pre-authorized client":         "aebc6443-996d-45c2-90f0-388ff96faa56",
		"Azure CLI pre-authorized client":       "04b07795-8ddb-461a-bbee-02f9e1bf7b46",
		"MCP custom handler feature flag":       "'EnableMcpCustomHandlerPreview'",
		"Entra v2 issuer":                       "/v2.0'",
		"MCP Inspector redirect URI":            "'http://127.0.0.1:6274/oauth/callback'",
		"MCP Inspector proxy redirect URI":      "'http://127.0.0.1:6276/oauth/callback'",
		"Claude Code redirect URI":              "'http://localhost/callback'",
		"claude.ai redirect URI":                "'https://claude.ai/api/mcp/auth_callback'",
		"Cursor redirect URI":                   "'http://localhost:8787/callback'",
		"public client flag":                    "isFallbackPublicClient: true",
		"anchor blobs may grow":                 "allowProtectedAppendWrites: true",
	} {
		if !strings.Contains(text, s) {
			problems = append(problems, fmt.Sprintf("%s (%s) appears nowhere", what, s))
		}
	}
	return problems
}
