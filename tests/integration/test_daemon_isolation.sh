#!/usr/bin/env bash
# byocad tenant isolation and scopes: tenant B sees nothing of tenant A
# (404 exactly like a missing object), tenant tokens are refused on
# operator endpoints (403), missing/bad tokens 401, the operator needs
# ?tenant=, key export is opt-in and audited, EAB MAC keys are write-only
# and never stored or logged in clear, revoked tokens stop working.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init daemon_isolation
env_gen_tls
env_start_challtestsrv
env_start_pebble
env_start_byocad
OP=$BYOCAD_OPERATOR
W=$ENV_DIR/work
mkdir -p "$W"

# not_leaking TEXT WHAT: TEXT holds none of A's identifiers
not_leaking() {
  local s
  for s in "$A_NAME" "$A_SERIAL" "tenant-a" "BEGIN"; do
    [ -n "$s" ] || continue
    case "$1" in *"$s"*) fail "$2: answer reveals '$s': $1" ;; esac
  done
}
# expect_problem STATUS NAME: the last answer is that problem document
expect_problem() {
  case "$API_CTYPE" in application/problem+json*) ;; *)
    fail "HTTP $API_STATUS: Content-Type '$API_CTYPE', want application/problem+json" ;;
  esac
  json_check "$API_BODY" "assert d['type'] == 'urn:byoca:error:$2', d
assert d['status'] == $1, d" || fail "problem document: $API_BODY"
}

AID=$(env_tenant tenant-a)
BID=$(env_tenant tenant-b)
TA=$ENV_DIR/tenant-a.token
TB=$ENV_DIR/tenant-b.token
[ "$AID" != "$BID" ] || fail "same tenant id"
for f in "$TA" "$TB"; do [ "$(stat -c %a "$f")" = 600 ] || fail "$f mode"; done

# A: one issued certificate (CA given by directory URL); B: one of its own
A_NAME="a-secret.isolation.byoca.test"
api_expect 201 POST /v1/certificates \
  "{\"identifiers\":[\"$A_NAME\"],\"ca\":\"$ENV_DIRECTORY\"}" "$TA"
A_CERT=$(json_get "$API_BODY" 'd["id"]')
api_expect 201 POST /v1/certificates '{"identifiers":["b.isolation.byoca.test"]}' "$TB"
B_CERT=$(json_get "$API_BODY" 'd["id"]')
A_JSON=$(wait_cert_state "$TA" "$A_CERT" issued 40) || fail "A's certificate not issued"
A_SERIAL=$(json_get "$A_JSON" 'd["serial"]')
A_SERIAL=${A_SERIAL//:/}
json_check "$A_JSON" "assert d['tenant'] == $AID and d['directory'] == '$ENV_DIRECTORY', d"
pass "A's certificate $A_CERT issued, B's is $B_CERT"

# --- B's token on A's certificate: 404, exactly as a missing id
MISSING=$((A_CERT + B_CERT + 1000))
check_404_like_missing() {
  local method=$1 suffix=$2 a_body a_type
  api_expect 404 "$method" "/v1/certificates/$A_CERT$suffix" "" "$TB"
  expect_problem 404 notFound
  not_leaking "$API_BODY" "B $method $A_CERT$suffix"
  a_body=$(sed "s/\b$A_CERT\b/ID/g" <<<"$API_BODY")
  a_type=$API_CTYPE
  api_expect 404 "$method" "/v1/certificates/$MISSING$suffix" "" "$TB"
  if [ "$a_body" != "$(sed "s/\b$MISSING\b/ID/g" <<<"$API_BODY")" ] ||
    [ "$a_type" != "$API_CTYPE" ]; then
    fail "B $method $suffix: A's certificate answers '$a_body', a missing one '$API_BODY'"
  fi
}
check_404_like_missing GET ""
check_404_like_missing GET /chain
check_404_like_missing GET "/chain?include_key=1"
check_404_like_missing POST /renew
check_404_like_missing DELETE ""
check_404_like_missing DELETE "?revoke=0"
# nothing happened to A's certificate
api_expect 200 GET "/v1/certificates/$A_CERT" "" "$TA"
json_check "$API_BODY" "assert d['state'] == 'issued', d
assert d['next_check_source'] != 'forced', d
assert d['serial'].replace(':', '') == '$A_SERIAL', d" || fail "A's certificate changed: $API_BODY"
ev_a=$(api_events "$TA")
json_check "$ev_a" "bad = [e for e in d if e['type'] in ('key.exported', 'certificate.renew_forced', 'certificate.deleted', 'certificate.revoked')]
assert not bad, bad" || fail "B's requests left events on A's certificate"
pass "B gets 404 on A's certificate (GET, chain, chain+key, renew, DELETE), identical to a missing id"

# --- B's lists show nothing of A
api_expect 200 GET /v1/certificates "" "$TB"
not_leaking "$API_BODY" "B's certificate list"
json_check "$API_BODY" "assert [c['id'] for c in d['items']] == [$B_CERT], d
assert all(c['tenant'] == $BID for c in d['items']), d"
ev_b=$(api_events "$TB")
not_leaking "$ev_b" "B's events"
json_check "$ev_b" "assert d, 'B has no events at all'
for e in d:
    assert e['tenant'] == $BID, e
    assert e['certificate'] in (None, $B_CERT), e" || fail "B's events: $ev_b"
# a tenant token with ?tenant=A: ignored (B's own list) or refused, never A's
for p in "/v1/events?tenant=$AID" "/v1/certificates?tenant=$AID" \
  "/v1/certificates/$A_CERT?tenant=$AID" "/v1/certificates/$A_CERT/chain?tenant=$AID&include_key=1"; do
  api GET "$p" "" "$TB" >/dev/null
  case "$API_STATUS" in 200 | 400 | 403 | 404) ;; *) fail "B GET $p: HTTP $API_STATUS" ;; esac
  not_leaking "$API_BODY" "B GET $p"
done
pass "B's certificate and event lists hold nothing of A (even with ?tenant=A)"

# --- tenant tokens on operator endpoints: 403
for req in "POST /v1/tenants" "GET /v1/tenants" "GET /v1/tenants/$AID" \
  "GET /v1/tenants/$BID" "DELETE /v1/tenants/$AID" "POST /v1/tenants/$AID/tokens" \
  "POST /v1/tenants/$BID/tokens" "DELETE /v1/tenants/$AID/tokens/1" \
  "DELETE /v1/tenants/$BID/tokens/1" "GET /v1/cas" "GET /metrics"; do
  read -r m p <<<"$req"
  body=""
  case "$req" in "POST /v1/tenants") body='{"name":"evil"}' ;; POST*) body='{}' ;; esac
  api_expect 403 "$m" "$p" "$body" "$TB" || fail "tenant token on $req"
  expect_problem 403 forbidden
  not_leaking "$API_BODY" "$req"
done
api_expect 200 GET "/v1/tenants/$AID" "" "$OP"
json_check "$API_BODY" "assert d['state'] == 'active', d"
api_expect 200 GET /v1/tenants "" "$OP"
json_check "$API_BODY" "assert sorted(t['name'] for t in d['items']) == ['tenant-a', 'tenant-b'], d"
pass "tenant token on every operator endpoint: 403, nothing changed"

# --- no token, bad tokens: 401 with WWW-Authenticate: Bearer
printf 'byoca_%s\n' "$(openssl rand 32 | base64 -w0 | tr '+/' '-_' | tr -d '=')" >"$W/bad.token"
printf 'not-a-token\n' >"$W/junk.token"
chmod 600 "$W"/*.token
for tok in "" "$W/bad.token" "$W/junk.token"; do
  for req in "GET /v1/certificates" "GET /v1/certificates/$A_CERT" \
    "GET /v1/certificates/$A_CERT/chain?include_key=1" "GET /v1/events" \
    "GET /v1/tenants" "POST /v1/tenants" "GET /metrics" "GET /v1/eab"; do
    read -r m p <<<"$req"
    body=""
    [ "$m" != POST ] || body='{"name":"evil"}'
    api_expect 401 "$m" "$p" "$body" "$tok" || fail "${tok:-no token}: $req"
    expect_problem 401 unauthorized
    case "$(api_header WWW-Authenticate)" in Bearer*) ;; *)
      fail "$req: WWW-Authenticate '$(api_header WWW-Authenticate)'" ;;
    esac
    not_leaking "$API_BODY" "401 on $req"
  done
done
API_CURL_ARGS=(-H "Authorization: Basic dXNlcjpwYXNz")
api_expect 401 GET /v1/certificates
API_CURL_ARGS=()
pass "no token / unknown token / junk / Basic: 401 with WWW-Authenticate: Bearer"

# --- operator on tenant endpoints needs ?tenant=
api_expect 400 GET /v1/certificates "" "$OP"
expect_problem 400 badRequest
expect_in "$(json_get "$API_BODY" 'd["detail"]')" "tenant" "detail names tenant="
api_expect 400 POST /v1/certificates '{"identifiers":["op.isolation.byoca.test"]}' "$OP"
api_expect 400 GET "/v1/certificates/$A_CERT" "" "$OP"
api_expect 400 GET "/v1/certificates/$A_CERT/chain" "" "$OP"
api_expect 404 GET "/v1/certificates/$A_CERT?tenant=$BID" "" "$OP"
api_expect 200 GET "/v1/certificates?tenant=$AID" "" "$OP"
json_check "$API_BODY" "assert [c['id'] for c in d['items']] == [$A_CERT], d"
pass "operator: 400 without ?tenant=, A's certificate only under tenant=A"

# --- operator chain: no key unless include_key=1, which is audited
api_expect 200 GET "/v1/certificates/$A_CERT/chain?tenant=$AID" "" "$OP"
case "$API_BODY" in *"PRIVATE KEY"*) fail "operator chain without include_key has a key" ;; esac
expect_in "$API_BODY" "BEGIN CERTIFICATE" "operator chain"
ev_count=$(json_get "$(api_events "$TA")" "len([e for e in d if e['type'] == 'key.exported'])")
[ "$ev_count" = 0 ] || fail "key.exported recorded without a key export"
api_expect 200 GET "/v1/certificates/$A_CERT/chain?tenant=$AID&include_key=1" "" "$OP"
printf '%s\n' "$API_BODY" >"$W/a.pem"
pem_split "$W/a.pem" "$W/a"
[ -s "$W/a.key" ] || fail "operator include_key=1: no key"
[ "$(openssl pkey -in "$W/a.key" -pubout | sha256sum)" = \
  "$(openssl x509 -in "$W/a.leaf" -noout -pubkey | sha256sum)" ] || fail "operator export: key mismatch"
api_has_event "$TA" key.exported "$A_CERT" >/dev/null
api_expect 200 GET "/v1/events?tenant=$AID&limit=1000" "" "$OP"
json_check "$API_BODY" "assert any(e['type'] == 'key.exported' and e['certificate'] == $A_CERT for e in d['items']), d
assert all(e['tenant'] == $AID for e in d['items']), d"
ev_b2=$(api_events "$TB")
not_leaking "$ev_b2" "B's events after A's key export"
pass "operator: chain without key; include_key=1 gives the key and records key.exported"

# --- EAB: write-only, never in the API, the log or the database
HMAC=$(openssl rand 32 | base64 -w0 | tr '+/' '-_' | tr -d '=')
api_expect 204 PUT /v1/eab/ca1.byoca.test "{\"kid\":\"kid-of-a\",\"hmac_key\":\"$HMAC\"}" "$TA"
api_expect 200 GET /v1/eab "" "$TA"
json_check "$API_BODY" "assert d['items'] == [{'issuer': 'ca1.byoca.test', 'kid': 'kid-of-a'}], d"
case "$API_BODY" in *"$HMAC"*) fail "GET /v1/eab returns the MAC key" ;; esac
api_expect 200 GET /v1/eab "" "$TB"
json_check "$API_BODY" "assert d['items'] == [], d"
api_expect 200 GET "/v1/eab?tenant=$AID" "" "$OP"
json_check "$API_BODY" "assert [i['kid'] for i in d['items']] == ['kid-of-a'], d"
case "$API_BODY" in *"$HMAC"*) fail "operator GET /v1/eab returns the MAC key" ;; esac
api DELETE /v1/eab/ca1.byoca.test "" "$TB" >/dev/null
case "$API_STATUS" in 204 | 404) ;; *) fail "B DELETE /v1/eab/ca1.byoca.test: HTTP $API_STATUS" ;; esac
api_expect 200 GET /v1/eab "" "$TA"
json_check "$API_BODY" "assert len(d['items']) == 1, d"
ev_all=$(api_events "$OP")
case "$ev_all" in *"$HMAC"*) fail "the MAC key is in the events" ;; esac
hmac_hex=$(printf '%s' "$HMAC" | tr -- '-_' '+/' | sed 's/$/=/' | base64 -d | xxd -p | tr -d '\n')
hmac_in() {
  "$BYOCA_PY" - "$HMAC" "$hmac_hex" "$@" <<'PY'
import os, sys
b64, raw = sys.argv[1].encode(), bytes.fromhex(sys.argv[2])
hits = [f for f in sys.argv[3:] if os.path.exists(f)
        and (b64 in open(f, "rb").read() or raw in open(f, "rb").read())]
print(" ".join(hits))
sys.exit(0 if hits else 1)
PY
}
[ "${#hmac_hex}" = 64 ] || fail "test bug: MAC key decoding"
store_snapshot
if where=$(hmac_in "$BYOCAD_LOG" "${STORE_FILES[@]}"); then
  fail "the EAB MAC key (base64url or raw) is in: $where"
fi
pass "EAB: kid listed, MAC key in neither the API, the events, the log nor the database"

# --- token revocation
api_expect 201 POST "/v1/tenants/$BID/tokens" '{"label":"second"}' "$OP"
TB2_ID=$(json_get "$API_BODY" 'd["id"]')
json_check "$API_BODY" "assert d['tenant'] == $BID and d['token'].startswith('byoca_'), d"
(umask 077 && json_get "$API_BODY" 'd["token"]' >"$W/b2.token")
api_expect 201 POST "/v1/tenants/$AID/tokens" "" "$OP"
TA2_ID=$(json_get "$API_BODY" 'd["id"]')
(umask 077 && json_get "$API_BODY" 'd["token"]' >"$W/a2.token")
api_expect 200 GET /v1/certificates "" "$W/b2.token"
json_check "$API_BODY" "assert [c['id'] for c in d['items']] == [$B_CERT], d"
# A's token id under B's path: 404, and A's token keeps working
api_expect 404 DELETE "/v1/tenants/$BID/tokens/$TA2_ID" "" "$OP"
api_expect 200 GET /v1/certificates "" "$W/a2.token"
api_expect 204 DELETE "/v1/tenants/$BID/tokens/$TB2_ID" "" "$OP"
api_expect 401 GET /v1/certificates "" "$W/b2.token"
api_expect 401 GET "/v1/certificates/$B_CERT" "" "$W/b2.token"
api_expect 200 GET /v1/certificates "" "$TB"
api_expect 200 GET /v1/certificates "" "$W/a2.token"
api_has_event "$OP" token.revoked None >/dev/null
pass "revoked token: 401; other tokens unaffected; another tenant's token id: 404"

# --- the API is not served on http_listen
code=$(curl --noproxy '*' -sS -o /dev/null -w '%{http_code}' -H "@$TA.hdr" \
  "http://127.0.0.1:$PORT_HTTP01/v1/certificates")
[ "$code" = 404 ] || fail "GET /v1/certificates on http_listen: HTTP $code, want 404"
code=$(curl --noproxy '*' -sS -o /dev/null -w '%{http_code}' -H "@$OP.hdr" \
  "http://127.0.0.1:$PORT_HTTP01/v1/tenants")
[ "$code" = 404 ] || fail "GET /v1/tenants on http_listen: HTTP $code, want 404"
pass "http_listen does not serve the API"

env_stop_byocad
# positive control: the kid (not secret) is stored, so the file is readable
# as we search it
store_snapshot
grep -qF kid-of-a "${STORE_FILES[0]}" || fail "positive control: kid-of-a not found in ${STORE_FILES[0]}"
if where=$(hmac_in "$BYOCAD_LOG" "${STORE_FILES[@]}"); then
  fail "the EAB MAC key is in (after stop): $where"
fi
for tok in "$OP" "$TA" "$TB" "$W/a2.token" "$W/b2.token"; do
  if grep -qF -f "$tok" "$BYOCAD_LOG" "${STORE_FILES[@]}" 2>/dev/null; then
    fail "a bearer token appears in the log or the database"
  fi
done
byocad_log_clean || fail "sanitizer report"
pass "stopped cleanly; no MAC key or token in log or database"
