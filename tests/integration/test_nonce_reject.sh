#!/usr/bin/env bash
# Pebble rejecting half of all nonces (badNonce): byoca retries with the
# fresh nonce of each error and still issues (D-NONCE).
source "$(dirname "$0")/common.sh"
env_init nonce_reject
env_gen_tls
env_start_challtestsrv
env_start_pebble PEBBLE_WFE_NONCEREJECT=50
STATE=$ENV_DIR/state
for n in 1 2 3; do
  expect_rc 0 bp issue -d nonce$n.byoca.test --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --agree-tos
  check_live nonce$n.byoca.test
done
pass "issued with 50% nonce rejection"
