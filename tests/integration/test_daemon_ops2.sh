#!/usr/bin/env bash
# byocad's operational side, part 2 (part 1: test_daemon_ops.sh): CA
# backoff, SIGHUP and SIGTERM, against Pebble (6-day certificates, behind
# daemon_check.py's pebble-proxy):
#  - a default_ca on a closed port fails 3 times: exactly one ca.backoff
#    notification (tenant and certificate null, issuer, failures, until),
#    byoca_ca_backoff{ca=...} 1, its error counter 3, GET /v1/cas;
#  - SIGHUP applies a new default_ca (the failing lineage then issues at
#    Pebble), a new webhook_url (the next notifications go there, none to
#    the old one) and a new max_parallel (lineages held at 1 in flight by
#    a blocking deploy hook start once it is 3); a config that does not
#    parse, and one the manager refuses (an ftp webhook URL), are logged
#    and change nothing (max_parallel and webhook stay); a changed
#    http_listen is reported as needing a restart and not applied;
#  - SIGTERM with dns-01 orders in flight (a slow dns hook): requests that
#    change something (POST, PUT, DELETE) are refused (503), GETs (lists,
#    a certificate, its chain, events, /metrics with byocad_draining 1)
#    and the public paths (http-01, acme-keys) are answered, /healthz
#    answers 503 meanwhile; with a long
#    drain_timeout it waits for the order and exits 0; with a short one it
#    exits 0 at the deadline, the hook (and its child) no longer running,
#    and the next start resumes the cut-off order (order.resumed, issued
#    once);
#  - certificate.expiring: a 6-day certificate whose renewal failed is
#    notified by the expiry check of the next start.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_daemon_ops daemon_ops2 --validity 518400
SINKA_PORT=$((PORT_SPARE_FIRST + 1))
SINKB_PORT=$((PORT_SPARE_FIRST + 2))
CLOSED_PORT=$((PORT_SPARE_FIRST + 3)) # nothing listens there
HTTP2_PORT=$((PORT_SPARE_FIRST + 4))
CLOSED=https://127.0.0.1:$CLOSED_PORT/dir
SINKA=$W/sink-a.jsonl
SINKB=$W/sink-b.jsonl
env_webhook_sink sink-a "$SINKA_PORT" "$SINKA"
env_webhook_sink sink-b "$SINKB_PORT" "$SINKB"
! port_up "$CLOSED_PORT" || fail "something listens on $CLOSED_PORT"

# note_count FILE EVENT [CERT]: notifications EVENT (about CERT) in FILE
note_count() {
  json_get "$(webhook_notes "$1")" "len([n for n in d if n['event'] == '$2' and ('${3:-}' == '' or n['certificate'] == int('${3:-0}'))])"
}
has_note() { [ "$(note_count "$@")" -ge 1 ]; }
lines() { if [ -e "$1" ]; then wc -l <"$1"; else echo 0; fi; }
add_cert() {
  api_expect 201 POST /v1/certificates "{\"identifiers\":[\"$1\"]}" "$T" || return 1
  json_get "$API_BODY" 'd["id"]'
}
in_flight() { metrics_check "assert v('byoca_orders_in_flight') == $1, v('byoca_orders_in_flight')"; }
# count_log TEXT: lines of the daemon's log with TEXT
count_log() { grep -cF -- "$1" "$BYOCAD_LOG" || true; }
# log_more TEXT N: more than N lines with TEXT
log_more() { [ "$(count_log "$1")" -gt "$2" ]; }
# reload [LINE...]: rewrites byocad.conf (default_ca from BYOCAD_DEFAULT_CA)
# with the fixed lines plus LINEs, sends SIGHUP, waits until the log shows
# the outcome (RELOAD_WANT: "reloaded" or "keeping")
reload() {
  local ok0 bad0
  ok0=$(count_log "configuration reloaded")
  bad0=$(count_log "keeping the running settings")
  conf "$@"
  kill -HUP "$BYOCAD_PID"
  case "${RELOAD_WANT:-reloaded}" in
  reloaded) wait_for 10 log_more "configuration reloaded" "$ok0" ||
    fail "no 'configuration reloaded' after SIGHUP: $(tail -5 "$BYOCAD_LOG")" ;;
  *) wait_for 10 log_more "keeping the running settings" "$bad0" ||
    fail "a broken config was not reported: $(tail -5 "$BYOCAD_LOG")" ;;
  esac
  [ "$(count_log "keeping the running settings")" -eq "$bad0" ] || [ "${RELOAD_WANT:-reloaded}" != reloaded ] ||
    fail "reload refused: $(grep 'keeping the running' "$BYOCAD_LOG" | tail -1)"
  env__alive "$BYOCAD_PID" || fail "byocad died on SIGHUP"
}
HTTP_LINE="http_listen = 127.0.0.1:$PORT_HTTP01"
# conf_lines [LINE...]: CONF_LINES = the fixed lines, overridden by key by
# LINEs, plus LINEs
conf_lines() {
  # challenge_order: http-01 first, so an A record pointing elsewhere
  # fails a renewal (the default would prefer the dns hook)
  local fixed=("retry_base = 1" "deploy_hook = $W/deploy.sh"
    "dns_hook = $W/dns.sh" "challenge_order = http-01, dns-01"
    "max_parallel = 1" "drain_timeout = 2"
    "webhook_url = http://127.0.0.1:$SINKA_PORT/a") l
  CONF_LINES=()
  for l in "${fixed[@]}"; do
    printf '%s\n' "$@" | grep -q "^${l%% =*} =" || CONF_LINES+=("$l")
  done
  CONF_LINES+=("$@")
}
# conf [LINE...]: writes byocad.conf (default_ca from BYOCAD_DEFAULT_CA)
conf() {
  conf_lines "$@"
  env__byocad_conf "${CONF_LINES[@]}"
  # env__byocad_conf writes its own http_listen line: one only
  if printf '%s\n' "$@" | grep -q '^http_listen ='; then
    grep -vxF "$HTTP_LINE" "$BYOCAD_CONF" >"$W/conf.tmp" && cat "$W/conf.tmp" >"$BYOCAD_CONF"
  fi
}
# start [LINE...]: (re)starts byocad with that config
start() {
  conf_lines "$@"
  env_start_byocad "${CONF_LINES[@]}"
}

# deploy hook: marks its start; holds lineages named par*/q* while
# $W/hold exists (so they stay in flight)
cat >"$W/deploy.sh" <<HOOK
#!/bin/sh
touch "$W/started.\$BYOCA_CERT_NAME"
case "\$RENEWED_DOMAINS" in
par*|q*)
  i=0
  while [ -e "$W/hold" ] && [ \$i -lt 600 ]; do sleep 0.1; i=\$((i + 1)); done ;;
esac
HOOK
# dns hook: dns-01 through challtestsrv; setup sleeps \$W/dns-delay seconds
# and notes its own and its sleep's pid in \$W/dns-pids
cat >"$W/dns.sh" <<HOOK
#!/bin/sh
case "\$BYOCA_ACTION" in
setup)
  echo "\$BYOCA_IDENTIFIER" >>"$W/dns-setup.log"
  echo \$\$ >>"$W/dns-pids"
  sleep "\$(cat "$W/dns-delay")" &
  echo \$! >>"$W/dns-pids"
  wait \$!
  curl -sf -d "{\"host\":\"\$BYOCA_RECORD_NAME.\",\"value\":\"\$BYOCA_RECORD_VALUE\"}" http://127.0.0.1:$PORT_CTS_API/set-txt ;;
cleanup)
  curl -sf -d "{\"host\":\"\$BYOCA_RECORD_NAME.\"}" http://127.0.0.1:$PORT_CTS_API/clear-txt ;;
esac
HOOK
chmod 755 "$W/deploy.sh" "$W/dns.sh"
echo 0 >"$W/dns-delay"

# --- ca.backoff: the only default CA is a closed port
export BYOCAD_DEFAULT_CA=$CLOSED
start
TID=$(env_tenant ops2)
T=$ENV_DIR/ops2.token
X=x.ops2.byoca.test
XID=$(add_cert "$X")
wait_for 30 has_note "$SINKA" ca.backoff || fail "no ca.backoff notification: $(webhook_notes "$SINKA")"
wait_for 10 failures_at_least "$XID" 4 || fail "$X stopped being tried"
sleep 0.5
"$BYOCA_PY" - "$SINKA" "$CLOSED" <<'PY' || fail "ca.backoff notification: $(webhook_notes "$SINKA")"
import json, sys, time, calendar
ns = [json.loads(l) for l in open(sys.argv[1])]
b = [n for n in ns if n["event"] == "ca.backoff"]
assert len(b) == 1, "%d ca.backoff notifications, want 1" % len(b)
n = b[0]
assert n["tenant"] is None and n["certificate"] is None, n
assert n["_path"] == "/a", n
d = n["detail"]
assert d["issuer"] == sys.argv[2] and d["failures"] == 3 and d.get("error"), d
until = calendar.timegm(time.strptime(d["backoff_until"], "%Y-%m-%dT%H:%M:%SZ"))
assert 240 <= until - time.time() <= 330, "backoff until %s" % d["backoff_until"]
PY
metrics_check "
assert v('byoca_ca_backoff', ca='$CLOSED') == 1, S
assert v('byoca_issuance_total', ca='$CLOSED', kind='new', outcome='error') == 3, S
assert v('byoca_issuance_total', ca='$CLOSED', kind='new', outcome='ok') is None, S
" || fail "metrics during the backoff"
api_expect 200 GET /v1/cas "" "$BYOCAD_OPERATOR"
json_check "$API_BODY" "h = [c for c in d['items'] if c['issuer'] == '$CLOSED']
assert len(h) == 1 and h[0]['failures'] == 3 and h[0]['backoff_until'] and h[0]['last_error'], d" ||
  fail "GET /v1/cas: $API_BODY"
json_check "$(cert_field "$XID" d)" "assert d['state'] == 'failed' and d['issuer'] is None, d"
pass "ca.backoff: one notification after 3 failures; metrics 1 and 3 errors; /v1/cas"

# --- SIGHUP: default_ca and webhook_url
export BYOCAD_DEFAULT_CA=$CA
reload "webhook_url = http://127.0.0.1:$SINKB_PORT/b"
api_expect 202 POST "/v1/certificates/$XID/renew" "" "$T"
wait_cert_state "$T" "$XID" issued 30 >/dev/null || fail "$X not issued from the reloaded default_ca"
json_check "$(cert_field "$XID" d)" "assert d['directory'] == '$CA', d"
metrics_check "assert v('byoca_ca_backoff', ca='$CLOSED') == 1 and v('byoca_ca_backoff', ca='$CA') == 0, S" ||
  fail "backoff gauges after the reload"
NA=$(lines "$SINKA")
api_expect 202 DELETE "/v1/certificates/$XID" "" "$T"
wait_for 20 has_note "$SINKB" certificate.deleted "$XID" || fail "no certificate.deleted at the new webhook"
has_note "$SINKB" certificate.revoked "$XID" || fail "no certificate.revoked at the new webhook"
json_check "$(webhook_notes "$SINKB")" "assert all(n['_path'] == '/b' for n in d), d"
[ "$(lines "$SINKA")" = "$NA" ] || fail "the old webhook still got notifications: $(webhook_notes "$SINKA")"
pass "SIGHUP: new default_ca used (issued at Pebble), new webhook_url used, old one not"

# --- SIGHUP: max_parallel 1 -> 3, lineages held in flight by the deploy hook
WB="webhook_url = http://127.0.0.1:$SINKB_PORT/b"
touch "$W/hold"
started() { find "$W" -maxdepth 1 -name 'started.*' | wc -l; }
# started_is OP N: test (number of deploy hooks started) OP N
started_is() { test "$(started)" "$1" "$2"; }
ps0=$(started)
P1=$(add_cert par1.ops2.byoca.test)
P2=$(add_cert par2.ops2.byoca.test)
P3=$(add_cert par3.ops2.byoca.test)
wait_for 30 started_is -gt "$ps0" || fail "no deploy hook started"
sleep 3
[ "$(started)" = $((ps0 + 1)) ] || fail "$(($(started) - ps0)) lineages in flight with max_parallel 1"
in_flight 1 || fail "orders in flight with max_parallel 1"
json_check "$(api GET /v1/certificates "" "$T")" "
st = sorted(c['state'] for c in d['items'] if c['id'] in ($P1, $P2, $P3))
assert st == ['issued', 'pending', 'pending'], st" || fail "states with max_parallel 1"
reload "$WB" "max_parallel = 3"
wait_for 30 started_is = $((ps0 + 3)) || fail "max_parallel 3 did not start the others ($(started))"
in_flight 3 || fail "orders in flight with max_parallel 3"
rm -f "$W/hold"
wait_for 20 in_flight 0 || fail "the held lineages did not finish"
for id in $P1 $P2 $P3; do wait_cert_state "$T" "$id" issued 10 >/dev/null || fail "cert $id"; done
pass "SIGHUP: max_parallel 1 held two lineages back, 3 let them run"

# --- broken configs on SIGHUP change nothing
RELOAD_WANT=keeping reload "max_parallel = lots" "webhook_url = http://127.0.0.1:$SINKA_PORT/a"
grep "keeping the running settings" "$BYOCAD_LOG" | tail -1 | grep -q max_parallel ||
  fail "the error does not name max_parallel: $(grep 'keeping the running' "$BYOCAD_LOG" | tail -1)"
RELOAD_WANT=keeping reload "max_parallel = 1" "webhook_url = ftp://127.0.0.1:$SINKA_PORT/a" \
  "http_listen = 127.0.0.1:$HTTP2_PORT"
grep "keeping the running settings" "$BYOCAD_LOG" | tail -1 | grep -q "webhook_url" ||
  fail "the refused webhook_url is not named: $(grep 'keeping the running' "$BYOCAD_LOG" | tail -1)"
api_expect 200 GET /healthz
# still max_parallel 3 and the webhook at sink B
touch "$W/hold"
ps0=$(started)
Q1=$(add_cert q1.ops2.byoca.test)
Q2=$(add_cert q2.ops2.byoca.test)
wait_for 30 started_is = $((ps0 + 2)) || fail "max_parallel fell back after a broken reload ($(started))"
rm -f "$W/hold"
wait_cert_state "$T" "$Q2" issued 20 >/dev/null || fail "q2"
NA=$(lines "$SINKA")
api_expect 202 DELETE "/v1/certificates/$Q1?revoke=0" "" "$T"
wait_for 20 has_note "$SINKB" certificate.deleted "$Q1" || fail "the webhook changed after a broken reload"
[ "$(lines "$SINKA")" = "$NA" ] || fail "a refused webhook_url was used"
# a good reload after the refused ones: http_listen needs a restart
reload "$WB" "max_parallel = 3" "http_listen = 127.0.0.1:$HTTP2_PORT"
grep -q "http_listen changed; that takes a restart" "$BYOCAD_LOG" || fail "http_listen change not reported"
curl --noproxy '*' -sf -o /dev/null "http://127.0.0.1:$PORT_HTTP01/healthz" || fail "the old http_listen stopped"
! port_up "$HTTP2_PORT" || fail "http_listen moved without a restart"
reload "$WB" "max_parallel = 3"
pass "SIGHUP: unparsable and refused configs logged and kept out; restart-only key reported"

# --- a renewal that fails on a 6-day certificate (expiring, for later)
cts_add_a par1.ops2.byoca.test 127.0.0.9
api_expect 202 POST "/v1/certificates/$P1/renew" "" "$T"
wait_for 20 failures_at_least "$P1" 1 || fail "the renewal of par1 did not fail"

# --- SIGTERM, drain completes: a dns-01 order in flight finishes first
CONF_DRAIN=("$WB" "max_parallel = 3")
reload "${CONF_DRAIN[@]}" "drain_timeout = 30"
echo 8 >"$W/dns-delay"
W1=$(add_cert '*.w1.ops2.byoca.test')
wait_for 20 grep -q '^w1.ops2.byoca.test$' "$W/dns-setup.log" || fail "no dns hook for w1"
T0=$(date +%s%N)
kill -TERM "$BYOCAD_PID"
healthz_503() {
  api GET /healthz >/dev/null
  [ "$API_STATUS" = 503 ]
}
wait_for 2 healthz_503 || fail "/healthz answers $API_STATUS while draining"
json_check "$API_BODY" "assert d == {'status': 'draining'}, d"
# byocad(8): what changes something answers 503, reading goes on
api_expect 503 POST /v1/certificates '{"identifiers":["late.ops2.byoca.test"]}' "$T"
json_check "$API_BODY" "assert d['type'] == 'urn:byoca:error:unavailable', d"
api_expect 503 DELETE "/v1/certificates/$P2" "" "$T"
api_expect 503 POST "/v1/certificates/$P2/renew" "" "$T"
api_expect 503 PUT /v1/eab/late.example '{"kid":"k","hmac_key":"aGVsbG8"}' "$T"
api_expect 503 POST /v1/tenants '{"name":"late"}' "$BYOCAD_OPERATOR"
api_expect 200 GET /v1/certificates "" "$T"
api_expect 200 GET "/v1/certificates/$P2" "" "$T"
api_expect 200 GET "/v1/certificates/$P2/chain" "" "$T"
api_expect 200 GET /v1/events "" "$T"
api_expect 200 GET /v1/tenants "" "$BYOCAD_OPERATOR"
metrics_check "assert v('byocad_draining') == 1, S" || fail "byocad_draining while draining"
# the public paths keep answering: orders in flight need them
HC=$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT_HTTP01/.well-known/acme-challenge/unknowntoken")
[ "$HC" = 404 ] || fail "the http-01 responder answers $HC while draining"
HC=$(curl --noproxy '*' -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$PORT_HTTP01/.well-known/acme-keys")
[ "$HC" = 200 ] || fail "/.well-known/acme-keys answers $HC while draining"
env__alive "$BYOCAD_PID" || fail "byocad exited before the checks ended (the order in flight takes 8 s)"
! grep -q "drained: no order in flight" "$BYOCAD_LOG" || fail "drained before the checks ended: the 200s above were not checked while draining"
env__byocad_wait_exit 35
[ "$BYOCAD_RC" = 0 ] || fail "byocad exited with '$BYOCAD_RC' after SIGTERM"
MS=$((($(date +%s%N) - T0) / 1000000))
grep -q "drained: no order in flight" "$BYOCAD_LOG" || fail "no 'drained' in the log"
grep -q "cert $W1 tenant $TID: issued by" "$BYOCAD_LOG" || fail "w1 not issued before the exit"
((MS >= 2000 && MS < 30000)) || fail "drain took ${MS} ms (the dns hook alone takes 8 s)"
pass "SIGTERM: changes 503, reads and public paths served, /healthz 503 meanwhile; the order in flight finished, exit 0 after ${MS} ms"

# --- certificate.expiring: the expiry check of the next start
echo 6 >"$W/dns-delay"
start "${CONF_DRAIN[@]}" "drain_timeout = 2"
wait_for 10 has_note "$SINKB" certificate.expiring "$P1" || fail "no certificate.expiring for par1: $(webhook_notes "$SINKB")"
json_check "$(webhook_notes "$SINKB")" "
e = [n for n in d if n['event'] == 'certificate.expiring']
assert len(e) == 1 and e[0]['certificate'] == $P1 and e[0]['tenant'] == $TID, e
assert e[0]['detail']['failures'] >= 1 and e[0]['detail']['not_after'].endswith('Z'), e
assert e[0]['detail']['identifiers'] == ['par1.ops2.byoca.test'], e" || fail "certificate.expiring"
pass "certificate.expiring: the 6-day certificate whose renewal failed"

# --- SIGTERM, drain times out: exit 0 at drain_timeout, resumed at start
: >"$W/dns-pids"
W2=$(add_cert '*.w2.ops2.byoca.test')
wait_for 20 grep -q '^w2.ops2.byoca.test$' "$W/dns-setup.log" || fail "no dns hook for w2"
T0=$(date +%s%N)
kill -TERM "$BYOCAD_PID"
env__byocad_wait_exit 15
MS=$((($(date +%s%N) - T0) / 1000000))
[ "$BYOCAD_RC" = 0 ] || fail "byocad exited with '$BYOCAD_RC' at the drain timeout"
((MS >= 1800 && MS < 4500)) || fail "exit after ${MS} ms, drain_timeout is 2 s"
grep -Eq "drain timeout: [1-9][0-9]* orders still in flight" "$BYOCAD_LOG" ||
  fail "no drain timeout in the log: $(tail -5 "$BYOCAD_LOG")"
! grep -q "cert $W2 tenant $TID: issued by" "$BYOCAD_LOG" || fail "w2 was issued before the exit (the test raced)"
[ "$(wc -l <"$W/dns-pids")" = 2 ] || fail "dns hook pids: $(cat "$W/dns-pids")"
while read -r pid; do
  ! env__alive "$pid" || fail "the dns hook (pid $pid) still runs after byocad exited"
done <"$W/dns-pids"
echo 0 >"$W/dns-delay"
start "${CONF_DRAIN[@]}"
wait_cert_state "$T" "$W2" issued 30 >/dev/null || fail "w2 not issued after the restart"
wait_cert_state "$T" "$W1" issued 1 >/dev/null || fail "w1"
EV=$(api_events "$T")
json_check "$EV" "
for c in ($W1, $W2):
    n = len([e for e in d if e['type'] == 'certificate.issued' and e['certificate'] == c])
    assert n == 1, 'cert %d issued %d times' % (c, n)
assert [e for e in d if e['type'] == 'order.resumed' and e['certificate'] == $W2], 'w2 not resumed'
" || fail "after the restart"
pass "SIGTERM: exit 0 at drain_timeout (${MS} ms), its hooks killed; the cut-off order resumed and issued once"

env_stop_byocad
byocad_log_clean || fail "sanitizer report"
pass "byocad operations, part 2"
