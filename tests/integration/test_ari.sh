#!/usr/bin/env bash
# ACME Renewal Information (RFC 9773) end to end: byoca against Pebble
# (6-day certificates) behind the ARI fixture (tests/env/ari_proxy.py).
# Renewal time from the lifetime rule without ARI and from the CA's window
# with it; Retry-After respected; a window in the past renews at once with
# "replaces" to the same CA; 409 alreadyReplaced retried once without it;
# 5xx then success; long-term errors (garbage, end before start,
# connection refused, the address policy); no "replaces" without
# renewalInfo, nor after CAA moved the lineage to another CA.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/ari.sh"
env_init ari
env_gen_tls
env_start_challtestsrv
LIFE=$((6 * 86400))
env_start_pebble --validity "$LIFE"
env_start_ari
A_DIR=$ARI_DIRECTORY
A_CTL=$ARI_CTRL
STATE=$ENV_DIR/state
HTTP01=(--http-addr 127.0.0.1 --http-port "$PORT_HTTP01")

by() {
  "$BYOCA" "$@" --ca-bundle "$ENV_CA_BUNDLE" --state-dir "$STATE" \
    --resolver "127.0.0.1@$PORT_DNS"
}
iso() { date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ; }
# window CTRL CERTID START_OFFSET END_OFFSET RETRY [EXPLANATION]
window() {
  local now
  now=$(date +%s)
  ari_ctl "$1" /window "{\"certid\":\"$2\",\"start\":\"$(iso $((now + $3)))\",\
\"end\":\"$(iso $((now + $4)))\",\"retry_after\":\"$5\",\"explanation\":\"${6:-}\"}"
}
# The ARI CertID of a PEM certificate, computed with openssl and python,
# independently of byoca.
certid() {
  local aki serial
  aki=$(openssl x509 -in "$1" -noout -ext authorityKeyIdentifier |
    tail -n +2 | sed 's/keyid://' | tr -d ' :\n')
  serial=$(openssl x509 -in "$1" -noout -serial | cut -d= -f2)
  python3 - "$aki" "$serial" <<'PY'
import base64, sys
aki, serial = (bytes.fromhex(x if len(x) % 2 == 0 else "0" + x) for x in sys.argv[1:3])
if serial[0] & 0x80:
    serial = b"\0" + serial  # DER keeps a positive INTEGER positive
b = lambda x: base64.urlsafe_b64encode(x).decode().rstrip("=")
print(b(aki) + "." + b(serial))
PY
}
# lin NAME KEY: a member of the lineage's state file
lin() {
  python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' \
    "$STATE/renewal/$1.json" "$2"
}
# The Retry-After has passed: the next renew asks the CA again.
check_now() {
  python3 - "$STATE/renewal/$1.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
d["ari_next_check"] = 1
json.dump(d, open(sys.argv[1], "w"))
PY
}
# seen CTRL CERTID: how many renewalInfo requests the proxy got for CERTID
seen() {
  ari_requests "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["renewal_info"].count(sys.argv[1]))' "$2"
}
# last_orders CTRL N: the last N newOrders the proxy saw, "replaces/status"
last_orders() {
  ari_requests "$1" | python3 -c '
import json, sys
o = json.load(sys.stdin)["orders"][-int(sys.argv[1]):]
print(" ".join("%s/%s" % (x["replaces"] or "-", x["status"]) for x in o))' "$2"
}
norders() {
  ari_requests "$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["orders"]))'
}
list_json() {
  expect_rc 0 "$BYOCA" list --json --state-dir "$STATE"
  echo "$OUT" | python3 -c "import json,sys; d={x['name']: x for x in json.load(sys.stdin)}; $1" \
    "$PORT_ACME" "$ENV_DIRECTORY" || fail "list --json: $2: $OUT"
}

# ---- without ARI (Pebble itself): the lifetime rule, half of 6 days
expect_rc 0 by issue -d plain.ari.test --server "$ENV_DIRECTORY" "${HTTP01[@]}" --agree-tos
list_json '
import datetime as dt
p = d["plain.ari.test"]
t = lambda s: int(dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc).timestamp())
life = t(p["not_after"]) - t(p["not_before"])
assert 6 * 86400 - 5 <= life <= 6 * 86400, p
assert t(p["renew_at"]) == t(p["not_before"]) + life // 2, p
assert p["renew_source"] == "lifetime" and p["ari_window"] is None, p
assert p["explanation_url"] is None, p
assert p["lifetime"] == "6d" and p["ca"] == "127.0.0.1:%s" % sys.argv[1], p
assert p["last_attempt"] is not None, p
assert p["last_outcome"].startswith("issued by %s" % sys.argv[2]), p' "lifetime rule"
[ -z "$(lin plain.ari.test cert_id)" ] && fail "no CertID recorded"
expect_rc 0 by renew plain.ari.test
expect_in "$ERR" "not due until" "lifetime rule, not due"
expect_in "$ERR" "(lifetime)" "source said"
pass "without ARI: renewal at half of a 6-day lifetime"

# ---- with ARI: the CA's window, asked right after issuance
window "$A_CTL" '*' $((2 * 86400)) $((3 * 86400)) 3600 https://ca.example/ari-why
expect_rc 0 by issue -d a.ari.test --server "$A_DIR" "${HTTP01[@]}" --agree-tos
ID1=$(certid "$STATE/live/a.ari.test/cert.pem")
[ "$(lin a.ari.test cert_id)" = "$ID1" ] ||
  fail "CertID: byoca $(lin a.ari.test cert_id), openssl $ID1"
[ "$(lin a.ari.test cert_server)" = "$A_DIR" ] || fail "cert_server"
[ "$(seen "$A_CTL" "$ID1")" = 1 ] || fail "renewalInfo not asked after issuance"
expect_in "$ERR" "renewal window" "window logged"
list_json '
import datetime as dt, time
a = d["a.ari.test"]
t = lambda s: int(dt.datetime.strptime(s, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=dt.timezone.utc).timestamp())
w = a["ari_window"]
assert a["renew_source"] == "ari", a
assert t(w["start"]) <= t(a["renew_at"]) < t(w["end"]), a
assert abs(t(w["start"]) - time.time() - 2 * 86400) < 120, a
assert a["explanation_url"] == "https://ca.example/ari-why", a
assert 3500 < t(a["ari_next_check"]) - time.time() <= 3600, a' "ARI window"
expect_rc 0 "$BYOCA" list --state-dir "$STATE"
expect_in "$OUT" "the CA explains its renewal window: https://ca.example/ari-why" "list"
expect_in "$(grep a.ari.test <<<"$OUT")" " ari " "list source column"
expect_in "$(grep a.ari.test <<<"$OUT")" " 6d " "list lifetime column"
expect_in "$OUT" "renewal window (ari): " "list window line"
expect_in "$OUT" "last attempt " "list last attempt line"
expect_in "$OUT" "CA " "list CA column"
pass "with ARI: renewal inside the CA's window, explanation shown"

# ---- Retry-After (1 h) not passed: renew does not ask again
expect_rc 0 by renew a.ari.test
expect_in "$ERR" "not due until" "future window"
expect_in "$ERR" "(ari)" "source said"
[ "$(seen "$A_CTL" "$ID1")" = 1 ] || fail "renewalInfo asked before Retry-After"
pass "Retry-After respected"

# ---- the window moves into the past: renewed at once, replaces = ID1
window "$A_CTL" "$ID1" $((-2 * 86400)) -86400 60 https://ca.example/incident
check_now a.ari.test
expect_rc 0 by renew a.ari.test
expect_in "$ERR" "the CA moved the renewal earlier" "earlier warning"
expect_in "$ERR" "https://ca.example/incident" "explanation in the warning"
ID2=$(certid "$STATE/live/a.ari.test/cert.pem")
[ "$ID2" != "$ID1" ] || fail "not renewed"
[ "$(last_orders "$A_CTL" 1)" = "$ID1/201" ] ||
  fail "replaces to the same CA: $(last_orders "$A_CTL" 1)"
check_live a.ari.test
pass "window in the past: renewed at once, replaces sent to the same CA"

# ---- 409 alreadyReplaced: once more without replaces
window "$A_CTL" "$ID2" $((-2 * 86400)) -86400 60
ari_ctl "$A_CTL" /replaced '{"count": 1}'
check_now a.ari.test
expect_rc 0 by renew a.ari.test
expect_in "$ERR" "already replaced" "alreadyReplaced said"
[ "$(last_orders "$A_CTL" 2)" = "$ID2/409 -/201" ] ||
  fail "alreadyReplaced path: $(last_orders "$A_CTL" 2)"
ID3=$(certid "$STATE/live/a.ari.test/cert.pem")
[ "$ID3" != "$ID2" ] || fail "not renewed after alreadyReplaced"
pass "409 alreadyReplaced: retried once without replaces"

# ---- 5xx twice, then the window, in one run
window "$A_CTL" "$ID3" 86400 $((2 * 86400)) 7200
ari_ctl "$A_CTL" /fail "{\"certid\":\"$ID3\",\"status\":503,\"count\":2}"
check_now a.ari.test
before=$(seen "$A_CTL" "$ID3")
expect_rc 0 by renew a.ari.test
[ "$(($(seen "$A_CTL" "$ID3") - before))" = 3 ] || fail "5xx retries"
expect_in "$ERR" "not due until" "window after 5xx"
[ "$(lin a.ari.test ari_failures)" = 0 ] || fail "failures after success"
at_ok=$(lin a.ari.test renew_at)
python3 -c "import sys,time; assert 7100 < int(sys.argv[1]) - time.time() <= 7200" \
  "$(lin a.ari.test ari_next_check)" || fail "Retry-After 7200 not kept"
pass "5xx then success"

# ---- 5xx past the in-run tries: temporary backoff, schedule held
ari_ctl "$A_CTL" /fail "{\"certid\":\"$ID3\",\"status\":500,\"count\":3}"
check_now a.ari.test
expect_rc 0 by renew a.ari.test
expect_in "$ERR" "no renewal window from the CA" "5xx warning"
[ "$(lin a.ari.test ari_failures)" = 1 ] || fail "failure not counted"
[ "$(lin a.ari.test renew_at)" = "$at_ok" ] || fail "schedule not held"
python3 -c "import sys,time; assert 0 < int(sys.argv[1]) - time.time() <= 60" \
  "$(lin a.ari.test ari_next_check)" || fail "temporary backoff: 1 minute"
pass "temporary errors back off, the schedule stays"

# ---- long-term errors: garbage, end before start -> six hours
for what in garbage reversed; do
  if [ "$what" = garbage ]; then
    ari_ctl "$A_CTL" /garbage "{\"certid\":\"$ID3\",\"count\":1}"
  else
    window "$A_CTL" "$ID3" $((2 * 86400)) 86400 60
  fi
  check_now a.ari.test
  expect_rc 0 by renew a.ari.test
  expect_in "$ERR" "no renewal window from the CA" "$what"
  [ "$(lin a.ari.test renew_at)" = "$at_ok" ] || fail "$what: schedule not held"
  [ "$(lin a.ari.test renew_source)" = ari ] || fail "$what: source changed"
  python3 -c "import sys,time; assert 21500 < int(sys.argv[1]) - time.time() <= 21600" \
    "$(lin a.ari.test ari_next_check)" || fail "$what: not six hours"
done
expect_in "$ERR" "ends" "end before start named"
pass "garbage and end-before-start are long-term errors (6 h)"

# ---- renewalInfo elsewhere: the address policy, then connection refused
ari_ctl "$A_CTL" /directory \
  "{\"renewal_info\":\"https://127.0.0.1:$PORT_TLSALPN/renewal-info\"}"
check_now a.ari.test
expect_rc 0 by renew a.ari.test
expect_in "$ERR" "loopback" "address policy applies to renewalInfo"
check_now a.ari.test
expect_rc 0 by renew a.ari.test --allow-net 127.0.0.0/8
expect_in "$ERR" "onnect" "connection refused"
python3 -c "import sys,time; assert 21500 < int(sys.argv[1]) - time.time() <= 21600" \
  "$(lin a.ari.test ari_next_check)" || fail "connection refused: not six hours"
[ "$(lin a.ari.test renew_at)" = "$at_ok" ] || fail "refused: schedule not held"
ari_ctl "$A_CTL" /directory '{"renewal_info": null}'
pass "connection refused and the address policy: long-term errors"

# ---- a directory without renewalInfo: no replaces
ari_ctl "$A_CTL" /directory '{"ari": false}'
expect_rc 0 by renew --force a.ari.test
[ "$(last_orders "$A_CTL" 1)" = "-/201" ] ||
  fail "replaces sent without renewalInfo: $(last_orders "$A_CTL" 1)"
[ "$(lin a.ari.test renew_source)" = lifetime ] || fail "no ARI: lifetime rule"
ari_ctl "$A_CTL" /directory '{"ari": true}'
pass "no replaces when the directory has no renewalInfo"

# ---- CAA moves the lineage to another CA: no replaces there
env_start_pebble_one pebble-b "$PORT_ACME_EAB" "$PORT_MGMT_EAB" 0 "" "$LIFE"
env_start_ari ari-b "https://127.0.0.1:$PORT_ACME_EAB" \
  $((PORT_SPARE_LAST - 2)) $((PORT_SPARE_LAST - 3))
B_DIR=$ARI_DIRECTORY
B_CTL=$ARI_CTRL
cat "$ENV_DIR"/pebble-roots*.pem >"$ENV_DIR/all-roots.pem"
export ENV_PEBBLE_ROOTS=$ENV_DIR/all-roots.pem
cat >"$ENV_DIR/byoca.conf" <<EOF
[ca "ca-a.ari.test"]
directory = $A_DIR
[ca "ca-b.ari.test"]
directory = $B_DIR
EOF
cts_add_caa auto.ari.test 0 issue "ca-a.ari.test"
expect_rc 0 by issue -d auto.ari.test "${HTTP01[@]}" --config "$ENV_DIR/byoca.conf"
[ "$(lin auto.ari.test cert_server)" = "$A_DIR" ] || fail "auto: not at CA A"
AID=$(certid "$STATE/live/auto.ari.test/cert.pem")
window "$A_CTL" "$AID" $((-2 * 86400)) -86400 60
check_now auto.ari.test
expect_rc 0 by renew auto.ari.test --config "$ENV_DIR/byoca.conf" "${HTTP01[@]}"
[ "$(last_orders "$A_CTL" 1)" = "$AID/201" ] ||
  fail "same CA through CAA: $(last_orders "$A_CTL" 1)"
AID2=$(certid "$STATE/live/auto.ari.test/cert.pem")
pass "CAA keeps the CA: replaces sent"

cts_clear_caa auto.ari.test
cts_add_caa auto.ari.test 0 issue "ca-b.ari.test"
window "$A_CTL" "$AID2" $((-2 * 86400)) -86400 60
window "$B_CTL" '*' 86400 $((2 * 86400)) 3600
check_now auto.ari.test
na=$(norders "$A_CTL")
expect_rc 0 by renew auto.ari.test --config "$ENV_DIR/byoca.conf" "${HTTP01[@]}"
[ "$(norders "$A_CTL")" = "$na" ] || fail "ordered at the old CA"
[ "$(last_orders "$B_CTL" 1)" = "-/201" ] ||
  fail "replaces sent to another CA: $(last_orders "$B_CTL" 1)"
[ "$(lin auto.ari.test cert_server)" = "$B_DIR" ] || fail "auto: not at CA B"
check_live auto.ari.test
# and the new CA's window is the one asked from now on
BID=$(certid "$STATE/live/auto.ari.test/cert.pem")
[ "$(seen "$B_CTL" "$BID")" = 1 ] || fail "new CA's ARI not asked"
[ "$(lin auto.ari.test renew_source)" = ari ] || fail "new CA's window not used"
check_no_partial
pass "CAA moved the lineage to another CA: no replaces"

# ---- byoca list: a failed renewal is the last attempt, the lineage kept
env_stop_ari ari-b
expect_rc 0 "$BYOCA" list --state-dir "$STATE"
before=$(grep -A4 "^auto.ari.test " <<<"$OUT")
expect_in "$before" "last attempt " "list before"
expect_rc 1 by renew --force auto.ari.test --config "$ENV_DIR/byoca.conf" "${HTTP01[@]}"
[ "$(lin auto.ari.test cert_server)" = "$B_DIR" ] || fail "lineage changed by a failure"
list_json '
a = d["auto.ari.test"]
assert a["last_outcome"] and not a["last_outcome"].startswith("issued"), a
assert a["serial"] and a["ca"] == "ca-b.ari.test", a' "failed attempt"
pass "byoca list: a failed attempt shown with its outcome, the certificate kept"
