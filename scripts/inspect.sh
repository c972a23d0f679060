#!/bin/sh
# make inspect: the pinned MCP Inspector against the local server. With
# arguments, the CLI (URL and transport filled in; AS=writer|approver|agent
# adds the Authorization header with that token from make run's
# .devissuer/tokens.env); without, the web UI.
set -eu
repo=$(cd "$(dirname "$0")/.." && pwd)
PATH="$repo/node_modules/.bin:$PATH"
export PATH
url="http://127.0.0.1:${FUNCTIONS_CUSTOMHANDLER_PORT:-7071}/mcp"

if [ "$#" -eq 0 ]; then
  echo "inspect: web UI; connect to $url with transport \"Streamable HTTP\"" >&2
  exec mcp-inspector
fi
if [ -n "${AS:-}" ]; then
  tokens="${SNIPPETS_RUN_DIR:-$repo}/.devissuer/tokens.env"
  [ -r "$tokens" ] || { echo "inspect: AS=$AS needs $tokens: start the server with make run first" >&2; exit 2; }
  case $AS in
    writer | approver | agent) ;;
    *)
      echo "inspect: AS=$AS: want writer, approver or agent" >&2
      exit 2
      ;;
  esac
  # shellcheck source=/dev/null
  . "$tokens"
  case $AS in
    writer) token=$WRITER_TOKEN ;;
    approver) token=$APPROVER_TOKEN ;;
    *) token=$AGENT_TOKEN ;;
  esac
  exec mcp-inspector --cli "$url" --transport http --header "Authorization: Bearer $token" "$@"
fi
exec mcp-inspector --cli "$url" --transport http "$@"
