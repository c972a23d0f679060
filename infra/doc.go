// Package infra holds the deployment (Bicep, API Management policies, azure.yaml
// checks) and, in its tests, the offline verification run by `make test`:
//
//   - every infra/**/*.bicep parses with the tree-sitter Bicep grammar, every
//     file it loads exists, every resource type names an API version, and the
//     hardened settings (shared keys off, HTTPS only, no body logging, ...) are
//     present in the resources that need them;
//   - every policy XML is well-formed and passes the gateway checklist; the
//     tools/call classifier is translated into Go statement by statement and
//     run over hostile bodies whose effect comes from a real mcp-go server;
//   - every resource declaration type-checks against the Bicep type
//     definitions (property names, literal types and enums, required and
//     read-only properties), Graph resources against the Graph types;
//   - azure.yaml and host.json validate against their JSON schemas;
//   - every KQL file, and every SLO alert query as deployed, type-checks with
//     the Kusto language service; the SLO alert queries run, in a small KQL
//     evaluator, over audit events the e2e tests record from the binary, and
//     fire on a breach only; the body-logging policy rule flags exactly the
//     diagnostics that log MCP response bodies;
//   - where the Bicep CLI is installed, `bicep build` and `bicep lint` pass.
//
// This folder is a Go module of its own (go.mod), so that its test-only
// dependencies (tree-sitter through cgo, JSON schema, YAML) stay out of the
// server's module.
//
// The schemas and type definitions are pinned by URL and SHA-256 in
// testdata/pins.txt and read from a cache, the ../shared mirror or a
// download; see README.md.
//
// The package has no runtime code. Azure itself is never contacted: what only a
// real deployment can confirm is listed in docs/DEPLOY.md.
package infra
