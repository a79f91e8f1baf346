#!/usr/bin/env bash
# A tenant's own RFC 2136 server (PUT /v1/rfc2136/{zone}), with no
# [rfc2136] section in byocad.conf at all: a wildcard certificate of the
# tenant's is issued through BIND 9 (Pebble validating through that BIND)
# with the tenant's key; GET never shows the secret and it never reaches
# byocad's log; another tenant neither sees the entry nor gets its names
# validated through it; a wrong secret fails the lineage with a clear
# error and leaves the zone clean; "*" (any zone, found by SOA) works too.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/bind_update.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
command -v named >/dev/null 2>&1 || {
  echo "skip: named (bind9) is not installed"
  exit 77
}
env_init daemon_rfc2136_tenant
env_gen_tls
env_start_bind_update hmac-sha512
env_start_pebble_bind
W=$ENV_DIR/work
mkdir -p "$W"
SECRET=$(cat "$ENV_BIND_SECRET_FILE")
WRONG=$(cat "$ENV_BIND_WRONG_FILE")

# entry SECRET [ALG]: the PUT body for BIND's key
entry() {
  printf '{"server":"127.0.0.1","port":%s,"key_name":"%s","algorithm":"%s","secret":"%s"}' \
    "$PORT_BIND" "$ENV_BIND_TSIG_NAME" "${2:-hmac-sha512}" "$1"
}

env_start_byocad "resolver = 127.0.0.1@$PORT_BIND"
grep -q '^\[rfc2136' "$BYOCAD_CONF" && fail "the config has an [rfc2136] section"
TA_ID=$(env_tenant ta)
env_tenant tb >/dev/null
TA=$ENV_DIR/ta.token
TB=$ENV_DIR/tb.token

# ---- bad entries are refused, naming the field, never the secret
api_expect 400 PUT /v1/rfc2136/bind.test \
  "{\"server\":\"ns.bind.test\",\"key_name\":\"k.\",\"secret\":\"$SECRET\"}" "$TA"
expect_in "$API_BODY" "server: 'ns.bind.test' is not an IPv4 or IPv6 address"
api_expect 400 PUT /v1/rfc2136/bind.test "$(entry "$SECRET" hmac-md5)" "$TA"
expect_in "$API_BODY" "algorithm: 'hmac-md5' is not hmac-sha256 or hmac-sha512"
api_expect 400 PUT /v1/rfc2136/bind.test \
  "{\"server\":\"127.0.0.1\",\"port\":70000,\"key_name\":\"k.\",\"secret\":\"$SECRET\"}" "$TA"
expect_in "$API_BODY" "port: 70000 is not 1-65535"
api_expect 400 PUT /v1/rfc2136/bind.test "$(entry 'not base64!secret!')" "$TA"
expect_in "$API_BODY" "not a base64 TSIG secret"
case "$API_BODY" in *'not base64!secret!'*) fail "the secret is quoted: $API_BODY" ;; esac
api_expect 400 PUT /v1/rfc2136/bad..zone "$(entry "$SECRET")" "$TA"
expect_in "$API_BODY" "zone: expected a DNS zone name"
pass "bad RFC 2136 entries are refused naming the field"

# ---- the tenant's entry; GET shows no secret; the other tenant sees none
api_expect 204 PUT /v1/rfc2136/Bind.Test. "$(entry "$SECRET")" "$TA"
api_expect 200 GET /v1/rfc2136 "" "$TA"
[ "$(json_get "$API_BODY" 'len(d["items"])')" = 1 ] || fail "GET: $API_BODY"
json_check "$API_BODY" 'i = d["items"][0]
assert i["zone"] == "bind.test", i
assert i["server"] == "127.0.0.1" and i["key_name"] == "byoca-bind."
assert i["algorithm"] == "hmac-sha512" and "secret" not in i, i' ||
  fail "GET /v1/rfc2136: $API_BODY"
case "$API_BODY" in *"$SECRET"*) fail "GET shows the secret" ;; esac
api_expect 200 GET "/v1/rfc2136?tenant=$TA_ID" "" "$BYOCAD_OPERATOR"
json_check "$API_BODY" 'assert d["items"][0]["zone"] == "bind.test"' ||
  fail "operator GET: $API_BODY"
api_expect 200 GET /v1/rfc2136 "" "$TB"
[ "$(json_get "$API_BODY" 'len(d["items"])')" = 0 ] ||
  fail "tenant tb sees another tenant's entry: $API_BODY"
api_expect 404 DELETE /v1/rfc2136/bind.test "" "$TB"
api_expect 403 GET "/v1/rfc2136?tenant=$TA_ID" "" "$TB"
pass "GET shows the entry without its secret, to its tenant only"

# ---- a wildcard through the tenant's entry
ID=$(api_cert_add "$TA" '*.bind.test')
wait_cert_state "$TA" "$ID" issued 90 >/dev/null || {
  api GET "/v1/certificates/$ID" "" "$TA" >/dev/null
  fail "*.bind.test not issued: $API_BODY"
}
sans=$(api GET "/v1/certificates/$ID/chain" "" "$TA" | openssl x509 -noout -ext subjectAltName |
  tail -n +2 | tr -d ' ')
[ "$sans" = "DNS:*.bind.test" ] || fail "wildcard SANs: $sans"
grep -q "adding an RR at '_acme-challenge.bind.test' TXT" "$ENV_DIR/bind-upd.log" ||
  fail "BIND did not get the record"
bind_clean "after *.bind.test"
pass "wildcard certificate through the tenant's RFC 2136 entry (BIND, hmac-sha512)"

# ---- the other tenant's names are not validated through it
IDB=$(api_cert_add "$TB" '*.b.bind.test')
api_cert_outcome "$TB" "$IDB" "no configured solver"
api_cert_forget "$TB" "$IDB"
grep -q "b.bind.test" "$ENV_DIR/bind-upd.log" && fail "tenant tb's name reached BIND"
pass "another tenant cannot use the entry"

# ---- a wrong secret: a clear error on the lineage, the zone left clean
api_expect 204 PUT /v1/rfc2136/bind.test "$(entry "$WRONG")" "$TA"
ID2=$(api_cert_add "$TA" '*.w.bind.test')
api_cert_outcome "$TA" "$ID2" "BADSIG"
api GET "/v1/certificates/$ID2" "" "$TA" >/dev/null
expect_in "$API_BODY" "127.0.0.1:$PORT_BIND"
api_cert_forget "$TA" "$ID2"
bind_clean "after the wrong secret"
pass "a wrong secret fails the lineage naming the server and TSIG error"

# ---- "*": any name, its zone found by SOA at the server
#      (set and listed through byoca daemon)
export BYOCAD_SOCKET=unix:$BYOCAD_SOCK
expect_rc 0 env BYOCA_TOKEN_FILE="$TA" "$BYOCA" daemon rfc2136 delete bind.test
expect_rc 1 env BYOCA_TOKEN_FILE="$TA" "$BYOCA" daemon rfc2136 delete bind.test
expect_in "$ERR" "no RFC 2136 server for zone bind.test" "delete twice"
expect_rc 0 env BYOCA_TOKEN_FILE="$TA" "$BYOCA" daemon rfc2136 set '*' \
  --server 127.0.0.1 --port "$PORT_BIND" --tsig-key "$ENV_BIND_TSIG_NAME" \
  --tsig-alg hmac-sha512 --secret-file "$ENV_BIND_SECRET_FILE"
expect_rc 0 env BYOCA_TOKEN_FILE="$TA" "$BYOCA" daemon rfc2136 list
expect_in "$OUT" "byoca-bind." "rfc2136 list"
case "$OUT" in *"$SECRET"*) fail "rfc2136 list shows the secret" ;; esac
expect_rc 2 env BYOCA_TOKEN_FILE="$TA" "$BYOCA" daemon rfc2136 set '*' \
  --server 127.0.0.1 --port 0 --tsig-key k. --secret-file "$ENV_BIND_SECRET_FILE"
api_expect 200 GET /v1/rfc2136 "" "$TA"
json_check "$API_BODY" 'assert [i["zone"] for i in d["items"]] == ["*"]' ||
  fail "GET after set *: $API_BODY"
ID3=$(api_cert_add "$TA" '*.any.bind.test')
wait_cert_state "$TA" "$ID3" issued 90 >/dev/null || {
  api GET "/v1/certificates/$ID3" "" "$TA" >/dev/null
  fail "*.any.bind.test not issued: $API_BODY"
}
bind_clean "after *.any.bind.test"
ev=$(api_events "$TA") || fail "cannot read the events"
expect_in "$ev" '"rfc2136.set"' "events"
expect_in "$ev" '"rfc2136.deleted"' "events"
case "$ev" in *"$SECRET"* | *"$WRONG"*) fail "an event holds the secret" ;; esac
pass "a zone-less (*) entry finds the zone by SOA"

env_stop_byocad
byocad_log_clean
grep -qF "$SECRET" "$BYOCAD_LOG" && fail "the TSIG secret is in byocad's log"
grep -qF "$WRONG" "$BYOCAD_LOG" && fail "the wrong TSIG secret is in byocad's log"
pass "no secret in byocad's log"
