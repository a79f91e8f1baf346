#!/usr/bin/env bash
# byoca issue without --server: the names' CAA records choose the CA among
# three Pebbles behind https://caN.byoca.test/.well-known/acme, and byoca
# falls back in the owner's order when one fails.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/cas.sh"
env_init ca_auto
env_gen_tls
env_start_challtestsrv
env_start_cas 3
STATE=$ENV_DIR/state
ba() {
  "$BYOCA" "$@" --resolver "127.0.0.1@$PORT_DNS" --allow-net 127.0.0.0/8 \
    --ca-bundle "$ENV_CA_BUNDLE" --state-dir "$STATE"
}
# the CN of CA i's issuing intermediate, to tell who issued a certificate
ca_cn() {
  curl -sf --cacert "$ENV_CA_BUNDLE" "$(eval echo "\$ENV_CA_MGMT_$1")/intermediates/0" |
    openssl x509 -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p'
}
issued_by() {
  openssl x509 -in "$STATE/live/$1/cert.pem" -noout -issuer -nameopt multiline |
    sed -n 's/^ *commonName *= *//p'
}
cat "$ENV_DIR"/pebble-roots-ca*.pem >"$ENV_DIR/all-roots.pem"
export ENV_PEBBLE_ROOTS=$ENV_DIR/all-roots.pem

cts_add_caa demo.byoca.test 0 issue "ca2.byoca.test; priority=1"
cts_add_caa demo.byoca.test 0 issue "ca1.byoca.test; priority=2"
expect_rc 0 ba issue -d demo.byoca.test --http-addr 127.0.0.1 --http-port "$PORT_HTTP01"
expect_in "$ERR" "trying ca2.byoca.test" "first candidate"
expect_in "$ERR" "agreeing to the terms of service of ca2.byoca.test (data:" "D-TOS recorded"
[ "$(issued_by demo.byoca.test)" = "$(ca_cn 2)" ] || fail "not issued by ca2"
check_live demo.byoca.test
grep -q '"issuer": "ca2.byoca.test"' "$STATE/renewal/demo.byoca.test.json" || fail "lineage issuer"
pass "the owner's preferred CA issued"

# D-WELLKNOWN cache: the directory ca2's well-known URL led to is kept
# (Pebble sends no max-age: 1 hour), and used instead of a new fetch
python3 - "$STATE/directory-cache.json" <<'PY' || fail "directory cache"
import json, sys, time
c = json.load(open(sys.argv[1]))["ca2.byoca.test"]
assert c["directory"].startswith("https://127.0.0.1:"), c
assert 3500 < c["expires"] - time.time() <= 3600, c
PY
before=$(grep -c "GET /.well-known/acme" "$ENV_DIR/nginx-cas/access.log")
expect_rc 0 ba issue -d www.demo.byoca.test --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" -v
after=$(grep -c "GET /.well-known/acme" "$ENV_DIR/nginx-cas/access.log")
[ "$before" = "$after" ] || fail "well-known fetched again despite the cache ($before -> $after)"
expect_in "$ERR" "directory of ca2.byoca.test from the cache" "cache used"
pass "directory cache"

# ca2 down: the next CA in the owner's order issues, and the failure is said
env_stop_ca 2
expect_rc 0 ba issue -d demo.byoca.test --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --force --json
expect_in "$ERR" "ca2.byoca.test" "ca2 failure reported"
expect_in "$ERR" "trying ca1.byoca.test" "fallback"
echo "$OUT" | python3 -c '
import json,sys; d=json.load(sys.stdin); a=d["attempts"]
assert [(x["issuer"], x["outcome"]) for x in a] == [("ca2.byoca.test","failed"),("ca1.byoca.test","issued")], a
assert "connect" in a[0]["reason"].lower(), a
assert d["issuer"] == "ca1.byoca.test", d' || fail "attempts in --json: $OUT"
[ "$(issued_by demo.byoca.test)" = "$(ca_cn 1)" ] || fail "not issued by ca1 after fallback"
check_live demo.byoca.test
python3 -c 'import json,sys; assert "ca2.byoca.test" not in json.load(open(sys.argv[1]))' \
  "$STATE/directory-cache.json" || fail "failed CA still cached"
pass "fallback to the next CA"

# renew rediscovers (ca_auto lineage) and still works with ca2 down
expect_rc 0 ba renew --force demo.byoca.test --http-addr 127.0.0.1 --http-port "$PORT_HTTP01"
[ "$(issued_by demo.byoca.test)" = "$(ca_cn 1)" ] || fail "renew did not rediscover"
pass "renew rediscovers"

# D-BACKOFF: the third failure in a row puts ca2 into backoff; then it is
# skipped with the reason, without a connection attempt
expect_rc 0 ba issue -d demo.byoca.test --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --force
expect_in "$ERR" "not using it until" "backoff started"
expect_rc 0 ba issue -d demo.byoca.test --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --force
expect_in "$ERR" "skipping ca2.byoca.test: backing off" "backoff honoured"
grep -q '"ca2.byoca.test"' "$STATE/ca-health.json" || fail "ca-health.json"
pass "CA backoff"

# issue ";" forbids with a clear error and nothing written
cts_add_caa nocerts.byoca.test 0 issue ";"
expect_rc 1 ba issue -d nocerts.byoca.test --http-addr 127.0.0.1 --http-port "$PORT_HTTP01"
expect_in "$ERR" "forbid issuance" "forbidden"
[ ! -e "$STATE/live/nocerts.byoca.test" ] || fail "live dir for a forbidden name"
pass "forbidden"

# SERVFAIL fails closed: no issuance, no default CA
cts_servfail broken.byoca.test
expect_rc 1 ba issue -d broken.byoca.test --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" \
  --default-ca "$ENV_CA_DIRECTORY_1"
expect_in "$ERR" "CAA lookup failed" "servfail"
[ ! -e "$STATE/live/broken.byoca.test" ] || fail "issued despite SERVFAIL"
pass "SERVFAIL fails closed"

# no CAA at all: the default CA, or a clear error without one
expect_rc 1 ba issue -d free.byoca-other.test --http-addr 127.0.0.1 --http-port "$PORT_HTTP01"
expect_in "$ERR" "any CA may issue" "no default"
expect_rc 0 ba issue -d free.byoca-other.test --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" \
  --default-ca "$ENV_CA_DIRECTORY_3" --agree-tos
[ "$(issued_by free.byoca-other.test)" = "$(ca_cn 3)" ] || fail "default CA not used"
pass "default CA when nothing restricts"

# validationmethods=dns-01 forces dns-01 even though http-01 is available
HOOK=$ENV_DIR/hook.sh
cat >"$HOOK" <<HOOK
#!/bin/sh
echo "\$BYOCA_ACTION \$BYOCA_CHALLENGE_TYPE" >>"$ENV_DIR/hook.log"
case "\$BYOCA_ACTION" in
setup) curl -sf -d "{\"host\":\"\$BYOCA_RECORD_NAME.\",\"value\":\"\$BYOCA_RECORD_VALUE\"}" http://127.0.0.1:$PORT_CTS_API/set-txt ;;
cleanup) curl -sf -d "{\"host\":\"\$BYOCA_RECORD_NAME.\"}" http://127.0.0.1:$PORT_CTS_API/clear-txt ;;
esac
HOOK
chmod 755 "$HOOK"
cts_add_caa vm.byoca.test 0 issue "ca3.byoca.test; validationmethods=dns-01"
expect_rc 0 ba issue -d vm.byoca.test --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --hook "$HOOK"
grep -q "setup dns-01" "$ENV_DIR/hook.log" || fail "dns-01 not used"
pass "validationmethods=dns-01 forces dns-01"

# discovery=false: still authorizes, but is not nominated
cts_add_caa nodisc.byoca.test 0 issue "ca1.byoca.test; discovery=false; priority=1"
cts_add_caa nodisc.byoca.test 0 issue "ca3.byoca.test; priority=2"
expect_rc 0 ba issue -d nodisc.byoca.test --http-addr 127.0.0.1 --http-port "$PORT_HTTP01"
[ "$(issued_by nodisc.byoca.test)" = "$(ca_cn 3)" ] || fail "discovery=false CA was used"
pass "discovery=false"
