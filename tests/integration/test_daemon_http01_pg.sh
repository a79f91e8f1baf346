#!/usr/bin/env bash
# http-01 answered by another node than the one that ordered (issue 9):
# two byocad nodes share one PostgreSQL store; Pebble's http-01 port is
# node B's http_listen only, node A's responder is on a port Pebble never
# contacts. Node A orders every certificate (node B never claims work: its
# scheduler ticks once an hour and no certificate is added through it),
# node B answers every challenge from the shared challenge table, and
# every certificate is issued by node A with real http-01 validation.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
source "$BYOCA_SRC/tests/env/nodes.sh"
env_init daemon_http01_pg
env_gen_tls
env_start_challtestsrv
env_start_pebble
K=${BYOCA_HTTP01_N:-6}
nodes_init
NODE_HTTP_1=$PORT_SPARE_FIRST # A: nobody asks here
NODE_HTTP_2=$PORT_HTTP01      # B: Pebble's VA asks here
node_start 2 "tick_ms = 3600000" "log_level = debug"
node_start 1 "tick_ms = 200" "log_level = debug"
node_use 1
env_tenant h01 >/dev/null
T=$ENV_DIR/h01.token
ids=()
for ((i = 1; i <= K; i++)); do
  api_expect 201 POST /v1/certificates "{\"identifiers\":[\"h$i.http01.test\"]}" "$T"
  ids+=("$(json_get "$API_BODY" 'd["id"]')")
done
for id in "${ids[@]}"; do
  wait_cert_state "$T" "$id" issued 90 >/dev/null || fail "certificate $id not issued"
done
api_events "$T" >"$ENV_DIR/events.json" || fail "events"
python3 - "$ENV_DIR/events.json" "$K" <<'PY' || fail "issued by node A"
import json, sys
ev = json.load(open(sys.argv[1]))
ev = ev.get("items", ev) if isinstance(ev, dict) else ev
iss = [e for e in ev if e["type"] == "certificate.issued"]
assert len(iss) == int(sys.argv[2]), iss
assert all(e["detail"]["node"] == "node1" for e in iss), iss
PY
a=$(grep -c "http-01: answered the challenge" "$(node_log 1)" || true)
b=$(grep -c "http-01: answered the challenge" "$(node_log 2)" || true)
[ "${a:-0}" = 0 ] || fail "node A answered $a challenges: Pebble reached the wrong node"
[ "${b:-0}" -ge "$K" ] || fail "node B answered ${b:-0} challenges, expected at least $K"
! grep -q "cert [0-9]* tenant [0-9]*:" "$(node_log 2)" ||
  fail "node B worked on a certificate: $(grep -m1 "cert [0-9]* tenant" "$(node_log 2)")"
node_stop 1
node_stop 2
nodes_logs_clean || fail "sanitizer report"
pass "$K orders of node A validated through node B ($b challenges answered by B)"
