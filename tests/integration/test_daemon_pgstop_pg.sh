#!/usr/bin/env bash
# A PostgreSQL that does not answer at all does not stall byocad's event
# loop while an order is in flight (issue 9). byocad names its store
# connections (application_name "byocad:node1:main", ":lane", ":job" and
# ":api"); the
# test finds their server processes and stops them (SIGSTOP), so every
# statement on them waits for as long as they are stopped.
#
# The order is caught in flight: a psql session holds an EXCLUSIVE lock
# on challenge_tokens, so the job's http-01 row cannot be written and the
# job waits for it with its token set up (the CA is not told yet). While
# byocad's server processes are stopped, /healthz and that http-01 token
# (this node's own, answered from memory) must be answered, also while a
# request for another node's token (only the store has it), an API GET
# (its token checked by the store) and a /metrics scrape wait for the
# store; then the processes go on, the API GET and /metrics are answered,
# the lock goes, the other node's token is answered, and the certificate
# is issued, once.
# With the row written on the loop's own connection nothing would be
# answered: the loop would wait for PostgreSQL with the job; with the API
# or /metrics reading the store on the loop, /healthz and the token would
# not be answered while they wait.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
source "$BYOCA_SRC/tests/env/nodes.sh"
env_init daemon_pgstop_pg
env_gen_tls
env_start_challtestsrv
env_start_pebble
nodes_init
NODE_HTTP_1=$PORT_HTTP01
node_start 1 "tick_ms = 200" "log_level = debug"
node_use 1
[ "$(node_backends 1 | wc -l)" = 4 ] ||
  fail "byocad's connections are not named: $(nodes_sql "SELECT application_name
    FROM pg_stat_activity WHERE datname = 'byocad'" | tr '\n' ' ')"

# another node's http-01 answer: only the store has it
OTHER=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
nodes_sql "INSERT INTO challenge_tokens (token, key_authz, cert_id, expires)
     VALUES ('$OTHER', '$OTHER.other-node', 0,
             extract(epoch FROM now())::bigint + 600)"

# the lock that keeps the job's http-01 row from being written
nodes_lock challenge_tokens

env_tenant stop >/dev/null
T=$ENV_DIR/stop.token
api_expect 201 POST /v1/certificates '{"identifiers":["s1.pgstop.test"]}' "$T"
ID=$(json_get "$API_BODY" 'd["id"]')
token_set_up() { TOKEN=$(node_http01_token 1 "$ID"); }
wait_for 30 token_set_up || fail "no http-01 token was set up"
wait_for 10 node_waits_on 1 job || fail "byocad's http-01 row does not wait for the lock"

# PostgreSQL stops answering byocad
node_pg_stop 1 || fail "cannot stop byocad's server processes"
[ ${#NODE_PG_STOPPED[@]} -eq 4 ] ||
  fail "byocad's server processes: ${NODE_PG_STOPPED[*]}"
# another node's token waits for the store, the loop does not wait for it
"${ENV_CURL[@]}" --max-time 60 -o "$ENV_DIR/other.body" \
  "http://127.0.0.1:$NODE_HTTP_1/.well-known/acme-challenge/$OTHER" \
  >/dev/null 2>&1 &
OTHER_CURL=$!
# an API GET and a scrape: both need the store (the token is checked there)
env__auth_header "$T" && env__auth_header "$BYOCAD_OPERATOR" ||
  fail "cannot write the Authorization headers"
"${ENV_CURL[@]}" --max-time 60 -o "$ENV_DIR/get.body" -w '%{http_code}' \
  --unix-socket "$BYOCAD_SOCK" -H "@$T.hdr" \
  "http://localhost/v1/certificates/$ID" >"$ENV_DIR/get.code" 2>/dev/null &
GET_CURL=$!
"${ENV_CURL[@]}" --max-time 60 -o "$ENV_DIR/metrics.body" -w '%{http_code}' \
  --unix-socket "$BYOCAD_SOCK" -H "@$BYOCAD_OPERATOR.hdr" \
  http://localhost/metrics >"$ENV_DIR/metrics.code" 2>/dev/null &
METRICS_CURL=$!
# at most 128 reads of other nodes' answers wait for the store
# (MGR_LOOKUPS_MAX): beyond that a request is refused at once (503, the
# validator retries) instead of queueing reads ahead of the jobs' work
FILL=()
for _ in $(seq 127); do
  "${ENV_CURL[@]}" --max-time 60 -o /dev/null \
    "http://127.0.0.1:$NODE_HTTP_1/.well-known/acme-challenge/$OTHER" \
    >/dev/null 2>&1 &
  FILL+=($!)
done
over_refused() {
  [ "$("${ENV_CURL[@]}" --max-time 2 -o /dev/null -w '%{http_code}' \
    "http://127.0.0.1:$NODE_HTTP_1/.well-known/acme-challenge/$OTHER" \
    2>/dev/null)" = 503 ]
}
wait_for 30 over_refused ||
  fail "reads of another node's token beyond 128 were not refused"
sleep 0.5 # asked before the questions below
body=$("${ENV_CURL[@]}" --max-time 10 \
  "http://127.0.0.1:$NODE_HTTP_1/.well-known/acme-challenge/$TOKEN") ||
  body="(no answer: curl $?)"
code=$("${ENV_CURL[@]}" --max-time 10 -o /dev/null -w '%{http_code}' \
  --unix-socket "$BYOCAD_SOCK" http://localhost/healthz) || code="no answer"
state=$(ps -o state= -p "${NODE_PG_STOPPED[0]}" | tr -d ' ')
node_pg_resume
[ "$state" = T ] || fail "byocad's server process was not stopped: '$state'"
case "$body" in
"$TOKEN".*) ;;
*) fail "http-01 not answered while PostgreSQL was stopped: $body" ;;
esac
[ "$code" = 200 ] || fail "/healthz while PostgreSQL was stopped: $code"
# the API GET and the scrape are answered once the store is back
wait "$GET_CURL" || fail "API GET: no answer (curl $?)"
[ "$(cat "$ENV_DIR/get.code")" = 200 ] ||
  fail "API GET: $(cat "$ENV_DIR/get.code") $(cat "$ENV_DIR/get.body")"
[ "$(json_get "$(cat "$ENV_DIR/get.body")" 'd["id"]')" = "$ID" ] ||
  fail "API GET: $(cat "$ENV_DIR/get.body")"
wait "$METRICS_CURL" || fail "/metrics: no answer (curl $?)"
[ "$(cat "$ENV_DIR/metrics.code")" = 200 ] ||
  fail "/metrics: $(cat "$ENV_DIR/metrics.code")"
grep -q '^byoca_certificates{state=' "$ENV_DIR/metrics.body" ||
  fail "/metrics: no certificate counts"
api_expect 200 GET "/v1/certificates/$ID" "" "$T"
[ "$(json_get "$API_BODY" 'd["state"]')" != issued ] ||
  fail "issued while the lock was held"

# the lock goes: the order goes on and the certificate is issued once;
# the other node's token (read after the job's row, on the same lane) is
# answered
nodes_unlock
wait "$OTHER_CURL" || fail "another node's token: no answer (curl $?)"
for p in "${FILL[@]}"; do wait "$p" || true; done
grep -q "refusing to read the challenge $OTHER: 128 reads" "$(node_log 1)" ||
  fail "no log line for the refused read"
[ "$(cat "$ENV_DIR/other.body")" = "$OTHER.other-node" ] ||
  fail "another node's token: $(cat "$ENV_DIR/other.body")"
wait_cert_state "$T" "$ID" issued 60 >/dev/null || fail "not issued"
api_events "$T" >"$ENV_DIR/events.json" || fail "events"
n=$(json_get "$(cat "$ENV_DIR/events.json")" \
  'len([e for e in d if e["type"] == "certificate.issued"])')
[ "$n" = 1 ] || fail "issued $n times"
node_stop 1
nodes_logs_clean || fail "sanitizer report"
pass "http-01 and /healthz answered while byocad's PostgreSQL processes were stopped mid-order and an API GET, /metrics and another node's token waited (128 at most, more refused at once); those answered after; issued once"
