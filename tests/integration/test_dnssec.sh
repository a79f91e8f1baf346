#!/usr/bin/env bash
# DNSSEC: a zone signed by the test, served by Knot, validated by byoca's
# libunbound against the zone's own key. A secure CAA answer is accepted, a
# tampered signature is bogus and refused (fail closed), and
# --require-dnssec refuses an insecure answer.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/dnssec.sh"
env_init dnssec
env_start_knot_signed
bd() {
  "$BYOCA" discover "$@" --resolver "127.0.0.1@$PORT_KNOT" \
    --trust-anchor "$ENV_DNSSEC_ANCHOR" --no-directory
}
ident() {
  python3 -c 'import json,sys; d=json.load(sys.stdin); i=d["identifiers"][0]; print(d["outcome"], i["status"], i["dnssec"])'
}

expect_rc 0 bd sec.byoca.test --json
[ "$(echo "$OUT" | ident)" = "try_in_order restricted secure" ] || fail "secure: $OUT"
expect_rc 0 bd www.sec.byoca.test --json --require-dnssec
[ "$(echo "$OUT" | ident)" = "try_in_order restricted secure" ] || fail "secure parent: $OUT"
pass "signed CAA accepted as secure"

expect_rc 1 bd bad.sec.byoca.test --json
[ "$(echo "$OUT" | ident)" = "lookup_error lookup_error bogus" ] || fail "bogus: $OUT"
expect_rc 1 bd bad.sec.byoca.test
expect_in "$OUT" "bogus" "bogus explained"
pass "tampered signature -> bogus -> refused"

expect_rc 0 bd plain.test --json
[ "$(echo "$OUT" | ident)" = "try_in_order restricted insecure" ] || fail "insecure: $OUT"
expect_rc 1 bd plain.test --json --require-dnssec
[ "$(echo "$OUT" | ident)" = "lookup_error lookup_error insecure" ] || fail "require: $OUT"
# issue refuses as well, before contacting any CA
expect_rc 1 "$BYOCA" issue -d plain.test --resolver "127.0.0.1@$PORT_KNOT" \
  --trust-anchor "$ENV_DNSSEC_ANCHOR" --require-dnssec --state-dir "$ENV_DIR/state" \
  --http-port "$PORT_HTTP01"
expect_in "$ERR" "--require-dnssec refuses it" "issue --require-dnssec"
[ ! -e "$ENV_DIR/state/live" ] || fail "issued despite --require-dnssec"
pass "--require-dnssec refuses insecure answers"
