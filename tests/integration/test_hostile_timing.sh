#!/usr/bin/env bash
# Hostile ACME server (tests/hostile/), timing: an order that stays
# "processing" forever, with Retry-After 999999999, -5, an HTTP-date in
# 1970 or 2200, or none. byoca clamps each (D-POLL) and stops at its
# overall limit (here --order-timeout 3; 1 hour by default).
source "$(dirname "$0")/../hostile/lib.sh"
hostile_init timing "$@"

for sc in retry_after_huge retry_after_negative retry_after_1970 \
  retry_after_2200 order_processing_forever; do
  hostile_expect_fail "$sc" "still not done" "waits 3 s at most"
  polls=$(awk -v s="=== $sc" '$0 == s { on = 1; next } /^===/ { on = 0 } on && /^POST \/order\/0/' \
    "$HOSTILE_LOG" | wc -l)
  echo "$sc: $polls polls of the order"
  [ "$polls" -le 20 ] || fail "$sc: $polls polls in 3 s: Retry-After not clamped"
done
pass "timing scenarios"
