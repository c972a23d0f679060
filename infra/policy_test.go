package infra

import (
	"path/filepath"
	"testing"
)

func TestPolicies(t *testing.T) {
	t.Parallel()
	problems, err := lintPolicies(".")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range problems {
		t.Error(p)
	}
}

// TestPolicyFixtures proves each policy check can fail: every archive under
// testdata/policy plants one mistake into a copy of the policies and Bicep.
func TestPolicyFixtures(t *testing.T) {
	t.Parallel()
	for _, name := range fixtures(t, "testdata/policy") {
		t.Run(filepath.Base(name), func(t *testing.T) {
			t.Parallel()
			dir, want := plant(t, name, map[string]string{".": "."})
			problems, err := lintPolicies(dir)
			if err != nil {
				t.Fatal(err)
			}
			expectProblems(t, problems, want)
		})
	}
}
