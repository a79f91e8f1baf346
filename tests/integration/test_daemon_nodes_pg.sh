#!/usr/bin/env bash
# Three byocad nodes sharing one PostgreSQL store (issue 9), all active:
# N lineages (BYOCA_NODES_N, default 500) become due at once; node 2 is
# killed with SIGKILL mid-run and PostgreSQL is restarted (fast shutdown,
# every connection cut) later in the run. Then:
# - Pebble signed exactly N certificates, one per lineage (its log,
#   daemon_check.py pebble-log), every lineage is issued: no duplicate
#   issuance, nothing lost;
# - the work was spread: each node issued some (certificate.issued events
#   name the node), and the surviving nodes finished the lineages node 2
#   held when it died, resuming the orders it had in flight (order.resumed);
# - the nodes reconnected after the restart and carried on; GET /v1/nodes
#   shows nodes 1 and 3 alive, node 2 down.
# Pebble validates without challenges (PEBBLE_VA_ALWAYS_VALID) and sleeps
# 1 s per validation so that orders stay in flight; test_daemon_http01_pg
# covers a challenge answered by another node.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
source "$BYOCA_SRC/tests/env/nodes.sh"
env_init daemon_nodes_pg
env_gen_tls
env_start_challtestsrv
env_start_pebble PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=0 \
  PEBBLE_VA_SLEEPTIME=1
N=${BYOCA_NODES_N:-500}
CHECK=(python3 "$BYOCA_SRC/tests/env/daemon_check.py")
W=$ENV_DIR/work
mkdir -p "$W"
env_spawn pebble-proxy "${CHECK[@]}" pebble-proxy "$PORT_SPARE_FIRST" \
  "$PORT_ACME" "$ENV_TLS_CERT" "$ENV_TLS_KEY" "$ENV_CA_BUNDLE"
export BYOCAD_DEFAULT_CA=https://127.0.0.1:$PORT_SPARE_FIRST/dir
env__wait pebble-proxy "$ENV_LAST_PID" 10 "${ENV_CURL[@]}" -f -o /dev/null \
  --cacert "$ENV_CA_BUNDLE" "$BYOCAD_DEFAULT_CA"
CONF=("max_parallel = 40" "max_parallel_per_ca = 40" "tick_ms = 200"
  "lease = 15")
nodes_init
issued() { nodes_sql "SELECT count(*) FROM certificates WHERE state = 1"; }

# --- N lineages, made due at once: added through node 1 alone, which
# works on one at a time meanwhile
node_start 1 "max_parallel = 1" "max_parallel_per_ca = 1" "tick_ms = 200"
node_use 1
env_tenant nodes >/dev/null
T=$ENV_DIR/nodes.token
"${CHECK[@]}" add-certs "$BYOCAD_SOCK" "$T" 'n%04d.nodes.test' 1 "$N" 16 \
  >"$W/ids.json" || fail "adding $N certificates"
node_stop 1
before=$(issued)
nodes_sql "UPDATE certificates SET next_check = 0 WHERE state != 1" >/dev/null
echo "added $N lineages ($before issued while adding); all due now"
for i in 1 2 3; do node_start "$i" "${CONF[@]}"; done

# wait_issued MIN SECONDS
wait_issued() {
  local i n=0
  for ((i = 0; i < $2 * 5; i++)); do
    n=$(issued 2>/dev/null) || n=0
    [ "${n:-0}" -ge "$1" ] && return 0
    sleep 0.2
  done
  env__log "only $n of $1 issued after $2 s"
  return 1
}

# --- node 2 dies mid-run
wait_issued $((N * 25 / 100)) 120 || fail "issuance too slow"
node_kill 2
[ -n "$NODE_RC" ] || fail "node 2 survived SIGKILL"
nodes_sql "SELECT id FROM certificates WHERE claimed_by = 'node2'
     AND lease_until >= extract(epoch FROM now())::bigint AND state != 1" \
  >"$W/node2-leased.txt"
nodes_sql "SELECT o.cert_id FROM orders o JOIN certificates c ON c.id = o.cert_id
     WHERE c.claimed_by = 'node2'" >"$W/node2-orders.txt"
echo "node 2 killed at $(issued) issued, holding $(wc -l <"$W/node2-leased.txt")" \
  "leases, $(wc -l <"$W/node2-orders.txt") orders in flight"
[ -s "$W/node2-leased.txt" ] || fail "node 2 held no lease when killed: the test proved nothing"

# --- PostgreSQL restarts under the two others
wait_issued $((N * 55 / 100)) 120 || fail "issuance stalled after the kill"
env_pg_restart 2 || fail "PostgreSQL did not come back"
echo "PostgreSQL restarted at $(issued) issued"
wait_issued "$N" 180 || fail "not every lineage issued after the restart"
sleep 1
[ "$(nodes_sql "SELECT count(*) FROM orders")" = 0 ] || fail "order rows left over"

# --- exactly once, spread, taken over
node_use 1
"${CHECK[@]}" list-events "$BYOCAD_SOCK" "$BYOCAD_OPERATOR" >"$W/events.json" ||
  fail "listing events"
"${CHECK[@]}" pebble-log "$ENV_DIR/pebble.log" >"$W/pebble.json" ||
  fail "reading Pebble's log"
python3 - "$N" "$W/events.json" "$W/pebble.json" "$W/node2-leased.txt" \
  "$W/node2-orders.txt" "$before" <<'PY' || fail "exactly once / spread / takeover"
import json, sys
n = int(sys.argv[1])
ev = json.load(open(sys.argv[2]))
ev = ev.get("items", ev) if isinstance(ev, dict) else ev
peb = json.load(open(sys.argv[3]))
leased = {int(x) for x in open(sys.argv[4]).read().split()}
ordered = {int(x) for x in open(sys.argv[5]).read().split()}
before = int(sys.argv[6])
assert peb["issued"] == n, "Pebble signed %d certificates for %d lineages" % (peb["issued"], n)
assert len(set(peb["serials"])) == n, "duplicate serials"
# orders beyond one per lineage: placed by node 2 before it died without
# persisting them (at most its 40 in flight), or placed by any of the three
# nodes while PostgreSQL was restarting (never finalized, as persisting
# them failed; at most 40 in flight each). Seen: 550-552 under load.
assert peb["orders"] <= n + 4 * 40, "Pebble got %d orders for %d lineages" % (peb["orders"], n)
iss = [e for e in ev if e["type"] == "certificate.issued"]
by_cert = {}
for e in iss:
    by_cert.setdefault(e["certificate"], []).append(e)
dups = {c: len(v) for c, v in by_cert.items() if len(v) > 1}
assert not dups, "lineages issued more than once: %s" % dups
by_node = {}
for e in iss:
    by_node[e["detail"].get("node")] = by_node.get(e["detail"].get("node"), 0) + 1
print("issued per node:", by_node, "; Pebble orders", peb["orders"],
      "for", n, "lineages")
# node 2 took part (it held leases when killed, checked above) but may
# have finished none before the kill on a slow run (sanitizers)
for node in ("node1", "node3"):
    assert by_node.get(node, 0) > 0, "%s issued nothing: %s" % (node, by_node)
took = [c for c in leased if c in by_cert and by_cert[c][0]["detail"]["node"] != "node2"]
assert len(took) == len(leased), "node 2's lineages not all finished by others"
resumed = [e for e in ev if e["type"] == "order.resumed" and e["certificate"] in ordered]
print("node 2 held %d lineages, %d orders in flight; %d resumed by the others"
      % (len(leased), len(ordered), len(resumed)))
assert not ordered or resumed, "node 2's orders in flight were not resumed"
PY
pass "$N lineages issued exactly once by three nodes, node 2 killed, PostgreSQL restarted"

# --- /v1/nodes and the metrics
node_use 3
api_expect 200 GET /v1/nodes "" "$BYOCAD_OPERATOR"
json_check "$API_BODY" '
s = {x["name"]: x for x in d["items"]}
assert s["node1"]["status"] == "alive" and s["node3"]["status"] == "alive", d
assert s["node3"]["self"] and not s["node1"]["self"], d
assert s["node2"]["status"] == "down", d
assert s["node1"]["version"] and s["node1"]["started"] and s["node1"]["heartbeat"], d
assert all(isinstance(x["leases"], int) for x in d["items"]), d
' || fail "GET /v1/nodes: $API_BODY"
api_expect 200 GET /metrics "" "$BYOCAD_OPERATOR"
grep -q '^byoca_nodes_alive 2$' <<<"$API_BODY" || fail "byoca_nodes_alive: $(grep nodes <<<"$API_BODY")"
grep -q '^byoca_node_leases{node="node3"} [0-9]' <<<"$API_BODY" || fail "byoca_node_leases"
node_stop 1
node_stop 3
nodes_logs_clean || fail "sanitizer report"
pass "nodes listed, metrics"
