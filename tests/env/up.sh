#!/usr/bin/env bash
# Starts the whole test bed (challtestsrv, Pebble, Pebble requiring EAB) in
# the background for interactive use and the demo, and prints `export`
# lines for its variables. Stop it with tests/env/down.sh.
#
#   eval "$(tests/env/up.sh)"            # or: up.sh --no-eab, up.sh
#   byoca ... --server "$ENV_DIRECTORY" --ca-bundle "$ENV_CA_BUNDLE"
#   tests/env/down.sh                    # uses $BYOCA_ENV_DIR
#
# Other arguments go to env_start_pebble (--validity SECONDS, --blocklist
# NAMES, PEBBLE_*=VALUE). State: $BYOCA_ENV_DIR/servers (name pid start)
# and $BYOCA_ENV_DIR/env (the export lines).
set -euo pipefail

# shellcheck source=lib.sh
source "$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)/lib.sh"

eab=--eab
args=()
for a in "$@"; do
  case "$a" in
  --no-eab) eab="" ;;
  -h | --help)
    sed -n '2,12p' "$0" | sed 's/^# \{0,1\}//'
    exit 0
    ;;
  *) args+=("$a") ;;
  esac
done

ENV_DETACH=1
env_init up
env_gen_tls
env_start_challtestsrv
env_start_pebble $eab "${args[@]}"
env_write_exports "$ENV_DIR/env"
echo "export BYOCA_ENV_DIR=$(printf '%q' "$ENV_DIR")" >>"$ENV_DIR/env"

# Success: the bed must outlive this script, so drop the cleanup trap.
trap - EXIT HUP INT TERM
cat "$ENV_DIR/env"
env__log "test bed up in $ENV_DIR (ACME $ENV_DIRECTORY); stop it with" \
  "tests/env/down.sh $ENV_DIR"
