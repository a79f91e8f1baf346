#!/usr/bin/env bash
# A stalled PostgreSQL does not stall byocad's event loop (issue 9). A
# psql session holds EXCLUSIVE locks on the tables byocad's periodic work
# writes (nodes: heartbeats; certificates: claims and lease renewals;
# outbox: notifications), so those statements wait for as long as the
# session lives. While they wait, and while the locks are still held,
# byocad must answer an http-01 token from the store, /healthz,
# GET /v1/nodes and /metrics; when the session ends, the heartbeats go on.
# With the periodic statements on the loop's own connection the loop would
# wait with them and nothing would be answered until the locks go.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
source "$BYOCA_SRC/tests/env/nodes.sh"
env_init daemon_pgstall_pg
env_gen_tls
nodes_init
NODE_HTTP_1=$PORT_SPARE_FIRST
node_start 1 "lease = 3" "tick_ms = 200"
node_use 1
TOKEN=$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')
AUTHZ="$TOKEN.stall-thumbprint"
nodes_sql "INSERT INTO challenge_tokens (token, key_authz, cert_id, expires)
     VALUES ('$TOKEN', '$AUTHZ', 0, extract(epoch FROM now())::bigint + 600)"
http01() {
  "${ENV_CURL[@]}" --max-time 20 \
    "http://127.0.0.1:$NODE_HTTP_1/.well-known/acme-challenge/$TOKEN"
}
[ "$(http01)" = "$AUTHZ" ] || fail "the token is not answered before the stall"

# the stall: locks held until this session is cancelled
nodes_lock "nodes, certificates, outbox"
waiting() {
  nodes_sql "SELECT count(*) FROM pg_stat_activity
       WHERE wait_event_type = 'Lock' AND datname = 'byocad'
       AND application_name != 'byoca_lock'"
}
for ((i = 0; i < 100; i++)); do
  [ "$(waiting)" -ge 1 ] && break
  sleep 0.1
done
[ "$(waiting)" -ge 1 ] || fail "no byocad statement waits for the locks"
BEAT=$(nodes_sql "SELECT heartbeat FROM nodes WHERE name = 'node1'")
sleep 2 # heartbeats and claims pile up behind the locks

# answered while the locks are held
[ "$(http01)" = "$AUTHZ" ] || fail "http-01 not answered while the store is stalled"
code=$("${ENV_CURL[@]}" --max-time 20 -o /dev/null -w '%{http_code}' \
  --unix-socket "$BYOCAD_SOCK" http://localhost/healthz) || code=timeout
[ "$code" = 200 ] || fail "/healthz while the store is stalled: $code"
api_expect 200 GET /v1/nodes "" "$BYOCAD_OPERATOR"
api_expect 200 GET /metrics "" "$BYOCAD_OPERATOR"
grep -q '^byocad_loop_lag_seconds [0-9]' <<<"$API_BODY" ||
  fail "no byocad_loop_lag_seconds in /metrics"
kill -0 "$NODES_LOCKER" 2>/dev/null || fail "the stall ended early: $(cat "$ENV_DIR/lock.log")"
[ "$(waiting)" -ge 1 ] || fail "the store stopped being stalled before the answers"
[ "$(nodes_sql "SELECT heartbeat FROM nodes WHERE name = 'node1'")" = "$BEAT" ] ||
  fail "a heartbeat got through the lock"

# released: the heartbeats go on
nodes_unlock
for ((i = 0; i < 100; i++)); do
  [ "$(nodes_sql "SELECT heartbeat FROM nodes WHERE name = 'node1'")" != "$BEAT" ] && break
  sleep 0.1
done
[ "$(nodes_sql "SELECT heartbeat FROM nodes WHERE name = 'node1'")" != "$BEAT" ] ||
  fail "no heartbeat after the stall"
[ "$(http01)" = "$AUTHZ" ] || fail "http-01 not answered after the stall"
node_stop 1
nodes_logs_clean || fail "sanitizer report"
pass "http-01, /healthz, /v1/nodes and /metrics answered while PostgreSQL was stalled"
