#!/usr/bin/env bash
# --ca auto, the harder cases: a CA that requires EAB (skipped without
# credentials, used with them), accounturi pinning an existing account, a
# multi-name certificate whose CA is a compromise (D-COMPROMISE), and a
# wildcard governed by issuewild.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/cas.sh"
env_init ca_auto_cases
env_gen_tls
env_start_challtestsrv
ENV_CA_EAB=3 env_start_cas 3
STATE=$ENV_DIR/state
cat "$ENV_DIR"/pebble-roots-ca*.pem >"$ENV_DIR/all-roots.pem"
export ENV_PEBBLE_ROOTS=$ENV_DIR/all-roots.pem
HOOK=$ENV_DIR/hook.sh
cat >"$HOOK" <<HOOK
#!/bin/sh
case "\$BYOCA_ACTION" in
setup) curl -sf -d "{\"host\":\"\$BYOCA_RECORD_NAME.\",\"value\":\"\$BYOCA_RECORD_VALUE\"}" http://127.0.0.1:$PORT_CTS_API/set-txt ;;
cleanup) curl -sf -d "{\"host\":\"\$BYOCA_RECORD_NAME.\"}" http://127.0.0.1:$PORT_CTS_API/clear-txt ;;
esac
HOOK
chmod 755 "$HOOK"
ba() {
  "$BYOCA" "$@" --resolver "127.0.0.1@$PORT_DNS" --allow-net 127.0.0.0/8 \
    --ca-bundle "$ENV_CA_BUNDLE" --state-dir "$STATE" \
    --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --hook "$HOOK"
}
ca_cn() {
  curl -sf --cacert "$ENV_CA_BUNDLE" "$(eval echo "\$ENV_CA_MGMT_$1")/intermediates/0" |
    openssl x509 -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p'
}
issued_by() {
  openssl x509 -in "$STATE/live/$1/cert.pem" -noout -issuer -nameopt multiline |
    sed -n 's/^ *commonName *= *//p'
}
account_url() {
  python3 - "$STATE/accounts" "$1" <<'PY'
import json, os, sys
for d in os.listdir(sys.argv[1]):
    p = os.path.join(sys.argv[1], d, "account.json")
    if os.path.exists(p):
        j = json.load(open(p))
        if j.get("issuer") == sys.argv[2]:
            print(j["url"])
PY
}

# EAB: ca3 (preferred) requires it; without credentials it is skipped
cts_add_caa eab.byoca.test 0 issue "ca3.byoca.test; priority=1"
cts_add_caa eab.byoca.test 0 issue "ca1.byoca.test; priority=2"
expect_rc 0 ba issue -d eab.byoca.test
expect_in "$ERR" "External Account Binding" "EAB skip reason"
[ "$(issued_by eab.byoca.test)" = "$(ca_cn 1)" ] || fail "ca1 should issue without EAB for ca3"
expect_rc 0 ba issue -d eab.byoca.test --force --eab "ca3.byoca.test=kid-1:$ENV_DIR/eab-kid-1.hmac"
[ "$(issued_by eab.byoca.test)" = "$(ca_cn 3)" ] || fail "ca3 should issue with EAB"
check_live eab.byoca.test
pass "EAB-only CA skipped without credentials, used with them"

# accounturi: our account at ca1 satisfies the record; another does not
acct=$(account_url ca1.byoca.test)
[ -n "$acct" ] || fail "no account at ca1 recorded"
cts_add_caa pin.byoca.test 0 issue "ca1.byoca.test; accounturi=$acct"
expect_rc 0 ba issue -d pin.byoca.test
[ "$(issued_by pin.byoca.test)" = "$(ca_cn 1)" ] || fail "accounturi pin"
cts_add_caa pin2.byoca.test 0 issue "ca1.byoca.test; accounturi=https://127.0.0.1:1/acct/other"
expect_rc 1 ba issue -d pin2.byoca.test
expect_in "$ERR" "no CA may issue" "foreign accounturi"
pass "accounturi pinning"

# multi-name compromise: ca1 ranks 1,2,1 and ca2 ranks 2,1,2 -> ca1
cts_add_caa a.multi.byoca.test 0 issue "ca1.byoca.test; priority=1"
cts_add_caa a.multi.byoca.test 0 issue "ca2.byoca.test; priority=2"
cts_add_caa b.multi.byoca.test 0 issue "ca2.byoca.test; priority=1"
cts_add_caa b.multi.byoca.test 0 issue "ca1.byoca.test; priority=2"
cts_add_caa c.multi.byoca.test 0 issue "ca1.byoca.test; priority=1"
cts_add_caa c.multi.byoca.test 0 issue "ca2.byoca.test; priority=2"
expect_rc 0 ba discover a.multi.byoca.test b.multi.byoca.test c.multi.byoca.test --json --no-directory
echo "$OUT" | python3 -c '
import json,sys; d=json.load(sys.stdin); c=d["candidates"]
assert [(x["issuer"], x["score"]) for x in c] == [("ca1.byoca.test", 4), ("ca2.byoca.test", 5)], c' ||
  fail "compromise scores: $OUT"
expect_rc 0 ba issue -d a.multi.byoca.test -d b.multi.byoca.test -d c.multi.byoca.test
[ "$(issued_by a.multi.byoca.test)" = "$(ca_cn 1)" ] || fail "compromise CA"
expect_in "$(cert_sans "$STATE/live/a.multi.byoca.test/cert.pem")" "DNS:b.multi.byoca.test" "multi SAN"
pass "multi-name compromise"

# issuewild governs the wildcard, issue the plain name
cts_add_caa wild.byoca.test 0 issue "ca1.byoca.test"
cts_add_caa wild.byoca.test 0 issuewild "ca2.byoca.test"
expect_rc 0 ba issue -d '*.wild.byoca.test' --cert-name star.wild.byoca.test
[ "$(issued_by star.wild.byoca.test)" = "$(ca_cn 2)" ] || fail "issuewild CA"
expect_rc 0 ba issue -d wild.byoca.test
[ "$(issued_by wild.byoca.test)" = "$(ca_cn 1)" ] || fail "issue CA for the plain name"
pass "wildcard with issuewild"
