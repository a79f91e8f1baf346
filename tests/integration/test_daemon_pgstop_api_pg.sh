#!/usr/bin/env bash
# The API's changing requests do not stall byocad's event loop on a
# PostgreSQL that does not answer (issue 9): adding, importing and
# deleting a certificate, deleting a tenant and putting an RFC 2136 zone
# run with their authentication on the API's store lane (connection
# "byocad:node1:api"), and what they ask of the manager (work started,
# a job stopped, files deployed) on the loop afterwards.
#
# byocad's server processes are stopped (SIGSTOP) while those requests
# are sent: /healthz must still be answered and the requests must wait.
# Once the processes go on they are answered (201, 202, 204) and do
# what they say: the added certificate is issued, the deleted one and
# the deleted tenant are gone, the import is stored (issued) and
# deployed, the zone is listed.
# With these requests read and written on the loop's own connection,
# /healthz would not be answered while they wait.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
source "$BYOCA_SRC/tests/env/nodes.sh"
env_init daemon_pgstop_api_pg
env_gen_tls
env_start_challtestsrv
env_start_pebble
nodes_init
NODE_HTTP_1=$PORT_HTTP01
node_start 1 "tick_ms = 200" "deploy_dir = $ENV_DIR/deploy"
node_use 1
[ "$(node_backends 1 | wc -l)" = 4 ] || fail "byocad's connections are not named"

env_tenant stop >/dev/null
T=$ENV_DIR/stop.token
GONE=$(env_tenant gone) || fail "tenant gone"
env_tenant zones >/dev/null # its zone would make dns-01 a choice for stop
Z=$ENV_DIR/zones.token
# a certificate to delete, and what to import (its chain and key)
api_expect 201 POST /v1/certificates '{"identifiers":["del.pgstop.test"]}' "$T"
DEL=$(json_get "$API_BODY" 'd["id"]')
wait_cert_state "$T" "$DEL" issued 60 >/dev/null || fail "not issued"
api_expect 200 GET "/v1/certificates/$DEL/chain?include_key=1" "" "$T"
printf '%s\n' "$API_BODY" >"$ENV_DIR/export.pem"
pem_split "$ENV_DIR/export.pem" "$ENV_DIR/export"
"$BYOCA_PY" -c 'import json, sys
print(json.dumps({"certificate": open(sys.argv[1]).read(),
                  "private_key": open(sys.argv[2]).read()}))' \
  "$ENV_DIR/export.full" "$ENV_DIR/export.key" >"$ENV_DIR/import.json" ||
  fail "cannot build the import"

env__auth_header "$T" && env__auth_header "$Z" &&
  env__auth_header "$BYOCAD_OPERATOR" ||
  fail "cannot write the Authorization headers"
# ask NAME METHOD PATH TOKEN_FILE [BODY_FILE]: in the background; the
# status goes to $ENV_DIR/NAME.code, the body to NAME.body
PIDS=()
ask() {
  local args=(--max-time 60 -o "$ENV_DIR/$1.body" -w '%{http_code}'
    --unix-socket "$BYOCAD_SOCK" -X "$2" -H "@$4.hdr")
  [ -z "${5:-}" ] ||
    args+=(-H "Content-Type: application/json" --data-binary "@$5")
  "${ENV_CURL[@]}" "${args[@]}" "http://localhost$3" >"$ENV_DIR/$1.code" \
    2>/dev/null &
  PIDS+=($!)
}
answered() { # NAME: its status
  cat "$ENV_DIR/$1.code"
}
printf '%s' '{"identifiers":["add.pgstop.test"]}' >"$ENV_DIR/add.json"
printf '%s' '{"server":"127.0.0.1","port":53,"key_name":"k.","secret":"c2VjcmV0LXNlY3JldC1zZWNyZXQ="}' \
  >"$ENV_DIR/zone.json"

# PostgreSQL stops answering byocad
node_pg_stop 1 || fail "cannot stop byocad's server processes"
[ ${#NODE_PG_STOPPED[@]} -eq 4 ] ||
  fail "byocad's server processes: ${NODE_PG_STOPPED[*]}"
ask add POST /v1/certificates "$T" "$ENV_DIR/add.json"
ask del DELETE "/v1/certificates/$DEL" "$T"
ask import POST /v1/certificates/import "$T" "$ENV_DIR/import.json"
ask zone PUT /v1/rfc2136/zone.pgstop.test "$Z" "$ENV_DIR/zone.json"
ask tenant DELETE "/v1/tenants/$GONE" "$BYOCAD_OPERATOR"
sleep 1 # asked before /healthz
code=$("${ENV_CURL[@]}" --max-time 10 -o /dev/null -w '%{http_code}' \
  --unix-socket "$BYOCAD_SOCK" http://localhost/healthz) || code="no answer"
waiting=0
for p in "${PIDS[@]}"; do kill -0 "$p" 2>/dev/null && waiting=$((waiting + 1)); done
state=$(ps -o state= -p "${NODE_PG_STOPPED[0]}" | tr -d ' ')
node_pg_resume
[ "$state" = T ] || fail "byocad's server process was not stopped: '$state'"
[ "$code" = 200 ] || fail "/healthz while PostgreSQL was stopped: $code"
[ "$waiting" = 5 ] || fail "only $waiting of 5 requests waited for the store"

# answered once the store is back
for p in "${PIDS[@]}"; do wait "$p" || fail "a request got no answer (curl $?)"; done
[ "$(answered add)" = 201 ] || fail "POST: $(answered add) $(cat "$ENV_DIR/add.body")"
[ "$(answered del)" = 202 ] || fail "DELETE: $(answered del) $(cat "$ENV_DIR/del.body")"
[ "$(answered import)" = 201 ] ||
  fail "import: $(answered import) $(cat "$ENV_DIR/import.body")"
[ "$(answered zone)" = 204 ] || fail "PUT zone: $(answered zone) $(cat "$ENV_DIR/zone.body")"
[ "$(answered tenant)" = 202 ] ||
  fail "DELETE tenant: $(answered tenant) $(cat "$ENV_DIR/tenant.body")"

# and did what they say
ADD=$(json_get "$(cat "$ENV_DIR/add.body")" 'd["id"]')
IMP=$(json_get "$(cat "$ENV_DIR/import.body")" 'd["id"]')
wait_cert_state "$T" "$ADD" issued 60 >/dev/null || fail "the added certificate was not issued"
wait_for 30 cert_gone "$DEL" || fail "the deleted certificate is still there"
api_has_event "$T" certificate.deleted "$DEL" >/dev/null ||
  fail "no certificate.deleted event"
api_expect 200 GET "/v1/certificates/$IMP" "" "$T"
[ "$(json_get "$API_BODY" 'd["state"]')" = issued ] || fail "import: $API_BODY"
[ -s "$ENV_DIR/deploy/$(json_get "$API_BODY" 'd["tenant"]')/live/$IMP/privkey.pem" ] ||
  fail "the import was not deployed"
api_expect 200 GET /v1/rfc2136 "" "$Z"
json_check "$API_BODY" 'assert d["items"][0]["zone"] == "zone.pgstop.test"' ||
  fail "the zone is not listed: $API_BODY"
tenant_gone() {
  api GET "/v1/tenants/$GONE" "" "$BYOCAD_OPERATOR" >/dev/null
  [ "$API_STATUS" = 404 ]
}
wait_for 30 tenant_gone || fail "the deleted tenant is still there: $API_BODY"
node_stop 1
nodes_logs_clean || fail "sanitizer report"
pass "/healthz answered while byocad's PostgreSQL processes were stopped and a POST, DELETE and import of certificates, a zone PUT and a tenant DELETE waited; those answered after and took effect"
