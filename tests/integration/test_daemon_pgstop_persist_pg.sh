#!/usr/bin/env bash
# Making an order durable does not stall byocad's event loop on a
# PostgreSQL that does not answer: the order row (order_put: the order
# URL once newOrder answered, its certificate key before finalize) is
# written on the jobs' store lane (connection "byocad:node1:job") while
# the order engine waits for it (its persist hook in callback form).
#
# A first lineage's http-01 answer is kept waiting: its name points at a
# listener that accepts and never answers, so Pebble's validation waits
# (15 s) with the token in this node's memory. Then a psql session holds
# an EXCLUSIVE lock on the orders table (reads go on, writes wait), and a
# second lineage is added: its order row waits for the lock on the job
# connection (not on byocad's main one). byocad's server processes are
# stopped (SIGSTOP); /healthz and the first lineage's token must still
# be answered. Then they go on, the lock goes, and the second lineage is
# issued, once. Last, a trigger makes the store refuse an order row with
# a certificate key: that order fails, logged, before it is finalized.
# With order_put on the loop's own connection nothing would be answered:
# the loop would wait for the lock, then for PostgreSQL.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
source "$BYOCA_SRC/tests/env/nodes.sh"
env_init daemon_pgstop_persist_pg
env_gen_tls
env_start_challtestsrv
env_start_pebble
nodes_init
NODE_HTTP_1=$PORT_HTTP01
node_start 1 "tick_ms = 200" "log_level = debug"
node_use 1
# main, lane, job (and api once the API lane is open)
[ "$(node_backends 1 | wc -l)" -ge 3 ] || fail "byocad's connections are not named"

# a listener that accepts and never answers: the CA's validation waits
HOLE=127.0.0.10
"$BYOCA_PY" -c '
import socket, sys
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((sys.argv[1], int(sys.argv[2])))
s.listen(16)
held = []
while True:
    held.append(s.accept()[0])
' "$HOLE" "$PORT_HTTP01" >"$ENV_DIR/hole.log" 2>&1 &
HOLE_PID=$!
env_atexit "kill $HOLE_PID 2>/dev/null"
hole_up() { "$BYOCA_PY" -c 'import socket, sys
socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()' \
  "$HOLE" "$PORT_HTTP01" 2>/dev/null; }
wait_for 10 hole_up || fail "the silent listener: $(cat "$ENV_DIR/hole.log")"

env_tenant persist >/dev/null
T=$ENV_DIR/persist.token
cts_add_a hold.persist.test "$HOLE"
api_expect 201 POST /v1/certificates '{"identifiers":["hold.persist.test"]}' "$T"
HID=$(json_get "$API_BODY" 'd["id"]')
token_set_up() { TOKEN=$(node_http01_token 1 "$HID"); }
wait_for 30 token_set_up || fail "no http-01 token was set up"
row_stored() { # the CA is told once the row is stored
  [ "$(nodes_sql "SELECT count(*) FROM challenge_tokens
            WHERE token = '$TOKEN'")" = 1 ]
}
wait_for 10 row_stored || fail "the http-01 row was not stored"

# the lock that keeps the next order's row from being written
nodes_lock orders
api_expect 201 POST /v1/certificates '{"identifiers":["p1.persist.test"]}' "$T"
ID=$(json_get "$API_BODY" 'd["id"]')
waits_on() { node_waits_on 1 "$@"; } # ROLE: its statement waits for a lock
wait_for 30 waits_on job || fail "the order row does not wait for the lock" \
  "on the job connection (main waits: $(waits_on main && echo yes || echo no))"

# PostgreSQL stops answering byocad
node_pg_stop 1 || fail "cannot stop byocad's server processes"
[ ${#NODE_PG_STOPPED[@]} -ge 3 ] ||
  fail "byocad's server processes: ${NODE_PG_STOPPED[*]}"
body=$("${ENV_CURL[@]}" --max-time 10 \
  "http://127.0.0.1:$NODE_HTTP_1/.well-known/acme-challenge/$TOKEN") ||
  body="(no answer: curl $?)"
code=$("${ENV_CURL[@]}" --max-time 10 -o /dev/null -w '%{http_code}' \
  --unix-socket "$BYOCAD_SOCK" http://localhost/healthz) || code="no answer"
state=$(ps -o state= -p "${NODE_PG_STOPPED[0]}" | tr -d ' ')
node_pg_resume
[ "$state" = T ] || fail "byocad's server process was not stopped: '$state'"
[ "$code" = 200 ] || fail "/healthz while PostgreSQL was stopped: $code"
case "$body" in
"$TOKEN".*) ;;
*) fail "http-01 not answered while PostgreSQL was stopped: $body" ;;
esac
api_expect 200 GET "/v1/certificates/$ID" "" "$T"
[ "$(json_get "$API_BODY" 'd["state"]')" != issued ] ||
  fail "issued while the lock was held"

# the lock goes: the order row is written, the order goes on, issued once
nodes_unlock
wait_cert_state "$T" "$ID" issued 60 >/dev/null || fail "not issued"
api_events "$T" >"$ENV_DIR/events.json" || fail "events"
n=$(json_get "$(cat "$ENV_DIR/events.json")" \
  "len([e for e in d if e['type'] == 'certificate.issued'
        and e['certificate'] == $ID])")
[ "$n" = 1 ] || fail "issued $n times"
! grep -q "cert $ID tenant .*cannot make the order durable" "$(node_log 1)" ||
  fail "the order row was refused"

# the store refuses the row with the certificate key: the order fails
# before anything is finalized, the failure logged and recorded
nodes_sql "CREATE FUNCTION refuse_key() RETURNS trigger LANGUAGE plpgsql AS
     \$\$ BEGIN RAISE EXCEPTION 'the test refuses the key'; END \$\$;
   CREATE TRIGGER refuse_key BEFORE INSERT OR UPDATE ON orders FOR EACH ROW
     WHEN (NEW.key IS NOT NULL) EXECUTE FUNCTION refuse_key()" >/dev/null ||
  fail "cannot create the trigger"
api_expect 201 POST /v1/certificates '{"identifiers":["p2.persist.test"]}' "$T"
RID=$(json_get "$API_BODY" 'd["id"]')
refused() {
  grep -q "cert $RID tenant .*cannot make the order durable:.*the test refuses the key" \
    "$(node_log 1)"
}
wait_for 60 refused || fail "no 'cannot make the order durable' for cert $RID"
wait_for 30 failures_at_least "$RID" 1 || fail "the failure was not recorded"
grep -q "cert $ID: finalizing" "$(node_log 1)" || fail "no progress lines"
! grep -q "cert $RID: finalizing" "$(node_log 1)" ||
  fail "finalized though the key was not durable"
[ "$(cert_field "$RID" 'd["state"]')" != issued ] || fail "issued anyway"
node_stop 1
nodes_logs_clean || fail "sanitizer report"
pass "the order row waited for a locked, then stopped PostgreSQL on the job lane; /healthz and this node's http-01 token answered meanwhile; issued once after"
