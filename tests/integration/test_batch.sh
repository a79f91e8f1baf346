#!/usr/bin/env bash
# --batch of 50 names with --parallel 10, all driven by one engine.
source "$(dirname "$0")/common.sh"
env_init batch
env_gen_tls
env_start_challtestsrv
env_start_pebble
STATE=$ENV_DIR/state
{
  echo "# fifty certificates"
  for i in $(seq 1 48); do echo "b$i.byoca.test"; done
  echo "multi.byoca.test www.multi.byoca.test   # two names"
  echo ""
  echo "b49.byoca.test"
} >"$ENV_DIR/batch.txt"
expect_rc 0 bp issue --batch "$ENV_DIR/batch.txt" --parallel 10 \
  --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --agree-tos
expect_in "$OUT" "50 issued, 0 failed" "summary"
[ "$(ls "$STATE/live" | wc -l)" = 50 ] || fail "expected 50 lineages"
for d in "$STATE"/live/*; do check_live "$(basename "$d")"; done
expect_in "$(cert_sans "$STATE/live/multi.byoca.test/cert.pem")" "DNS:www.multi.byoca.test" "multi SAN"
# again: nothing due
expect_rc 0 bp issue --batch "$ENV_DIR/batch.txt" --http-addr 127.0.0.1 --http-port "$PORT_HTTP01"
expect_in "$OUT" "0 issued, 0 failed, 50 not needed" "second run"
# a bad line is reported with its number before anything is ordered
printf 'ok.byoca.test\nbad_name.byoca.test\n' >"$ENV_DIR/bad.txt"
expect_rc 2 bp issue --batch "$ENV_DIR/bad.txt" --http-addr 127.0.0.1 --http-port "$PORT_HTTP01"
expect_in "$ERR" "line 2" "bad batch line"
[ ! -e "$STATE/live/ok.byoca.test" ] || fail "ordered despite a bad line"
pass "batch"

# one name Pebble cannot validate (its A record points where nothing
# listens): the others are issued, the run exits 3 (partial)
cts_add_a unreachable.byoca.test 127.0.0.9
printf 'p1.byoca.test\nunreachable.byoca.test\np2.byoca.test\n' >"$ENV_DIR/partial.txt"
expect_rc 3 bp issue --batch "$ENV_DIR/partial.txt" --http-addr 127.0.0.1 --http-port "$PORT_HTTP01"
expect_in "$OUT" "2 issued, 1 failed" "partial summary"
expect_in "$OUT" "unreachable.byoca.test" "failed name listed"
[ ! -e "$STATE/live/unreachable.byoca.test" ] || fail "live dir for the failed name"
check_no_partial
pass "partial batch"
