package policy

import (
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"

	"github.com/snippets-mcp/server/internal/identity"
)

// decisionPoint is one place where the server decides who may do what
// (docs/SECURITY.md, "Policy as code", lists where each is in tools/).
type decisionPoint struct {
	name string
	req  func(e *Engine, p Principal) Decision
}

// decisionPoints are every authorization decision of the server, each as
// the one engine call the tools layer makes there.
var decisionPoints = []decisionPoint{
	{"tools/list filter", func(e *Engine, p Principal) Decision {
		return e.Decide(Request{Principal: p, Action: ActionCall, Resource: e.ToolResource("get_snippet")})
	}},
	{"tools/call (mcp-go's filter, then the handler)", func(e *Engine, p Principal) Decision {
		return e.Decide(Request{Principal: p, Action: ActionCall, Resource: e.ToolResource("save_snippet")})
	}},
	{"whoami's tool list", func(e *Engine, p Principal) Decision {
		return e.Decide(Request{Principal: p, Action: ActionCall, Resource: e.ToolResource("whoami")})
	}},
	{"get_my_profile offered (delegation)", func(e *Engine, p Principal) Decision {
		return e.Decide(Request{Principal: p, Action: ActionCall, Resource: e.ToolResource("get_my_profile")})
	}},
	{"resources/read private", func(e *Engine, p Principal) Decision { return e.ReadContent(p, ActionRead, false) }},
	{"resources/read shared", func(e *Engine, p Principal) Decision { return e.ReadContent(p, ActionRead, true) }},
	{"prompts/list and prompts/get", func(e *Engine, p Principal) Decision { return e.ReadContent(p, ActionRead, false) }},
	{"completion/complete", func(e *Engine, p Principal) Decision { return e.ReadContent(p, ActionList, true) }},
	{"shared-space write", func(e *Engine, p Principal) Decision {
		return e.Decide(Request{Principal: p, Action: ActionWrite, Resource: SpaceResource(true)})
	}},
	{"private-space write", func(e *Engine, p Principal) Decision {
		return e.Decide(Request{Principal: p, Action: ActionWrite, Resource: SpaceResource(false)})
	}},
	{"overwrite of another identity's content: approval needed?", func(e *Engine, p Principal) Decision {
		return e.Decide(Request{Principal: p, Action: ActionSkipApproval, Resource: e.ToolResource("save_snippet"), OverwritesOthers: true})
	}},
	{"destructive call: approval needed?", func(e *Engine, p Principal) Decision {
		return e.Decide(Request{Principal: p, Action: ActionSkipApproval, Resource: e.ToolResource("delete_snippet")})
	}},
	{"approve/deny", func(e *Engine, p Principal) Decision { return e.DecideApproval(p, "r1", "someone-else", "other-app") }},
}

// TestEveryDecisionPointGoesThroughTheEngine: each point is a Cedar
// decision (it names the rules that decided, and the digest), denies a
// caller without identity, and every action of the schema has a point.
func TestEveryDecisionPointGoesThroughTheEngine(t *testing.T) {
	e := mustEngine(t, Options{DelegationConfigured: true})
	all := e.Principal(withToken(&identity.Identity{TenantID: "t", ObjectID: "o", ClientID: "c", Kind: identity.KindUser,
		Scopes: []string{identity.ScopeUser}, Roles: []string{identity.RoleRead, identity.RoleWrite, identity.RoleDelete, identity.RoleApprove}}))
	for _, dp := range decisionPoints {
		t.Run(dp.name, func(t *testing.T) {
			if d := dp.req(e, Principal{}); d.Allowed {
				t.Error("allowed without a principal")
			}
			d := dp.req(e, all)
			if d.Digest != e.Digest() {
				t.Errorf("digest %q, want %q", d.Digest, e.Digest())
			}
			if d.Allowed && len(d.Rules) == 0 {
				t.Error("allowed without a deciding rule")
			}
		})
	}
	text := regexp.MustCompile(`(?m)^action ([a-z_, ]+) appliesTo`).FindAllStringSubmatch(Schema, -1)
	var inSchema []string
	for _, m := range text {
		for _, a := range strings.Split(m[1], ",") {
			inSchema = append(inSchema, strings.TrimSpace(a))
		}
	}
	if len(inSchema) != len(actions) {
		t.Errorf("schema actions %v, engine actions %v", inSchema, actions)
	}
}

// outsideEngine are the patterns of a decision made outside the engine in
// tools/ (the rule table, role and scope checks, app-only and method
// tests), and how many tools/ may have: none. tools/policy_test.go
// TestDecisionsGoThroughTheEngine shows each decision point answering to
// the engine.
var outsideEngine = []struct {
	pattern string
	legacy  int
}{
	{`\.policy\.Allows\(|\bpolicy\.New\(`, 0},
	{`\.HasRole\(|\.HasScope\(`, 0},
	{`!id\.AppOnly\b|\bid\.AppOnly &&|\bif id\.AppOnly\b`, 0},
	{`\bid\.Method != identity\.`, 0}, // (caller.go reads the method for the audit mode only)
}

func TestNoNewDecisionsOutsideTheEngine(t *testing.T) {
	files, err := filepath.Glob(filepath.Join("..", "..", "tools", "*.go"))
	if err != nil || len(files) == 0 {
		t.Fatalf("tools/: %v", err)
	}
	var src strings.Builder
	for _, f := range files {
		if strings.HasSuffix(f, "_test.go") {
			continue
		}
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		src.Write(b)
	}
	for _, o := range outsideEngine {
		t.Run(o.pattern, func(t *testing.T) {
			got := len(regexp.MustCompile(o.pattern).FindAllStringIndex(src.String(), -1))
			if got > o.legacy {
				t.Errorf("tools/ decides %d times with %s outside the policy engine (at most %d, and falling); decide with policy.Engine instead", got, o.pattern, o.legacy)
			}
			if got < o.legacy {
				t.Logf("down to %d from %d: lower the count in outsideEngine", got, o.legacy)
			}
		})
	}
}
