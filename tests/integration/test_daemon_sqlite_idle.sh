#!/usr/bin/env bash
# An idle byocad on SQLite leaves the write lock alone (issue 9): its
# ticks only read while nothing is due (no lineage to claim, no renewal
# window to ask, no notification to send). Another process holds SQLite's
# write lock for longer than byocad's busy timeout (5 s) while byocad
# ticks every 100 ms; a tick that took a write transaction would wait for
# the lock and fail with "database is locked", which byocad logs. None may.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init daemon_sqlite_idle
[ "${BYOCAD_STORE:-}" != pg ] || { echo "SQLite only"; exit 77; }
env_start_byocad "tick_ms = 100" "lease = 60"
env_tenant idle >/dev/null
api_expect 200 GET /v1/certificates "" "$ENV_DIR/idle.token"
sleep 1
start=$(wc -l <"$BYOCAD_LOG")
"$BYOCA_PY" -c 'import sqlite3, sys, time
con = sqlite3.connect(sys.argv[1], timeout=10, isolation_level=None)
con.execute("BEGIN IMMEDIATE")
time.sleep(float(sys.argv[2]))
con.execute("ROLLBACK")' "$BYOCAD_DB" 11 || fail "cannot hold the write lock"
sleep 0.5
api_expect 200 GET /healthz ""
locked=$(tail -n +"$((start + 1))" "$BYOCAD_LOG" |
  { grep -E "cannot claim|cannot read the notification outbox" || true; })
[ -z "$locked" ] || fail "an idle tick wanted the write lock: $(head -n 3 <<<"$locked")"
env_stop_byocad
byocad_log_clean || fail "sanitizer report"
pass "idle ticks left SQLite's write lock alone for 11 s"
