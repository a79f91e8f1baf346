#!/usr/bin/env bash
# Certificate profiles (draft-ietf-acme-profiles, D-PROFILE, D-FALLBACK)
# end to end: byoca against Pebble behind the profiles fixture
# (tests/env/ari_proxy.py: meta.profiles, profile echoed, invalidProfile).
# A profile sent, echoed and stored (lineage, list); a preferred profile
# the CA does not advertise is not sent and the certificate is issued
# without it; one it advertises but refuses (invalidProfile) is ordered
# again without it; a required one fails with an error naming the CA and
# the profile, or (--ca auto) skips that CA for the next; byoca.conf's
# per-CA profile; discover shows meta.profiles; a hostile meta.profiles
# changes nothing.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/ari.sh"
env_init profile
env_gen_tls
env_start_challtestsrv
env_start_pebble
env_start_ari
A_DIR=$ARI_DIRECTORY
A_CTL=$ARI_CTRL
STATE=$ENV_DIR/state
HTTP01=(--http-addr 127.0.0.1 --http-port "$PORT_HTTP01")

by() {
  "$BYOCA" "$@" --ca-bundle "$ENV_CA_BUNDLE" --state-dir "$STATE" \
    --resolver "127.0.0.1@$PORT_DNS"
}
# last_orders CTRL N: the last N newOrders the proxy saw, "profile/status"
last_orders() {
  ari_requests "$1" | python3 -c '
import json, sys
o = json.load(sys.stdin)["orders"][-int(sys.argv[1]):]
print(" ".join("%s/%s" % (x["profile"] or "-", x["status"]) for x in o))' "$2"
}
norders() {
  ari_requests "$1" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["orders"]))'
}
# lin NAME KEY: a member of the lineage's state file
lin() {
  python3 -c 'import json,sys; v=json.load(open(sys.argv[1])).get(sys.argv[2]); print("" if v is None else v)' \
    "$STATE/renewal/$1.json" "$2"
}
list_json() {
  expect_rc 0 "$BYOCA" list --json --state-dir "$STATE"
  echo "$OUT" | python3 -c "import json,sys; d={x['name']: x for x in json.load(sys.stdin)}; $1" ||
    fail "list --json: $2: $OUT"
}

# ---- a profile the CA offers: sent, echoed, stored, listed
expect_rc 0 by issue -d short.profile.test --server "$A_DIR" "${HTTP01[@]}" \
  --agree-tos --profile shortlived --json
[ "$(last_orders "$A_CTL" 1)" = "shortlived/201" ] ||
  fail "profile not sent: $(last_orders "$A_CTL" 1)"
echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["profile"] == "shortlived", d' ||
  fail "issue --json: profile: $OUT"
check_live short.profile.test
[ "$(lin short.profile.test issued_profile)" = shortlived ] || fail "echo not stored"
[ "$(lin short.profile.test profile)" = shortlived ] || fail "wanted not stored"
list_json '
p = d["short.profile.test"]
assert p["profile"] == "shortlived" and p["profile_wanted"] == "shortlived", p
assert p["profile_required"] is False, p' "profile"
expect_rc 0 "$BYOCA" list --state-dir "$STATE"
expect_in "$OUT" "PROFILE" "list header"
expect_in "$(grep short.profile.test <<<"$OUT")" " shortlived " "list profile column"
# a renewal asks for the same profile
expect_rc 0 by renew --force short.profile.test "${HTTP01[@]}"
[ "$(last_orders "$A_CTL" 1)" = "shortlived/201" ] ||
  fail "renewal without the profile: $(last_orders "$A_CTL" 1)"
pass "profile sent, echoed, stored, listed, renewed with it"

# ---- preferred, not advertised: not sent; the CA's own choice is stored
ari_ctl "$A_CTL" /directory '{"default_profile": "classic"}'
expect_rc 0 by issue -d pref.profile.test --server "$A_DIR" "${HTTP01[@]}" \
  --profile tlsserver
expect_in "$ERR" 'profile "tlsserver" is not offered by' "preferred missing said"
[ "$(last_orders "$A_CTL" 1)" = "-/201" ] ||
  fail "an unadvertised profile was sent: $(last_orders "$A_CTL" 1)"
check_live pref.profile.test
[ "$(lin pref.profile.test issued_profile)" = classic ] ||
  fail "the CA's choice not stored: $(lin pref.profile.test issued_profile)"
ari_ctl "$A_CTL" /directory '{"default_profile": null}'
pass "preferred profile not advertised: issued without it, CA's choice stored"

# ---- preferred, advertised but refused (invalidProfile): ordered again
ari_ctl "$A_CTL" /directory '{"refuse_profiles": ["shortlived"]}'
expect_rc 0 by issue -d refused.profile.test --server "$A_DIR" "${HTTP01[@]}" \
  --profile shortlived
expect_in "$ERR" "invalidProfile" "retry said"
[ "$(last_orders "$A_CTL" 2)" = "shortlived/400 -/201" ] ||
  fail "invalidProfile not retried without: $(last_orders "$A_CTL" 2)"
check_live refused.profile.test
[ -z "$(lin refused.profile.test issued_profile)" ] || fail "no profile echoed"
pass "preferred profile refused with invalidProfile: ordered again without"

# ---- required, advertised but refused: a clear error, one order only
n=$(norders "$A_CTL")
expect_rc 1 by issue -d req1.profile.test --server "$A_DIR" "${HTTP01[@]}" \
  --profile shortlived --require-profile
expect_in "$ERR" "refused the profile \"shortlived\"" "required refused"
expect_in "$ERR" "127.0.0.1" "the CA named"
expect_in "$ERR" "invalidProfile" "problem type shown"
[ "$(norders "$A_CTL")" = $((n + 1)) ] || fail "required profile retried"
[ ! -e "$STATE/live/req1.profile.test" ] || fail "issued without the profile"
ari_ctl "$A_CTL" /directory '{"refuse_profiles": []}'
pass "required profile refused: error naming the CA and profile"

# ---- required, not advertised: nothing ordered, the error names both
n=$(norders "$A_CTL")
expect_rc 1 by issue -d req2.profile.test --server "$A_DIR" "${HTTP01[@]}" \
  --profile tlsserver --require-profile
expect_in "$ERR" "does not offer the required profile \"tlsserver\"" "required"
expect_in "$ERR" "$A_DIR" "the CA named"
expect_in "$ERR" "it offers: classic, shortlived" "offered listed"
[ "$(norders "$A_CTL")" = "$n" ] || fail "an order was sent"
expect_rc 2 by issue -d x.profile.test --server "$A_DIR" --require-profile
expect_in "$ERR" "--require-profile needs --profile" "usage"
expect_rc 2 by issue -d x.profile.test --server "$A_DIR" --profile 'bad name'
expect_in "$ERR" "not a profile name" "usage: bad name"
pass "required profile not advertised: error naming the CA and profile"

# ---- required, but the CA answers with another profile: refused
ari_ctl "$A_CTL" /directory '{"force_echo": "shortlived"}'
expect_rc 1 by issue -d req3.profile.test --server "$A_DIR" "${HTTP01[@]}" \
  --profile classic --require-profile
expect_in "$ERR" 'with profile "shortlived", not the required "classic"' "echo"
[ ! -e "$STATE/live/req3.profile.test" ] || fail "issued with another profile"
expect_rc 0 by issue -d pref3.profile.test --server "$A_DIR" "${HTTP01[@]}" \
  --profile classic
[ "$(lin pref3.profile.test issued_profile)" = shortlived ] ||
  fail "preferred: the CA's answer not stored"
ari_ctl "$A_CTL" /directory '{"force_echo": null}'
pass "required profile answered with another: refused; preferred: kept"

# ---- byoca.conf: the CA's profile when the certificate names none
cat >"$ENV_DIR/a.conf" <<EOF
[ca "ca-a.profile.test"]
directory = $A_DIR
profile = shortlived
EOF
expect_rc 0 by issue -d conf.profile.test --server "$A_DIR" "${HTTP01[@]}" \
  --config "$ENV_DIR/a.conf"
[ "$(last_orders "$A_CTL" 1)" = "shortlived/201" ] ||
  fail "config profile not sent: $(last_orders "$A_CTL" 1)"
[ "$(lin conf.profile.test issued_profile)" = shortlived ] || fail "conf echo"
printf '[ca "x"]\nprofile = no way\n' >"$ENV_DIR/bad.conf"
expect_rc 2 by list --config "$ENV_DIR/bad.conf"
expect_in "$ERR" "bad.conf:2" "bad profile in config"
pass "byoca.conf [ca] profile used; an invalid one refused"

# ---- a hostile meta.profiles: ignored, issuance unaffected
ari_ctl "$A_CTL" /directory '{"profiles": "not an object"}'
expect_rc 0 by issue -d hostile.profile.test --server "$A_DIR" "${HTTP01[@]}" \
  --profile classic
[ "$(last_orders "$A_CTL" 1)" = "-/201" ] || fail "hostile: $(last_orders "$A_CTL" 1)"
python3 -c '
import json
p = {"p%d" % i: "d" * 3000 for i in range(100)}
p["bad name"] = "x"; p["n"] = 7; p["x" * 100] = "long"
print(json.dumps({"profiles": p}))' >"$ENV_DIR/many.json"
"${ENV_CURL[@]}" -f -X POST --data-binary @"$ENV_DIR/many.json" \
  "$A_CTL/directory" >/dev/null || fail "many profiles: control"
expect_rc 0 by issue -d many.profile.test --server "$A_DIR" "${HTTP01[@]}" \
  --profile p3
[ "$(last_orders "$A_CTL" 1)" = "p3/201" ] || fail "many: $(last_orders "$A_CTL" 1)"
ari_ctl "$A_CTL" /directory '{"profiles": {"classic": "the usual 90 days", "shortlived": "six days, no OCSP"}}'
pass "hostile meta.profiles: ignored or bounded"

# ---- --ca auto: a required profile skips the CA without it
env_start_pebble_one pebble-b "$PORT_ACME_EAB" "$PORT_MGMT_EAB" 0 "" ""
env_start_ari ari-b "https://127.0.0.1:$PORT_ACME_EAB" \
  $((PORT_SPARE_LAST - 2)) $((PORT_SPARE_LAST - 3))
B_DIR=$ARI_DIRECTORY
B_CTL=$ARI_CTRL
ari_ctl "$B_CTL" /directory '{"profiles": {"tlsserver": "45 days"}}'
cat "$ENV_DIR"/pebble-roots*.pem >"$ENV_DIR/all-roots.pem"
export ENV_PEBBLE_ROOTS=$ENV_DIR/all-roots.pem
cat >"$ENV_DIR/byoca.conf" <<EOF
[ca "ca-a.profile.test"]
directory = $A_DIR
[ca "ca-b.profile.test"]
directory = $B_DIR
EOF
cts_add_caa auto.profile.test 0 issue "ca-a.profile.test; priority=1"
cts_add_caa auto.profile.test 0 issue "ca-b.profile.test; priority=2"
na=$(norders "$A_CTL")
expect_rc 0 by issue -d auto.profile.test "${HTTP01[@]}" --json \
  --config "$ENV_DIR/byoca.conf" --profile tlsserver --require-profile
[ "$(norders "$A_CTL")" = "$na" ] || fail "ordered at the CA without the profile"
[ "$(last_orders "$B_CTL" 1)" = "tlsserver/201" ] ||
  fail "not at CA B with the profile: $(last_orders "$B_CTL" 1)"
echo "$OUT" | python3 -c '
import json, sys
d = json.load(sys.stdin)
a = d["attempts"]
assert a[0]["issuer"] == "ca-a.profile.test" and a[0]["outcome"] == "skipped", a
assert "tlsserver" in a[0]["reason"], a
assert a[1]["issuer"] == "ca-b.profile.test" and a[1]["outcome"] == "issued", a
assert d["profile"] == "tlsserver", d' || fail "attempts: $OUT"
[ "$(lin auto.profile.test issued_profile)" = tlsserver ] || fail "auto echo"
# a skip for a missing profile is not a CA failure: no backoff recorded
if [ -f "$STATE/ca-health.json" ]; then
  python3 -c '
import json, sys
h = json.load(open(sys.argv[1])).get("ca-a.profile.test", {})
assert not h.get("failures"), h' "$STATE/ca-health.json" || fail "CA A counted as failing"
fi
# preferred only: the owner's first CA, without the profile
cts_add_caa auto2.profile.test 0 issue "ca-a.profile.test; priority=1"
cts_add_caa auto2.profile.test 0 issue "ca-b.profile.test; priority=2"
expect_rc 0 by issue -d auto2.profile.test "${HTTP01[@]}" \
  --config "$ENV_DIR/byoca.conf" --profile tlsserver
[ "$(lin auto2.profile.test issuer)" = ca-a.profile.test ] || fail "auto2 issuer"
[ "$(last_orders "$A_CTL" 1)" = "-/201" ] || fail "auto2: $(last_orders "$A_CTL" 1)"
pass "--ca auto: required profile skips the CA without it; preferred does not"

# ---- discover shows each CA's meta.profiles
expect_rc 0 by discover auto.profile.test --config "$ENV_DIR/byoca.conf"
expect_in "$OUT" "profiles: classic: the usual 90 days" "discover text A"
expect_in "$OUT" "shortlived: six days, no OCSP" "discover text A 2"
expect_in "$OUT" "profiles: tlsserver: 45 days" "discover text B"
expect_rc 0 by discover auto.profile.test --config "$ENV_DIR/byoca.conf" --json
echo "$OUT" | python3 -c '
import json, sys
c = {x["issuer"]: x for x in json.load(sys.stdin)["candidates"]}
assert c["ca-a.profile.test"]["profiles"] == {"classic": "the usual 90 days", "shortlived": "six days, no OCSP"}, c
assert c["ca-b.profile.test"]["profiles"] == {"tlsserver": "45 days"}, c' ||
  fail "discover --json: $OUT"
expect_rc 0 by discover auto.profile.test --no-directory --json
echo "$OUT" | python3 -c '
import json, sys
assert all(x["profiles"] is None for x in json.load(sys.stdin)["candidates"])' ||
  fail "discover --no-directory: $OUT"
pass "discover shows meta.profiles"
