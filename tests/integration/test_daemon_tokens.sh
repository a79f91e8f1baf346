#!/usr/bin/env bash
# byocad's tokens and state conflicts, without a CA:
#  - operator tokens: GET /v1/tokens lists the active ones (id, label,
#    created, tenant null; never the token nor its hash), POST /v1/tokens
#    mints another, DELETE /v1/tokens/{id} revokes one (401 from then on),
#    a tenant's token id is no operator token (404), the last operator
#    token cannot be revoked (409); token.created/token.revoked events with
#    scope "operator"; a tenant token gets 403 on all of it;
#  - a tenant's tokens: GET /v1/tenants/{id}/tokens, the revoked one gone;
#  - the same through `byoca daemon token list|create|revoke`;
#  - 409 from the error code, not from message text: a taken tenant name;
#  - http-01 tokens: an expired one is never served (404) while a live one
#    is, and the scheduler purges the expired row from the store.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init daemon_tokens
env_gen_tls
env_start_challtestsrv
# nothing to issue here: a default CA nobody listens on
export BYOCAD_DEFAULT_CA=https://127.0.0.1:9/dir
W=$ENV_DIR/work
mkdir -p "$W"
env_start_byocad
OP=$BYOCAD_OPERATOR
TOKEN_RE='^byoca_[A-Za-z0-9_-]{43}$'
# no_secret JSON TOKEN_FILE...: the JSON holds none of the tokens, and no
# "token"/"hash" member
no_secret() {
  local j=$1 f
  shift
  for f in "$@"; do
    case "$j" in *"$(<"$f")"*) fail "a token was listed: $j" ;; esac
  done
  json_check "$j" "
for t in d['items']:
    assert set(t) == {'id', 'tenant', 'label', 'created'}, t"
}

# --- operator tokens: list, mint, revoke
api_expect 200 GET /v1/tokens "" "$OP"
no_secret "$API_BODY" "$OP"
json_check "$API_BODY" "assert len(d['items']) == 1 and d['items'][0]['tenant'] is None, d
assert d['items'][0]['created'].endswith('Z') and d['next_after'] is None, d" ||
  fail "GET /v1/tokens: $API_BODY"
OP1_ID=$(json_get "$API_BODY" 'd["items"][0]["id"]')
api_expect 409 DELETE "/v1/tokens/$OP1_ID" "" "$OP"
json_check "$API_BODY" "assert d['type'] == 'urn:byoca:error:conflict' and 'last operator token' in d['detail'], d"
api_expect 200 GET /healthz
api_expect 201 POST /v1/tokens '{"label": "rotated"}' "$OP"
json_check "$API_BODY" "assert d['tenant'] is None, d"
OP2=$W/op2.token
json_get "$API_BODY" 'd["token"]' >"$OP2"
grep -Eq "$TOKEN_RE" "$OP2" || fail "minted operator token: $API_BODY"
OP2_ID=$(json_get "$API_BODY" 'd["id"]')
api_expect 200 GET /v1/tokens "" "$OP2"
no_secret "$API_BODY" "$OP" "$OP2"
json_check "$API_BODY" "assert [(t['id'], t['label']) for t in d['items']] == [($OP1_ID, d['items'][0]['label']), ($OP2_ID, 'rotated')], d" ||
  fail "two operator tokens: $API_BODY"
# a tenant and its tokens: not operator tokens
TID=$(env_tenant tok-a)
TA=$ENV_DIR/tok-a.token
api_expect 201 POST "/v1/tenants/$TID/tokens" '{"label": "panel"}' "$OP"
TA2=$W/ta2.token
json_get "$API_BODY" 'd["token"]' >"$TA2"
TA2_ID=$(json_get "$API_BODY" 'd["id"]')
json_check "$API_BODY" "assert d['tenant'] == $TID, d"
api_expect 404 DELETE "/v1/tokens/$TA2_ID" "" "$OP"
api_expect 200 GET /v1/certificates "" "$TA2" # still valid
for call in "GET /v1/tokens" "POST /v1/tokens" "DELETE /v1/tokens/$OP1_ID" \
  "GET /v1/tenants/$TID/tokens"; do
  # shellcheck disable=SC2086
  api_expect 403 $call "" "$TA"
done
api_expect 200 GET /v1/tokens "" "$OP"
json_check "$API_BODY" "assert len(d['items']) == 2, d" || fail "a tenant token call changed the operator's: $API_BODY"
# revoke the original: it stops working at once, the new one works
api_expect 204 DELETE "/v1/tokens/$OP1_ID" "" "$OP2"
api_expect 401 GET /v1/tokens "" "$OP"
api_expect 200 GET /v1/tokens "" "$OP2"
json_check "$API_BODY" "assert [t['id'] for t in d['items']] == [$OP2_ID], d"
api_expect 404 DELETE "/v1/tokens/$OP1_ID" "" "$OP2"
api_expect 409 DELETE "/v1/tokens/$OP2_ID" "" "$OP2"
api_expect 200 GET /v1/tokens "" "$OP2"
EV=$(api_events "$OP2")
json_check "$EV" "
c = [e for e in d if e['type'] == 'token.created' and e['detail'].get('scope') == 'operator']
r = [e for e in d if e['type'] == 'token.revoked' and e['detail'].get('scope') == 'operator']
assert [e['detail']['token_id'] for e in c] == [$OP2_ID], c
assert [e['detail']['token_id'] for e in r] == [$OP1_ID], r
assert all(e['tenant'] is None for e in c + r), c + r
assert [e for e in d if e['type'] == 'token.created' and e['detail'].get('scope') == 'tenant'
        and e['detail']['token_id'] == $TA2_ID and e['tenant'] == $TID], d
" || fail "token events"
grep -q "$(cut -c7-20 "$OP2")" "$BYOCAD_LOG" && fail "an operator token in the log"
pass "operator tokens: listed without secrets, minted, revoked (401 after), last one kept (409), audited"

# --- a tenant's tokens
api_expect 200 GET "/v1/tenants/$TID/tokens" "" "$OP2"
no_secret "$API_BODY" "$TA" "$TA2"
json_check "$API_BODY" "assert [(t['label'], t['tenant']) for t in d['items']] == [('initial', $TID), ('panel', $TID)], d"
api_expect 204 DELETE "/v1/tenants/$TID/tokens/$TA2_ID" "" "$OP2"
api_expect 200 GET "/v1/tenants/$TID/tokens" "" "$OP2"
json_check "$API_BODY" "assert [t['label'] for t in d['items']] == ['initial'], d"
api_expect 404 GET "/v1/tenants/999999/tokens" "" "$OP2"
pass "a tenant's tokens listed; a revoked one gone from the list"

# --- the CLI
export BYOCAD_SOCKET=unix:$BYOCAD_SOCK
export BYOCA_TOKEN_FILE=$OP2
expect_rc 0 "$BYOCA" daemon token list
expect_in "$OUT" "rotated" "token list"
case "$OUT" in *"$(<"$OP2")"*) fail "token list printed the token" ;; esac
expect_rc 0 "$BYOCA" daemon token create --label cli
printf '%s\n' "$OUT" >"$W/op3.token"
grep -Eq "$TOKEN_RE" "$W/op3.token" || fail "token create printed: $OUT"
OP3_ID=$(sed -n 's/^created token \([0-9]*\);.*/\1/p' <<<"$ERR")
[ -n "$OP3_ID" ] || fail "no token id on stderr: $ERR"
expect_rc 0 "$BYOCA" daemon --json token list
json_check "$OUT" "assert [t['label'] for t in d['items']] == ['rotated', 'cli'], d"
expect_rc 0 "$BYOCA" daemon token list "$TID"
expect_in "$OUT" "initial" "token list TENANT"
expect_rc 0 "$BYOCA" daemon token revoke "$OP3_ID"
expect_in "$OUT" "revoked operator token $OP3_ID" "token revoke"
api_expect 401 GET /v1/tokens "" "$W/op3.token"
expect_rc 1 "$BYOCA" daemon token revoke "$OP2_ID"
expect_in "$ERR" "last operator token" "revoking the last token"
expect_rc 2 "$BYOCA" daemon token revoke 1 2 3
pass "byoca daemon token list/create/revoke, for the operator and a tenant"

# --- 409 from the error code
api_expect 409 POST /v1/tenants '{"name": "tok-a"}' "$OP2"
json_check "$API_BODY" "assert d['type'] == 'urn:byoca:error:conflict' and 'tok-a' in d['detail'], d"
pass "a taken tenant name: 409 conflict"

# --- http-01 tokens: expired never served, purged
NOW=$(date +%s)
store_exec "INSERT INTO challenge_tokens (token, key_authz, cert_id, expires) VALUES ('expiredtok', 'expiredtok.x', 0, $((NOW - 5)))"
store_exec "INSERT INTO challenge_tokens (token, key_authz, cert_id, expires) VALUES ('livetok', 'livetok.x', 0, $((NOW + 3600)))"
http01() {
  curl --noproxy '*' -s -o "$W/http01.body" -w '%{http_code}' \
    "http://127.0.0.1:$PORT_HTTP01/.well-known/acme-challenge/$1"
}
[ "$(http01 livetok)" = 200 ] && [ "$(cat "$W/http01.body")" = livetok.x ] || fail "the live token is not served"
[ "$(http01 expiredtok)" = 404 ] || fail "an expired token was served"
[ "$(store_query "SELECT count(*) FROM challenge_tokens WHERE token = 'expiredtok'")" = 1 ] ||
  fail "the planted row is missing"
env_stop_byocad
env_start_byocad # the scheduler's first sweep purges
purged() { [ "$(store_query "SELECT count(*) FROM challenge_tokens WHERE token = 'expiredtok'")" = 0 ]; }
for _ in $(seq 50); do purged && break; sleep 0.2; done
purged || fail "the expired challenge token is still in the store"
[ "$(store_query "SELECT count(*) FROM challenge_tokens WHERE token = 'livetok'")" = 1 ] ||
  fail "the purge removed a live token"
grep -q "purged 1 expired challenge tokens" "$BYOCAD_LOG" || fail "the purge is not logged"
pass "http-01: an expired token 404 and purged from the store, a live one served and kept"

env_stop_byocad
byocad_log_clean || fail "sanitizer report"
pass "byocad tokens"
