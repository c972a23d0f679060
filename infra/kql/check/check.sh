#!/usr/bin/env bash
# Checks every infra/kql/*.kql file with Microsoft's Kusto language service
# (parser and semantic analysis against the documented table schemas).
# Needs node and npm; installs the pinned language service into a cache
# directory outside the work tree on first use.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
version=12.4.1
cache=${KQL_CHECK_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/snippets-mcp/kusto-language-service-$version}
if [ ! -f "$cache/node_modules/@kusto/language-service-next/package.json" ]; then
	mkdir -p "$cache"
	npm install --silent --no-audit --no-fund --prefix "$cache" "@kusto/language-service-next@$version" >&2
fi
exec node "$here/check.js" "$cache/node_modules" "$here"/../*.kql
