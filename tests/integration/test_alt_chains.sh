#!/usr/bin/env bash
# PEBBLE_ALTERNATE_ROOTS=2: --preferred-chain picks the chain whose top
# issuer is the named root; without it the default chain is used.
source "$(dirname "$0")/common.sh"
env_init alt_chains
env_gen_tls
env_start_challtestsrv
env_start_pebble PEBBLE_ALTERNATE_ROOTS=2
STATE=$ENV_DIR/state
root_cn() {
  curl -sf --cacert "$ENV_CA_BUNDLE" "$ENV_MGMT/roots/$1" |
    openssl x509 -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p'
}
top_issuer() {
  # issuer CN of the last certificate in chain.pem
  awk '/BEGIN CERT/{n++} {print > "'"$ENV_DIR"'/c" n ".pem"}' "$1"
  last=$(ls "$ENV_DIR"/c*.pem | sort -V | tail -1)
  openssl x509 -in "$last" -noout -issuer -nameopt multiline | sed -n 's/^ *commonName *= *//p'
  rm -f "$ENV_DIR"/c*.pem
}
r0=$(root_cn 0)
r1=$(root_cn 1)
[ -n "$r0" ] && [ -n "$r1" ] && [ "$r0" != "$r1" ] || fail "pebble roots: '$r0' '$r1'"
for want in "$r1" "$r0"; do
  expect_rc 0 bp issue -d alt.byoca.test --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" \
    --agree-tos --force --preferred-chain "$want"
  got=$(top_issuer "$STATE/live/alt.byoca.test/chain.pem")
  [ "$got" = "$want" ] || fail "preferred chain '$want', got '$got'"
done
pass "preferred chain"
