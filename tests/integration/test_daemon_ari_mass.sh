#!/usr/bin/env bash
# A simulated mass revocation (RFC 9773, D-ARI): BYOCA_ARI_MASS (default
# 500) lineages issued by one CA (Pebble behind the ARI fixture,
# tests/env/ari_proxy.py) and scheduled in their future windows; then the
# CA moves every window into the past. byocad renews all of them at the
# next poll, each order naming its predecessor in "replaces", while the
# fixture never sees more orders under way at once than
# max_parallel_per_ca allows.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/ari.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init daemon_ari_mass
env_gen_tls
env_start_challtestsrv
env_start_pebble
env_start_ari
N=${BYOCA_ARI_MASS:-500}
LIMIT=${BYOCA_ARI_MASS_LIMIT:-10}
BULK=("$BYOCA_PY" "$BYOCA_SRC/tests/env/daemon_bulk.py")

rfc3339() {
  python3 -c 'import sys, time
print(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + int(sys.argv[1]))))' "$1"
}
# max_active: the most orders the fixture saw under way at once
max_active() {
  ari_requests "$ARI_CTRL" | python3 -c 'import json,sys; print(json.load(sys.stdin)["max_active_orders"])'
}

WS=$(rfc3339 $((20 * 86400)))
WE=$(rfc3339 $((21 * 86400)))
ari_ctl "$ARI_CTRL" /window "{\"certid\":\"*\",\"start\":\"$WS\",\"end\":\"$WE\",\"retry_after\":\"60\"}"
BYOCAD_LOG_LEVEL=info env_start_byocad "max_parallel = 64" \
  "max_parallel_per_ca = $LIMIT"
env_tenant mass >/dev/null
T=$ENV_DIR/mass.token

t0=$(date +%s)
"${BULK[@]}" "$BYOCAD_SOCK" "$T" add "$N" mass.ari.test "$ARI_DIRECTORY" \
  >"$ENV_DIR/ids" || fail "adding $N lineages"
"${BULK[@]}" "$BYOCAD_SOCK" "$T" wait 600 \
  "d['state'] == 'issued' and d['next_check_source'] == 'ari'" \
  "$ENV_DIR/before.json" || fail "not all issued and scheduled by ARI"
t1=$(date +%s)
[ "$(wc -l <"$ENV_DIR/ids")" = "$N" ] || fail "ids: $(wc -l <"$ENV_DIR/ids")"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert len(d) == int(sys.argv[2]), len(d)
for c in d.values():
    a = c["ari"]
    assert a["window_start"] <= c["next_check"] <= a["window_end"], c' \
  "$ENV_DIR/before.json" "$N" || fail "not scheduled inside the window"
m=$(max_active)
[ "$m" -le "$LIMIT" ] || fail "issuance: $m orders at once at the CA (limit $LIMIT)"
pass "$N lineages issued in $((t1 - t0)) s (at most $m orders at once), each scheduled in its window"

# ---- the CA revokes: every window moves into the past
ari_ctl "$ARI_CTRL" /counters '{}'
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print(json.dumps({"certid": [c["ari"]["cert_id"] for c in d.values()],
                  "start": sys.argv[2], "end": sys.argv[3],
                  "explanation": "https://ca.test/mass-revocation"}))' \
  "$ENV_DIR/before.json" "$(rfc3339 -7200)" "$(rfc3339 -3600)" >"$ENV_DIR/move.json"
ari_ctl "$ARI_CTRL" /window "$(cat "$ENV_DIR/move.json")"
t2=$(date +%s)
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
print("d[\"failures\"] == 0 and d[\"serial\"] != " +
      repr({k: c["serial"] for k, c in d.items()}) + "[str(d[\"id\"])]")' \
  "$ENV_DIR/before.json" >"$ENV_DIR/renewed.expr"
"${BULK[@]}" "$BYOCAD_SOCK" "$T" wait 400 "$(cat "$ENV_DIR/renewed.expr")" \
  "$ENV_DIR/after.json" || fail "not all renewed"
t3=$(date +%s)
m=$(max_active)
[ "$m" -le "$LIMIT" ] || fail "renewal: $m orders at once at the CA (limit $LIMIT)"
[ "$m" -ge 2 ] || fail "renewal: never more than $m order at once"
ari_requests "$ARI_CTRL" | python3 -c '
import json, sys
before = json.load(open(sys.argv[1]))
old = {c["ari"]["cert_id"] for c in before.values()}
orders = json.load(sys.stdin)["orders"]
named = {o["replaces"] for o in orders if o["status"] == 201} & old
assert named == old, "%d of %d renewals named their predecessor" % (
    len(named), len(old))' "$ENV_DIR/before.json" ||
  fail "replaces missing"
pass "all $N renewed $((t3 - t2)) s after the windows moved, at most $m orders at once (limit $LIMIT), each with replaces"

env_stop_byocad
byocad_log_clean
