#!/usr/bin/env bash
# A stopping node hands its leases back (issue 9). Node 1 (lease = 60,
# drain_timeout = 1) orders N certificates from a Pebble that sleeps up to
# 15 s before each validation, and is stopped (SIGTERM) while its orders
# are in flight: the drain deadline cuts them off, their state stays in
# the store, and once node 1 has exited no lineage is leased to it any
# more. Node 2 then resumes them at once (long before the 60 s leases
# would have run out) and Pebble still sees one order per lineage.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
source "$BYOCA_SRC/tests/env/nodes.sh"
env_init daemon_handback_pg
env_gen_tls
env_start_challtestsrv
env_start_pebble PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=0 \
  PEBBLE_VA_SLEEPTIME=15
N=${BYOCA_HANDBACK_N:-6}
CHECK=(python3 "$BYOCA_SRC/tests/env/daemon_check.py")
nodes_init
CONF=("lease = 60" "tick_ms = 200" "drain_timeout = 1")
node_start 1 "${CONF[@]}"
node_use 1
env_tenant hb >/dev/null
"${CHECK[@]}" add-certs "$BYOCAD_SOCK" "$ENV_DIR/hb.token" 'h%03d.handback.test' \
  1 "$N" 4 >"$ENV_DIR/ids.json" || fail "adding $N certificates"
ordered() { nodes_sql "SELECT count(*) FROM orders WHERE order_url != ''"; }
for ((i = 0; i < 150; i++)); do
  [ "$(ordered)" = "$N" ] && break
  sleep 0.2
done
[ "$(ordered)" = "$N" ] || fail "node 1 did not place $N orders in 30 s"
held=$(nodes_sql "SELECT count(*) FROM certificates WHERE claimed_by = 'node1'
            AND lease_until > extract(epoch FROM now())")
[ "$held" -ge 1 ] || fail "node 1 holds no lease before it stops"
node_stop 1
grep -q "drain timeout" "$(node_log 1)" ||
  fail "every order finished within the drain timeout; nothing was cut off"
left=$(nodes_sql "SELECT count(*) FROM certificates WHERE claimed_by = 'node1'
            OR (lease_until > extract(epoch FROM now()) AND state != 1)")
[ "$left" = 0 ] || fail "$left leases of node 1 outlived it"
grep -q "leases of node node1 handed back" "$(node_log 1)" ||
  fail "node 1 did not say it handed its leases back"

node_start 2 "${CONF[@]}"
issued() { nodes_sql "SELECT count(*) FROM certificates WHERE state = 1"; }
for ((i = 0; i < 250; i++)); do
  [ "$(issued)" = "$N" ] && break
  sleep 0.2
done
[ "$(issued)" = "$N" ] || fail "node 2 did not finish the $N lineages in 50 s"
sleep 1
"${CHECK[@]}" pebble-log "$ENV_DIR/pebble.log" >"$ENV_DIR/pebble.json" ||
  fail "reading Pebble's log"
json_check "$(cat "$ENV_DIR/pebble.json")" "
assert d['orders'] == $N, 'Pebble got %d orders for $N lineages' % d['orders']
" || fail "one order per lineage"
node_stop 2
nodes_logs_clean || fail "sanitizer report"
pass "node 1 handed back its leases on SIGTERM; node 2 resumed its $N orders"
