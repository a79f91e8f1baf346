#!/usr/bin/env bash
# byocad and ACME Renewal Information (RFC 9773, D-ARI): after issuance
# the daemon asks the CA's renewalInfo, schedules the renewal at an
# instant of the suggested window (next_check_source "ari", the window,
# explanationURL and next poll in the API and in `byoca daemon cert
# show`); when the CA moves a window into the past the lineage is renewed
# at the next poll, with a certificate.renewal_moved webhook carrying the
# explanationURL; the renewal order names the predecessor in "replaces"
# when it goes to the same CA, not when CAA moved the lineage to another
# CA; a 409 alreadyReplaced is ordered again without "replaces". The CAs
# are Pebble behind two instances of the ARI fixture (tests/env/ari_proxy.py).
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/ari.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init daemon_ari
env_gen_tls
env_start_challtestsrv
env_start_pebble
env_start_ari ari_b "https://127.0.0.1:$PORT_ACME" $((PORT_SPARE_FIRST + 1)) \
  $((PORT_SPARE_FIRST + 2))
B_DIR=$ARI_DIRECTORY
B_CTL=$ARI_CTRL
env_start_ari
A_DIR=$ARI_DIRECTORY
A_CTL=$ARI_CTRL
SINK_PORT=$PORT_SPARE_FIRST
SINK=$ENV_DIR/webhook.jsonl
: >"$SINK"
env_spawn sink python3 "$BYOCA_SRC/tests/env/webhook_sink.py" "$SINK_PORT" "$SINK"

# rfc3339 SECONDS: now + SECONDS as an RFC 3339 UTC timestamp
rfc3339() {
  python3 -c 'import sys, time
print(time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(time.time() + int(sys.argv[1]))))' "$1"
}
# orders CTL: the newOrders a proxy saw, one "identifier replaces status"
# line each
orders() {
  ari_requests "$1" | python3 -c '
import json, sys
for o in json.load(sys.stdin)["orders"]:
    print(o["identifiers"][0]["value"], o["replaces"] or "-", o["status"])'
}
# wait_field TOKEN ID EXPR [SECONDS]: polls the certificate until the
# Python expression EXPR (over d) holds; prints it
wait_field() {
  local i
  for ((i = 0; i < ${4:-30} * 5; i++)); do
    api GET "/v1/certificates/$2" "" "$1" >/dev/null
    if [ "$API_STATUS" = 200 ] &&
      python3 -c "import json,sys; d=json.loads(sys.argv[1]); sys.exit(0 if ($3) else 1)" \
        "$API_BODY" 2>/dev/null; then
      printf '%s\n' "$API_BODY"
      return 0
    fi
    sleep 0.2
  done
  fail "certificate $2: never ($3): $API_BODY"
}

WS=$(rfc3339 $((10 * 86400)))
WE=$(rfc3339 $((11 * 86400)))
for ctl in "$A_CTL" "$B_CTL"; do
  ari_ctl "$ctl" /window "{\"certid\":\"*\",\"start\":\"$WS\",\"end\":\"$WE\",
    \"explanation\":\"https://ca.test/why-1\",\"retry_after\":\"60\"}"
done
env_start_byocad "webhook_url = http://127.0.0.1:$SINK_PORT/hook" \
  '[ca "ca-a.ari.test"]' "directory = $A_DIR" \
  '[ca "ca-b.ari.test"]' "directory = $B_DIR"
env_tenant ari >/dev/null
T=$ENV_DIR/ari.token

# ---- three lineages at CA A: two pinned, one chosen by CAA
cts_add_caa c3.ari.test 0 issue "ca-a.ari.test"
ids=()
for n in c1 c2; do
  api_expect 201 POST /v1/certificates \
    "{\"identifiers\":[\"$n.ari.test\"],\"ca\":\"$A_DIR\"}" "$T"
  ids+=("$(json_get "$API_BODY" 'd["id"]')")
done
api_expect 201 POST /v1/certificates '{"identifiers":["c3.ari.test"]}' "$T"
ids+=("$(json_get "$API_BODY" 'd["id"]')")
for id in "${ids[@]}"; do
  wait_cert_state "$T" "$id" issued 60 >/dev/null || fail "$id not issued"
done

# ---- a window in the future: next_check inside it, source ari
declare -A OLD_CID OLD_SERIAL
for id in "${ids[@]}"; do
  C=$(wait_field "$T" "$id" "d['next_check_source'] == 'ari'" 30) || exit 1
  json_check "$C" "a = d['ari']
assert a['window_start'] == '$WS' and a['window_end'] == '$WE', a
assert a['window_start'] <= d['next_check'] <= a['window_end'], d
assert a['explanation_url'] == 'https://ca.test/why-1', a
assert a['failures'] == 0 and a['next_poll'] > d['not_before'], a
assert d['directory'] == '$A_DIR', d
assert d['lifetime'] == 0 or d['lifetime'] > 86400, d" || fail "window: $C"
  OLD_CID[$id]=$(json_get "$C" 'd["ari"]["cert_id"]')
  OLD_SERIAL[$id]=$(json_get "$C" 'd["serial"]')
  ari_requests "$A_CTL" | grep -q "\"${OLD_CID[$id]}\"" ||
    fail "the proxy was never asked for ${OLD_CID[$id]}"
done
pass "future window: next_check inside it, source ari, window and explanationURL in the API"

OUT=$("$BYOCA" daemon --socket "unix:$BYOCAD_SOCK" --token-file "$T" \
  cert show "${ids[0]}" 2>&1) || fail "cert show: $OUT"
for want in "ari.window_start: *$WS" "ari.explanation_url: *https://ca.test/why-1" \
  "next_check_source: *ari" "ari.next_poll:"; do
  grep -Eq "^$want" <<<"$OUT" || fail "cert show lacks '$want': $OUT"
done
OUT=$("$BYOCA" daemon --socket "unix:$BYOCAD_SOCK" --token-file "$T" \
  cert list 2>&1) || fail "cert list: $OUT"
grep -q "SOURCE" <<<"$OUT" && grep -Eq "^ *${ids[0]} .* ari " <<<"$OUT" ||
  fail "cert list shows no source: $OUT"
pass "byoca daemon cert show/list show the window and its source"

# ---- the CA moves the windows into the past (a revocation): renewed at
# the next poll; one 409 alreadyReplaced; c3's CAA now names CA B
PS=$(rfc3339 -7200)
PE=$(rfc3339 -3600)
cid_list=$(printf '"%s",' "${OLD_CID[@]}")
ari_ctl "$A_CTL" /window "{\"certid\":[${cid_list%,}],\"start\":\"$PS\",
  \"end\":\"$PE\",\"explanation\":\"https://ca.test/incident-42\"}"
ari_ctl "$A_CTL" /replaced '{"count": 1}'
cts_clear_caa c3.ari.test
cts_add_caa c3.ari.test 0 issue "ca-b.ari.test"
for id in "${ids[@]}"; do
  C=$(wait_field "$T" "$id" "d['serial'] != '${OLD_SERIAL[$id]}'" 120) || exit 1
  json_check "$C" "assert d['state'] == 'issued' and d['failures'] == 0, d
assert d['next_check_source'] in ('lifetime', 'ari'), d" || fail "renewed: $C"
done
C=$(wait_field "$T" "${ids[2]}" "d['directory'] == '$B_DIR'" 1) || exit 1
pass "windows moved into the past: all three renewed at the next poll"

# webhook and audit event with the explanationURL
for id in "${ids[@]}"; do
  for ((i = 0; i < 50; i++)); do
    grep -q '"certificate.renewal_moved"' "$SINK" &&
      python3 -c '
import json, sys
for line in open(sys.argv[1]):
    n = json.loads(line)
    if n["event"] == "certificate.renewal_moved" and \
       str(n["certificate"]) == sys.argv[2] and \
       n["detail"]["explanation_url"] == "https://ca.test/incident-42":
        sys.exit(0)
sys.exit(1)' "$SINK" "$id" && break
    sleep 0.2
  done
  [ "$i" -lt 50 ] || fail "no renewal_moved webhook for $id: $(cat "$SINK")"
  DET=$(api_has_event "$T" certificate.renewal_moved "$id")
  json_check "$DET" "assert d['window_end'] == '$PE', d
assert d['renew_at'] <= d['planned'], d" || fail "event: $DET"
done
pass "certificate.renewal_moved webhook and event carry the explanationURL"

# ---- replaces: to the same CA only; alreadyReplaced ordered again without
A_ORD=$(orders "$A_CTL")
for i in 0 1; do
  n=c$((i + 1)).ari.test
  cid=${OLD_CID[${ids[$i]}]}
  grep -Eq "^$n $cid (201|409)$" <<<"$A_ORD" || fail "no replaces for $n: $A_ORD"
done
[ "$(grep -c ' 409$' <<<"$A_ORD")" = 1 ] || fail "409s: $A_ORD"
n409=$(awk '$3 == 409 {print $1}' <<<"$A_ORD")
grep -Eq "^$n409 - 201$" <<<"$A_ORD" ||
  fail "$n409 not ordered again without replaces: $A_ORD"
B_ORD=$(orders "$B_CTL")
grep -Eq "^c3.ari.test - 201$" <<<"$B_ORD" || fail "c3 at B: $B_ORD"
grep -q "${OLD_CID[${ids[2]}]}" <<<"$B_ORD" &&
  fail "replaces sent to another CA: $B_ORD"
pass "replaces sent to the issuing CA only; alreadyReplaced retried without it"

# ---- the renewed certificates are polled for their own (future) window
for id in "${ids[@]}"; do
  C=$(wait_field "$T" "$id" "d['ari'] and d['ari']['window_start'] == '$WS' and d['next_check_source'] == 'ari'" 30) || exit 1
  json_check "$C" "assert d['ari']['cert_id'] != '${OLD_CID[$id]}', d" ||
    fail "new CertID: $C"
done
pass "renewed certificates get their own window"

env_stop_byocad
byocad_log_clean
