#!/usr/bin/env bash
# An IP address identifier (RFC 8738), validated by http-01 on 127.0.0.1.
source "$(dirname "$0")/common.sh"
env_init issue_ip
env_gen_tls
env_start_challtestsrv
env_start_pebble
STATE=$ENV_DIR/state
expect_rc 0 bp issue -d 127.0.0.1 --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --agree-tos
check_live 127.0.0.1
expect_in "$(cert_sans "$STATE/live/127.0.0.1/cert.pem")" "IP Address:127.0.0.1" "IP SAN"
pass "IP identifier"
