#!/usr/bin/env bash
# A job's outcome is stored without stalling byocad's event loop on a
# PostgreSQL that does not answer (issue 9): the outcome's store writes
# (ca_record, cert_issued with its audit event; cert_failed and
# certificate.failed on a failure) go through the jobs' store lane
# (connection "byocad:node1:job"), and the job ends, or deploys, when
# they are done.
#
# A psql session holds an EXCLUSIVE lock on the cas table (CA health):
# reads go on, but ca_record waits for it: the issued certificate's, and
# that of a lineage whose http-01 validation fails (its name points where
# nothing answers; the job then fails: cert_failed). Once byocad's job
# connection waits for that lock, byocad's server processes are
# stopped (SIGSTOP); /healthz must still be answered. Then they go on,
# the lock goes, the certificate is stored and audited once, and the
# failure is recorded and audited once (it fails again at each retry).
# With the outcome written on the loop's own connection nothing would be
# answered: the loop would wait for the lock, then for PostgreSQL.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
source "$BYOCA_SRC/tests/env/nodes.sh"
env_init daemon_pgstop_outcome_pg
env_gen_tls
env_start_challtestsrv
env_start_pebble
nodes_init
NODE_HTTP_1=$PORT_HTTP01
node_start 1 "tick_ms = 200" "log_level = debug"
node_use 1
# main, lane, job (and api once the API lane is open)
[ "$(node_backends 1 | wc -l)" -ge 3 ] || fail "byocad's connections are not named"

# the lock that keeps the outcome's CA health from being written
nodes_lock cas

env_tenant stop >/dev/null
T=$ENV_DIR/stop.token
cts_add_a bad.pgstop.test 127.0.0.9
api_expect 201 POST /v1/certificates '{"identifiers":["bad.pgstop.test"]}' "$T"
FID=$(json_get "$API_BODY" 'd["id"]')
api_expect 201 POST /v1/certificates '{"identifiers":["o1.pgstop.test"]}' "$T"
ID=$(json_get "$API_BODY" 'd["id"]')
waits_on() { node_waits_on 1 "$@"; } # ROLE: its statement waits for a lock
wait_for 60 waits_on job || fail "the outcome does not wait for the lock on" \
  "the job connection (main waits: $(waits_on main && echo yes || echo no))"

# PostgreSQL stops answering byocad
node_healthz_stopped 1
api_expect 200 GET "/v1/certificates/$ID" "" "$T"
[ "$(json_get "$API_BODY" 'd["state"]')" != issued ] ||
  fail "stored as issued while the lock was held"

# the lock goes: the certificate is stored, audited once
nodes_unlock
wait_cert_state "$T" "$ID" issued 60 >/dev/null || fail "not issued"
api_events "$T" >"$ENV_DIR/events.json" || fail "events"
n=$(json_get "$(cat "$ENV_DIR/events.json")" \
  'len([e for e in d if e["type"] == "certificate.issued"])')
[ "$n" = 1 ] || fail "issued $n times"
wait_for 60 failures_at_least "$FID" 1 || fail "the failure was not recorded"
api_events "$T" >"$ENV_DIR/events.json" || fail "events"
# it fails again at each retry: each failure audited once (1, 2, ...)
"$BYOCA_PY" - "$ENV_DIR/events.json" "$FID" <<'PY' || fail "certificate.failed"
import json, sys
ev = json.load(open(sys.argv[1]))
n = []
for e in ev:
    if e["type"] == "certificate.failed" and e["certificate"] == int(sys.argv[2]):
        d = e["detail"] if isinstance(e["detail"], dict) else json.loads(e["detail"])
        n.append(d["failures"])
assert n and sorted(n) == list(range(1, len(n) + 1)), n
PY
grep -q "cert $ID tenant .*: issued by .*; next check" "$(node_log 1)" ||
  fail "the outcome's continuation did not run"
node_stop 1
nodes_logs_clean || fail "sanitizer report"
pass "jobs' outcomes waited for a locked, then stopped PostgreSQL on the job lane; /healthz answered meanwhile; issued once and failed once after"
