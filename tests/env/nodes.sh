# shellcheck shell=bash
# Several byocad nodes sharing one PostgreSQL store (pg.sh), as behind a
# load balancer: node I has its own config, state dir, API socket, log
# (node<I>.log) and node_id "node<I>"; all share the store and the master
# key of node 1's `byocad init`, and the operator token it wrote. Sourced
# after lib.sh and daemon.sh (api, api_expect and env_tenant work on a
# node after `node_use I`).
#
#   nodes_init                      PostgreSQL, a database, byocad init
#   node_start I [LINE...]          writes node I's config (LINEs appended
#                                   to [byocad]) and runs it; ready once
#                                   /healthz answers. NODE_HTTP_<I> is its
#                                   http_listen port (default: none)
#   node_use I                      api/api_expect/env_tenant talk to node I
#   node_kill I                     SIGKILL (a crash)
#   node_stop I                     SIGTERM; fails unless it exits 0
#   node_log I                      the path of node I's log
#   nodes_logs_clean                fails on sanitizer reports in any log
#   nodes_sql SQL                   runs SQL on the nodes' database (psql
#                                   -At: unaligned rows, fields split by |)
#   nodes_lock TABLES [MODE]        a psql session (byoca_lock) holds
#                                   MODE (EXCLUSIVE: reads go on; ACCESS
#                                   EXCLUSIVE: they wait too) locks on
#                                   TABLES ("a, b") until nodes_unlock or
#                                   exit; returns once held
#   nodes_unlock                    ends that session
#   node_backends I                 pids of node I's PostgreSQL server
#                                   processes (by application_name)
#   node_pg_stop I                  SIGSTOPs them (NODE_PG_STOPPED: the
#                                   pids); node_pg_resume (also at exit)
#                                   sends SIGCONT
#   node_waits_on I ROLE [LIKE]     true if node I's connection ROLE
#                                   (main, lane, job, api) waits for a lock
#                                   (in a statement LIKE the pattern)
#   node_http01_token I ID          the http-01 token node I last set up
#                                   for certificate ID (its debug log);
#                                   false while there is none
#   node_healthz_stopped I [WHAT]   stops node I's server processes, asks
#                                   its /healthz, resumes them; fails
#                                   unless it answered 200 meanwhile

nodes_init() {
  # shellcheck source=pg.sh
  . "$ENV_LIB_DIR/pg.sh"
  env_pg_available || env_pg_missing
  [ -n "${PG_URL:-}" ] || env_start_postgres || return 1
  NODES_STORE_URL=$(env_pg_createdb byocad) || return 1
  NODES_MASTER=$ENV_DIR/master.key
  export BYOCAD_OPERATOR=$ENV_DIR/operator.token
  node__conf 1 || return 1
  "$BYOCAD" init -c "$ENV_DIR/node1/byocad.conf" \
    --token-file "$BYOCAD_OPERATOR" >"$ENV_DIR/byocad-init.log" 2>&1 ||
    { env__die "byocad init failed: $(cat "$ENV_DIR/byocad-init.log")" || return 1; }
}

nodes_sql() {
  "$(env_pg_bindir)/psql" -X -q -At -h "$PG_HOST" -p "$PORT_PG" -U byoca \
    -d byocad -c "$1"
}

nodes_lock() {
  PGAPPNAME=byoca_lock "$(env_pg_bindir)/psql" -X -q -h "$PG_HOST" \
    -p "$PORT_PG" -U byoca -d byocad -c "BEGIN;
     LOCK TABLE $1 IN ${2:-EXCLUSIVE} MODE;
     SELECT pg_sleep(300); COMMIT;" >"$ENV_DIR/lock.log" 2>&1 &
  NODES_LOCKER=$!
  env_atexit nodes_unlock
  local i
  for ((i = 0; i < 100; i++)); do
    [ "$(nodes_sql "SELECT count(*) FROM pg_locks l JOIN pg_stat_activity a
          USING (pid) WHERE a.application_name = 'byoca_lock'
          AND l.locktype = 'relation' AND l.granted
          AND l.mode IN ('ExclusiveLock', 'AccessExclusiveLock')")" -ge 1 ] &&
      return 0
    sleep 0.1
  done
  env__die "nodes_lock: the lock on $1 was not taken: $(cat "$ENV_DIR/lock.log")"
}

nodes_unlock() {
  [ -n "${NODES_LOCKER:-}" ] || return 0
  nodes_sql "SELECT pg_cancel_backend(pid) FROM pg_stat_activity
       WHERE application_name = 'byoca_lock'" >/dev/null || true
  wait "$NODES_LOCKER" 2>/dev/null || true
  NODES_LOCKER=
}

node_backends() {
  nodes_sql "SELECT pid FROM pg_stat_activity
       WHERE application_name LIKE 'byocad:node$1:%' ORDER BY pid"
}

NODE_PG_STOPPED=()
node_pg_stop() {
  mapfile -t NODE_PG_STOPPED < <(node_backends "$1")
  [ ${#NODE_PG_STOPPED[@]} -gt 0 ] ||
    { env__die "node_pg_stop: node $1 has no named connections" || return 1; }
  env_atexit node_pg_resume # runs before nodes_unlock: a stopped process
  # holds no one up at exit
  kill -STOP "${NODE_PG_STOPPED[@]}"
}

node_pg_resume() {
  [ ${#NODE_PG_STOPPED[@]} -eq 0 ] ||
    kill -CONT "${NODE_PG_STOPPED[@]}" 2>/dev/null || true
  NODE_PG_STOPPED=()
}

node_waits_on() {
  [ "$(nodes_sql "SELECT count(*) FROM pg_stat_activity
       WHERE application_name = 'byocad:node$1:$2'
       AND wait_event_type = 'Lock' AND query LIKE '${3:-%}'")" -ge 1 ]
}

node_http01_token() {
  local t
  t=$(sed -n "s/.*cert $2: http-01 token \([A-Za-z0-9_-]*\) set up.*/\1/p" \
    "$(node_log "$1")" | tail -n 1)
  [ -n "$t" ] && echo "$t"
}

node_healthz_stopped() {
  local code state what=${2:+ ($2)}
  node_pg_stop "$1" || fail "cannot stop node $1's server processes$what"
  [ ${#NODE_PG_STOPPED[@]} -ge 3 ] ||
    fail "node $1's server processes$what: ${NODE_PG_STOPPED[*]}"
  code=$("${ENV_CURL[@]}" --max-time 10 -o /dev/null -w '%{http_code}' \
    --unix-socket "$BYOCAD_SOCK" http://localhost/healthz) || code="no answer"
  state=$(ps -o state= -p "${NODE_PG_STOPPED[0]}" | tr -d ' ')
  node_pg_resume
  [ "$state" = T ] || fail "node $1's server process was not stopped$what: '$state'"
  [ "$code" = 200 ] || fail "/healthz while PostgreSQL was stopped$what: $code"
}

# node__conf I [LINE...]
node__conf() {
  local i=$1 d=$ENV_DIR/node$1 http
  shift
  local dca=${BYOCAD_DEFAULT_CA:-${ENV_DIRECTORY:-}}
  http=NODE_HTTP_$i
  mkdir -p "$d"
  {
    echo "; written by tests/env/nodes.sh"
    echo "[byocad]"
    echo "node_id = node$i"
    echo "state_dir = $d/state"
    echo "master_key_file = $NODES_MASTER"
    echo "store = $NODES_STORE_URL"
    echo "api_listen = unix:$d/api.sock"
    [ -z "${!http:-}" ] || echo "http_listen = 127.0.0.1:${!http}"
    echo "resolver = 127.0.0.1@$PORT_DNS"
    echo "allow_net = 127.0.0.0/8"
    echo "ca_bundle = $ENV_CA_BUNDLE"
    [ -z "$dca" ] || echo "default_ca = $dca"
    echo "retry_base = 2"
    echo "log_level = ${BYOCAD_LOG_LEVEL:-info}"
    [ $# -eq 0 ] || printf '%s\n' "$@"
  } >"$d/byocad.conf"
}

node_log() { echo "$ENV_DIR/node$1.log"; }

node_use() {
  export BYOCAD_SOCK=$ENV_DIR/node$1/api.sock
  export BYOCAD_LOG=$ENV_DIR/node$1.log
}

node_start() {
  local i=$1 pid
  shift
  node__conf "$i" "$@" || return 1
  [ ! -e "$ENV_DIR/node$i.log" ] ||
    cat "$ENV_DIR/node$i.log" >>"$ENV_DIR/node$i.log.old"
  env_spawn "node$i" "$BYOCAD" run -c "$ENV_DIR/node$i/byocad.conf"
  pid=$ENV_LAST_PID
  env__wait "node$i" "$pid" 20 node__healthy "$i" || return 1
}

node__healthy() {
  local s=$ENV_DIR/node$1/api.sock
  [ -S "$s" ] &&
    [ "$("${ENV_CURL[@]}" -o /dev/null -w '%{http_code}' \
      --unix-socket "$s" http://localhost/healthz)" = 200 ]
}

# node__reap I: waits for node I to exit (up to $2 s), forgets it; sets
# NODE_RC (empty when it still runs).
node__reap() {
  local pid i
  pid=$(env_pid "node$1")
  NODE_RC=
  [ -n "$pid" ] || return 0
  for ((i = 0; i < $2 * 10; i++)); do
    env__alive "$pid" || break
    sleep 0.1
  done
  env__alive "$pid" && return 0
  NODE_RC=0
  wait "$pid" 2>/dev/null || NODE_RC=$?
  awk -v n="node$1" '$1 != n' "$ENV_DIR/servers" >"$ENV_DIR/servers.new"
  mv "$ENV_DIR/servers.new" "$ENV_DIR/servers"
}

node_kill() {
  local pid
  pid=$(env_pid "node$1")
  [ -n "$pid" ] || return 0
  kill -KILL "$pid" 2>/dev/null || true
  node__reap "$1" 10
}

node_stop() {
  local pid
  pid=$(env_pid "node$1")
  [ -n "$pid" ] || { env__die "node$1 is not running" || return 1; }
  kill -TERM "$pid"
  node__reap "$1" 40
  [ "$NODE_RC" = 0 ] ||
    { env__die "node$1 exited with status '${NODE_RC}' after SIGTERM" || return 1; }
}

nodes_logs_clean() {
  local f
  for f in "$ENV_DIR"/node*.log "$ENV_DIR"/node*.log.old; do
    [ -e "$f" ] || continue
    if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"; then
      env__log "sanitizer report in $f:"
      grep -E -A30 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" >&2
      return 1
    fi
  done
}
