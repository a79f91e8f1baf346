#!/usr/bin/env bash
# Choosing a CA, the tenant's ACME account and the tls-alpn-01 owner check
# go through the jobs' store lane (connection "byocad:node1:job"), so a
# locked PostgreSQL table never stalls byocad's event loop while a job
# reads or writes them.
#
# Each phase takes a lock (tests/env/nodes.sh nodes_lock) on what one of
# these statements needs, adds a certificate for a fresh tenant, waits
# until byocad's job connection waits for the lock, and requires
# /healthz answered within 2 s meanwhile and the loop's own connection
# ("main") not waiting; then the lock goes and the certificate is issued
# once, its account registered once (one ca.tos_agreed event):
#   accounts, EXCLUSIVE         the new account's account_put
#   accounts, ACCESS EXCLUSIVE  the tenant's accounts for CAA (account_list)
#   eab_credentials, ACCESS EXCLUSIVE  the tenant's EAB (eab_get)
#   cas, ACCESS EXCLUSIVE       the candidates' health (ca_get)
#   challenge_tokens, ACCESS EXCLUSIVE  who validates a name by
#                               tls-alpn-01 (challenge_owner; this node
#                               runs a responder, so the job asks)
#   eab_credentials, ACCESS EXCLUSIVE, for a CA that requires EAB (a
#                               second Pebble): the tenant's credentials
#                               reach the registration (7)
# With these statements on the loop's own connection /healthz is not
# answered while the lock is held (the loop waits for it).
# Then byocad is stopped (SIGTERM) while a job's account read waits for a
# lock (6): it exits once the read is answered, and the certificate is
# issued once after a restart.
# PGLOCK_PHASES (a subset of 1-7) runs only some phases.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
source "$BYOCA_SRC/tests/env/nodes.sh"
env_init daemon_pglock_choose_pg
env_gen_tls
env_start_challtestsrv
env_start_pebble --eab
nodes_init
NODE_HTTP_1=$PORT_HTTP01
# http-01 answers; the tls-alpn-01 responder makes the job ask the store
# who validates its names by tls-alpn-01
CONF=("tick_ms = 200" "log_level = debug" "challenge_order = http-01"
  "[tls-alpn]" "listen = 127.0.0.1:$PORT_SPARE_FIRST"
  "[ca \"eab.pglock.test\"]" "directory = $ENV_DIRECTORY_EAB")
node_start 1 "${CONF[@]}"
node_use 1
[ "$(node_backends 1 | wc -l)" -ge 3 ] || fail "byocad's connections are not named"

waits_on() { node_waits_on 1 "$@"; } # ROLE: its statement waits for a lock
byocad_waits() { waits_on job || waits_on main; }
count_events() { # TOKEN TYPE [CERT]: how many events of TYPE (of CERT)
  local cert=${3:-0}
  api_events "$1" >"$ENV_DIR/events.json" || return 1
  json_get "$(cat "$ENV_DIR/events.json")" "len([e for e in d
    if e['type'] == '$2' and $cert in (0, e['certificate'])])"
}

# phase N TABLE MODE WHAT [CA]: with CA (the Pebble that requires EAB),
# the tenant's EAB credentials for it are stored first
phase() {
  local n=$1 table=$2 mode=$3 what=$4 ca=${5:-} t code secs id q
  case " ${PGLOCK_PHASES:-1 2 3 4 5 6 7} " in *" $n "*) ;; *) return 0 ;; esac
  env_tenant "lock$n" >/dev/null || fail "tenant lock$n"
  t=$ENV_DIR/lock$n.token
  [ -z "$ca" ] || api_expect 204 PUT "/v1/eab/$ca" \
    "{\"kid\":\"kid-1\",\"hmac_key\":\"$(cat "$ENV_DIR/eab-kid-1.hmac")\"}" "$t"
  nodes_lock "$table" "$mode"
  api_expect 201 POST /v1/certificates \
    "{\"identifiers\":[\"c$n.pglock.test\"]${ca:+,\"ca\":\"$ca\"}}" "$t"
  id=$(json_get "$API_BODY" 'd["id"]')
  wait_for 60 byocad_waits ||
    fail "phase $n ($what): byocad never waited for the lock on $table"
  read -r code secs < <("${ENV_CURL[@]}" --max-time 2 -o /dev/null \
    -w '%{http_code} %{time_total}\n' --unix-socket "$BYOCAD_SOCK" \
    http://localhost/healthz || echo "none 2")
  [ "$code" = 200 ] ||
    fail "phase $n ($what): /healthz while $table was locked: $code after ${secs}s"
  ! waits_on main || fail "phase $n ($what): the loop's connection waits"
  waits_on job || fail "phase $n ($what): the job connection does not wait"
  q=$(nodes_sql "SELECT query FROM pg_stat_activity
        WHERE application_name = 'byocad:node1:job'")
  [[ "${q,,}" == *"$table"* ]] ||
    fail "phase $n ($what): the job connection waits on something else: $q"
  api_expect 200 GET "/v1/certificates/$id" "" "$t"
  [ "$(json_get "$API_BODY" 'd["state"]')" != issued ] ||
    fail "phase $n ($what): issued while the lock was held"
  nodes_unlock
  wait_cert_state "$t" "$id" issued 60 >/dev/null ||
    fail "phase $n ($what): not issued after the unlock: $(tail -n 20 "$(node_log 1)")"
  [ "$(count_events "$t" certificate.issued "$id")" = 1 ] ||
    fail "phase $n ($what): not issued once"
  api_expect 200 GET "/v1/certificates/$id" "" "$t"
  [ -z "$ca" ] || [ "$(json_get "$API_BODY" 'd["issuer"]')" = "$ca" ] ||
    fail "phase $n ($what): not issued by $ca: $API_BODY"
  [ "$(count_events "$t" ca.tos_agreed)" = 1 ] ||
    fail "phase $n ($what): ca.tos_agreed not recorded once"
  [ "$(nodes_sql "SELECT count(*) FROM accounts a JOIN tenants t
        ON t.id = a.tenant_id WHERE t.name = 'lock$n'")" = 1 ] ||
    fail "phase $n ($what): the account was not stored once"
  echo "phase $n ($what): /healthz answered in ${secs}s while the job" \
    "connection waited for $table: $(echo "$q" | tr -s ' \n' ' ' | cut -c1-80)"
}

phase 1 accounts EXCLUSIVE "storing the new account"
phase 2 accounts "ACCESS EXCLUSIVE" "the tenant's accounts for CAA"
phase 3 eab_credentials "ACCESS EXCLUSIVE" "the tenant's EAB credentials"
phase 4 cas "ACCESS EXCLUSIVE" "the candidates' CA health"
phase 5 challenge_tokens "ACCESS EXCLUSIVE" "the tls-alpn-01 owner check"
# the tenant's EAB read on the lane reaches the registration: this CA
# refuses an account without it
phase 7 eab_credentials "ACCESS EXCLUSIVE" "EAB for a CA that requires it" \
  eab.pglock.test
! grep -qF "$(cat "$ENV_DIR/eab-kid-1.hmac")" "$(node_log 1)" ||
  fail "the EAB MAC key is in byocad's log"
# A drain (SIGTERM) while the account's read waits: the job stops, its
# memory waits for the operation (nothing freed under it: the sanitizer
# build reports nothing), byocad exits once the read is answered, and
# the certificate is issued once after the restart.
drain_phase() {
  local t id pid
  case " ${PGLOCK_PHASES:-1 2 3 4 5 6 7} " in *" 6 "*) ;; *) return 0 ;; esac
  env_tenant lock6 >/dev/null || fail "tenant lock6"
  t=$ENV_DIR/lock6.token
  nodes_lock eab_credentials "ACCESS EXCLUSIVE"
  api_expect 201 POST /v1/certificates '{"identifiers":["c6.pglock.test"]}' "$t"
  id=$(json_get "$API_BODY" 'd["id"]')
  wait_for 60 waits_on job || fail "drain: the account's read does not wait"
  pid=$(env_pid node1)
  kill -TERM "$pid"
  sleep 1
  env__alive "$pid" || fail "drain: byocad exited with its read still waiting"
  nodes_unlock
  node__reap 1 40
  [ "$NODE_RC" = 0 ] || fail "drain: byocad exited with '$NODE_RC'"
  node_start 1 "${CONF[@]}" || fail "restart"
  wait_cert_state "$t" "$id" issued 60 >/dev/null ||
    fail "drain: not issued after the restart: $(tail -n 20 "$(node_log 1)")"
  [ "$(count_events "$t" certificate.issued "$id")" = 1 ] ||
    fail "drain: not issued once"
  [ "$(count_events "$t" ca.tos_agreed)" = 1 ] ||
    fail "drain: ca.tos_agreed not recorded once"
  echo "drain: stopped while its account's read waited; issued once after"
}
drain_phase
grep -q "registered account .* at " "$(node_log 1)" ||
  fail "the account's continuation did not run"
node_stop 1
nodes_logs_clean || fail "sanitizer report"
pass "choosing a CA, the account and the tls-alpn-01 check waited for locked tables on the job lane; /healthz answered meanwhile; each certificate issued once after"
