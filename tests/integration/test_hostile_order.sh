#!/usr/bin/env bash
# Hostile ACME server (tests/hostile/), orders: identifiers that differ from
# the request, an authorization for a name never asked for, a challenge URL
# on another host (10.0.0.1, where a canary listens).
source "$(dirname "$0")/../hostile/lib.sh"
hostile_init order "$@"

hostile_expect_fail order_other_idents "does not match the request"
hostile_expect_fail authz_other_name "does not belong to the order"
hostile_expect_fail challenge_other_host "10.0.0.1"
pass "order scenarios"
