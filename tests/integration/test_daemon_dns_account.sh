#!/usr/bin/env bash
# byocad and dns-account-01 (D-DNSACCOUNT) through its dns_hook, and the
# challenge rule it shares with the CLI (docs/challenges.md): the default
# preference, CAA validationmethods, byocad.conf's challenge_order, and the
# reasons when nothing fits. The CA is Pebble (PEBBLE_VA_ALWAYS_VALID=1)
# behind the dns-account-01 fixture (tests/env/dnsacct_proxy.py), which
# checks the TXT record at the account label on pebble-challtestsrv.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/dnsacct.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init daemon_dns_account
env_gen_tls
env_start_challtestsrv
env_start_pebble PEBBLE_VA_ALWAYS_VALID=1
env_start_dnsacct "127.0.0.1:$PORT_DNS"
D=$DNSACCT_DIRECTORY

HOOK=$ENV_DIR/dns.sh
cat >"$HOOK" <<HOOK
#!/bin/sh
echo "\$BYOCA_ACTION \$BYOCA_CHALLENGE_TYPE \$BYOCA_RECORD_NAME" >> "$ENV_DIR/hook.log"
case "\$BYOCA_ACTION" in
setup) curl -sf -d "{\"host\":\"\$BYOCA_RECORD_NAME.\",\"value\":\"\$BYOCA_RECORD_VALUE\"}" http://127.0.0.1:$PORT_CTS_API/set-txt ;;
cleanup) curl -sf -d "{\"host\":\"\$BYOCA_RECORD_NAME.\"}" http://127.0.0.1:$PORT_CTS_API/clear-txt ;;
esac
HOOK
chmod 755 "$HOOK"
touch "$ENV_DIR/hook.log"
label_of() {
  python3 -c 'import base64,hashlib,sys; print("_"+base64.b32encode(hashlib.sha256(sys.argv[1].encode()).digest()[:10]).decode().lower())' "$1"
}
last_check() {
  dnsacct_checks | python3 -c 'import json,sys; c=json.load(sys.stdin); print(c[-1][sys.argv[1]] if c else "")' "$1"
}
CONF=("dns_hook = $HOOK" '[ca "dnsacct.byoca.test"]' "directory = $D")
BYOCAD_DEFAULT_CA=$D env_start_byocad "${CONF[@]}"
env_tenant acct >/dev/null
T=$ENV_DIR/acct.token

# 1. dns-account-01 by default, at the account label, removed afterwards
api_expect 201 POST /v1/certificates \
  "{\"identifiers\":[\"d1.dnsacct.test\"],\"ca\":\"$D\"}" "$T"
ID=$(json_get "$API_BODY" 'd["id"]')
wait_cert_state "$T" "$ID" issued 60 >/dev/null || fail "d1 not issued"
[ "$(last_check found)" = True ] || fail "record not seen: $(dnsacct_checks)"
name="$(label_of "$(last_check account)")._acme-challenge.d1.dnsacct.test"
[ "$(last_check name)" = "$name." ] || fail "checked $(last_check name), want $name."
expect_in "$(cat "$ENV_DIR/hook.log")" "setup dns-account-01 $name" "hook setup"
expect_in "$(cat "$ENV_DIR/hook.log")" "cleanup dns-account-01 $name" "hook cleanup"
[ -z "$(dig +short -p "$PORT_DNS" @127.0.0.1 "$name" TXT)" ] || fail "TXT left at $name"
pass "byocad: dns-account-01 through dns_hook at the account label"

# 2. CAA validationmethods=dns-01 (the CA found through CAA): dns-01
cts_add_caa d2.dnsacct.test 0 issue "dnsacct.byoca.test; validationmethods=dns-01"
api_expect 201 POST /v1/certificates '{"identifiers":["d2.dnsacct.test"],"ca":"auto"}' "$T"
ID=$(json_get "$API_BODY" 'd["id"]')
wait_cert_state "$T" "$ID" issued 60 >/dev/null || fail "d2 not issued"
expect_in "$(cat "$ENV_DIR/hook.log")" "setup dns-01 _acme-challenge.d2.dnsacct.test" "dns-01 by CAA"
! grep -q "dns-account-01 _.*d2\.dnsacct\.test" "$ENV_DIR/hook.log" ||
  fail "dns-account-01 despite CAA"
pass "byocad: CAA validationmethods=dns-01 picks dns-01"

# 3. nothing fits: the outcome names each offered type and why
cts_add_caa d3.dnsacct.test 0 issue "dnsacct.byoca.test; validationmethods=dns-account-01"
dnsacct_ctl /config '{"offer":false}'
api_expect 201 POST /v1/certificates '{"identifiers":["d3.dnsacct.test"],"ca":"auto"}' "$T"
ID=$(json_get "$API_BODY" 'd["id"]')
api_cert_outcome "$T" "$ID" "dns-01: not allowed by CAA validationmethods"
out=$(json_get "$API_BODY" 'd["last_outcome"]')
expect_in "$out" "tls-alpn-01: not allowed by CAA validationmethods, no configured solver" "tls-alpn reason"
expect_in "$out" "http-01: not allowed by CAA validationmethods" "http reason"
dnsacct_ctl /reset '{}'
pass "byocad: nothing fits -> every offered type with its reason"

# 4. challenge_order in byocad.conf (and a bad one refused at start)
env_stop_byocad
BYOCAD_DEFAULT_CA=$D env_start_byocad "challenge_order = dns-01, dns-account-01" "${CONF[@]}"
api_expect 201 POST /v1/certificates \
  "{\"identifiers\":[\"d4.dnsacct.test\"],\"ca\":\"$D\"}" "$T"
ID=$(json_get "$API_BODY" 'd["id"]')
wait_cert_state "$T" "$ID" issued 60 >/dev/null || fail "d4 not issued"
expect_in "$(cat "$ENV_DIR/hook.log")" "setup dns-01 _acme-challenge.d4.dnsacct.test" "challenge_order"
env_stop_byocad
printf '[byocad]\nstate_dir = %s\nchallenge_order = dns-02\n' "$BYOCAD_STATE" >"$ENV_DIR/bad.conf"
expect_rc 2 "$BYOCAD" run -c "$ENV_DIR/bad.conf"
expect_in "$ERR" "unknown challenge type 'dns-02'" "bad challenge_order"
byocad_log_clean
pass "byocad: challenge_order respected, a bad one refused"
