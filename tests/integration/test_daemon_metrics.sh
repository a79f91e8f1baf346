#!/usr/bin/env bash
# byocad's /metrics without a table scan per scrape, and its HTTP timeout
# from byocad.conf. The only CA is a socket that accepts connections and
# never answers (a fixture: no real server behaves like that on purpose).
#  - metrics_refresh = 3600: certificates by state are counted once; a
#    lineage added afterwards does not show (the scrape answered the kept
#    counts) and byoca_certificates_age_seconds grows;
#  - after SIGHUP with metrics_refresh = 1 the counts follow every change
#    (added, failed, deleted) within a second or so;
#  - http_timeout = 1: the attempt at the silent CA is given up after
#    about a second (curl's message), not the built-in 30 s.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init daemon_metrics
env_gen_tls
env_start_challtestsrv
W=$ENV_DIR/work
mkdir -p "$W"
SILENT_PORT=$PORT_SPARE_FIRST
env_spawn silent python3 -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(64)
time.sleep(3600)' "$SILENT_PORT"
silent_up() { (exec 3<>"/dev/tcp/127.0.0.1/$SILENT_PORT") 2>/dev/null; }
env__wait silent "$ENV_LAST_PID" 10 silent_up
export BYOCAD_DEFAULT_CA=https://127.0.0.1:$SILENT_PORT/dir
LINES=("http_timeout = 1" "retry_base = 3600")
export BYOCAD_METRICS_REFRESH=3600
env_start_byocad "${LINES[@]}"
env_tenant met >/dev/null
T=$ENV_DIR/met.token

# metric NAME{LABELS}: its value in the last scrape ($API_BODY)
metric() { awk -v k="$1" '$1 == k { print $2 }' <<<"$API_BODY"; }
scrape() { api_expect 200 GET /metrics "" "$BYOCAD_OPERATOR"; }
state_is() { # STATE N: byoca_certificates{state=STATE} is N now
  scrape
  [ "$(metric "byoca_certificates{state=\"$1\"}")" = "$2" ]
}
wait_for() {
  local i n=$(($1 * 5))
  shift
  for ((i = 0; i < n; i++)); do
    "$@" && return 0
    sleep 0.2
  done
  return 1
}

# --- kept counts
scrape
for s in pending issued failed deleting; do
  [ "$(metric "byoca_certificates{state=\"$s\"}")" = 0 ] || fail "state $s at start: $API_BODY"
done
AGE0=$(metric byoca_certificates_age_seconds)
[ -n "$AGE0" ] || fail "no byoca_certificates_age_seconds: $API_BODY"
api_expect 201 POST /v1/certificates '{"identifiers":["a.met.byoca.test"]}' "$T"
A=$(json_get "$API_BODY" 'd["id"]')
sleep 0.5
scrape
for s in pending issued failed deleting; do
  [ "$(metric "byoca_certificates{state=\"$s\"}")" = 0 ] ||
    fail "the scrape counted again within metrics_refresh ($s): $(grep byoca_certificates <<<"$API_BODY")"
done
"$BYOCA_PY" -c "import sys; sys.exit(0 if float('$(metric byoca_certificates_age_seconds)') > float('$AGE0') else 1)" ||
  fail "the counts' age did not grow"
pass "metrics_refresh = 3600: a scrape answers the kept counts (no scan), their age exported"

# --- http_timeout from byocad.conf
failed_once() {
  api_expect 200 GET "/v1/certificates/$A" "" "$T" || return 1
  [ "$(json_get "$API_BODY" 'd["failures"]')" -ge 1 ]
}
wait_for 30 failed_once || fail "the attempt at the silent CA did not fail: $API_BODY"
OUTCOME=$(json_get "$API_BODY" 'd["last_outcome"]')
MS=$(grep -Eo 'after [0-9]+ milliseconds' <<<"$OUTCOME" | grep -Eo '[0-9]+' | head -1)
[ -n "$MS" ] && [ "$MS" -lt 10000 ] || fail "http_timeout = 1 not applied: $OUTCOME"
pass "http_timeout = 1: the silent CA given up after $MS ms"

# --- metrics_refresh = 1 (SIGHUP): the counts follow
export BYOCAD_METRICS_REFRESH=1
env__byocad_conf "${LINES[@]}"
n0=$(grep -c "configuration reloaded" "$BYOCAD_LOG" || true)
kill -HUP "$BYOCAD_PID"
reloaded() { [ "$(grep -c "configuration reloaded" "$BYOCAD_LOG")" -gt "$n0" ]; }
wait_for 10 reloaded || fail "no reload"
wait_for 10 state_is failed 1 || fail "the failed lineage never counted: $(grep byoca_certificates <<<"$API_BODY")"
api_expect 201 POST /v1/certificates '{"identifiers":["b.met.byoca.test"]}' "$T"
B=$(json_get "$API_BODY" 'd["id"]')
wait_for 10 state_is failed 2 || fail "the second lineage never counted as failed"
api_expect 202 DELETE "/v1/certificates/$A?revoke=0" "" "$T"
wait_for 10 state_is failed 1 || fail "the deleted lineage is still counted"
api_expect 202 DELETE "/v1/certificates/$B?revoke=0" "" "$T"
wait_for 10 state_is failed 0 || fail "the second deleted lineage is still counted"
for s in pending issued deleting; do
  [ "$(metric "byoca_certificates{state=\"$s\"}")" = 0 ] || fail "state $s at the end: $API_BODY"
done
pass "metrics_refresh = 1: counts follow added, failed and deleted lineages"

env_stop_byocad
byocad_log_clean || fail "sanitizer report"
pass "byocad metrics"
