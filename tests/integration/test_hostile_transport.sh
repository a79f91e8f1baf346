#!/usr/bin/env bash
# Hostile ACME server (tests/hostile/), transport: huge and endless bodies,
# one byte per second, no answer, a TLS handshake that never ends. byoca
# must give up within its limits (here --http-timeout 2) with an error
# naming the server, write nothing, and never crash.
source "$(dirname "$0")/../hostile/lib.sh"
hostile_init transport "$@"

# control run: the fixture issues when it behaves
hostile_start normal
hostile_issue
[ "$RC" = 0 ] || fail "normal: the fixture's good path failed: $ERR"
check_no_partial
pass "control: a well-behaved fixture issues"

hostile_expect_fail body_100mb "exceeds 2097152 bytes" "127.0.0.2"
hostile_expect_fail body_chunked_endless "exceeds 2097152 bytes" "127.0.0.2"
hostile_expect_fail slowloris "timed out"
hostile_expect_fail no_response "timed out"
hostile_expect_fail tls_hang "timed out"
pass "transport scenarios"
