#!/usr/bin/env bash
# byocad survives a restart without touching what it already did: one
# tenant adds 1,000 single-name certificates over the API (Pebble validates
# everything, no sleeps; max_parallel 64), all get issued; byocad is stopped
# with SIGTERM and started again on the same store; after 15 scheduler
# ticks (tick_ms 200, 3 s) every serial, next_check and last_attempt is
# unchanged, no certificate event was logged, the store holds no in-flight
# order, and Pebble got no new order. Then one forced renewal changes that
# one certificate and nothing else (one new Pebble order, one renewed
# event).
#
# ACME traffic goes through daemon_check.py's pebble-proxy, which keeps
# apart the requests Pebble 2.4 deadlocks on (PebbleGate there: overlapping
# newOrders, and an authorization fetch meeting a newOrder or an order
# fetch while Pebble stores something; under load that hung Pebble for
# good, the 30 s timeouts put the CA into D-BACKOFF and the test failed).
# How Pebble is counted: its log prints 'Added order "ID" to the db' once
# per accepted newOrder and 'Issued certificate serial S for order ID' once
# per signed certificate (tests/env/daemon_check.py pebble-log).
#
# BYOCA_RESTART_N overrides the number of lineages (default 1000).
source "$BYOCA_SRC/tests/integration/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init daemon_restart
env_gen_tls
env_start_challtestsrv
env_start_pebble PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=1
N=${BYOCA_RESTART_N:-1000}
CHECK=(python3 "$BYOCA_SRC/tests/env/daemon_check.py")
W=$ENV_DIR/work
mkdir -p "$W"
T0=$SECONDS
CONF=("max_parallel = 64" "max_parallel_per_ca = 64" "log_level = info")

# start_pebble_proxy: every ACME request goes through daemon_check.py
# pebble-proxy on $PORT_SPARE_FIRST (see PebbleGate there for the Pebble
# 2.4 deadlocks it keeps out); BYOCAD_DEFAULT_CA and PROXY_DIRECTORY point
# at it
start_pebble_proxy() {
  env_spawn pebble-proxy "${CHECK[@]}" pebble-proxy "$PORT_SPARE_FIRST" \
    "$PORT_ACME" "$ENV_TLS_CERT" "$ENV_TLS_KEY" "$ENV_CA_BUNDLE"
  export PROXY_DIRECTORY=https://127.0.0.1:$PORT_SPARE_FIRST/dir
  export BYOCAD_DEFAULT_CA=$PROXY_DIRECTORY
  env__wait pebble-proxy "$ENV_LAST_PID" 10 "${ENV_CURL[@]}" -f -o /dev/null \
    --cacert "$ENV_CA_BUNDLE" "$PROXY_DIRECTORY"
}
# pebble_count KEY: orders or issued so far, from Pebble's log
pebble_count() {
  "${CHECK[@]}" pebble-log "$ENV_DIR/pebble.log" >"$W/pebble.json"
  json_get "$(cat "$W/pebble.json")" "d['$1']"
}
# snapshot FILE: every certificate of the tenant, the fields a restart
# must not change, one line per certificate
snapshot() {
  "${CHECK[@]}" list-certs "$BYOCAD_SOCK" "$T" >"$W/list.json" ||
    fail "cannot list the certificates"
  python3 - "$W/list.json" >"$1" <<'PY'
import json, sys
for c in json.load(open(sys.argv[1])):
    print(json.dumps({k: c[k] for k in (
        "id", "identifiers", "state", "serial", "not_before", "not_after",
        "next_check", "next_check_source", "failures", "last_attempt",
        "issuer", "directory")}, sort_keys=True))
PY
}
# max_event [AFTER]: the newest event id (operator view, every tenant)
max_event() {
  "${CHECK[@]}" list-events "$BYOCAD_SOCK" "$BYOCAD_OPERATOR" \
    "${1:-0}" >"$W/ev.json" || fail "cannot list the events"
  python3 -c 'import json,sys; e=json.load(open(sys.argv[1])); print(max([x["id"] for x in e], default=int(sys.argv[2])))' \
    "$W/ev.json" "${1:-0}"
}
# events_after ID: the events with a larger id, as JSON
events_after() {
  "${CHECK[@]}" list-events "$BYOCAD_SOCK" "$BYOCAD_OPERATOR" "$1"
}

# --- 1,000 lineages, all issued
start_pebble_proxy
env_start_byocad "${CONF[@]}"
env_tenant restart >"$W/tid"
T=$ENV_DIR/restart.token
"${CHECK[@]}" add-certs "$BYOCAD_SOCK" "$T" 'n%04d.restart.test' 1 "$N" 8 \
  >"$W/ids.json" || fail "adding $N certificates"
[ "$(json_get "$(cat "$W/ids.json")" 'len(set(d))')" = "$N" ] ||
  fail "expected $N distinct ids"
echo "added $N lineages in $((SECONDS - T0)) s"
for ((i = 0; i < 600; i++)); do
  "${CHECK[@]}" db-state "${BYOCAD_STORE_URL:-$BYOCAD_DB}" >"$W/state.json" || fail "db-state"
  issued=$(json_get "$(cat "$W/state.json")" \
    'sum(n for s, n in d["states"].items() if s in ("1", "issued"))')
  [ "$issued" -lt "$N" ] || break
  sleep 0.5
done
[ "$issued" = "$N" ] ||
  fail "only $issued of $N issued after 300 s: $(cat "$W/state.json")"
echo "all $N issued after $((SECONDS - T0)) s"
snapshot "$W/before.txt"
[ "$(wc -l <"$W/before.txt")" = "$N" ] || fail "the list has not $N items"
python3 - "$W/before.txt" "$N" <<'PY' || fail "state after issuance"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == int(sys.argv[2]), len(rows)
bad = [r for r in rows if r["state"] != "issued" or not r["serial"]
       or r["next_check_source"] != "lifetime"]
assert not bad, "not issued or odd source: %s" % bad[:3]
assert len({r["serial"] for r in rows}) == len(rows), "duplicate serials"
names = sorted(r["identifiers"][0] for r in rows)
assert names == ["n%04d.restart.test" % i for i in range(1, len(rows) + 1)]
PY
# no lineage was ordered twice: Pebble signed exactly N certificates, the
# ones the API shows
[ "$(pebble_count issued)" = "$N" ] ||
  fail "Pebble issued $(pebble_count issued) certificates for $N lineages"
python3 - "$W/before.txt" "$W/pebble.json" <<'PY' || fail "serials vs Pebble"
import json, sys
api = {json.loads(l)["serial"].lower().lstrip("0") for l in open(sys.argv[1])}
peb = set(json.load(open(sys.argv[2]))["serials"])
assert api == peb, "API serials not Pebble's: %d only in API, %d only in Pebble" % (
    len(api - peb), len(peb - api))
PY
"${CHECK[@]}" db-clean "${BYOCAD_STORE_URL:-$BYOCAD_DB}" >/dev/null || fail "orders left after issuance"
pass "$N lineages issued, one Pebble certificate each"

# --- restart: nothing may happen
EV0=$(max_event)
ORDERS0=$(pebble_count orders)
ISSUED0=$(pebble_count issued)
env_stop_byocad || fail "byocad did not stop cleanly on SIGTERM"
env_start_byocad "${CONF[@]}"
sleep 3
snapshot "$W/after.txt"
diff "$W/before.txt" "$W/after.txt" >"$W/restart.diff" ||
  fail "certificates changed across the restart: $(head -c 2000 "$W/restart.diff")"
events_after "$EV0" >"$W/ev-restart.json"
python3 - "$W/ev-restart.json" <<'PY' || fail "events after the restart"
import json, sys
ev = json.load(open(sys.argv[1]))
bad = [e for e in ev if e["type"].startswith(("certificate.", "order."))]
assert not bad, "events after a plain restart: %s" % bad[:5]
PY
[ "$(pebble_count orders)" = "$ORDERS0" ] ||
  fail "Pebble got $(($(pebble_count orders) - ORDERS0)) new orders after the restart"
[ "$(pebble_count issued)" = "$ISSUED0" ] || fail "Pebble issued after the restart"
"${CHECK[@]}" db-clean "${BYOCAD_STORE_URL:-$BYOCAD_DB}" >/dev/null || fail "orders after the restart"
pass "restart: serials, next_check and last_attempt unchanged, no event, no order"

# --- a forced renewal touches one lineage only
RID=$(json_get "$(cat "$W/ids.json")" "d[len(d) // 2]")
OLD=$(python3 -c 'import json,sys
for l in open(sys.argv[1]):
    r = json.loads(l)
    if r["id"] == int(sys.argv[2]): print(r["serial"])' "$W/after.txt" "$RID")
EV1=$(max_event "$EV0")
api_expect 202 POST "/v1/certificates/$RID/renew" "" "$T" || fail "renew"
json_check "$API_BODY" "assert d['id'] == $RID and d['next_check_source'] == 'forced', d"
for ((i = 0; i < 150; i++)); do
  api_expect 200 GET "/v1/certificates/$RID" "" "$T" || fail "get $RID"
  NEW=$(json_get "$API_BODY" 'd["serial"]')
  [ "$NEW" = "$OLD" ] || break
  sleep 0.2
done
[ "$NEW" != "$OLD" ] || fail "forced renewal of $RID did not happen in 30 s"
json_check "$API_BODY" "assert d['state'] == 'issued' and d['next_check_source'] == 'lifetime', d
assert d['failures'] == 0, d"
sleep 1
snapshot "$W/renewed.txt"
python3 - "$W/after.txt" "$W/renewed.txt" "$RID" <<'PY' || fail "after the forced renewal"
import json, sys
a = {json.loads(l)["id"]: json.loads(l) for l in open(sys.argv[1])}
b = {json.loads(l)["id"]: json.loads(l) for l in open(sys.argv[2])}
rid = int(sys.argv[3])
assert a.keys() == b.keys(), "the set of lineages changed"
changed = [i for i in a if a[i] != b[i]]
assert changed == [rid], "changed: %s (expected only %d)" % (changed[:10], rid)
assert a[rid]["serial"] != b[rid]["serial"]
assert b[rid]["next_check"] > a[rid]["last_attempt"], b[rid]
PY
[ "$(pebble_count orders)" = "$((ORDERS0 + 1))" ] ||
  fail "forced renewal: $(($(pebble_count orders) - ORDERS0)) new Pebble orders, expected 1"
[ "$(pebble_count issued)" = "$((ISSUED0 + 1))" ] ||
  fail "forced renewal: Pebble issued $(($(pebble_count issued) - ISSUED0)), expected 1"
events_after "$EV1" >"$W/ev-renew.json"
python3 - "$W/ev-renew.json" "$RID" <<'PY' || fail "events of the forced renewal"
import json, sys
ev = json.load(open(sys.argv[1]))
rid = int(sys.argv[2])
cert = [e for e in ev if e["type"].startswith(("certificate.", "order."))]
other = [e for e in cert if e["certificate"] != rid]
assert not other, "events for other lineages: %s" % other[:5]
types = sorted(e["type"] for e in cert)
assert types.count("certificate.renewed") == 1, types
assert "certificate.issued" not in types and "certificate.failed" not in types, types
PY
"${CHECK[@]}" db-clean "${BYOCAD_STORE_URL:-$BYOCAD_DB}" >/dev/null || fail "orders after the renewal"
pass "forced renewal changed lineage $RID only"

env_stop_byocad || fail "byocad did not stop cleanly"
byocad_log_clean || fail "sanitizer report"
echo "total $((SECONDS - T0)) s"
pass "daemon restart"
