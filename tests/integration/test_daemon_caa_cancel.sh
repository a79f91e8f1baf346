#!/usr/bin/env bash
# byocad does not wait for a CAA lookup that never ends: its resolver
# forwards to a UDP socket the test holds and never reads (a fixture: no
# real DNS server is silent on purpose; unbound would give up after about
# 17 s). A certificate deleted while its lookup is in flight is gone at
# once, its lookup cancelled; SIGTERM while another lookup is in flight
# drains at once (the lookup cancelled, nothing failed), and the next
# start looks the name up again.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init daemon_caa_cancel
env_gen_tls
DNS_PORT=$PORT_SPARE_FIRST
env_spawn silent-dns python3 -c 'import socket, sys, time
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.bind(("127.0.0.1", int(sys.argv[1])))
open(sys.argv[2], "w").close()
time.sleep(3600)' "$DNS_PORT" "$ENV_DIR/dns.ready"
env__wait silent-dns "$ENV_LAST_PID" 10 test -e "$ENV_DIR/dns.ready"
export BYOCAD_DEFAULT_CA=https://127.0.0.1:9/dir
LINE="resolver = 127.0.0.1@$DNS_PORT"
env_start_byocad "$LINE"
env_tenant cancel >/dev/null
T=$ENV_DIR/cancel.token
count() { grep -c -- "$1" "$BYOCAD_LOG" || true; }
looking() { [ "$(count "reading the CAA records of $1")" -ge 1 ]; }
wait_for() {
  local i n=$(($1 * 5))
  shift
  for ((i = 0; i < n; i++)); do
    "$@" && return 0
    sleep 0.2
  done
  return 1
}

# --- deletion while the lookup is in flight
api_expect 201 POST /v1/certificates '{"identifiers":["a.silent.test"]}' "$T"
A=$(json_get "$API_BODY" 'd["id"]')
wait_for 10 looking a.silent.test || fail "no CAA lookup started: $(tail -5 "$BYOCAD_LOG")"
api_expect 202 DELETE "/v1/certificates/$A" "" "$T"
gone() {
  api GET "/v1/certificates/$A" "" "$T" >/dev/null
  [ "$API_STATUS" = 404 ]
}
wait_for 5 gone || fail "the certificate is not gone: $API_BODY"
grep -q "cert $A tenant [0-9]*: CAA lookup of a.silent.test cancelled" "$BYOCAD_LOG" ||
  fail "the lookup was not cancelled: $(grep "cert $A " "$BYOCAD_LOG" | tail -5)"
pass "deleted during its CAA lookup: gone at once, the lookup cancelled"

# --- SIGTERM while a lookup is in flight
api_expect 201 POST /v1/certificates '{"identifiers":["b.silent.test"]}' "$T"
B=$(json_get "$API_BODY" 'd["id"]')
wait_for 10 looking b.silent.test || fail "no CAA lookup for b"
kill -TERM "$BYOCAD_PID"
env__byocad_wait_exit 10
[ "$BYOCAD_RC" = 0 ] || fail "byocad did not exit 0 at once after SIGTERM (rc '$BYOCAD_RC')"
grep -q "cert $B tenant [0-9]*: CAA lookup of b.silent.test cancelled" "$BYOCAD_LOG" ||
  fail "the lookup of b was not cancelled: $(tail -8 "$BYOCAD_LOG")"
grep -q "drained: no order in flight" "$BYOCAD_LOG" || fail "no drain in the log"
env_start_byocad "$LINE"
api_expect 200 GET "/v1/certificates/$B" "" "$T"
json_check "$API_BODY" "assert d['failures'] == 0 and d['state'] == 'pending', d" ||
  fail "the stopped lineage: $API_BODY"
wait_for 10 looking b.silent.test || fail "b not looked up again after the restart"
pass "SIGTERM during a CAA lookup: drained at once, nothing failed, looked up again at the next start"

env_stop_byocad
byocad_log_clean || fail "sanitizer report"
pass "byocad cancels CAA lookups"
