#!/usr/bin/env bash
# byocad migrate-store: a daemon's SQLite store (a tenant, a certificate
# issued by Pebble, its sealed key, the account) copied into PostgreSQL;
# byocad then runs on PostgreSQL with the same tokens, serves the same key,
# renews through the copied account; no plaintext key on the way. Refused:
# a password in a URL on the command line, a missing source, a destination
# that is not empty. Exit 77 when PostgreSQL is not installed (under CI
# that fails instead).
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
source "$BYOCA_SRC/tests/env/pg.sh"
env_pg_available || env_pg_missing
env_init store_migrate
env_gen_tls
env_start_challtestsrv
# shellcheck disable=SC2119
env_start_pebble
W=$ENV_DIR/work
mkdir -p "$W"
serial_of() { json_get "$1" 'd["serial"]'; }

# --- on SQLite: a tenant and an issued certificate
env_start_byocad
TID=$(env_tenant mover)
T=$ENV_DIR/mover.token
api_expect 201 POST /v1/certificates \
  "{\"identifiers\":[\"move.byoca.test\"],\"ca\":\"$ENV_DIRECTORY\",\"key_type\":\"ec-p256\"}" "$T"
ID=$(json_get "$API_BODY" 'd["id"]')
CERT=$(wait_cert_state "$T" "$ID" issued 60) || fail "not issued on SQLite"
SERIAL1=$(serial_of "$CERT")
api_expect 200 GET "/v1/certificates/$ID/chain?include_key=1" "" "$T"
printf '%s\n' "$API_BODY" >"$W/before.pem"
pem_split "$W/before.pem" "$W/b"
[ -s "$W/b.key" ] || fail "no key exported on SQLite"
env_stop_byocad
pass "SQLite store with an issued certificate"

# --- refusals
env_start_postgres
URL=$(env_pg_createdb byocad)
expect_rc 1 "$BYOCAD" migrate-store -c "$BYOCAD_CONF" "$BYOCAD_DB" \
  "postgresql://byoca:hunter2@/byocad?host=$PG_HOST&port=$PORT_PG"
expect_in "$ERR" "password" "password in the URL"
case "$ERR" in *hunter2*) fail "the password was echoed: $ERR" ;; esac
expect_rc 1 "$BYOCAD" migrate-store -c "$BYOCAD_CONF" "$ENV_DIR/nothing.db" "$URL"
expect_in "$ERR" "no store at" "missing source"
expect_rc 2 "$BYOCAD" migrate-store -c "$BYOCAD_CONF" "$BYOCAD_DB"
pass "refused: password on the command line (not echoed), missing source, one argument"

# --- the copy, once
expect_rc 0 "$BYOCAD" migrate-store -c "$BYOCAD_CONF" "$BYOCAD_DB" "$URL"
expect_in "$OUT" "1 tenants, 1 certificates" "summary"
case "$OUT$ERR" in *"host=$PG_HOST"*"&"*) fail "URL printed raw: $OUT $ERR" ;; esac
expect_rc 1 "$BYOCAD" migrate-store -c "$BYOCAD_CONF" "$BYOCAD_DB" "$URL"
expect_in "$ERR" "not empty" "second copy"
pass "migrate-store copied 1 tenant and 1 certificate; a second copy is refused"

# --- byocad on PostgreSQL: same token, same certificate and key
export BYOCAD_STORE=pg BYOCAD_STORE_URL=$URL
mv "$BYOCAD_DB" "$BYOCAD_DB.old" # nothing may still read the old store
env_start_byocad
grep -q "store postgresql://byoca@" "$BYOCAD_LOG" || fail "byocad does not run on PostgreSQL"
api_expect 200 GET "/v1/certificates/$ID" "" "$T"
json_check "$API_BODY" "assert d['state'] == 'issued' and d['tenant'] == $TID, d"
[ "$(serial_of "$API_BODY")" = "$SERIAL1" ] || fail "serial changed: $API_BODY"
api_expect 200 GET "/v1/certificates/$ID/chain?include_key=1" "" "$T"
printf '%s\n' "$API_BODY" >"$W/after.pem"
pem_split "$W/after.pem" "$W/a"
cmp -s "$W/b.key" "$W/a.key" || fail "the key read from PostgreSQL differs"
pass "on PostgreSQL: the tenant's token works, same serial, same key"

# --- renewal through the copied account, state in PostgreSQL
api_expect 202 POST "/v1/certificates/$ID/renew" "" "$T"
SERIAL2=$SERIAL1
for _ in $(seq 1 300); do
  api_expect 200 GET "/v1/certificates/$ID" "" "$T"
  s=$(serial_of "$API_BODY")
  if [ "$s" != null ] && [ "$s" != "$SERIAL1" ] &&
    [ "$(json_get "$API_BODY" 'd["state"]')" = issued ]; then
    SERIAL2=$s
    break
  fi
  sleep 0.2
done
[ "$SERIAL2" != "$SERIAL1" ] || fail "no renewal on PostgreSQL: $API_BODY"
api_expect 200 GET /v1/cas "" "$BYOCAD_OPERATOR"
api_expect 200 GET "/v1/certificates/$ID/chain?include_key=1" "" "$T"
printf '%s\n' "$API_BODY" >"$W/renewed.pem"
pem_split "$W/renewed.pem" "$W/r"
env_stop_byocad
store_snapshot
for k in b r; do
  key_absent_from "$W/$k.key" "$W/$k.full" "${STORE_FILES[@]}" ||
    fail "plaintext of key $k in PostgreSQL"
done
byocad_log_clean || fail "sanitizer report"
pass "renewed on PostgreSQL; no plaintext key in its rows or files"
