package infra

import (
	"fmt"
	"regexp"
	"strings"
)

var (
	maxInstancesParam = regexp.MustCompile(`((?:@\w+\([^)]*\)\s*|//[^\n]*\n\s*)*)param maximumInstanceCount\b`)
	lineComment       = regexp.MustCompile(`(?m)^\s*//.*$`)
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
		for _, r := range f.resources() {
			if r.typ == "Microsoft.Web/sites" && !r.existing {
				if _, ok := r.value("properties.siteConfig.cors.allowedOrigins"); !ok {
					problems = append(problems, fmt.Sprintf("%s: properties.siteConfig.cors.allowedOrigins is missing (browser preflights at the direct URL)", r))
				}
			}
		}
	}
	return problems
}
