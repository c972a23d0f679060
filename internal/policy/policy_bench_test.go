package policy

import (
	"fmt"
	"testing"

	"github.com/snippets-mcp/server/internal/identity"
)

// BenchmarkPolicyAllows is one per-tool decision for a delegated caller.
func BenchmarkPolicyAllows(b *testing.B) {
	p, err := New(map[string]Class{"get_snippet": ClassRead, "save_snippet": ClassWrite, "delete_snippet": ClassDestructive, "approve_request": ClassAdmin}, nil)
	if err != nil {
		b.Fatal(err)
	}
	id := &identity.Identity{TenantID: "t", ObjectID: "o", Scopes: []string{identity.ScopeUser}, Roles: []string{identity.RoleDelete}}
	b.ReportAllocs()
	for b.Loop() {
		if !p.Allows(id, "delete_snippet") || p.Allows(id, "approve_request") {
			b.Fatal("wrong decision")
		}
	}
}

// benchCaller is a delegated caller with a token, as tools/list sees one.
var benchCaller = (&identity.Identity{TenantID: "t", ObjectID: "o", ClientID: "c", Scopes: []string{identity.ScopeUser},
	Roles: []string{identity.RoleDelete}, Method: identity.MethodJWT, Kind: identity.KindUser}).WithBearerToken("tok")

// BenchmarkDecide is one Cedar decision (tools/call) for a caller whose
// Principal was built once for the request.
func BenchmarkDecide(b *testing.B) {
	e := mustEngine(b, Options{DelegationConfigured: true})
	p := e.Principal(benchCaller)
	del, appr := e.ToolResource("delete_snippet"), e.ToolResource("approve_request")
	b.ReportAllocs()
	for b.Loop() {
		if !e.Allowed(Request{Principal: p, Action: ActionCall, Resource: del}) ||
			e.Allowed(Request{Principal: p, Action: ActionCall, Resource: appr}) {
			b.Fatal("wrong decision")
		}
	}
}

// BenchmarkFilterAllTools is the tools/list filter of every tool for one
// caller with the engine: build the principal, then one decision per tool.
func BenchmarkFilterAllTools(b *testing.B) {
	e := mustEngine(b, Options{DelegationConfigured: true})
	names := e.Tools()
	b.ReportAllocs()
	for b.Loop() {
		if got := e.VisibleTools(e.Principal(benchCaller), names); len(got) != 6 {
			b.Fatalf("visible %v", got)
		}
	}
}

// BenchmarkFilterAllToolsRuleTable is the same filter with today's rule
// table (Policy.Allows): the baseline the engine is compared with.
func BenchmarkFilterAllToolsRuleTable(b *testing.B) {
	p, err := New(serverClasses(), nil)
	if err != nil {
		b.Fatal(err)
	}
	names := p.Tools()
	b.ReportAllocs()
	for b.Loop() {
		out := make([]string, 0, len(names))
		for _, n := range names {
			if p.Allows(benchCaller, n) {
				out = append(out, n)
			}
		}
		if len(out) != 6 {
			b.Fatalf("visible %v", out)
		}
	}
}

// BenchmarkFilterAllToolsFirstCall is the filter for a caller the engine
// has not seen: the principal is built and every tool decided by Cedar.
func BenchmarkFilterAllToolsFirstCall(b *testing.B) {
	e := mustEngine(b, Options{DelegationConfigured: true})
	names := e.Tools()
	ids := make([]*identity.Identity, callMemoSize)
	for i := range ids {
		id := *benchCaller
		id.ObjectID = fmt.Sprintf("o-%d", i)
		ids[i] = id.WithBearerToken("tok")
	}
	b.ReportAllocs()
	i := 0
	for b.Loop() {
		if got := e.VisibleTools(e.Principal(ids[i%len(ids)]), names); len(got) != 6 {
			b.Fatalf("visible %v", got)
		}
		i++
		if i%len(ids) == 0 {
			e.calls = callMemo{} // start over: every call a first one
		}
	}
}
