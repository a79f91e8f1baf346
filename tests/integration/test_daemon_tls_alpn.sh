#!/usr/bin/env bash
# byocad answers tls-alpn-01 ([tls-alpn] listen in byocad.conf) behind an
# existing TLS front end: nginx's stream module on Pebble's tls-alpn port
# reads the ClientHello without terminating it (ssl_preread) and passes
# connections offering ALPN acme-tls/1 to byocad's responder, everything
# else to the site (an nginx https server standing in for it), as
# docs/daemon.md describes. With challenge_order preferring tls-alpn-01 a
# DNS name and an IP address (RFC 8738) are issued with Pebble's real
# validation; the store's challenge rows are gone afterwards; an ordinary
# TLS client through the front end reaches the site, and an acme-tls/1
# client asking for a name nothing is set up for gets no certificate.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
source "$BYOCA_SRC/tests/env/alpn_front.sh"
alpn_front_available || exit 77
env_init daemon_tls_alpn
env_gen_tls
env_start_challtestsrv
env_start_pebble
ALPN_PORT=$PORT_SPARE_FIRST       # byocad's tls-alpn-01 responder
SITE_PORT=$((PORT_SPARE_FIRST + 1)) # the site's own TLS server

env_start_alpn_front "$ALPN_PORT" "$SITE_PORT" || fail "front end"

env_start_byocad "challenge_order = tls-alpn-01,http-01" \
  "[tls-alpn]" "listen = 127.0.0.1:$ALPN_PORT" || fail "byocad"
expect_in "$(cat "$BYOCAD_LOG")" "listening on 127.0.0.1:$ALPN_PORT (tls-alpn-01)" \
  "responder started"
env_tenant alpn >/dev/null
T=$ENV_DIR/alpn.token
rows() {
  store_query "SELECT count(*) FROM challenge_tokens WHERE token LIKE 'alpn:%'"
}

# 1. a DNS name and an IP address, validated through the front end
ids=()
for n in alpnd.byoca.test 127.0.0.1; do
  api_expect 201 POST /v1/certificates "{\"identifiers\":[\"$n\"]}" "$T"
  ids+=("$(json_get "$API_BODY" 'd["id"]')")
done
for id in "${ids[@]}"; do
  wait_cert_state "$T" "$id" issued 90 >/dev/null ||
    fail "certificate $id not issued: $(tail -n 20 "$BYOCAD_LOG")"
done
log=$(cat "$BYOCAD_LOG")
expect_in "$log" "for alpnd.byoca.test" "responder answered the DNS name"
expect_in "$log" "for 1.0.0.127.in-addr.arpa" "responder answered the IP"
if grep -q "http-01: answered the challenge" "$BYOCAD_LOG"; then
  fail "http-01 was used, not tls-alpn-01"
fi
[ "$(rows)" = 0 ] || fail "tls-alpn-01 rows left in the store: $(rows)"
pass "a DNS name and an IP issued through tls-alpn-01 behind the front end"

# 2. other TLS reaches the site, not byocad
body=$("${ENV_CURL[@]}" -sf --cacert "$ENV_CA_BUNDLE" \
  --resolve "site.byoca.test:$PORT_TLSALPN:127.0.0.1" \
  "https://site.byoca.test:$PORT_TLSALPN/") || fail "the site through the front end"
[ "$body" = "the site" ] || fail "the site answered '$body'"
before=$(grep -c "tls-alpn-01: \(answered\|refused\)" "$BYOCAD_LOG" || true)
out=$(openssl s_client -connect "127.0.0.1:$PORT_TLSALPN" \
  -servername alpnd.byoca.test -alpn http/1.1 </dev/null 2>&1) || true
expect_in "$out" "CN = site.byoca.test" "an http/1.1 client gets the site's certificate"
after=$(grep -c "tls-alpn-01: \(answered\|refused\)" "$BYOCAD_LOG" || true)
[ "$before" = "$after" ] || fail "byocad saw a connection that was not acme-tls/1"
pass "other TLS through the front end reaches the site"

# 3. acme-tls/1 for a name with no challenge: refused, no certificate
out=$(openssl s_client -connect "127.0.0.1:$PORT_TLSALPN" \
  -servername none.byoca.test -alpn acme-tls/1 </dev/null 2>&1) || true
case "$out" in *"BEGIN CERTIFICATE"* | *"subject="*) fail "a certificate was shown: $out" ;; esac
for ((i = 0; i < 50; i++)); do
  grep -q "refused .*'none.byoca.test'" "$BYOCAD_LOG" && break
  sleep 0.1
done
grep -q "refused .*'none.byoca.test'" "$BYOCAD_LOG" ||
  fail "byocad did not refuse none.byoca.test"
pass "acme-tls/1 for a name nothing is set up for is refused"

# 4. two lineages, one name: while lineage A's tls-alpn-01 answer for a
#    name is pending (its alpn:<name> row), lineage B neither replaces nor
#    removes it: B takes the next eligible type (http-01 here)
exp=$(($(date +%s) + 3600))
store_exec "INSERT INTO challenge_tokens (token, key_authz, cert_id, expires)
  VALUES ('alpn:twin.byoca.test', 'a-pending.answer', ${ids[0]}, $exp)"
api_expect 201 POST /v1/certificates '{"identifiers":["twin.byoca.test"]}' "$T"
twin=$(json_get "$API_BODY" 'd["id"]')
wait_cert_state "$T" "$twin" issued 90 >/dev/null ||
  fail "twin.byoca.test not issued: $(tail -n 20 "$BYOCAD_LOG")"
grep -q "cert $twin.*not using tls-alpn-01 this time: another certificate is validating twin.byoca.test" \
  "$BYOCAD_LOG" || fail "no word of tls-alpn-01 left alone for twin.byoca.test"
grep -q "http-01: answered the challenge" "$BYOCAD_LOG" ||
  fail "twin.byoca.test was not validated by http-01"
[ "$(store_query "SELECT key_authz FROM challenge_tokens WHERE token = 'alpn:twin.byoca.test' AND cert_id = ${ids[0]}")" = a-pending.answer ] ||
  fail "lineage ${ids[0]}'s pending tls-alpn-01 answer was replaced or removed"
store_exec "DELETE FROM challenge_tokens WHERE token = 'alpn:twin.byoca.test'"
pass "another lineage's pending tls-alpn-01 answer is left alone; http-01 instead"

# 5. a reload cannot move the listener (it says so); the row format stays
kill -HUP "$BYOCAD_PID"
BYOCAD_CONF_BAK=$(cat "$BYOCAD_CONF")
sed -i "s/^listen = .*/listen = 127.0.0.1:$((ALPN_PORT + 2))/" "$BYOCAD_CONF"
kill -HUP "$BYOCAD_PID"
for ((i = 0; i < 50; i++)); do
  grep -q "reload: \[tls-alpn\] listen changed; that takes a restart" \
    "$BYOCAD_LOG" && break
  sleep 0.1
done
grep -q "reload: \[tls-alpn\] listen changed; that takes a restart" \
  "$BYOCAD_LOG" || fail "reload did not say the listener needs a restart"
printf '%s\n' "$BYOCAD_CONF_BAK" >"$BYOCAD_CONF"
pass "reload keeps the running listener and says so"

env_stop_byocad || fail "stop"
byocad_log_clean || fail "sanitizer report"

# 6. bad settings stop the start with the line named; a busy port too
W=$ENV_DIR/work
mkdir -p "$W"
bad_conf() {
  local want=$1 rc=0
  shift
  printf '[byocad]\nstate_dir = %s\n' "$W/bad-state" >"$W/bad.conf"
  printf '%s\n' "$@" >>"$W/bad.conf"
  timeout 20 "$BYOCAD" run -c "$W/bad.conf" >"$W/bad.log" 2>&1 || rc=$?
  [ "$rc" != 0 ] || fail "bad config ($*): exit 0"
  grep -qF "$want" "$W/bad.log" || fail "bad config ($*): no '$want' in: $(cat "$W/bad.log")"
}
bad_conf "bad.conf:4: listen: expected [ADDR:]PORT, not 'example.org:443'" \
  '[tls-alpn]' 'listen = example.org:443'
bad_conf "bad.conf:4: unknown key port" '[tls-alpn]' 'port = 443'
# the real configuration, its listener moved to the site's busy port
sed -i "s/^listen = .*/listen = 127.0.0.1:$SITE_PORT/" "$BYOCAD_CONF"
rc=0
timeout 20 "$BYOCAD" run -c "$BYOCAD_CONF" >"$W/busy.log" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "byocad started on a busy tls-alpn port"
grep -qF "cannot listen on 127.0.0.1:$SITE_PORT for tls-alpn-01" "$W/busy.log" ||
  fail "busy port: $(cat "$W/busy.log")"
pass "bad [tls-alpn] settings and a busy port are refused at start"
