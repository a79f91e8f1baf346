#!/usr/bin/env bash
# byocad end to end over its REST API: init, run, a tenant, a certificate
# whose CAA record prefers ca2 of two discovered CAs (ca "auto"), issued by
# that CA with real http-01 validation on byocad's responder; chain, key
# export (audited), forced renewal, acme-keys, metrics; deletion revokes at
# that CA and destroys the key; no private key bytes in the database.
# With BYOCAD_STORE=pg (ctest's test_daemon_api_pg) the same on PostgreSQL.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/cas.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init daemon_api
env_gen_tls
env_start_challtestsrv
env_start_cas 2
W=$ENV_DIR/work
mkdir -p "$W"

# the CN of CA i's issuing intermediate, to tell who issued a certificate
ca_cn() {
  curl -sf --cacert "$ENV_CA_BUNDLE" "$(eval echo "\$ENV_CA_MGMT_$1")/intermediates/0" |
    openssl x509 -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p'
}
# ca_status I SERIAL: Pebble i's status JSON for SERIAL
ca_status() {
  ENV_MGMT=$(eval echo "\$ENV_CA_MGMT_$1") pebble_cert_status "$2"
}
leaf_serial() { openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f' | sed 's/^0*//'; }
norm_serial() { echo "$1" | tr -d ':' | tr 'A-F' 'a-f' | sed 's/^0*//'; }
# --- init and run
env_start_byocad
[ "$(stat -c %a "$BYOCAD_OPERATOR")" = 600 ] || fail "operator token file is not 0600"
grep -Eq '^byoca_[A-Za-z0-9_-]{43}$' "$BYOCAD_OPERATOR" || fail "operator token format"
api_expect 200 GET /healthz
json_check "$API_BODY" 'assert d == {"status": "ok"}, d'
pass "init, run, healthz"

# --- operator creates a tenant
TID=$(env_tenant hosting-1)
T=$ENV_DIR/hosting-1.token
grep -Eq '^byoca_[A-Za-z0-9_-]{43}$' "$T" || fail "tenant token format"
api_expect 200 GET "/v1/tenants/$TID" "" "$BYOCAD_OPERATOR"
json_check "$API_BODY" "assert d['id'] == $TID and d['name'] == 'hosting-1' and d['state'] == 'active', d
assert 'token' not in d, 'token shown again'"
pass "tenant created"

# --- a tenant's RFC 2136 zone for one domain leaves its other names to
# http-01 (dns-01 is preferred, but only for names a zone holds): the
# certificate below is outside the zone and must still be issued
api_expect 204 PUT /v1/rfc2136/elsewhere.test \
  "{\"server\":\"127.0.0.1\",\"port\":9,\"key_name\":\"k.\",\"algorithm\":\"hmac-sha256\",\"secret\":\"c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0\"}" \
  "$T"

# --- a certificate whose CAA prefers ca2
NAME=shop.daemon.byoca.test
cts_add_caa "$NAME" 0 issue "ca2.byoca.test; priority=1"
cts_add_caa "$NAME" 0 issue "ca1.byoca.test; priority=2"
api_expect 201 POST /v1/certificates \
  "{\"identifiers\":[\"$NAME\",\"www.$NAME\"],\"ca\":\"auto\",\"key_type\":\"ec-p256\"}" "$T"
CERT=$API_BODY
ID=$(json_get "$CERT" 'd["id"]')
[ "$(api_header Location)" = "/v1/certificates/$ID" ] || fail "Location: $(api_header Location)"
json_check "$CERT" "assert d['tenant'] == $TID, d
assert d['identifiers'] == ['$NAME', 'www.$NAME'], d
assert d['ca'] == 'auto' and d['state'] == 'pending', d
assert d['key_type'] == 'ec256', 'key_type %r, want ec256 (the canonical name of the ec-p256 sent)' % d['key_type']
assert d['serial'] is None and d['issuer'] is None, d" ||
  fail "the certificate as added: $CERT"
KEY_TYPE=$(json_get "$CERT" 'd["key_type"]')

CERT=$(wait_cert_state "$T" "$ID" issued 45) || fail "certificate not issued"
json_check "$CERT" "assert d['issuer'] == 'ca2.byoca.test', d
assert d['directory'] == '$ENV_CA_DIRECTORY_2', d
assert d['serial'] and d['not_before'] and d['not_after'], d
assert d['failures'] == 0, d"
SERIAL1=$(norm_serial "$(json_get "$CERT" 'd["serial"]')")
pass "issued (state issued, issuer ca2.byoca.test)"

# --- the chain
api_expect 200 GET "/v1/certificates/$ID/chain" "" "$T"
case "$API_CTYPE" in application/pem-certificate-chain*) ;; *) fail "chain Content-Type: $API_CTYPE" ;; esac
expect_in "$API_BODY" "BEGIN CERTIFICATE" "chain"
case "$API_BODY" in *PRIVATE*) fail "private key in the chain without include_key" ;; esac
printf '%s\n' "$API_BODY" >"$W/chain1.pem"
pem_split "$W/chain1.pem" "$W/c1"
[ ! -s "$W/c1.key" ] || fail "key in chain"
openssl x509 -in "$W/c1.leaf" -noout || fail "leaf does not parse"
[ "$(cert_sans "$W/c1.leaf" | sort)" = "$(printf 'DNS:%s\nDNS:www.%s\n' "$NAME" "$NAME" | sort)" ] ||
  fail "SANs: $(cert_sans "$W/c1.leaf")"
[ "$(leaf_serial "$W/c1.leaf")" = "$SERIAL1" ] || fail "API serial $SERIAL1 is not the leaf's"
[ -s "$W/c1.chain" ] || fail "no intermediate in the fullchain"
openssl verify -CAfile "$(env_pebble_roots_file pebble-ca2)" -untrusted "$W/c1.chain" \
  "$W/c1.leaf" >/dev/null || fail "chain does not verify to ca2's root"
issuer_cn=$(openssl x509 -in "$W/c1.leaf" -noout -issuer -nameopt multiline | sed -n 's/^ *commonName *= *//p')
[ "$issuer_cn" = "$(ca_cn 2)" ] || fail "leaf issued by '$issuer_cn', not ca2"
expect_in "$(ca_status 2 "$SERIAL1")" '"Valid"' "ca2 knows the certificate"
if ca_status 1 "$SERIAL1" >/dev/null 2>&1; then fail "ca1 knows serial $SERIAL1"; fi
pass "chain: parses, SANs, issued by ca2 (management API)"

# --- key export, audited
api_expect 200 GET "/v1/certificates/$ID/chain?include_key=1" "" "$T"
printf '%s\n' "$API_BODY" >"$W/chainkey1.pem"
pem_split "$W/chainkey1.pem" "$W/k1"
[ -s "$W/k1.key" ] || fail "no private key with include_key=1"
first=$(grep -m1 -- '-----BEGIN' "$W/chainkey1.pem")
case "$first" in *PRIVATE\ KEY-----) ;; *) fail "the key is not first: $first" ;; esac
cmp -s "$W/k1.full" "$W/c1.full" || fail "include_key=1 fullchain differs from the chain"
[ "$(openssl pkey -in "$W/k1.key" -pubout | sha256sum)" = \
  "$(openssl x509 -in "$W/c1.leaf" -noout -pubkey | sha256sum)" ] ||
  fail "exported key does not match the certificate"
case "$KEY_TYPE" in
ec256) openssl pkey -in "$W/k1.key" -noout -text | grep -q 'NIST CURVE: P-256' || fail "not a P-256 key" ;;
*) fail "key_type $KEY_TYPE, expected ec256" ;;
esac
api_has_event "$T" key.exported "$ID" >/dev/null
api_has_event "$T" certificate.added "$ID" >/dev/null
api_has_event "$T" certificate.issued "$ID" >/dev/null
pass "chain?include_key=1: key first, matches, key.exported recorded"

# the key is sealed in the database: the certificate is there (positive
# control), the key's plaintext is not
store_snapshot
cert_present_in "$W/c1.leaf" "${STORE_FILES[@]}" ||
  fail "positive control: the certificate is not in ${STORE_FILES[0]}; the key check would prove nothing"
key_absent_from "$W/k1.key" "$W/c1.full" "${STORE_FILES[@]}" ||
  fail "plaintext private key in the database while it runs"
pass "database holds the certificate but not the key's plaintext"

# --- forced renewal: a new certificate with a new key
api_expect 202 POST "/v1/certificates/$ID/renew" "" "$T"
json_check "$API_BODY" "assert d['id'] == $ID and d['next_check_source'] == 'forced', d"
SERIAL2=$SERIAL1
for _ in $(seq 1 200); do
  api_expect 200 GET "/v1/certificates/$ID" "" "$T"
  s=$(json_get "$API_BODY" 'd["serial"] or ""')
  if [ -n "$s" ] && [ "$(norm_serial "$s")" != "$SERIAL1" ] &&
    [ "$(json_get "$API_BODY" 'd["state"]')" = issued ]; then
    SERIAL2=$(norm_serial "$s")
    break
  fi
  sleep 0.2
done
[ "$SERIAL2" != "$SERIAL1" ] || fail "no new serial 40 s after a forced renewal: $API_BODY"
json_check "$API_BODY" "assert d['issuer'] == 'ca2.byoca.test', d"
api_has_event "$T" certificate.renewed "$ID" >/dev/null
api_expect 200 GET "/v1/certificates/$ID/chain?include_key=1" "" "$T"
printf '%s\n' "$API_BODY" >"$W/chainkey2.pem"
pem_split "$W/chainkey2.pem" "$W/k2"
[ "$(leaf_serial "$W/k2.leaf")" = "$SERIAL2" ] || fail "chain after renewal is not serial $SERIAL2"
[ "$(openssl pkey -in "$W/k2.key" -pubout | sha256sum)" = \
  "$(openssl x509 -in "$W/k2.leaf" -noout -pubkey | sha256sum)" ] ||
  fail "key after renewal does not match"
if cmp -s "$W/k1.key" "$W/k2.key"; then fail "renewal reused the key (D-KEYS)"; fi
expect_in "$(ca_status 2 "$SERIAL2")" '"Valid"' "ca2 issued the renewal"
store_snapshot
key_absent_from "$W/k2.key" "$W/k2.full" "${STORE_FILES[@]}" ||
  fail "plaintext of the renewed key in the database while it runs"
pass "forced renewal: new serial, new key, certificate.renewed"

# --- /.well-known/acme-keys, on the API socket and on http_listen
check_jwks() {
  json_check "$1" "keys = d['keys']
assert isinstance(keys, list) and len(keys) >= 1, d
for k in keys:
    assert k.get('kty') in ('EC', 'RSA', 'OKP'), k
    assert 'd' not in k and 'p' not in k, 'private member in %r' % k"
}
api_expect 200 GET /.well-known/acme-keys
case "$API_CTYPE" in application/jwk-set+json*) ;; *) fail "acme-keys Content-Type: $API_CTYPE" ;; esac
check_jwks "$API_BODY" || fail "acme-keys: $API_BODY"
jwks_api=$API_BODY
jwks_http=$(curl --noproxy '*' -sSf "http://127.0.0.1:$PORT_HTTP01/.well-known/acme-keys") ||
  fail "acme-keys on http_listen"
check_jwks "$jwks_http" || fail "acme-keys on http_listen: $jwks_http"
[ "$jwks_api" = "$jwks_http" ] || fail "acme-keys differ between the listeners"
pass "/.well-known/acme-keys lists the account JWK"

# --- metrics
api_expect 200 GET /metrics "" "$BYOCAD_OPERATOR"
case "$API_CTYPE" in "text/plain; version=0.0.4"*) ;; *) fail "metrics Content-Type: $API_CTYPE" ;; esac
grep -Eq '^byoca_certificates\{state="issued"\} 1$' <<<"$API_BODY" ||
  fail "metrics lack byoca_certificates{state=\"issued\"} 1: $(grep byoca_certificates <<<"$API_BODY")"
pass "metrics"

# --- delete: revoked at ca2, destroyed, audited
api_expect 202 DELETE "/v1/certificates/$ID" "" "$T"
json_check "$API_BODY" "assert d['id'] == $ID and d['state'] == 'deleting', d"
gone=0
for _ in $(seq 1 150); do
  api "GET" "/v1/certificates/$ID" "" "$T" >/dev/null
  if [ "$API_STATUS" = 404 ]; then gone=1 && break; fi
  [ "$API_STATUS" = 200 ] || fail "GET during deletion: HTTP $API_STATUS $API_BODY"
  sleep 0.2
done
[ "$gone" = 1 ] || fail "certificate still there 30 s after DELETE: $API_BODY"
api_expect 404 GET "/v1/certificates/$ID/chain" "" "$T"
api_expect 404 GET "/v1/certificates/$ID/chain?include_key=1" "" "$T"
st=$(ca_status 2 "$SERIAL2")
json_check "$st" "assert d['Status'] == 'Revoked', d
assert d.get('Reason') == 5, 'reason %r, want 5 (cessationOfOperation)' % d.get('Reason')" ||
  fail "ca2 status after delete: $st"
detail=$(api_has_event "$T" certificate.deleted "$ID")
ksha=$(json_get "$detail" 'd["key_sha256"]') || fail "certificate.deleted without key_sha256: $detail"
spki=$(openssl pkey -in "$W/k2.key" -pubout -outform DER | sha256sum | cut -d' ' -f1)
[ "$(tr 'A-F' 'a-f' <<<"$ksha" | tr -d ':')" = "$spki" ] ||
  fail "key_sha256 $ksha is not the SHA-256 of the deleted key's SubjectPublicKeyInfo ($spki)"
api_has_event "$T" certificate.revoked "$ID" >/dev/null
api_expect 200 GET /metrics "" "$BYOCAD_OPERATOR"
if grep -Eq '^byoca_certificates\{state="issued"\} [1-9]' <<<"$API_BODY"; then
  fail "metrics after delete: $(grep byoca_certificates <<<"$API_BODY")"
fi
pass "delete: 404, revoked at ca2 (reason 5), certificate.deleted with key_sha256"

# --- stopped: no key bytes at rest, modes
env_stop_byocad
store_snapshot
for k in "$W/k1.key" "$W/k2.key"; do
  key_absent_from "$k" "${k%.key}.full" "${STORE_FILES[@]}" ||
    fail "private key bytes of $(basename "$k") in the database after delete"
  key_absent_from "$k" "${k%.key}.full" "$BYOCAD_LOG" || fail "private key bytes in the log"
done
for f in "$BYOCAD_STATE/master.key" "$BYOCAD_DB" "$BYOCAD_DB-wal" "$BYOCAD_DB-shm"; do
  [ -e "$f" ] || continue
  [ "$(stat -c %a "$f")" = 600 ] || fail "$f is mode $(stat -c %a "$f"), want 600"
done
[ -e "$BYOCAD_STATE/master.key" ] || fail "no master key at $BYOCAD_STATE/master.key"
[ "${BYOCAD_STORE:-}" = pg ] || [ -e "$BYOCAD_DB" ] || fail "no database at $BYOCAD_DB"
for tok in "$BYOCAD_OPERATOR" "$T"; do
  if grep -qF -f "$tok" "$BYOCAD_LOG" "${STORE_FILES[@]}" 2>/dev/null; then
    fail "a bearer token appears in the log or the database"
  fi
done
byocad_log_clean || fail "sanitizer report"
pass "at rest: no key bytes in the database, master key and database 0600"
