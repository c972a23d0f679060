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
//   - azure.yaml and host.json validate against the JSON schemas kept in
//     ../shared/schemas.
//
// The package has no runtime code. Azure itself is never contacted: what only a
// real deployment can confirm is listed in docs/DEPLOY.md.
package infra
