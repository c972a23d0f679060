// Package policies holds this deployment's policy as code, next to the
// server's default policy: the operator's Cedar rules (operator.cedar) and
// the agent inventory (agents.json). Both are embedded in the binary, so
// `azd up` (which ships only the binary and host.json) deploys them;
// settings can replace them at run time (MCP_OPERATOR_POLICY, MCP_AGENT_INVENTORY and
// their _FILE forms; docs/SECURITY.md).
package policies

import _ "embed" // the files below

// Operator is operator.cedar: forbid rules added to the default policy.
//
//go:embed operator.cedar
var Operator []byte

// Agents is agents.json: the reviewed agent inventory. With no agents
// listed nothing is checked (agent_inventory "not_checked").
//
//go:embed agents.json
var Agents []byte
