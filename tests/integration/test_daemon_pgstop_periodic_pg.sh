#!/usr/bin/env bash
# The manager's periodic store work and a deletion's steps never stall
# byocad's event loop on a PostgreSQL that does not answer: a
# lineage's deletion (cert_get, cert_key, cert_destroy) goes through the
# jobs' store lane (connection "byocad:node1:job"), the tenant sweep
# (tenant_list, cert_list, tenant_destroy) and a webhook's answer
# (outbox_done, outbox_retry) through the periodic lane ("...:lane").
#
# Part 1: a psql session holds an EXCLUSIVE lock on challenge_tokens,
# which cert_destroy and tenant_destroy both write first. An issued
# certificate is deleted (revoked, then destroyed) and an empty tenant is
# deleted; once the job and lane connections wait for the lock, byocad's
# server processes are stopped (SIGSTOP) and /healthz must be answered.
# After the lock goes, the certificate and the tenant are gone, each
# deletion audited once.
# Part 2: the webhook receiver holds its answers to those deletions'
# notifications while a lock on the outbox is taken; then it answers,
# byocad's outbox_done waits for the lock on the lane connection, the
# server processes are stopped, /healthz is answered; after the lock
# goes the outbox is empty and each notification was received once.
# With these calls on the loop's own connection nothing would be
# answered: the loop would wait for the lock, then for PostgreSQL.
# Part 3: the deploy check at the start (read on the lane) writes the
# live files of a lineage whose fullchain.pem is not its stored chain.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
source "$BYOCA_SRC/tests/env/nodes.sh"
env_init daemon_pgstop_periodic_pg
env_gen_tls
env_start_challtestsrv
env_start_pebble
SINK_PORT=$PORT_SPARE_FIRST
SINK=$ENV_DIR/webhook.jsonl
HOLD=$ENV_DIR/webhook.hold
: >"$SINK"
: >"$HOLD"
WEBHOOK_SINK_HOLD=$HOLD env_spawn sink python3 \
  "$BYOCA_SRC/tests/env/webhook_sink.py" "$SINK_PORT" "$SINK"
nodes_init
NODE_HTTP_1=$PORT_HTTP01
DEPLOY=$ENV_DIR/deploy
CONF=("tick_ms = 200" "log_level = debug" "deploy_dir = $DEPLOY"
  "webhook_url = http://127.0.0.1:$SINK_PORT/hook")
node_start 1 "${CONF[@]}"
node_use 1
[ "$(node_backends 1 | wc -l)" -ge 3 ] || fail "byocad's connections are not named"

TID=$(env_tenant periodic)
T=$ENV_DIR/periodic.token
api_expect 201 POST /v1/certificates '{"identifiers":["o1.pgperiodic.test"]}' "$T"
ID=$(json_get "$API_BODY" 'd["id"]')
api_expect 201 POST /v1/certificates '{"identifiers":["o2.pgperiodic.test"]}' "$T"
ID2=$(json_get "$API_BODY" 'd["id"]')
wait_cert_state "$T" "$ID" issued 60 >/dev/null || fail "not issued"
wait_cert_state "$T" "$ID2" issued 60 >/dev/null || fail "not issued"
TID2=$(env_tenant empty)

# waits_on APP LIKE: a statement matching LIKE of byocad's connection
# APP (main, lane, job, api) waits for a lock
waits_on() { node_waits_on 1 "$@"; } # ROLE [LIKE]
# who_waits: the connections waiting for a lock, and their statements
who_waits() {
  nodes_sql "SELECT application_name, query FROM pg_stat_activity
       WHERE wait_event_type = 'Lock'" | tr '\n' ';'
}
# held N: the receiver holds N notifications
held() { [ "$(cat "$ENV_DIR/webhook.jsonl.held" 2>/dev/null | wc -l)" -ge "$1" ]; }

# ---- part 1: a deletion and the tenant sweep wait for a lock ----
nodes_lock challenge_tokens
# the certificate first: its deletion job is claimed on the periodic lane,
# which the tenant sweep then holds
api_expect 202 DELETE "/v1/certificates/$ID" "" "$T"
wait_for 60 waits_on job '%WHERE cert_id = $1%' || fail "the deletion does" \
  "not wait for the lock on the job connection: $(who_waits)"
api_expect 202 DELETE "/v1/tenants/$TID2" "" "$BYOCAD_OPERATOR"
# the sweep's tenant_destroy (or, at a minute's turn, the purge of expired
# tokens with the sweep queued behind it on the same lane)
wait_for 60 waits_on lane '%FROM challenge_tokens WHERE %' || fail "the" \
  "tenant sweep does not wait for the lock on the lane connection: $(who_waits)"
! waits_on main '%' || fail "the loop's connection waits: $(who_waits)"
node_healthz_stopped 1 "deletion"
api_expect 200 GET "/v1/certificates/$ID" "" "$T"
[ "$(json_get "$API_BODY" 'd["state"]')" = deleting ] ||
  fail "not in deletion while the lock was held: $API_BODY"
api_expect 200 GET "/v1/tenants/$TID2" "" "$BYOCAD_OPERATOR"
nodes_unlock
wait_for 60 cert_gone "$ID" || fail "not deleted after the lock went"
tenant_gone() {
  api GET "/v1/tenants/$TID2" "" "$BYOCAD_OPERATOR" >/dev/null
  [ "$API_STATUS" = 404 ]
}
wait_for 60 tenant_gone || fail "the empty tenant was not deleted"
n=$(nodes_sql "SELECT count(*) FROM events WHERE type = 'certificate.deleted'
      AND cert_id = $ID")
[ "$n" = 1 ] || fail "certificate.deleted $n times"
n=$(nodes_sql "SELECT count(*) FROM events WHERE type = 'tenant.deleted'
      AND tenant_id = $TID2")
[ "$n" = 1 ] || fail "tenant.deleted $n times"
grep -q "cert $ID tenant .*: deleted (revoked)" "$(node_log 1)" ||
  fail "the destruction's continuation did not run"

# ---- part 2: a webhook's answer waits for a lock ----
# certificate.revoked and certificate.deleted wait at the receiver
wait_for 60 held 2 || fail "the notifications did not reach the receiver"
nodes_lock outbox
rm -f "$HOLD" # the receiver answers 204 now
answered() { [ "$(wc -l <"$SINK")" -ge 2 ]; }
wait_for 30 answered || fail "the receiver did not answer"
sleep 1 # byocad has the answers: their records wait for the lock
# on the lane: the answer's outbox_done, or a claim of the outbox queued
# before it on the same lane
wait_for 60 waits_on lane '%outbox%' || fail "the webhook's answer does not" \
  "wait for the lock on the lane connection: $(who_waits)"
! waits_on main '%' || fail "the loop's connection waits: $(who_waits)"
node_healthz_stopped 1 "webhook answer"
[ "$(nodes_sql "SELECT count(*) FROM outbox")" -ge 1 ] ||
  fail "the outbox was cleared while the lock was held"
nodes_unlock
outbox_empty() { [ "$(nodes_sql "SELECT count(*) FROM outbox")" = 0 ]; }
wait_for 60 outbox_empty || fail "the answers were not recorded after the lock went"
sleep 2 # a lost answer would be sent again at once (its row still due)
"$BYOCA_PY" - "$SINK" "$ID" <<'PY' || fail "notifications received"
import json, sys
got = [json.loads(l) for l in open(sys.argv[1])]
mine = [n["event"] for n in got if str(n.get("certificate")) == sys.argv[2]]
assert sorted(mine) == ["certificate.deleted", "certificate.revoked"], mine
keys = [n["_key"] for n in got]
assert len(keys) == len(set(keys)), keys
PY

# ---- part 3: the deploy check at the start ----
node_stop 1
LIVE=$DEPLOY/$TID/live/$ID2/fullchain.pem
[ -s "$LIVE" ] || fail "no deployed $LIVE"
echo "not the stored chain" >"$LIVE"
node_start 1 "${CONF[@]}"
redone() { grep -q "wrote the deployed files of 1 lineage(s) again" "$(node_log 1)"; }
wait_for 30 redone || fail "the deploy check did not write the files again"
grep -q "BEGIN CERTIFICATE" "$LIVE" || fail "$LIVE not written again"
node_stop 1
nodes_logs_clean || fail "sanitizer report"
pass "a deletion, the tenant sweep and a webhook's answer waited for a locked, then stopped PostgreSQL on the lanes; /healthz answered meanwhile; each done once after; the start's deploy check wrote a stale lineage's files again"
