package tools

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"

	"github.com/mark3labs/mcp-go/mcp"
	"github.com/mark3labs/mcp-go/server"

	"github.com/snippets-mcp/server/internal/audit"
	"github.com/snippets-mcp/server/internal/identity"
	"github.com/snippets-mcp/server/internal/policy"
)

// tool is one tool as the server holds it: what clients see, the class its
// default rule comes from, and its handler with the argument check in front.
type tool struct {
	spec      mcp.Tool
	class     policy.Class
	delegates bool // calls a downstream API on the user's behalf (policy.Tool.Delegates)
	handler   server.ToolHandlerFunc
}

// handlerFunc is a tool's own code. id is the authenticated caller, never
// nil; in holds the arguments, already checked against the tool's input
// schema. It returns the structured result and the text for people, or an
// error: a failure from fail (or a helper such as storeError) becomes an
// error result with its audit code; any other error is a bug, logged and
// answered as internal_error.
type handlerFunc[In, Out any] func(ctx context.Context, id *identity.Identity, in In) (Out, string, error)

// noArgs is the In of a tool that takes no arguments.
type noArgs struct{}

// newTool declares a tool, in the style of the MCP go-sdk's AddTool[In,
// Out]: spec is what clients see (name, title, description, input schema,
// all four annotations), class is where its default authorization rule
// comes from (policy.Class*), and h is its code. The output schema is
// generated from Out. The argument check is compiled from spec here, once;
// at call time it runs first, and only arguments that pass it are bound to
// In with mcp-go's BindArguments.
//
// In's fields must be exactly spec's input properties, by JSON name and
// type; newTool panics otherwise, so that a tool cannot drift from its
// schema unnoticed (every test that builds a Server would fail).
func newTool[In, Out any](spec mcp.Tool, class policy.Class, h handlerFunc[In, Out]) tool {
	mcp.WithOutputSchema[Out]()(&spec)
	portable(spec.OutputSchema.Properties)
	if err := argsMatchSchema(reflect.TypeFor[In](), spec); err != nil {
		panic("tools: " + spec.Name + ": " + err.Error())
	}
	return tool{spec: spec, class: class, handler: checked(compileArgs(spec), typed(h))}
}

// typed adapts a handlerFunc to mcp-go: it finds the caller, binds the
// checked arguments, and turns what the handler returns into a result.
func typed[In, Out any](h handlerFunc[In, Out]) server.ToolHandlerFunc {
	return func(ctx context.Context, req mcp.CallToolRequest) (*mcp.CallToolResult, error) {
		// The HTTP layer refuses unauthenticated requests, so nil means a
		// wiring bug: deny.
		id := identity.FromContext(ctx)
		if id == nil {
			return errorResult(ctx, audit.ResultDenied, "not authenticated"), nil
		}
		// Bind exactly what the argument check saw (the decoded map), not
		// the raw JSON beside it: an integer sent as 20.0 passed the check
		// and binds to an int.
		var in In
		bind := req
		bind.Params.RawArguments = nil
		if err := bind.BindArguments(&in); err != nil {
			return nil, fmt.Errorf("binding checked arguments: %w", err)
		}
		out, text, err := h(ctx, id, in)
		var f *failure
		switch {
		case errors.As(err, &f):
			return errorResult(ctx, f.code, f.msg), nil
		case err != nil:
			return nil, err
		}
		return answer(out, text), nil
	}
}

// failure is a call that ends in an error result: the code for the audit
// event, the words for the caller.
type failure struct {
	code audit.ResultCode
	msg  string
}

func (f *failure) Error() string { return f.msg }

// fail is how a handler refuses or gives up: the caller gets msg as an
// error result, the audit event code. The message is for the caller only:
// it may quote arguments, so it never goes into the audit record.
func fail(code audit.ResultCode, msg string) error { return &failure{code: code, msg: msg} }

// errorResult returns a tool error result and records its code for the
// audit event.
func errorResult(ctx context.Context, code audit.ResultCode, msg string) *mcp.CallToolResult {
	callFrom(ctx).set(func(c *call) { c.resultCode = code })
	return mcp.NewToolResultError(msg)
}

// partial is a result whose text already carries part of it (get_snippet's
// content), which the JSON block need not send twice.
type partial interface {
	jsonBlock() any // what the JSON block holds instead of the whole result
}

// answer is a tool's success result: text first, for people and for
// clients that show one block, then the structured content serialized as
// JSON, as the spec advises, for clients that pass only text content to the
// model: an agent sees every id, etag and cursor it needs to act on.
func answer(structured any, text string) *mcp.CallToolResult {
	block := structured
	if p, ok := structured.(partial); ok {
		block = p.jsonBlock()
	}
	res := mcp.NewToolResultStructured(structured, text)
	if b, err := json.Marshal(block); err == nil { // types of this package: never fails
		res.Content = append(res.Content, mcp.NewTextContent(string(b)))
	}
	return res
}

// argsMatchSchema reports how the fields of an argument struct differ from
// a tool's input properties: each JSON-named field must be a property of
// the matching type (a pointer stands for "may be absent"), and each
// property a field.
func argsMatchSchema(in reflect.Type, spec mcp.Tool) error {
	if in.Kind() != reflect.Struct {
		return fmt.Errorf("arguments type %s is not a struct", in)
	}
	want := map[reflect.Kind]string{reflect.String: "string", reflect.Bool: "boolean", reflect.Int: "integer", reflect.Int32: "integer", reflect.Int64: "integer"}
	fields := map[string]bool{}
	for i := range in.NumField() {
		f := in.Field(i)
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if !f.IsExported() || name == "-" {
			continue
		}
		if name == "" {
			return fmt.Errorf("field %s has no JSON name", f.Name)
		}
		p, ok := spec.InputSchema.Properties[name].(map[string]any)
		if !ok {
			return fmt.Errorf("field %s (%q) is not an input property", f.Name, name)
		}
		t := f.Type
		if t.Kind() == reflect.Pointer {
			t = t.Elem()
		}
		if got := want[t.Kind()]; got == "" || got != p["type"] {
			return fmt.Errorf("field %s is %s, property %q is %v", f.Name, f.Type, name, p["type"])
		}
		fields[name] = true
	}
	for name := range spec.InputSchema.Properties {
		if !fields[name] {
			return fmt.Errorf("input property %q has no field", name)
		}
	}
	return nil
}
