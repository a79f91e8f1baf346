#!/usr/bin/env bash
# tls-alpn-01 answered by another node than the one that ordered: two
# byocad nodes share one PostgreSQL store; only node B has [tls-alpn]
# listen, and the TLS front end on Pebble's tls-alpn port
# (tests/env/alpn_front.sh) hands acme-tls/1 to it. Node A has no
# responder of its own: it learns from the nodes table that B runs one
# (GET /v1/nodes: tls_alpn) and still chooses tls-alpn-01. Node A orders
# (node B's scheduler ticks once an hour and no certificate is added
# through it), node B builds every validation certificate from the rows
# node A wrote, and every certificate is issued with Pebble's real
# validation; no row is left afterwards.
# Then node B's store stops answering (its PostgreSQL server processes
# are SIGSTOPped): a handshake for a row only the store holds waits (read
# on B's job lane) while B's loop does not: /healthz is answered; once the
# store is back the handshake completes with that row's certificate. With
# the row read on the loop's own connection, /healthz would not answer.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
source "$BYOCA_SRC/tests/env/nodes.sh"
source "$BYOCA_SRC/tests/env/alpn_front.sh"
alpn_front_available || exit 77
env_init daemon_tls_alpn_nodes
env_gen_tls
env_start_challtestsrv
env_start_pebble
K=${BYOCA_ALPN_N:-3}
B_ALPN=$((PORT_SPARE_FIRST + 1))
SITE_PORT=$((PORT_SPARE_FIRST + 2))
env_start_alpn_front "$B_ALPN" "$SITE_PORT" || fail "front end"
nodes_init
ORDER="challenge_order = tls-alpn-01,http-01"
node_start 2 "tick_ms = 3600000" "log_level = debug" "$ORDER" \
  "[tls-alpn]" "listen = 127.0.0.1:$B_ALPN"
node_start 1 "tick_ms = 200" "log_level = debug" "$ORDER"
node_use 1
grep -q "listening on .*(tls-alpn-01)" "$(node_log 1)" &&
  fail "node A runs a tls-alpn-01 responder"
api_expect 200 GET /v1/nodes "" "$BYOCAD_OPERATOR"
json_check "$API_BODY" 'v = {i["name"]: i["tls_alpn"] for i in d["items"]}
assert sorted(v.values()) == [False, True], v' || fail "GET /v1/nodes: $API_BODY"
grep -q "tls-alpn-01 in use: another node runs a tls-alpn-01 responder" \
  "$(node_log 1)" || fail "node A did not learn of node B's responder"
env_tenant alpn >/dev/null
T=$ENV_DIR/alpn.token
ids=()
for ((i = 1; i <= K; i++)); do
  api_expect 201 POST /v1/certificates "{\"identifiers\":[\"a$i.alpnpg.test\"]}" "$T"
  ids+=("$(json_get "$API_BODY" 'd["id"]')")
done
for id in "${ids[@]}"; do
  wait_cert_state "$T" "$id" issued 90 >/dev/null ||
    fail "certificate $id not issued: $(tail -n 20 "$(node_log 1)")"
done
b=$(grep -c "tls-alpn-01: answered" "$(node_log 2)" || true)
[ "${b:-0}" -ge "$K" ] || fail "node B answered ${b:-0} handshakes, expected at least $K"
! grep -q "cert [0-9]* tenant [0-9]*:" "$(node_log 2)" ||
  fail "node B worked on a certificate"
! grep -q "http-01: answered the challenge" "$(node_log 1)" "$(node_log 2)" ||
  fail "http-01 was used"
left=$("$(env_pg_bindir)/psql" -X -q -At -h "$PG_HOST" -p "$PORT_PG" -U byoca \
  -d byocad -c "SELECT count(*) FROM challenge_tokens WHERE token LIKE 'alpn:%'")
[ "$left" = 0 ] || fail "$left tls-alpn-01 rows left in the store"

# another node's row, read while node B's store does not answer
STALL=stall.alpnpg.test
STALL_KA=stall-token.stall-thumbprint
nodes_sql "INSERT INTO challenge_tokens (token, key_authz, cert_id, expires)
     VALUES ('alpn:$STALL', '$STALL_KA', 0,
             extract(epoch FROM now())::bigint + 600)" ||
  fail "cannot write the row"
node_use 2
node_pg_stop 2 || fail "cannot stop node B's server processes"
openssl s_client -connect "127.0.0.1:$B_ALPN" -servername "$STALL" \
  -alpn acme-tls/1 </dev/null >"$ENV_DIR/stall.out" 2>&1 &
S_CLIENT=$!
sleep 0.5 # the handshake asked first
code=$("${ENV_CURL[@]}" --max-time 3 -o /dev/null -w '%{http_code}' \
  --unix-socket "$BYOCAD_SOCK" http://localhost/healthz) || code="no answer"
waiting=0
kill -0 "$S_CLIENT" 2>/dev/null && waiting=1
state=$(ps -o state= -p "${NODE_PG_STOPPED[0]}" | tr -d ' ')
node_pg_resume
[ "$state" = T ] || fail "node B's server process was not stopped: '$state'"
[ "$code" = 200 ] || fail "node B's /healthz while its store was stopped: $code"
[ "$waiting" = 1 ] || fail "the handshake did not wait for the store:
$(cat "$ENV_DIR/stall.out")"
grep -q "waits for the answer for $STALL" "$(node_log 2)" ||
  fail "node B did not pause the handshake"
wait "$S_CLIENT" || true # s_client's status says nothing here
grep -q "ALPN protocol: acme-tls/1" "$ENV_DIR/stall.out" ||
  fail "handshake after the store came back: $(cat "$ENV_DIR/stall.out")"
sed -n '/-BEGIN CERTIFICATE-/,/-END CERTIFICATE-/p' "$ENV_DIR/stall.out" \
  >"$ENV_DIR/stall.pem"
openssl x509 -in "$ENV_DIR/stall.pem" -noout -ext subjectAltName |
  grep -q "DNS:$STALL" || fail "not the certificate for $STALL"
# id-pe-acmeIdentifier: critical, the OCTET STRING of SHA-256(key authz)
want=$(printf %s "$STALL_KA" | openssl dgst -sha256 -r | cut -c1-64)
ext=$(openssl asn1parse -in "$ENV_DIR/stall.pem" |
  grep -A2 ':1\.3\.6\.1\.5\.5\.7\.1\.31$\|:id-pe-acmeIdentifier$') || ext=
got=$(sed -n 's/.*\[HEX DUMP\]://p' <<<"$ext" | tr 'A-F' 'a-f')
grep -q "BOOLEAN *:255" <<<"$ext" && [ "$got" = "0420$want" ] ||
  fail "acmeIdentifier: $ext (expected critical, 0420$want)"
grep -q "tls-alpn-01: answered .* for $STALL" "$(node_log 2)" ||
  fail "node B did not log the answer"

node_stop 1
node_stop 2
nodes_logs_clean || fail "sanitizer report"
pass "$K orders of node A (no responder) validated by node B's tls-alpn-01 responder ($b handshakes); a handshake waited for B's stopped store, /healthz did not"
