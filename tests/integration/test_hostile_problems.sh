#!/usr/bin/env bash
# Hostile ACME server (tests/hostile/), problem documents: 10 MB, 100,000
# subproblems, control characters and terminal escapes in "detail" (which
# must never reach the terminal raw).
source "$(dirname "$0")/../hostile/lib.sh"
hostile_init problems "$@"

hostile_expect_fail problem_10mb "exceeds"
hostile_expect_fail problem_subproblems "rejectedIdentifier" "100000 subproblems"
hostile_expect_fail problem_escapes "serverInternal" "evil"
# also with --json and --log-json, where the detail is JSON-escaped
hostile_start problem_escapes
rm -rf "$STATE"
hostile_issue --json
hostile_check_sane
printf '%s' "$OUT" | LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]' &&
  fail "problem_escapes: control characters on stdout (--json)"
pass "problem documents"
