# shellcheck shell=bash
# byocad in the test bed: writes a byocad.conf pointed at the bed's servers
# (challtestsrv as resolver, Pebble as default CA, the test root as CA
# bundle), runs `byocad init` and `byocad run`, and talks to its REST API
# over the unix socket. Sourced after lib.sh (and cas.sh when used); safe
# under `set -euo pipefail`. Call env_start_byocad/env_stop_byocad from the
# main shell of the script (see lib.sh); api/api_expect too, since they set
# variables.
#
#   env_start_byocad [LINE...]       config lines appended to [byocad]
#                                    (a "[ca ...]" section may follow)
#   api METHOD PATH [BODY] [TOKEN_FILE]
#                                    prints the body; sets API_STATUS,
#                                    API_BODY, API_CTYPE, API_HEADERS (file)
#   api_expect STATUS METHOD PATH [BODY] [TOKEN_FILE]
#                                    the same, silent; fails unless STATUS
#   env_tenant NAME                  creates a tenant; token in
#                                    $ENV_DIR/NAME.token; echoes its id
#   wait_cert_state TOKEN_FILE ID STATE [SECONDS]
#   env_stop_byocad                  SIGTERM; fails unless it exits 0
#   env_kill_byocad                  SIGKILL
#   env_start_pebble_proxy PORT      tests/env/daemon_check.py pebble-proxy
#                                    on PORT in front of the bed's Pebble;
#                                    sets PROXY_DIRECTORY
#   byocad_log_clean                 fails on sanitizer reports in the log
#   api_events TOKEN_FILE [QUERY]    every event visible to the token
#   api_has_event TOKEN_FILE TYPE CERT_ID
#   pem_split FILE PREFIX            key / leaf / chain / full PEM files
#   key_absent_from, cert_present_in (secrets at rest), json_get, json_check
#   store_snapshot                   STORE_FILES: files holding what the
#                                    store holds (to search for secrets)
#   store_query SQL                  the first column of SQL's first row,
#                                    read from the store (either backend)
#   store_exec SQL                   runs SQL on the store (either backend)
#
# For the operations tests (test_daemon_ops*.sh), against Pebble:
#   env_daemon_ops NAME [PEBBLE_ARGS...]
#                                    env_init NAME, TLS, challtestsrv,
#                                    Pebble, a work folder $W, and Pebble
#                                    behind daemon_check.py's pebble-proxy
#                                    on $PORT_SPARE_FIRST: $CA is its
#                                    directory (BYOCAD_DEFAULT_CA too)
#   env_webhook_sink NAME PORT FILE [FAILS]
#                                    a webhook receiver (webhook_sink.py)
#                                    writing what it gets to FILE
#   webhook_notes FILE               those notifications as a JSON array
#   port_up PORT                     something listens on 127.0.0.1:PORT
#   wait_for SECONDS CMD...          until CMD succeeds (every 0.2 s)
#   cert_field ID EXPR               EXPR on GET /v1/certificates/ID (tenant
#                                    token file $T)
#   failures_at_least ID N, cert_gone ID
#   metrics_check PYTHON             asserts on GET /metrics, parsed
#
# BODY: JSON text, or @FILE to send a file (large bodies). "" = no body.
# TOKEN_FILE: a file holding a bearer token; "" = no Authorization header.
# The token goes to curl through a 0600 header file, never through argv.
# API_CT overrides the request Content-Type (default application/json),
# API_CURL_ARGS (array) adds curl arguments for one call.
#
# Exports BYOCAD_CONF, BYOCAD_STATE (state_dir), BYOCAD_DB, BYOCAD_LOG,
# BYOCAD_SOCK, BYOCAD_OPERATOR (the operator token file); sets BYOCAD_PID,
# and BYOCAD_RC (exit status) once stopped or killed. Inputs: BYOCAD (the
# binary), BYOCAD_DEFAULT_CA (default: $ENV_DIRECTORY, else
# $ENV_CA_DIRECTORY_1), BYOCAD_LOG_LEVEL (default debug),
# BYOCAD_METRICS_REFRESH (default 0: counted at every scrape), BYOCAD_STORE
# ("pg": the store is a database "byocad" on a throwaway PostgreSQL
# cluster, pg.sh, instead of the SQLite file BYOCAD_DB; BYOCAD_STORE_URL
# is then its URL).

if [ -n "${BYOCA_ENV_DAEMON_LOADED:-}" ]; then
  return 0
fi
BYOCA_ENV_DAEMON_LOADED=1

: "${BYOCAD:=${BYOCA_BUILD:-${BYOCA_SRC:-.}/build}/byocad}"
# The interpreter python3 runs, resolved once: version-manager shims cost
# ~0.1 s a call, and the helpers below run Python hundreds of times.
: "${BYOCA_PY:=$(python3 -c 'import sys; print(sys.executable)' 2>/dev/null || echo python3)}"

# json_get JSON EXPR: evaluates the Python expression EXPR on the parsed
# JSON (bound to d); prints strings raw, None as "null", other values as
# JSON. Fails when the text is not JSON or the expression raises.
json_get() {
  "$BYOCA_PY" -c '
import json, sys
d = json.loads(sys.argv[1])
v = eval(sys.argv[2], {"d": d, "json": json})
if isinstance(v, str):
    print(v)
elif v is None:
    print("null")
else:
    print(json.dumps(v))' "$1" "$2"
}

# json_check JSON PYTHON_ASSERTS: runs PYTHON statements with the parsed
# JSON bound to d; fails (with the reason) when an assert fails.
json_check() {
  "$BYOCA_PY" -c '
import json, sys
d = json.loads(sys.argv[1])
exec(sys.argv[2], {"d": d, "json": json})' "$1" "$2"
}

# env__byocad_conf [LINE...]: writes $BYOCAD_CONF.
env__byocad_conf() {
  local dca=${BYOCAD_DEFAULT_CA:-${ENV_DIRECTORY:-${ENV_CA_DIRECTORY_1:-}}}
  {
    echo "; written by tests/env/daemon.sh"
    echo "[byocad]"
    echo "state_dir = $BYOCAD_STATE"
    echo "api_listen = unix:$BYOCAD_SOCK"
    echo "http_listen = 127.0.0.1:$PORT_HTTP01"
    echo "resolver = 127.0.0.1@$PORT_DNS"
    echo "allow_net = 127.0.0.0/8"
    echo "ca_bundle = $ENV_CA_BUNDLE"
    [ -z "$dca" ] || echo "default_ca = $dca"
    echo "retry_base = 2"
    echo "tick_ms = 200"
    # the tests check /metrics right after each change: count at every
    # scrape unless a test wants the kept counts
    echo "metrics_refresh = ${BYOCAD_METRICS_REFRESH:-0}"
    echo "log_level = ${BYOCAD_LOG_LEVEL:-debug}"
    [ -z "${BYOCAD_STORE_URL:-}" ] || echo "store = $BYOCAD_STORE_URL"
    [ $# -eq 0 ] || printf '%s\n' "$@"
  } >"$BYOCAD_CONF"
}

# shellcheck disable=SC2120
# env_start_byocad [LINE...]: config, `byocad init`, then `byocad run`
# (log in $ENV_DIR/byocad.log), ready once /healthz answers 200. A second
# call reuses the state dir and operator token (restart after a stop).
env_start_byocad() {
  [ -x "$BYOCAD" ] || { env__die "no byocad binary at $BYOCAD" || return 1; }
  [ -n "${ENV_CA_BUNDLE:-}" ] || env_gen_tls || return 1
  export BYOCAD_CONF=$ENV_DIR/byocad.conf
  export BYOCAD_STATE=$ENV_DIR/byocad-state
  export BYOCAD_DB=$BYOCAD_STATE/byocad.db
  export BYOCAD_LOG=$ENV_DIR/byocad.log
  export BYOCAD_SOCK=$ENV_DIR/api.sock
  export BYOCAD_OPERATOR=$ENV_DIR/operator.token
  if [ "${BYOCAD_STORE:-}" = pg ] && [ -z "${BYOCAD_STORE_URL:-}" ]; then
    # shellcheck source=pg.sh
    . "$ENV_LIB_DIR/pg.sh"
    env_pg_available || env_pg_missing
    [ -n "${PG_URL:-}" ] || env_start_postgres || return 1
    BYOCAD_STORE_URL=$(env_pg_createdb byocad) || return 1
    export BYOCAD_STORE_URL
  fi
  env__byocad_conf "$@" || return 1
  if [ ! -s "$BYOCAD_OPERATOR" ]; then
    "$BYOCAD" init -c "$BYOCAD_CONF" --token-file "$BYOCAD_OPERATOR" \
      >"$ENV_DIR/byocad-init.log" 2>&1 ||
      { env__die "byocad init failed: $(cat "$ENV_DIR/byocad-init.log")" || return 1; }
    [ -s "$BYOCAD_OPERATOR" ] ||
      { env__die "byocad init wrote no token file" || return 1; }
  fi
  if [ -e "$BYOCAD_LOG" ]; then
    cat "$BYOCAD_LOG" >>"$ENV_DIR/byocad.log.old"
  fi
  env_spawn byocad "$BYOCAD" run -c "$BYOCAD_CONF"
  BYOCAD_PID=$ENV_LAST_PID
  env__wait byocad "$BYOCAD_PID" 20 env__byocad_healthy || return 1
  if [ "${BYOCAD_STORE:-}" = pg ] &&
    ! grep -q "(store postgresql://" "$BYOCAD_LOG"; then
    env__die "BYOCAD_STORE=pg, but byocad does not run on PostgreSQL"
    return 1
  fi
}

env__byocad_healthy() {
  [ -S "$BYOCAD_SOCK" ] &&
    [ "$("${ENV_CURL[@]}" -o /dev/null -w '%{http_code}' \
      --unix-socket "$BYOCAD_SOCK" http://localhost/healthz)" = 200 ]
}

# env__byocad_wait_exit SECONDS: waits for byocad to exit and reaps it;
# BYOCAD_RC gets its exit status (empty when it still runs).
env__byocad_wait_exit() {
  local i
  BYOCAD_RC=
  for ((i = 0; i < $1 * 10; i++)); do
    env__alive "$BYOCAD_PID" || break
    sleep 0.1
  done
  env__alive "$BYOCAD_PID" && return 0
  BYOCAD_RC=0
  wait "$BYOCAD_PID" 2>/dev/null || BYOCAD_RC=$?
  awk '$1 != "byocad"' "$ENV_DIR/servers" >"$ENV_DIR/servers.new"
  mv "$ENV_DIR/servers.new" "$ENV_DIR/servers"
}

# env_stop_byocad: SIGTERM, waits (drain is at most 30 s); fails unless
# byocad exits with status 0 (a sanitizer report makes it non-zero).
env_stop_byocad() {
  if [ -z "${BYOCAD_PID:-}" ] || ! env__alive "$BYOCAD_PID"; then
    env__die "byocad is not running"
    return 1
  fi
  kill -TERM "$BYOCAD_PID"
  env__byocad_wait_exit 40
  if [ -z "$BYOCAD_RC" ]; then
    kill -KILL "$BYOCAD_PID" 2>/dev/null
    env__byocad_wait_exit 5
    env__die "byocad ignored SIGTERM for 40 s"
    return 1
  fi
  [ "$BYOCAD_RC" = 0 ] ||
    { env__die "byocad exited with status $BYOCAD_RC after SIGTERM" || return 1; }
}

# env_start_pebble_proxy PORT: every ACME request sent to $PROXY_DIRECTORY
# goes through daemon_check.py pebble-proxy on PORT (see PebbleGate there
# for the Pebble 2.4 deadlocks it keeps out of tests that run many orders
# at once).
env_start_pebble_proxy() {
  env_spawn pebble-proxy "$BYOCA_PY" "$ENV_LIB_DIR/daemon_check.py" \
    pebble-proxy "$1" "$PORT_ACME" "$ENV_TLS_CERT" "$ENV_TLS_KEY" \
    "$ENV_CA_BUNDLE"
  export PROXY_DIRECTORY=https://127.0.0.1:$1/dir
  env__wait pebble-proxy "$ENV_LAST_PID" 10 "${ENV_CURL[@]}" -f -o /dev/null \
    --cacert "$ENV_CA_BUNDLE" "$PROXY_DIRECTORY"
}

# env_kill_byocad: SIGKILL (a crash), reaped.
env_kill_byocad() {
  [ -n "${BYOCAD_PID:-}" ] || return 0
  kill -KILL "$BYOCAD_PID" 2>/dev/null || true
  env__byocad_wait_exit 10
}

# byocad_log_clean: fails when the daemon's log holds a sanitizer report.
byocad_log_clean() {
  local f
  for f in "$BYOCAD_LOG" "$ENV_DIR/byocad.log.old" "$ENV_DIR/byocad-init.log"; do
    [ -e "$f" ] || continue
    if grep -Eq 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f"; then
      env__log "sanitizer report in $f:"
      grep -E -A30 'ERROR: (Address|Leak)Sanitizer|runtime error:' "$f" >&2
      return 1
    fi
  done
}

# env__auth_header TOKEN_FILE: writes TOKEN_FILE.hdr (0600) with the
# Authorization header; printf is a builtin, so the token is in no argv.
env__auth_header() {
  local tok
  tok=$(<"$1") || return 1
  tok=${tok%%[[:space:]]*}
  (umask 077 && printf 'Authorization: Bearer %s\n' "$tok" >"$1.hdr")
}

# api METHOD PATH [BODY] [TOKEN_FILE]: one request on the API socket.
# Prints the response body; sets API_STATUS (000 when curl got no answer),
# API_BODY, API_CTYPE (the response Content-Type) and API_HEADERS (a file
# with the response headers).
api() {
  local method=$1 path=$2 body=${3:-} tok=${4:-} args=()
  args=(--noproxy '*' -sS --max-time 30 -X "$method"
    --unix-socket "$BYOCAD_SOCK" -D "$ENV_DIR/api.headers"
    -o "$ENV_DIR/api.body" -w '%{http_code}')
  if [ -n "$tok" ]; then
    env__auth_header "$tok" || return 1
    args+=(-H "@$tok.hdr")
  fi
  if [ -n "$body" ]; then
    if [ "${body:0:1}" = @ ]; then
      args+=(--data-binary "$body")
    else
      printf '%s' "$body" >"$ENV_DIR/api.req"
      args+=(--data-binary "@$ENV_DIR/api.req")
    fi
    args+=(-H "Content-Type: ${API_CT:-application/json}")
  fi
  : >"$ENV_DIR/api.body"
  : >"$ENV_DIR/api.headers"
  API_STATUS=$(curl "${args[@]}" ${API_CURL_ARGS[@]+"${API_CURL_ARGS[@]}"} \
    "http://localhost$path" 2>"$ENV_DIR/api.curl.err") || true
  API_STATUS=${API_STATUS:-000}
  API_BODY=$(cat "$ENV_DIR/api.body")
  # shellcheck disable=SC2034 # for the tests
  API_HEADERS=$ENV_DIR/api.headers
  # shellcheck disable=SC2034
  API_CTYPE=$(api_header Content-Type)
  printf '%s\n' "$API_BODY"
}

# api_header NAME: the value of response header NAME of the last call.
api_header() {
  awk -v n="$1" 'BEGIN { n = tolower(n) }
    { sub(/\r$/, "") }
    /^HTTP\// { v = "" }
    tolower(substr($0, 1, index($0, ":") - 1)) == n {
      v = substr($0, index($0, ":") + 1); sub(/^[ \t]+/, "", v) }
    END { print v }' "$ENV_DIR/api.headers"
}

# api_expect STATUS METHOD PATH [BODY] [TOKEN_FILE]: like api, prints
# nothing; fails with the request and answer unless the status is STATUS.
api_expect() {
  local want=$1
  shift
  api "$@" >/dev/null
  if [ "$API_STATUS" != "$want" ]; then
    env__log "$1 $2: expected HTTP $want, got $API_STATUS"
    env__log "request body: $(env__short "${3:-}")"
    env__log "response: $(env__short "$API_BODY")"
    [ ! -s "$ENV_DIR/api.curl.err" ] || env__log "curl: $(cat "$ENV_DIR/api.curl.err")"
    return 1
  fi
}

env__short() {
  if [ "${#1}" -gt 600 ]; then
    printf '%s... (%d bytes)' "${1:0:600}" "${#1}"
  else
    printf '%s' "$1"
  fi
}

# env_tenant NAME: creates tenant NAME with the operator token, writes its
# token to $ENV_DIR/NAME.token (0600), prints the tenant id.
env_tenant() {
  local out tok id
  api_expect 201 POST /v1/tenants "{\"name\":$(env__json_str "$1")}" \
    "$BYOCAD_OPERATOR" || return 1
  out=$API_BODY
  tok=$(json_get "$out" 'd["token"]') || return 1
  case "$tok" in
  byoca_*) ;;
  *) env__die "tenant $1: no token in the answer" || return 1 ;;
  esac
  (umask 077 && printf '%s\n' "$tok" >"$ENV_DIR/$1.token") || return 1
  id=$(json_get "$out" 'd["id"]') || return 1
  echo "$id"
}

# wait_cert_state TOKEN_FILE ID STATE [SECONDS]: polls GET
# /v1/certificates/ID (ID may carry "?tenant=N") until its state is STATE
# (default 30 s); prints the certificate JSON.
wait_cert_state() {
  local tok=$1 id=$2 want=$3 secs=${4:-30} i st=""
  for ((i = 0; i < secs * 5; i++)); do
    api "GET" "/v1/certificates/$id" "" "$tok" >/dev/null
    if [ "$API_STATUS" = 200 ]; then
      st=$(json_get "$API_BODY" 'd["state"]') || return 1
      if [ "$st" = "$want" ]; then
        printf '%s\n' "$API_BODY"
        return 0
      fi
    fi
    sleep 0.2
  done
  env__log "certificate $id: not $want after ${secs}s (HTTP $API_STATUS)"
  env__log "last answer: $(env__short "$API_BODY")"
  return 1
}

# store_snapshot: sets STORE_FILES to the files that hold the store's
# content: SQLite's database, -wal and -shm; on PostgreSQL every row of
# every table as binary COPY (bytea and text as their raw bytes) in one
# file, plus every file of the cluster (tables, WAL) for what lingers.
store_snapshot() {
  if [ "${BYOCAD_STORE:-}" != pg ]; then
    STORE_FILES=("$BYOCAD_DB" "$BYOCAD_DB-wal" "$BYOCAD_DB-shm")
    return 0
  fi
  local t bin dump=$ENV_DIR/pg-rows.bin
  bin=$(env_pg_bindir) || return 1
  : >"$dump"
  for t in tenants api_tokens cas accounts eab_credentials certificates \
    orders challenge_tokens events; do
    "$bin/psql" -X -q -h "$PG_HOST" -p "$PORT_PG" -U byoca -d byocad \
      -c "COPY $t TO STDOUT (FORMAT binary)" >>"$dump" || return 1
  done
  STORE_FILES=("$dump")
  mapfile -t -O 1 STORE_FILES < <(find "$ENV_DIR/pg/data" -type f)
}

# store_exec SQL: runs SQL (constant text) on byocad's store, SQLite or
# PostgreSQL, for a test that plants a row byocad must deal with.
store_exec() {
  if [ "${BYOCAD_STORE:-}" = pg ]; then
    "$(env_pg_bindir)/psql" -X -q -At -h "$PG_HOST" -p "$PORT_PG" -U byoca \
      -d byocad -v ON_ERROR_STOP=1 -c "$1" >/dev/null
    return
  fi
  "$BYOCA_PY" -c 'import sqlite3, sys
con = sqlite3.connect(sys.argv[1], timeout=10)
con.execute(sys.argv[2])
con.commit()' "$BYOCAD_DB" "$1"
}

# store_query SQL: prints the first column of the first row SQL (constant
# text) selects from byocad's store, SQLite or PostgreSQL, read-only.
store_query() {
  if [ "${BYOCAD_STORE:-}" = pg ]; then
    "$(env_pg_bindir)/psql" -X -q -At -h "$PG_HOST" -p "$PORT_PG" -U byoca \
      -d byocad -c "$1" | head -n 1
    return "${PIPESTATUS[0]}"
  fi
  "$BYOCA_PY" -c 'import sqlite3, sys
con = sqlite3.connect("file:%s?mode=ro" % sys.argv[1], uri=True, timeout=10)
print(con.execute(sys.argv[2]).fetchone()[0])' "$BYOCAD_DB" "$1"
}

# key_absent_from KEYPEM CERTPEM FILE...: fails when any private part of
# the key in KEYPEM appears in one of the FILEs (missing FILEs are
# skipped): a base64 body line of the PEM, or a 16-byte slice of its DER
# (raw, byte-aligned like `xxd -p` substrings, or as hex text). Lines and slices that
# also occur in CERTPEM (the public key inside the certificate) are not
# secrets and are left out; at least one line and one slice must remain.
key_absent_from() {
  local key=$1 cert=$2 der
  shift 2
  der=$(openssl pkey -in "$key" -outform DER | xxd -p | tr -d '\n') || return 1
  "$BYOCA_PY" - "$key" "$cert" "$der" "$@" <<'PY'
import base64, os, re, sys
key, cert, der = sys.argv[1], sys.argv[2], bytes.fromhex(sys.argv[3])
files = [f for f in sys.argv[4:] if os.path.exists(f)]
kpem = open(key).read().splitlines()
ctext = open(cert).read()
cder = b"".join(base64.b64decode("".join(m.split()))
                for m in re.findall(r"-----BEGIN CERTIFICATE-----(.*?)-----END",
                                    ctext, re.S))
lines = [l.strip() for l in kpem if l.strip() and not l.startswith("-----")]
lines = [l for l in lines if len(l) >= 16 and l not in ctext]
slices = [der[i:i + 16] for i in range(0, len(der), 16)]
slices = [s for s in slices if len(s) >= 12 and s not in cder]
if not lines or not slices:
    sys.exit("key_absent_from: nothing private left to look for")
bad = 0
for f in files:
    data = open(f, "rb").read()
    nl = sum(data.count(l.encode()) for l in lines)
    ns = sum(data.count(s) + data.count(s.hex().encode())
             + data.count(s.hex().upper().encode()) for s in slices)
    if nl or ns:
        print("key material in %s: %d PEM line hits, %d DER slice hits"
              % (f, nl, ns), file=sys.stderr)
        bad = 1
sys.exit(bad)
PY
}

# cert_present_in CERTPEM FILE...: succeeds when the first certificate of
# CERTPEM is found in one of the FILEs (as a PEM body line or as DER): the
# positive control that makes key_absent_from meaningful.
cert_present_in() {
  local cert=$1
  shift
  "$BYOCA_PY" - "$cert" "$@" <<'PY'
import base64, os, re, sys
ctext = open(sys.argv[1]).read()
m = re.search(r"-----BEGIN CERTIFICATE-----(.*?)-----END", ctext, re.S)
lines = [l.strip() for l in m.group(1).splitlines() if len(l.strip()) == 64]
der = base64.b64decode("".join(m.group(1).split()))
for f in sys.argv[2:]:
    if not os.path.exists(f):
        continue
    data = open(f, "rb").read()
    if any(l.encode() in data for l in lines[2:5]) or der[200:232] in data:
        sys.exit(0)
sys.exit(1)
PY
}

# api_events TOKEN_FILE [QUERY]: every event the token sees (all pages,
# QUERY like "tenant=3" added), as one JSON array, oldest first.
api_events() {
  local after=0 all="[]" page n
  while :; do
    api_expect 200 GET "/v1/events?limit=1000&after=$after${2:+&$2}" "" "$1" ||
      return 1
    page=$API_BODY
    all=$("$BYOCA_PY" -c 'import json,sys; print(json.dumps(json.loads(sys.argv[1]) + json.loads(sys.argv[2])["items"]))' "$all" "$page") ||
      return 1
    after=$(json_get "$page" 'd["next_after"]') || return 1
    n=$(json_get "$page" 'len(d["items"])') || return 1
    if [ "$after" = null ] || [ "$n" = 0 ]; then
      break
    fi
  done
  printf '%s\n' "$all"
}

# api_has_event TOKEN_FILE TYPE CERT_ID: fails unless the token sees an
# event TYPE about certificate CERT_ID; prints the latest one's detail.
api_has_event() {
  local ev
  ev=$(api_events "$1") || return 1
  json_get "$ev" "[e['detail'] for e in d if e['type'] == '$2' and e['certificate'] == $3][-1]" 2>/dev/null ||
    { env__die "no event $2 for certificate $3 in: $(env__short "$ev")" || return 1; }
}

# pem_split FILE PREFIX: PREFIX.key (the private key PEM, empty if none),
# PREFIX.full (every certificate), PREFIX.leaf (the first), PREFIX.chain
# (the others).
pem_split() {
  sed -n '/-----BEGIN [A-Z ]*PRIVATE KEY-----/,/-----END [A-Z ]*PRIVATE KEY-----/p' "$1" >"$2.key"
  sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' "$1" >"$2.full"
  awk '/-----BEGIN CERTIFICATE-----/ { n++ } n == 1' "$2.full" >"$2.leaf"
  awk '/-----BEGIN CERTIFICATE-----/ { n++ } n >= 2' "$2.full" >"$2.chain"
}

# ---- the operations tests' bed and helpers (see the header) ----

# env_daemon_ops NAME [PEBBLE_ARGS...]: the bed of test_daemon_ops*.sh.
env_daemon_ops() {
  local name=$1
  shift
  env_init "$name"
  env_gen_tls
  env_start_challtestsrv
  env_start_pebble "$@"
  W=$ENV_DIR/work
  mkdir -p "$W"
  local proxy=$PORT_SPARE_FIRST
  env_spawn pebble-proxy python3 "$BYOCA_SRC/tests/env/daemon_check.py" \
    pebble-proxy "$proxy" "$PORT_ACME" "$ENV_TLS_CERT" "$ENV_TLS_KEY" \
    "$ENV_CA_BUNDLE"
  CA=https://127.0.0.1:$proxy/dir
  export BYOCAD_DEFAULT_CA=$CA
  env__wait pebble-proxy "$ENV_LAST_PID" 10 "${ENV_CURL[@]}" -f -o /dev/null \
    --cacert "$ENV_CA_BUNDLE" "$CA"
}

port_up() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

# env_webhook_sink NAME PORT FILE [FAILS]: webhook_sink.py on PORT, FILE
# gets one JSON line per notification (FAILS: answer 500 that often first)
env_webhook_sink() {
  env_spawn "$1" python3 "$BYOCA_SRC/tests/env/webhook_sink.py" "$2" "$3" \
    ${4:+"$4"}
  env__wait "$1" "$ENV_LAST_PID" 10 port_up "$2"
}

# webhook_notes FILE: the notifications in FILE as a JSON array
webhook_notes() {
  "$BYOCA_PY" -c 'import json, sys, os
f = sys.argv[1]
print(json.dumps([json.loads(l) for l in open(f)] if os.path.exists(f) else []))' "$1"
}

# wait_for SECONDS CMD...: until CMD succeeds (every 0.2 s)
wait_for() {
  local i n=$(($1 * 5))
  shift
  for ((i = 0; i < n; i++)); do
    "$@" && return 0
    sleep 0.2
  done
  return 1
}

# cert_field ID EXPR: EXPR on GET /v1/certificates/ID (tenant token $T)
cert_field() {
  api_expect 200 GET "/v1/certificates/$1" "" "$T" || return 1
  json_get "$API_BODY" "$2"
}
failures_at_least() { [ "$(cert_field "$1" 'd["failures"]')" -ge "$2" ]; }
# cert_gone ID: the certificate answers 404 (deleted)
cert_gone() {
  api GET "/v1/certificates/$1" "" "$T" >/dev/null
  [ "$API_STATUS" = 404 ]
}

# api_cert_add TOKEN NAME...: POSTs a lineage pinned to Pebble
# ($ENV_DIRECTORY); echoes its id
api_cert_add() {
  local t=$1 names="" n
  shift
  for n in "$@"; do names+=",\"$n\""; done
  api_expect 201 POST /v1/certificates \
    "{\"identifiers\":[${names#,}],\"ca\":\"$ENV_DIRECTORY\"}" "$t"
  json_get "$API_BODY" 'd["id"]'
}
# api_cert_forget TOKEN ID: deletes a lineage that keeps failing (no more
# retries that would add its record again) and waits until it is gone
api_cert_forget() {
  local i
  api_expect 202 DELETE "/v1/certificates/$2" "" "$1"
  for ((i = 0; i < 150; i++)); do
    api GET "/v1/certificates/$2" "" "$1" >/dev/null
    [ "$API_STATUS" = 404 ] && return 0
    sleep 0.2
  done
  fail "certificate $2 not deleted: $API_BODY"
}
# api_cert_outcome TOKEN ID TEXT: waits until last_outcome contains TEXT
api_cert_outcome() {
  local i
  for ((i = 0; i < 300; i++)); do
    api GET "/v1/certificates/$2" "" "$1" >/dev/null
    case "$(json_get "$API_BODY" 'd["last_outcome"]')" in *"$3"*) return 0 ;; esac
    sleep 0.2
  done
  fail "certificate $2: no outcome with '$3': $API_BODY"
}

# metrics_check PYTHON: GET /metrics, parsed (every line must parse), then
# PYTHON runs with S = [(name, labels, value)], series(name, **labels) and
# v(name, **labels): the value of the one matching series, None if absent.
# The text is kept in $W/metrics.txt.
metrics_check() {
  api_expect 200 GET /metrics "" "$BYOCAD_OPERATOR" || return 1
  printf '%s\n' "$API_BODY" >"$W/metrics.txt"
  "$BYOCA_PY" - "$W/metrics.txt" "$1" <<'PY'
import re, sys
S = []
lab = re.compile(r'(\w+)="((?:[^"\\]|\\.)*)"')
for line in open(sys.argv[1]):
    line = line.rstrip("\n")
    if not line or line.startswith("#"):
        continue
    m = re.match(r'^([a-zA-Z_:][\w:]*)(?:\{(.*)\})? (\S+)$', line)
    if not m:
        sys.exit("unparsable metrics line: %r" % line)
    labels = {k: re.sub(r'\\(.)', lambda x: {'n': '\n'}.get(x.group(1), x.group(1)), v)
              for k, v in lab.findall(m.group(2) or "")}
    S.append((m.group(1), labels, float(m.group(3))))
def series(name, **want):
    return [(l, x) for n, l, x in S
            if n == name and all(l.get(k) == w for k, w in want.items())]
def v(name, **want):
    s = series(name, **want)
    assert len(s) <= 1, "%d series %s %r" % (len(s), name, want)
    return s[0][1] if s else None
exec(sys.argv[2])
PY
}
