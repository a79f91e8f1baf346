#!/usr/bin/env bash
# packaging/byocad.service: systemd accepts every line (systemd-analyze
# verify, when installed), and the stop settings fit byocad's drain
# (byocad(8) SIGNALS): KillMode=mixed sends SIGTERM to byocad alone, so
# the hooks it waits for are not killed under the drain; TimeoutStopSec
# leaves room for drain_timeout (default 30 s) plus the 2 s byocad takes to
# stop its hooks.
source "$(dirname "$0")/common.sh"
UNIT=$BYOCA_SRC/packaging/byocad.service
W=$(mktemp -d "${TMPDIR:-/tmp}/byoca-unit.XXXXXX")
trap 'rm -rf "$W"' EXIT
# value KEY: the last KEY= line of [Service]
value() { awk -F= -v k="$1" '/^\[/ { s = $0 } s == "[Service]" && $1 == k { v = substr($0, length(k) + 2) } END { print v }' "$UNIT"; }
[ "$(value KillMode)" = mixed ] || fail "KillMode is '$(value KillMode)', not mixed"
[ "$(value KillSignal)" = SIGTERM ] || fail "KillSignal is '$(value KillSignal)'"
T=$(value TimeoutStopSec)
[[ "$T" =~ ^[0-9]+$ ]] && ((T >= 30 + 2 + 3)) || fail "TimeoutStopSec '$T' leaves no room for drain_timeout 30"
DRAIN=$(sed -n 's/^; *drain_timeout *= *\([0-9]*\)$/\1/p' "$BYOCA_SRC/packaging/byocad.conf")
[ "$DRAIN" = 30 ] || fail "packaging/byocad.conf's drain_timeout is '$DRAIN'; TimeoutStopSec assumes 30"
pass "stop settings: KillMode=mixed, SIGTERM, TimeoutStopSec=$T for drain_timeout $DRAIN"
if command -v systemd-analyze >/dev/null; then
  # a copy whose ExecStart exists, so that verify checks the rest
  sed 's#^ExecStart=[^ ]*#ExecStart=/bin/true#' "$UNIT" >"$W/byocad.service"
  OUT=$(cd "$W" && timeout 60 systemd-analyze verify --man=no "$W/byocad.service" 2>&1) ||
    fail "systemd-analyze verify: $OUT"
  [ -z "$OUT" ] || fail "systemd-analyze verify complains: $OUT"
  pass "systemd-analyze verify accepts the unit"
fi
pass "packaging/byocad.service"
