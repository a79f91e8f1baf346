#!/usr/bin/env bash
# Hostile ACME server (tests/hostile/), D-FALLBACK: the names' CAA records
# put the hostile CA first and a Pebble second (byoca issue --ca auto).
# A hostile CA that fails in a way D-FALLBACK lists (timeouts, a
# serverInternal problem) is left for the next CA, which issues; one that
# sends a bad certificate is left too. The failure is reported with the
# server's fault, escapes and all neutralised.
HOSTILE_PORT=443
source "$(dirname "$0")/../hostile/lib.sh"
hostile_init fallback "$@"
if hostile_in_userns; then
  echo "skip: nginx (the second CA's web server) cannot switch users in a user namespace; run as root"
  exit 77
fi
source "$BYOCA_SRC/tests/env/cas.sh"
env_start_challtestsrv
env_start_cas 1
cts_add_a hostile.byoca.test "$HOSTILE_ADDR"
cts_add_caa victim.byoca.test 0 issue "hostile.byoca.test; priority=1"
cts_add_caa victim.byoca.test 0 issue "ca1.byoca.test; priority=2"
export ENV_PEBBLE_ROOTS=$ENV_DIR/pebble-roots-ca1.pem

ba() {
  timeout -k 5 120 "$BYOCA" issue -d victim.byoca.test --json \
    --resolver "127.0.0.1@$PORT_DNS" --allow-net 127.0.0.0/8 \
    --ca-bundle "$ENV_CA_BUNDLE" --state-dir "$STATE" \
    --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --force \
    --http-timeout "$HOSTILE_HTTP_TIMEOUT" --order-timeout "$HOSTILE_ORDER_TIMEOUT"
}

for sc in tls_hang problem_escapes cert_future; do
  hostile_start "$sc"
  RC=0
  OUT=$(ba 2>"$ENV_DIR/stderr") || RC=$?
  ERR=$(cat "$ENV_DIR/stderr")
  hostile_check_sane
  [ "$RC" = 0 ] || fail "$sc: no fallback to the second CA (exit $RC): $ERR"
  expect_in "$ERR" "trying hostile.byoca.test" "$sc: hostile CA first"
  expect_in "$ERR" "trying ca1.byoca.test" "$sc: fallback"
  echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin); a = d["attempts"]
assert [(x["issuer"], x["outcome"]) for x in a] == [
    ("hostile.byoca.test", "failed"), ("ca1.byoca.test", "issued")], a
assert d["issuer"] == "ca1.byoca.test", d
print("SCENARIO %s (--ca auto): fell back to ca1; hostile: %s" % (sys.argv[1], a[0]["reason"]))
' "$sc" || fail "$sc: attempts in --json: $OUT"
  check_live victim.byoca.test
  check_no_partial
  hostile_check_canaries
  rm -f "$STATE/ca-health.json" # three failures would back the CA off
done
pass "a hostile first CA is left for the next one"
