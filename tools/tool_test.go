package tools

import (
	"context"
	"errors"
	"log/slog"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/mark3labs/mcp-go/mcp"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/policy"
)

// An argument struct must name exactly the schema's properties, with
// matching types; newTool refuses any other.
func TestArgsMatchSchema(t *testing.T) {
	spec := mcp.NewTool("t",
		mcp.WithString("name", mcp.Required()),
		mcp.WithBoolean("flag"),
		mcp.WithInteger("n"))
	type good struct {
		Name string `json:"name"`
		Flag bool   `json:"flag"`
		N    *int   `json:"n"`
		_    int    // unexported fields are not arguments
	}
	type missing struct {
		Name string `json:"name"`
		Flag bool   `json:"flag"`
	}
	type wrongType struct {
		Name int  `json:"name"`
		Flag bool `json:"flag"`
		N    int  `json:"n"`
	}
	type untagged struct {
		Name string
	}
	cases := []struct {
		name string
		err  error
		want string
	}{
		{"good", argsMatchSchema(typeOf[good](), spec), ""},
		{"missing field", argsMatchSchema(typeOf[missing](), spec), `input property "n" has no field`},
		{"extra field", argsMatchSchema(typeOf[struct {
			Name  string `json:"name"`
			Flag  bool   `json:"flag"`
			N     int    `json:"n"`
			Other string `json:"other"`
		}](), spec), `field Other ("other") is not an input property`},
		{"wrong type", argsMatchSchema(typeOf[wrongType](), spec), `field Name is int, property "name" is string`},
		{"untagged", argsMatchSchema(typeOf[untagged](), spec), "field Name has no JSON name"},
		{"not a struct", argsMatchSchema(typeOf[string](), spec), "is not a struct"},
		{"no arguments", argsMatchSchema(typeOf[noArgs](), mcp.NewTool("u")), ""},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			switch {
			case c.want == "" && c.err != nil:
				t.Errorf("got %v, want no error", c.err)
			case c.want != "" && (c.err == nil || !strings.Contains(c.err.Error(), c.want)):
				t.Errorf("got %v, want %q", c.err, c.want)
			}
		})
	}
	defer func() {
		if r := recover(); r == nil || !strings.Contains(r.(string), "tools: t: ") {
			t.Errorf("newTool with a mismatched struct: recovered %v, want a panic naming the tool", r)
		}
	}()
	newTool(spec, policy.ClassRead, func(context.Context, *identity.Identity, missing) (CountResult, string, error) {
		return CountResult{}, "", nil
	})
}

// The approval digest of the typed arguments is the digest of the
// arguments as sent, as it was before the handlers were typed: approvals
// requested by an older server stay usable, and absent, empty and default
// values keep their meaning.
func TestActionDigestIsTheArgumentsDigest(t *testing.T) {
	s, err := New(Options{Log: slog.New(slog.DiscardHandler)})
	if err != nil {
		t.Fatal(err)
	}
	saves := []map[string]any{
		{"snippetname": "a", "snippet": "x"},
		{"snippetname": "a", "snippet": "x", "shared": false},
		{"snippetname": "a", "snippet": "x", "shared": true},
		{"snippetname": "a", "snippet": "x", "etag": ""},
		{"snippetname": "a", "snippet": "x", "etag": `"0x1"`, "approval_id": "0123"},
		{"snippetname": "a", "snippet": "<&>\u2028", "shared": true, "etag": `"0x1"`},
	}
	deletes := []map[string]any{
		{"snippetname": "a"},
		{"snippetname": "a", "shared": false, "approval_id": "x"},
		{"snippetname": "a", "shared": true},
	}
	for _, args := range saves {
		if msg := compileArgs(s.tools[toolSaveSnippet].spec)(args); msg != "" {
			t.Fatal(msg)
		}
		var in saveArgs
		bind(t, args, &in)
		if got, want := argsDigest(toolSaveSnippet, in.action()), argsDigest(toolSaveSnippet, args); got != want {
			t.Errorf("save %v: digest %s, want %s", args, got, want)
		}
	}
	for _, args := range deletes {
		var in deleteArgs
		bind(t, args, &in)
		if got, want := argsDigest(toolDeleteSnippet, in.action()), argsDigest(toolDeleteSnippet, args); got != want {
			t.Errorf("delete %v: digest %s, want %s", args, got, want)
		}
	}
}

func bind(t *testing.T, args map[string]any, target any) {
	t.Helper()
	req := mcp.CallToolRequest{}
	req.Params.Arguments = args
	if err := req.BindArguments(target); err != nil {
		t.Fatal(err)
	}
}

// New builds the mcp-go server once; zero Options are usable.
func TestNewZeroOptions(t *testing.T) {
	s, err := New(Options{})
	if err != nil {
		t.Fatal(err)
	}
	if first := s.MCP(); first == nil || s.MCP() != first {
		t.Error("MCP() does not return the one server New built")
	}
	if _, ok := s.profiles.(notConfigured); !ok {
		t.Errorf("profiles %T, want notConfigured", s.profiles)
	}
	if s.engine.MayCall(s.engine.Principal(alice), toolGetMyProfile) {
		t.Error("get_my_profile offered without delegation")
	}
	if _, err := s.profiles.Profile(context.Background(), delegateUser(alice)); err == nil || !strings.Contains(err.Error(), "not configured") {
		t.Errorf("notConfigured answered %v", err)
	}
	if s.profiles.Resource() != "" {
		t.Error("notConfigured names a resource")
	}
	if _, err := New(Options{Policy: policy.Options{ToolPolicy: []byte(`{"tools": {"nope": {"deny": true}}}`)}}); err == nil {
		t.Error("a policy naming an unknown tool was accepted")
	}
}

// probe is a test tool whose handler does what it is told.
func probe(do func(ctx context.Context) error) func(*Server) []tool {
	return func(*Server) []tool {
		return []tool{newTool(mcp.NewTool("probe",
			mcp.WithReadOnlyHintAnnotation(true), mcp.WithDestructiveHintAnnotation(false),
			mcp.WithIdempotentHintAnnotation(true), mcp.WithOpenWorldHintAnnotation(false)),
			policy.ClassRead, func(ctx context.Context, _ *identity.Identity, _ noArgs) (CountResult, string, error) {
				return CountResult{}, "fine", do(ctx)
			})}
	}
}

// Each middleware step does its one job: the deadline bounds the call
// (30 s by default), a handler's error or panic becomes a logged
// internal_error result, a failure keeps its code.
func TestMiddleware(t *testing.T) {
	cases := []struct {
		name     string
		timeout  time.Duration
		do       func(ctx context.Context) error
		isError  bool
		text     string
		wantCode audit.ResultCode
	}{
		{"default deadline", 0, func(ctx context.Context) error {
			if d, ok := ctx.Deadline(); !ok || time.Until(d) < 29*time.Second || time.Until(d) > 30*time.Second {
				return errors.New("no 30 s deadline")
			}
			return nil
		}, false, "fine", audit.ResultOK},
		{"deadline", time.Millisecond, func(ctx context.Context) error {
			<-ctx.Done()
			return fail(audit.ResultUnavailable, "too slow")
		}, true, "too slow", audit.ResultUnavailable},
		{"error", 0, func(context.Context) error { return errors.New("boom") }, true, "probe failed unexpectedly; the failure was logged", audit.ResultInternalError},
		{"panic", 0, func(context.Context) error { panic("boom") }, true, "probe failed unexpectedly; the failure was logged", audit.ResultInternalError},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			aud := &memAuditor{}
			s, err := newServer(Options{Auditor: aud, ToolTimeout: c.timeout, Log: slog.New(slog.DiscardHandler)}, probe(c.do))
			if err != nil {
				t.Fatal(err)
			}
			f := &fixture{mcp: s.MCP()}
			_, isErr, text := f.tool(t, alice, "probe", nil)
			if isErr != c.isError || text != c.text {
				t.Errorf("got isError=%v %q, want %v %q", isErr, text, c.isError, c.text)
			}
			if evs := aud.all(); len(evs) != 1 || evs[0].ResultCode != string(c.wantCode) {
				t.Errorf("audited %+v, want one event %s", evs, c.wantCode)
			}
		})
	}
}

// A handler never runs without a caller: mcp-go's filter hides every tool
// from an unauthenticated request, and the typed step denies one anyway.
func TestTypedNeedsACaller(t *testing.T) {
	ran := false
	h := typed(func(context.Context, *identity.Identity, noArgs) (CountResult, string, error) {
		ran = true
		return CountResult{}, "", nil
	})
	res, err := h(context.Background(), mcp.CallToolRequest{})
	if err != nil || !res.IsError || ran || res.Content[0].(mcp.TextContent).Text != "not authenticated" {
		t.Errorf("got %+v, %v (ran %v), want a denial without running", res, err, ran)
	}
}

func typeOf[T any]() reflect.Type { return reflect.TypeFor[T]() }
