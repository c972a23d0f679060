#!/bin/sh
# Starts Azurite (data under .azurite/), the local token issuer (jwt mode,
# the default) and the handler on 127.0.0.1:7071, the way the Functions host
# would start it, and prints tokens for a writer, an approver and an app-only
# agent, and one of each Entra Agent ID caller kind. Ctrl-C stops all of them.
#
# POSIX sh on purpose: stock macOS has bash 3.2 (no `wait -n`, no arrays
# worth trusting), and /bin/sh elsewhere may be dash.
#
# Settings already in the environment win: MCP_AUTH_MODE (or AUTH=jwt|dev
# from make), MCP_AUTH_ISSUER and friends, SNIPPETS_STORAGE, the ports.
# Tests point SNIPPETS_RUN_DIR (state), SNIPPETS_MCP_BIN and DEVISSUER_BIN
# elsewhere.
set -eu

repo=$(cd "$(dirname "$0")/.." && pwd)
cd "$repo"
PATH="$repo/node_modules/.bin:$PATH"
export PATH

port=${FUNCTIONS_CUSTOMHANDLER_PORT:-7071}
blob_port=${AZURITE_BLOB_PORT:-10000}
issuer_port=${DEVISSUER_PORT:-7072}
state=${SNIPPETS_RUN_DIR:-$repo}
server_bin=${SNIPPETS_MCP_BIN:-$repo/snippets-mcp}
url="http://127.0.0.1:$port/mcp"

die() {
  echo "run-local: $*" >&2
  exit 2
}

# The auth mode: AUTH (make run AUTH=...) or the caller's MCP_AUTH_MODE,
# never silently replaced; jwt when neither is set.
mode=${AUTH:-${MCP_AUTH_MODE:-jwt}}
if [ -n "${AUTH:-}" ] && [ -n "${MCP_AUTH_MODE:-}" ] && [ "$AUTH" != "$MCP_AUTH_MODE" ]; then
  die "AUTH=$AUTH and MCP_AUTH_MODE=$MCP_AUTH_MODE disagree; set only one of them."
fi
case $mode in
  jwt | dev) ;;
  easyauth) die "MCP_AUTH_MODE=easyauth trusts headers that only the Functions platform sets, and make run has no platform in front of the server; use AUTH=jwt (the default) or AUTH=dev." ;;
  *) die "auth mode \"$mode\" is not one make run can start; use AUTH=jwt (the default) or AUTH=dev." ;;
esac
issuer=dev
if [ "$mode" = jwt ] && [ -n "${MCP_AUTH_ISSUER:-}" ]; then
  issuer=yours
fi

azurite_pid='' issuer_pid='' server_pid=''
cleanup() {
  # Background jobs of a non-interactive shell ignore SIGINT, so Ctrl-C
  # reaches them only through this TERM; the server drains and flushes.
  for p in $server_pid $issuer_pid $azurite_pid; do kill "$p" 2>/dev/null || true; done
  for p in $server_pid $issuer_pid $azurite_pid; do wait "$p" 2>/dev/null || true; done
  azurite_pid='' issuer_pid='' server_pid=''
}
trap cleanup EXIT
trap 'cleanup; exit 130' INT
trap 'cleanup; exit 143' TERM

# wait_for_line FILE TEXT PID WHAT: until FILE contains TEXT; fails when PID
# exits first or after 30 s.
wait_for_line() {
  i=0
  until grep -q "$2" "$1" 2>/dev/null; do
    if ! kill -0 "$3" 2>/dev/null; then
      cat "$1" >&2 2>/dev/null || true
      die "$4 stopped before it was ready (log above)."
    fi
    i=$((i + 1))
    [ "$i" -lt 300 ] || die "$4 not ready after 30 s; log: $1"
    sleep 0.1
  done
}

if [ -n "${SNIPPETS_STORAGE:-}" ]; then
  storage_note="your SNIPPETS_STORAGE"
else
  mkdir -p "$state/.azurite"
  : >"$state/.azurite/azurite.log"
  azurite-blob --blobHost 127.0.0.1 --blobPort "$blob_port" --location "$state/.azurite" \
    --skipApiVersionCheck --silent --debug "$state/.azurite/debug.log" >"$state/.azurite/azurite.log" 2>&1 &
  azurite_pid=$!
  wait_for_line "$state/.azurite/azurite.log" "successfully listens" "$azurite_pid" "Azurite"
  # Azurite's development account: a copy of internal/storage/azurite
  # (ConnString), which TestRunLocalAzuriteAccount compares.
  SNIPPETS_STORAGE="DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;AccountKey=Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==;BlobEndpoint=http://127.0.0.1:$blob_port/devstoreaccount1;"
  storage_note="Azurite on 127.0.0.1:$blob_port (data in $state/.azurite)"
fi
export SNIPPETS_STORAGE
FUNCTIONS_CUSTOMHANDLER_PORT=$port
MCP_AUTH_MODE=$mode
export FUNCTIONS_CUSTOMHANDLER_PORT MCP_AUTH_MODE

keys="$state/.devissuer"
if [ "$mode" = jwt ] && [ "$issuer" = dev ]; then
  issuer_addr="127.0.0.1:$issuer_port"
  mkdir -p "$keys"
  devissuer=${DEVISSUER_BIN:-}
  if [ -z "$devissuer" ]; then
    devissuer="$keys/devissuer"
    go build -o "$devissuer" ./cmd/devissuer
  fi
  "$devissuer" serve -addr "$issuer_addr" -dir "$keys" 2>"$keys/serve.log" &
  issuer_pid=$!
  wait_for_line "$keys/serve.log" "devissuer: issuer http" "$issuer_pid" "the dev issuer"
  # MCP_AUTH_ISSUER, _AUDIENCE and _TENANTS for this issuer, unless set.
  settings=$("$devissuer" env -addr "$issuer_addr")
  while IFS= read -r line; do
    eval "cur=\${${line%%=*}:-}"
    [ -n "$cur" ] || export "${line?}"
  done <<EOF
$settings
EOF
  WEBSITE_AUTH_PRM_DEFAULT_WITH_SCOPES="${WEBSITE_AUTH_PRM_DEFAULT_WITH_SCOPES:-$MCP_AUTH_AUDIENCE/user_impersonation}"
  export WEBSITE_AUTH_PRM_DEFAULT_WITH_SCOPES
  # Tokens last a working day so the exports keep working across restarts
  # (the key in .devissuer/ persists).
  tokens="$keys/tokens.env"
  umask 077
  {
    echo "# make run: tokens from the local dev issuer (valid 12 h). Load with: . $tokens"
    echo "SNIPPETS_MCP_REPO='$repo'; export SNIPPETS_MCP_REPO"
    echo "MCP_URL='$url'; export MCP_URL"
    for who in writer approver agent via-agent autonomous agent-user; do
      tok=$("$devissuer" mint -addr "$issuer_addr" -dir "$keys" -as "$who" -ttl 12h)
      var=$(echo "$who" | tr '[:lower:]-' '[:upper:]_')_TOKEN
      echo "$var='$tok'; export $var"
    done
  } >"$tokens"
  umask 022
  auth_note="jwt, tokens from the local dev issuer at http://$issuer_addr"
elif [ "$mode" = jwt ]; then
  auth_note="jwt, your MCP_AUTH_ISSUER=$MCP_AUTH_ISSUER (no local issuer started; bring your own tokens)"
else
  auth_note="dev, one fixed identity that holds every role"
  if [ -n "${MCP_AUTH_ISSUER:-}" ]; then
    auth_note="$auth_note (MCP_AUTH_ISSUER is ignored in dev mode)"
  fi
fi

"$server_bin" &
server_pid=$!

# Ready when /healthz answers (curl is on macOS and most Linux; without it,
# a short pause); a server that stops first has printed why.
i=0
while kill -0 "$server_pid" 2>/dev/null; do
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null "http://127.0.0.1:$port/healthz" 2>/dev/null && break
  elif [ "$i" -ge 10 ]; then
    break
  fi
  i=$((i + 1))
  [ "$i" -lt 300 ] || die "the server did not answer on 127.0.0.1:$port within 30 s."
  sleep 0.1
done
if ! kill -0 "$server_pid" 2>/dev/null; then
  wait "$server_pid" && rc=0 || rc=$?
  server_pid=''
  die "the server stopped (exit $rc): its message is above."
fi

inspector="npm exec --prefix $repo -- mcp-inspector"
echo
echo "  MCP endpoint:  $url"
echo "  Auth mode:     $auth_note"
echo "  Storage:       $storage_note"
if [ "$mode" = jwt ] && [ "$issuer" = dev ]; then
  cat <<MSG

  Callers (tokens valid 12 h):
    WRITER_TOKEN    Wren Writer, signed in through agent app ...de03: saves, may delete after approval
    APPROVER_TOKEN  Avery Approver, through another app (...de05): approves or denies requests
    AGENT_TOKEN     an app-only agent (idtyp=app): reads and writes, cannot approve
  One caller of each kind the policy knows (caller_kind in audit events):
    WRITER_TOKEN           user            a person through a client app
    VIA_AGENT_TOKEN        user_via_agent  a person through an Entra agent identity (xms_act_fct 11)
    AUTONOMOUS_TOKEN       agent           an autonomous agent (idtyp=app, facets 11): never deletes or approves
    AGENT_USER_TOKEN       agent_user      an agent's own user account (xms_sub_fct 13)
    AGENT_TOKEN            app             an app on its own, no agent facets
  Load them into any shell:   . $tokens
  Or paste:
$(sed -n 's/^\([A-Z_]*_TOKEN\)=\(.*\); export.*/    export \1=\2/p' "$tokens")

  Try it (from any folder):
    $inspector --cli $url --transport http --header "Authorization: Bearer \$WRITER_TOKEN" --method tools/list
    make -C $repo inspect AS=approver ARGS='--method tools/call --tool-name list_approval_requests'
  Inspector UI:  make -C $repo inspect   (connect to $url, transport "Streamable HTTP", header Authorization: Bearer <token>)
  VS Code:       .vscode/mcp.json has "snippets-local-jwt"; it asks for a token (paste \$WRITER_TOKEN's value), as in:
    "snippets-local-jwt": {"type": "http", "url": "$url", "headers": {"Authorization": "Bearer \${input:snippets-token}"}}
  Walk-through (save, delete request, approval by the other person, delete): README.md, "Try the approval flow".
MSG
elif [ "$mode" = jwt ]; then
  cat <<MSG

  Try it:        $inspector --cli $url --transport http --header "Authorization: Bearer \$TOKEN" --method tools/list
MSG
else
  cat <<MSG

  Dev mode cannot show approvals (a delete needs a second person to approve, and there is only one
  identity), roles being missing, or app-only callers: run plain \`make run\` (jwt) for those.
  Try it (from any folder):
    $inspector --cli $url --transport http --method tools/list
  Inspector UI:  make -C $repo inspect   (connect to $url, transport "Streamable HTTP")
  VS Code:       .vscode/mcp.json, server "snippets-local"
MSG
fi
echo "  Stop:          Ctrl-C"
echo

# Stop everything when any one of them stops (`wait -n` is bash >= 4.3).
while :; do
  for p in $server_pid $issuer_pid $azurite_pid; do
    if ! kill -0 "$p" 2>/dev/null; then
      wait "$p" && rc=0 || rc=$?
      if [ "$p" = "$server_pid" ]; then
        server_pid=''
      else
        echo "run-local: Azurite or the dev issuer stopped (exit $rc); stopping the rest." >&2
      fi
      exit "$rc"
    fi
  done
  sleep 1
done
