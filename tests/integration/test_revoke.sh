#!/usr/bin/env bash
# Revocation by the account key and by the certificate key, checked
# through Pebble's management interface.
source "$(dirname "$0")/common.sh"
env_init revoke
env_gen_tls
env_start_challtestsrv
env_start_pebble
STATE=$ENV_DIR/state
for n in rev1 rev2; do
  expect_rc 0 bp issue -d $n.byoca.test --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --agree-tos
done
s1=$(cert_serial "$STATE/live/rev1.byoca.test/cert.pem")
expect_in "$(pebble_cert_status "$s1")" "Valid" "status before revocation"

expect_rc 0 bp revoke rev1.byoca.test --reason keyCompromise
expect_in "$(pebble_cert_status "$s1")" "Revoked" "revoked by account key"
expect_rc 0 "$BYOCA" list --json --state-dir "$STATE"
expect_in "$OUT" '"revoked"' "list shows revoked"

s2=$(cert_serial "$STATE/live/rev2.byoca.test/cert.pem")
expect_rc 0 bp revoke rev2.byoca.test --by-cert-key
expect_in "$(pebble_cert_status "$s2")" "Revoked" "revoked by certificate key"

expect_rc 1 bp revoke rev1.byoca.test
expect_in "$ERR" "alreadyRevoked" "second revocation"
expect_rc 2 bp revoke rev1.byoca.test --reason bogus
pass "revocation"
