#!/usr/bin/env bash
# Checks the worker's and web app's configuration without starting them.
set -uo pipefail
source "$(dirname "$0")/lib/ops.sh"

usage() {
  cat <<'EOF_USAGE'
Usage: scripts/check-env.sh [--process worker|web] [--local]

Parses the environment with the worker's and the web app's own configuration schemas and prints
every problem at once, naming each key (secrets are never echoed: only their length). Use it in a
deploy pipeline before restarting anything. Every key is documented in .env.example.

  --process NAME   check one process only
  --local          also read the checkout's .env and .data/local.env, as npm start does

Exit codes: 0 valid; 2 a configuration is invalid (the output names each key); 64 bad usage;
1 the check could not run (e.g. dependencies not installed: run npm install).
EOF_USAGE
}
case "${1:-}" in -h | --help) usage; exit 0 ;; esac

# Node 24 from the project's node_modules: the configuration modules are TypeScript.
node="$OPS_ROOT/node_modules/.bin/node"
[[ -x "$node" ]] || ops_die 1 "needs the project's dependencies (node_modules/.bin/node): run npm install in $OPS_ROOT"
exec "$node" "$OPS_ROOT/scripts/check-env.ts" "$@"
