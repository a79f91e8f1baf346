#!/usr/bin/env bash
# Lease renewal (issue 9): orders that take far longer than one lease
# keep their lineage. Two byocad nodes share one PostgreSQL store with
# `lease = 3` (heartbeat and renewal every second); Pebble sleeps up to
# 12 s before each validation, so most orders outlive several leases.
# Without renewal the other node would claim those lineages and order
# them again; with it, Pebble gets exactly one order per lineage and
# signs one certificate each, and no node reports a lease lost.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
source "$BYOCA_SRC/tests/env/nodes.sh"
env_init daemon_lease_pg
env_gen_tls
env_start_challtestsrv
env_start_pebble PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=0 \
  PEBBLE_VA_SLEEPTIME=12
N=${BYOCA_LEASE_N:-12}
CHECK=(python3 "$BYOCA_SRC/tests/env/daemon_check.py")
nodes_init
CONF=("lease = 3" "tick_ms = 200")
node_start 1 "${CONF[@]}"
node_start 2 "${CONF[@]}"
node_use 1
env_tenant lease >/dev/null
T=$ENV_DIR/lease.token
"${CHECK[@]}" add-certs "$BYOCAD_SOCK" "$T" 'l%03d.lease.test' 1 "$N" 4 \
  >"$ENV_DIR/ids.json" || fail "adding $N certificates"
for ((i = 0; i < 450; i++)); do
  [ "$(nodes_sql "SELECT count(*) FROM certificates WHERE state = 1")" = "$N" ] && break
  sleep 0.2
done
[ "$(nodes_sql "SELECT count(*) FROM certificates WHERE state = 1")" = "$N" ] ||
  fail "not all $N issued in 90 s"
sleep 1
"${CHECK[@]}" pebble-log "$ENV_DIR/pebble.log" >"$ENV_DIR/pebble.json" ||
  fail "reading Pebble's log"
json_check "$(cat "$ENV_DIR/pebble.json")" "
assert d['orders'] == $N, 'Pebble got %d orders for $N lineages' % d['orders']
assert d['issued'] == $N, 'Pebble signed %d certificates' % d['issued']
" || fail "one order per lineage"
slow=$(cat "$(node_log 1)" "$(node_log 2)" | { grep -c "resuming\|ran out before" || true; })
[ "$slow" = 0 ] || fail "leases were lost: $(grep -h "ran out before\|resuming" "$ENV_DIR"/node*.log | head -3)"
node_stop 1
node_stop 2
nodes_logs_clean || fail "sanitizer report"
pass "$N orders outlived their leases and were ordered once each"
