// Package tools is the MCP surface of the server: each tool's definition,
// annotations, class and handler, the resources and the prompt, and the
// per-call authorization and audit around them.
//
// # Using it
//
// The handler builds one [Server] with [New] from [Options] (every field
// has a documented zero value), serves [Server.MCP] with mcp-go's
// StreamableHTTPServer and [ContextFunc], and wraps that HTTP handler in
// [FixErrors].
//
// # Adding a tool
//
// A tool is one file in this package, named after the tool, holding:
//
//   - its name as a constant (toolCountSnippets = "count_snippets"), and
//     argument names from the arg* constants;
//   - its argument struct, whose json tags are the input schema's property
//     names (a pointer field tells "not sent" from the zero value);
//   - its result type, from which the output schema is generated;
//   - its declaration: newTool(mcp.NewTool(name, title, description,
//     arguments, all four annotations), class, handler), returned by a
//     method that [Server]'s catalog lists;
//   - its handler, func(ctx, id, in) (Out, text, error).
//
// The example of this package (example_test.go) is such a file, for a
// count_snippets tool, together with a run of it.
//
// What each piece gets for free:
//
//   - Declared: newTool compiles the argument check from the input schema
//     once, and panics at New if the argument struct and the schema
//     disagree, so the two cannot drift apart.
//   - Classed: the class (policy.ClassRead, ClassWrite, ClassDestructive,
//     ClassAdmin) gives the tool its default rule; an operator's policy
//     document (Options.Policy) may only tighten it, and may name the new
//     tool as soon as it is in the catalog.
//   - Authorized: mcp-go's tool filter applies the rule to tools/list and
//     tools/call alike; a caller the rule refuses neither sees the tool nor
//     can call it, and gets the same -32602 as for a tool that does not
//     exist. The handler runs only for a caller the rule admits, with id
//     never nil; rules finer than the tool (the shared space needs
//     Snippets.Write, see writeSpace) are the handler's own.
//   - Checked: arguments are checked against the schema and refused in
//     words ("argument \"prefix\" must be a string, not an integer") before
//     mcp-go's BindArguments fills the struct; the handler sees only
//     arguments of the right names and types.
//   - Bounded: every call has Options.ToolTimeout as its deadline.
//   - Audited: every tools/call produces one audit event, whatever its
//     outcome. A handler classifies its own failures by returning
//     fail(code, msg) (or storeError, approvalError): the caller reads msg,
//     which may quote arguments; the event gets only the code
//     (audit.ResultCode). A success is ok; an error that is no failure is a
//     bug, logged and audited internal_error. Approval outcomes
//     (audit.ApprovalResult) are recorded by the approval helpers.
//
// A destructive tool asks for an approval instead of acting, as
// delete_snippet does with requestApproval, useApproval and afterApproved
// (approval.go), binding the approval to its arguments with argsDigest.
package tools
