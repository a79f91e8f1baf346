#!/usr/bin/env bash
# Hostile ACME server (tests/hostile/), nonces: no Replay-Nonce ever,
# badNonce forever, nonces with invalid characters. byoca gives up after
# its bounded retries (D-NONCE) with an error naming the server.
source "$(dirname "$0")/../hostile/lib.sh"
hostile_init nonces "$@"

hostile_expect_fail nonce_none "no valid Replay-Nonce"
hostile_expect_fail nonce_bad_forever "badNonce"
posts=$(grep -c "^POST /acct" "$HOSTILE_LOG" || true)
[ "$posts" -gt 1 ] || fail "nonce_bad_forever: no retry at all"
[ "$posts" -le 30 ] || fail "nonce_bad_forever: $posts attempts, retries are unbounded"
echo "nonce_bad_forever: $posts attempts"
hostile_expect_fail nonce_invalid_chars "no valid Replay-Nonce"
pass "nonce scenarios"
