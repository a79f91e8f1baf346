#!/usr/bin/env bash
# Hostile ACME server (tests/hostile/), certificates: not for the CSR's
# key, other SANs, expired, not yet valid (notBefore in 2100), a chain of
# 1,000, PEM garbage, 10 MB, a chain without the leaf's issuer. byoca
# checks what it downloads and keeps none of it.
source "$(dirname "$0")/../hostile/lib.sh"
hostile_init certs "$@"

hostile_start normal
hostile_issue
[ "$RC" = 0 ] || fail "normal: the fixture's good path failed: $ERR"
pass "control: a well-behaved fixture issues"
rm -rf "$STATE"

hostile_expect_fail cert_wrong_key "not for our key"
hostile_expect_fail cert_other_sans "names differ"
hostile_expect_fail cert_expired "expired"
hostile_expect_fail cert_future "not valid before"
hostile_expect_fail chain_1000 "chain has more than 10 certificates"
hostile_expect_fail pem_garbage "of the chain is invalid"
hostile_expect_fail cert_10mb "exceeds"
hostile_expect_fail chain_no_issuer "the leaf's issuer is missing"
pass "certificate scenarios"
