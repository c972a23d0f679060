package audit

import (
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// TestKQLMatchesEventSchema keeps infra/kql in step with Event: every
// custom dimension, measurement, result code and approval result the queries
// read must be one the server writes. (infra/kql/check/check.sh checks the
// queries' syntax and table columns.)
func TestKQLMatchesEventSchema(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "infra", "kql", "*.kql"))
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, f := range files {
		names = append(names, filepath.Base(f))
	}
	for _, want := range []string{"agents.kql", "correlation.kql", "destructive_and_approvals.kql", "unknown_agents.kql"} {
		if !slices.Contains(names, want) {
			t.Errorf("infra/kql lacks %s (have %v)", want, names)
		}
	}

	results := []string{ResultOK, ResultToolError, ResultDenied, ResultApprovalRequired, ResultInvalidArguments, ResultNotFound, ResultUnavailable, ResultInternalError}
	approvals := []string{ApprovalNotRequired, ApprovalRequested, ApprovalPending, ApprovalApproved, ApprovalDenied, ApprovalExpired, ApprovalMismatch}
	property := regexp.MustCompile(`Properties(?:\.([A-Za-z0-9_]+)|\["([A-Za-z0-9_]+)"\])`)
	measurement := regexp.MustCompile(`Measurements(?:\.([A-Za-z0-9_]+)|\["([A-Za-z0-9_]+)"\])`)
	resultLiteral := regexp.MustCompile(`result_code\s*[!=]=\s*"([^"]*)"`)
	approvalLiteral := regexp.MustCompile(`approval_result\s*[!=]=\s*"([^"]*)"`)
	failureList := regexp.MustCompile(`failure_codes\s*=\s*dynamic\(\[([^\]]*)\]\)`)
	eventName := regexp.MustCompile(`Name\s*==\s*"([^"]*)"`)

	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		text := string(b)
		base := filepath.Base(f)
		if !strings.HasPrefix(text, "// "+base+" - ") || !strings.Contains(text, "Run it in") {
			t.Errorf("%s: must open with a comment naming the file, what it answers, and how to run it", base)
		}
		check := func(kind string, got string, allowed []string) {
			if !slices.Contains(allowed, got) {
				t.Errorf("%s reads %s %q, which the server never writes", base, kind, got)
			}
		}
		for _, m := range property.FindAllStringSubmatch(text, -1) {
			check("custom dimension", m[1]+m[2], eventFields)
		}
		for _, m := range measurement.FindAllStringSubmatch(text, -1) {
			check("measurement", m[1]+m[2], []string{"latency_ms", "arguments_bytes"})
		}
		for _, m := range resultLiteral.FindAllStringSubmatch(text, -1) {
			check("result code", m[1], results)
		}
		for _, m := range approvalLiteral.FindAllStringSubmatch(text, -1) {
			check("approval result", m[1], approvals)
		}
		for _, m := range failureList.FindAllStringSubmatch(text, -1) {
			for _, code := range strings.Split(m[1], ",") {
				check("result code", strings.Trim(strings.TrimSpace(code), `"`), results)
			}
		}
		found := eventName.FindAllStringSubmatch(text, -1)
		if len(found) == 0 {
			t.Errorf("%s does not filter on the event name", base)
		}
		for _, m := range found {
			check("event name", m[1], []string{AppInsightsEventName})
		}
	}
}
