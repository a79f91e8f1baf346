#!/usr/bin/env bash
# Stops a test bed started by tests/env/up.sh and removes its directory
# (kept when BYOCA_KEEP=1).
#
#   tests/env/down.sh [DIR]     # DIR defaults to $BYOCA_ENV_DIR
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

ENV_DIR=${1:-${BYOCA_ENV_DIR:-}}
if [ -z "$ENV_DIR" ]; then
  echo "usage: $0 DIR (or set BYOCA_ENV_DIR, as up.sh's output does)" >&2
  exit 2
fi
if [ ! -f "$ENV_DIR/servers" ]; then
  echo "down.sh: $ENV_DIR is not a test bed directory (no servers file)" >&2
  exit 1
fi

env_stop_all
if [ "${BYOCA_KEEP:-0}" = 1 ]; then
  env__log "stopped; kept $ENV_DIR"
else
  rm -rf "$ENV_DIR"
  env__log "stopped; removed $ENV_DIR"
fi
