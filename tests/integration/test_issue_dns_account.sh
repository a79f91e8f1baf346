#!/usr/bin/env bash
# dns-account-01 (draft-ietf-acme-dns-account-label, D-DNSACCOUNT) and the
# challenge rule (docs/challenges.md). Pebble 2.4 has no dns-account-01:
# the fixture tests/env/dnsacct_proxy.py offers it in front of a Pebble
# with PEBBLE_VA_ALWAYS_VALID=1 and itself checks the TXT record at the
# account label, on pebble-challtestsrv (the hook) or on Knot (RFC 2136),
# before it lets an answer through, so a wrong label or value fails.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/knot_update.sh"
source "$BYOCA_SRC/tests/env/dnsacct.sh"
env_init issue_dns_account
env_gen_tls
env_start_challtestsrv
env_start_pebble PEBBLE_VA_ALWAYS_VALID=1
env_start_knot_update hmac-sha256
env_start_dnsacct "127.0.0.1:$PORT_DNS"
STATE=$ENV_DIR/state
CTS_DNS=127.0.0.1:$PORT_DNS
KNOT_DNS=127.0.0.1:$PORT_KNOT_UPD

bd() {
  "$BYOCA" "$@" --ca-bundle "$ENV_CA_BUNDLE" --resolver "127.0.0.1@$PORT_DNS"
}
bx() { bd issue --server "$DNSACCT_DIRECTORY" --state-dir "$STATE" --agree-tos "$@"; }

HOOK=$ENV_DIR/hook.sh
cat >"$HOOK" <<HOOK
#!/bin/sh
# a DNS hook for pebble-challtestsrv: publishes BYOCA_RECORD_NAME, whatever
# the type; with $ENV_DIR/barrier present, setup waits (20 s at most) until
# two setups have happened, so two clients hold their records at once
echo "\$BYOCA_ACTION \$BYOCA_CHALLENGE_TYPE \$BYOCA_RECORD_NAME label=\$BYOCA_ACCOUNT_LABEL" >> "$ENV_DIR/hook.log"
case "\$BYOCA_ACTION" in
setup)
  curl -sf -d "{\"host\":\"\$BYOCA_RECORD_NAME.\",\"value\":\"\$BYOCA_RECORD_VALUE\"}" http://127.0.0.1:$PORT_CTS_API/set-txt || exit 1
  if [ -d "$ENV_DIR/barrier" ]; then
    : > "$ENV_DIR/barrier/\$BYOCA_ACCOUNT_LABEL"
    i=0
    while [ "\$(ls "$ENV_DIR/barrier" | wc -l)" -lt 2 ] && [ \$i -lt 200 ]; do
      sleep 0.1; i=\$((i + 1))
    done
  fi ;;
cleanup) curl -sf -d "{\"host\":\"\$BYOCA_RECORD_NAME.\"}" http://127.0.0.1:$PORT_CTS_API/clear-txt ;;
esac
HOOK
chmod 755 "$HOOK"

# the label of an account URL, computed here independently of byoca
label_of() {
  python3 -c 'import base64,hashlib,sys; print("_"+base64.b32encode(hashlib.sha256(sys.argv[1].encode()).digest()[:10]).decode().lower())' "$1"
}
# field F of the proxy's check number N (0-based; -1 = last)
check_field() {
  dnsacct_checks | python3 -c 'import json,sys; c=json.load(sys.stdin); print(c[int(sys.argv[1])][sys.argv[2]] if c else "")' "$1" "$2"
}
nchecks() { dnsacct_checks | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
txt_at() { dig +short +time=2 +tries=2 +norecurse -p "${2##*:}" @127.0.0.1 "$1" TXT; }

# 1. the hook: dns-account-01 preferred by default, the record at the
#    account label, removed afterwards
expect_rc 0 bx -d a.dnsacct.test --hook "$HOOK" -v
expect_in "$ERR" "validating a.dnsacct.test (dns-account-01)" "progress line"
check_live a.dnsacct.test
[ "$(nchecks)" = 1 ] || fail "the proxy checked $(nchecks) records, not 1"
[ "$(check_field -1 found)" = True ] || fail "record not seen: $(dnsacct_checks)"
acct=$(check_field -1 account)
name="$(label_of "$acct")._acme-challenge.a.dnsacct.test"
[ "$(check_field -1 name)" = "$name." ] ||
  fail "checked $(check_field -1 name), want $name."
expect_in "$(cat "$ENV_DIR/hook.log")" "setup dns-account-01 $name label=$(label_of "$acct")" "hook setup env"
expect_in "$(cat "$ENV_DIR/hook.log")" "cleanup dns-account-01 $name" "hook cleanup"
[ -z "$(txt_at "$name" "$CTS_DNS")" ] || fail "TXT left at $name"
pass "dns-account-01 through the hook, record at the account label, removed"

# 2. RFC 2136 to Knot: the proxy checks Knot; the zone is clean afterwards
dnsacct_ctl /config "{\"dns\":\"$KNOT_DNS\"}"
rfc=(--dns-rfc2136 "$KNOT_DNS" --tsig-key "$ENV_TSIG_NAME"
  --tsig-secret-file "$ENV_TSIG_SECRET_FILE" --dns-propagation-interval 1)
expect_rc 0 bx -d r.upd.test "${rfc[@]}" -v
expect_in "$ERR" "validating r.upd.test (dns-account-01)" "rfc2136 progress"
rname="$(label_of "$acct")._acme-challenge.r.upd.test"
expect_in "$ERR" "added $rname. TXT to zone upd.test." "rfc2136 record name"
{ [ "$(check_field -1 name)" = "$rname." ] && [ "$(check_field -1 found)" = True ]; } ||
  fail "Knot did not serve $rname during validation: $(dnsacct_checks)"
check_live r.upd.test
[ -z "$(knot_txt "$rname")" ] || fail "TXT left in the zone at $rname"
pass "dns-account-01 by RFC 2136: served by Knot during validation, removed"

# 3. RFC 2136, the CA refuses the answer: present during validation,
#    removed after the failure
dnsacct_ctl /config '{"reject":true}'
expect_rc 1 bx -d f.upd.test "${rfc[@]}"
expect_in "$ERR" "incorrectResponse" "refusal reported"
fname="$(label_of "$acct")._acme-challenge.f.upd.test"
{ [ "$(check_field -1 name)" = "$fname." ] && [ "$(check_field -1 found)" = True ]; } ||
  fail "record not served during the refused validation: $(dnsacct_checks)"
[ -z "$(knot_txt "$fname")" ] || fail "TXT left in the zone after the failure"
[ ! -e "$STATE/live/f.upd.test" ] || fail "live/ written after a failure"
dnsacct_ctl /reset '{}'
pass "dns-account-01 by RFC 2136: removed after a failed validation"

# 4. a wrong label fails: the record published at the dns-01 name instead
WRONG=$ENV_DIR/wrong-hook.sh
# shellcheck disable=SC2016
sed 's/\$BYOCA_RECORD_NAME\./_acme-challenge.$BYOCA_IDENTIFIER./' "$HOOK" >"$WRONG"
chmod 755 "$WRONG"
expect_rc 1 bx -d w.dnsacct.test --hook "$WRONG"
expect_in "$ERR" "not found" "the fixture did not find the record"
[ "$(check_field -1 found)" = False ] || fail "a wrong label was accepted"
pass "a record at the wrong name fails validation"

# 5. two accounts hold validations for one name at the same time
mkdir "$ENV_DIR/barrier"
bd issue --server "$DNSACCT_DIRECTORY" --state-dir "$ENV_DIR/s1" --agree-tos \
  -d both.dnsacct.test --hook "$HOOK" >"$ENV_DIR/s1.out" 2>&1 &
p1=$!
bd issue --server "$DNSACCT_DIRECTORY" --state-dir "$ENV_DIR/s2" --agree-tos \
  -d both.dnsacct.test --hook "$HOOK" >"$ENV_DIR/s2.out" 2>&1 &
p2=$!
wait "$p1" || fail "first account: $(cat "$ENV_DIR/s1.out")"
wait "$p2" || fail "second account: $(cat "$ENV_DIR/s2.out")"
rm -r "$ENV_DIR/barrier"
{ [ -s "$ENV_DIR/s1/live/both.dnsacct.test/cert.pem" ] &&
  [ -s "$ENV_DIR/s2/live/both.dnsacct.test/cert.pem" ]; } || fail "not both issued"
python3 - <<PY || fail "two accounts: $(dnsacct_checks)"
import json, subprocess
c = json.loads(subprocess.run(["curl", "-sf", "$DNSACCT_CTRL/checks"],
                              capture_output=True, text=True).stdout)
c = [x for x in c if x["name"].endswith("._acme-challenge.both.dnsacct.test.")]
assert len(c) == 2 and all(x["found"] for x in c), c
assert c[0]["name"] != c[1]["name"] and c[0]["account"] != c[1]["account"], c
PY
pass "two accounts validated one name at once, each at its own label"

# 6. CAA validationmethods=dns-01 picks dns-01 although dns-account-01 is
#    offered (--ca auto, the CA found by its issuer-domain-name)
cat >"$ENV_DIR/byoca.conf" <<CONF
[ca "dnsacct.byoca.test"]
directory = $DNSACCT_DIRECTORY
CONF
ba() {
  bd issue --config "$ENV_DIR/byoca.conf" --state-dir "$STATE" \
    --allow-net 127.0.0.0/8 "$@"
}
cts_add_caa vm.dnsacct.test 0 issue "dnsacct.byoca.test; validationmethods=dns-01"
n0=$(nchecks)
expect_rc 0 ba -d vm.dnsacct.test --hook "$HOOK" -v
expect_in "$ERR" "validating vm.dnsacct.test (dns-01)" "CAA chose dns-01"
expect_in "$(cat "$ENV_DIR/hook.log")" "setup dns-01 _acme-challenge.vm.dnsacct.test" "hook dns-01"
[ "$(nchecks)" = "$n0" ] || fail "dns-account-01 was answered despite CAA"
cts_add_caa any.dnsacct.test 0 issue "dnsacct.byoca.test"
expect_rc 0 ba -d any.dnsacct.test --hook "$HOOK" -v
expect_in "$ERR" "validating any.dnsacct.test (dns-account-01)" "no validationmethods"
pass "CAA validationmethods=dns-01 wins over the default preference"

# 7. nothing fits: every offered type with its reasons
cts_add_caa none.dnsacct.test 0 issue "dnsacct.byoca.test; validationmethods=dns-account-01"
dnsacct_ctl /config '{"offer":false}'
expect_rc 1 ba -d none.dnsacct.test --hook "$HOOK"
for want in "http-01: not allowed by CAA validationmethods, no configured solver" \
  "dns-01: not allowed by CAA validationmethods" \
  "tls-alpn-01: not allowed by CAA validationmethods, no configured solver"; do
  expect_in "$ERR" "$want" "reason listed"
done
case "$(cat "$ENV_DIR/hook.log")" in
*"setup dns-01 _acme-challenge.none."* | *"none.dnsacct.test label"*) fail "the hook ran" ;;
esac
dnsacct_ctl /reset '{}'
expect_rc 1 bx -d order.dnsacct.test --hook "$HOOK" --challenge-order http-01
expect_in "$ERR" "dns-01: not in the challenge order" "order reason"
expect_in "$ERR" "dns-account-01: not in the challenge order" "order reason"
expect_in "$ERR" "http-01: no configured solver" "solver reason"
pass "nothing fits: each offered type named with why"

# 8. --challenge-order, byoca.conf's challenge_order, and the lineage
#    keeping it for renewal
expect_rc 0 bx -d o.dnsacct.test --hook "$HOOK" --challenge-order dns-01,dns-account-01 -v
expect_in "$ERR" "validating o.dnsacct.test (dns-01)" "--challenge-order"
expect_validated "validating o.dnsacct.test (dns-01)" \
  bd renew o.dnsacct.test --force --state-dir "$STATE" -v
printf '[defaults]\nchallenge_order = dns-01\n' >"$ENV_DIR/order.conf"
expect_rc 0 bx -d c.dnsacct.test --hook "$HOOK" --config "$ENV_DIR/order.conf" -v
expect_in "$ERR" "validating c.dnsacct.test (dns-01)" "challenge_order in byoca.conf"
printf '[defaults]\nchallenge_order = dns-02\n' >"$ENV_DIR/bad.conf"
expect_rc 2 bx -d x.dnsacct.test --hook "$HOOK" --config "$ENV_DIR/bad.conf"
expect_in "$ERR" "bad.conf:2" "bad challenge_order named by line"
expect_rc 2 bx -d x.dnsacct.test --hook "$HOOK" --challenge-order dns-01,bogus-01
expect_in "$ERR" "unknown challenge type 'bogus-01'" "bad --challenge-order"
pass "--challenge-order and challenge_order respected"
