#!/usr/bin/env bash
# Checks every infra/kql/*.kql and infra/kql/slo/*.kql file with Microsoft's
# Kusto language service (parser and semantic analysis against the documented
# table schemas). `make test` runs the same check (infra TestKQLLanguageService,
# which also checks the alert queries as infra/modules/slo.bicep composes them).
# Uses the pinned package that `make tools` installs (package.json
# devDependencies); without it, installs that version into a cache directory
# outside the work tree. Needs node and npm.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=12.4.1
modules=$here/../../../node_modules
if [ ! -f "$modules/@kusto/language-service-next/package.json" ]; then
	cache=${KQL_CHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/snippets-mcp/kusto-language-service-$version}
	if [ ! -f "$cache/node_modules/@kusto/language-service-next/package.json" ]; then
		mkdir -p "$cache"
		npm install --silent --no-audit --no-fund --prefix "$cache" "@kusto/language-service-next@$version" >&2
	fi
	modules=$cache/node_modules
fi
exec node "$here/check.js" "$(cd "$modules" && pwd)" "$here"/../*.kql "$here"/../slo/*.kql
