#!/usr/bin/env bash
# Starts Azurite (data under .azurite/) and the handler on 127.0.0.1:7071,
# the way the Functions host would start it. Ctrl-C stops both.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/node_modules/.bin:$PATH"

port=${FUNCTIONS_CUSTOMHANDLER_PORT:-7071}
blob_port=${AZURITE_BLOB_PORT:-10000}
mkdir -p .azurite
pids=()
cleanup() { for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done; wait 2>/dev/null || true; }
trap cleanup EXIT INT TERM

azurite-blob --blobHost 127.0.0.1 --blobPort "$blob_port" --location .azurite \
  --skipApiVersionCheck --silent --debug .azurite/debug.log &
pids+=($!)
for _ in $(seq 1 50); do (exec 3<>/dev/tcp/127.0.0.1/"$blob_port") 2>/dev/null && break; sleep 0.2; done

export FUNCTIONS_CUSTOMHANDLER_PORT=$port
export SNIPPETS_STORAGE="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$blob_port/devstoreaccount1;"

if [ "${AUTH:-dev}" = "jwt" ]; then
  issuer_addr="127.0.0.1:${DEVISSUER_PORT:-7072}"
  mkdir -p .devissuer && go build -o .devissuer/devissuer ./cmd/devissuer
  .devissuer/devissuer serve -addr "$issuer_addr" &
  pids+=($!)
  for _ in $(seq 1 100); do (exec 3<>/dev/tcp/${issuer_addr%:*}/${issuer_addr#*:}) 2>/dev/null && break; sleep 0.1; done
  # MCP_AUTH_MODE, _ISSUER, _AUDIENCE and _TENANTS for this issuer.
  while IFS= read -r line; do export "$line"; done < <(.devissuer/devissuer env -addr "$issuer_addr")
  export WEBSITE_AUTH_PRM_DEFAULT_WITH_SCOPES="${WEBSITE_AUTH_PRM_DEFAULT_WITH_SCOPES:-$MCP_AUTH_AUDIENCE/user_impersonation}"
  token=$(.devissuer/devissuer mint -addr "$issuer_addr" -roles Snippets.Write,Snippets.Delete)
  auth_hint="--header \"Authorization: Bearer $token\""
else
  export MCP_AUTH_MODE=dev
  auth_hint=""
fi

cat <<MSG

  MCP endpoint:  http://127.0.0.1:$port/mcp   (auth mode: $MCP_AUTH_MODE)
  Try it:        npx mcp-inspector --cli http://127.0.0.1:$port/mcp --transport http $auth_hint --method tools/list
  Inspector UI:  npx mcp-inspector   (then connect to the URL above, transport "Streamable HTTP")
  Stop:          Ctrl-C

MSG
./snippets-mcp &
pids+=($!)
wait -n "${pids[@]}"
