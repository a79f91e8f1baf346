#!/usr/bin/env bash
# byocad and certificate profiles (draft-ietf-acme-profiles, D-PROFILE):
# the API's profile and profile_required round trip (POST, GET, the
# certificate.added event), the profile the CA echoed stored and shown as
# issued_profile, a required profile the CA does not offer failing with an
# outcome naming the CA and the profile (and no order sent), byocad.conf's
# per-CA profile and the tenant's default (PUT /v1/tenants/{id}/profile)
# for lineages that name none, and bad input refused. The
# CA is Pebble behind the profiles fixture (tests/env/ari_proxy.py).
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/ari.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init daemon_profile
env_gen_tls
env_start_challtestsrv
env_start_pebble
env_start_ari
A_DIR=$ARI_DIRECTORY
A_CTL=$ARI_CTRL
# last_orders N: the last N newOrders the proxy saw, "profile/status"
last_orders() {
  ari_requests "$A_CTL" | python3 -c '
import json, sys
o = json.load(sys.stdin)["orders"][-int(sys.argv[1]):]
print(" ".join("%s/%s" % (x["profile"] or "-", x["status"]) for x in o))' "$1"
}
norders() {
  ari_requests "$A_CTL" | python3 -c 'import json,sys; print(len(json.load(sys.stdin)["orders"]))'
}

BYOCAD_DEFAULT_CA=$A_DIR env_start_byocad \
  '[ca "ca-p.daemon.test"]' "directory = $A_DIR" "profile = shortlived"
TID=$(env_tenant prof)
T=$ENV_DIR/prof.token

# ---- a preferred profile: sent, echoed, stored, shown
api_expect 201 POST /v1/certificates \
  "{\"identifiers\":[\"p1.daemon.test\"],\"ca\":\"$A_DIR\",\"profile\":\"shortlived\"}" "$T"
ID=$(json_get "$API_BODY" 'd["id"]')
json_check "$API_BODY" "assert d['profile'] == 'shortlived', d
assert d['profile_required'] is False and d['issued_profile'] is None, d"
CERT=$(wait_cert_state "$T" "$ID" issued 60) || fail "p1 not issued"
json_check "$CERT" "assert d['issued_profile'] == 'shortlived', d
assert d['profile'] == 'shortlived' and d['profile_required'] is False, d" ||
  fail "p1: $CERT"
[ "$(last_orders 1)" = "shortlived/201" ] || fail "p1 order: $(last_orders 1)"
api_expect 200 GET "/v1/certificates?limit=10" "" "$T"
json_check "$API_BODY" "c = [x for x in d['items'] if x['id'] == $ID][0]
assert c['issued_profile'] == 'shortlived', c" || fail "list: $API_BODY"
pass "preferred profile sent, echoed, stored, shown on GET and in the list"

# ---- required and offered: the added event says so
api_expect 201 POST /v1/certificates \
  "{\"identifiers\":[\"p2.daemon.test\"],\"ca\":\"$A_DIR\",\"profile\":\"classic\",\"profile_required\":true}" "$T"
ID2=$(json_get "$API_BODY" 'd["id"]')
json_check "$API_BODY" "assert d['profile'] == 'classic' and d['profile_required'] is True, d"
CERT=$(wait_cert_state "$T" "$ID2" issued 60) || fail "p2 not issued"
json_check "$CERT" "assert d['issued_profile'] == 'classic', d"
DET=$(api_has_event "$T" certificate.added "$ID2")
json_check "$DET" "assert d['profile'] == 'classic' and d['profile_required'] is True, d" ||
  fail "added event: $DET"
pass "required profile offered: issued with it; audited"

# ---- required and not offered: failed, the outcome names CA and profile
n=$(norders)
api_expect 201 POST /v1/certificates \
  "{\"identifiers\":[\"p3.daemon.test\"],\"ca\":\"$A_DIR\",\"profile\":\"tlsserver\",\"profile_required\":true}" "$T"
ID3=$(json_get "$API_BODY" 'd["id"]')
api_cert_outcome "$T" "$ID3" 'required profile "tlsserver"'
json_check "$API_BODY" "assert d['state'] == 'failed', d
assert '$A_DIR' in d['last_outcome'], d
assert d['issued_profile'] is None, d" || fail "p3: $API_BODY"
[ "$(norders)" = "$n" ] || fail "an order was sent for a profile not offered"
pass "required profile not offered: failed, naming the CA and the profile"

# ---- preferred and refused (invalidProfile): ordered again without it
ari_ctl "$A_CTL" /directory '{"refuse_profiles": ["shortlived"]}'
api_expect 201 POST /v1/certificates \
  "{\"identifiers\":[\"p4.daemon.test\"],\"ca\":\"$A_DIR\",\"profile\":\"shortlived\"}" "$T"
ID4=$(json_get "$API_BODY" 'd["id"]')
CERT=$(wait_cert_state "$T" "$ID4" issued 60) || fail "p4 not issued"
json_check "$CERT" "assert d['issued_profile'] is None, d"
[ "$(last_orders 2)" = "shortlived/400 -/201" ] || fail "p4: $(last_orders 2)"
ari_ctl "$A_CTL" /directory '{"refuse_profiles": []}'
pass "preferred profile refused: issued without it"

# ---- byocad.conf [ca] profile: for a lineage that names none
cts_add_caa p5.daemon.test 0 issue "ca-p.daemon.test"
api_expect 201 POST /v1/certificates '{"identifiers":["p5.daemon.test"]}' "$T"
ID5=$(json_get "$API_BODY" 'd["id"]')
json_check "$API_BODY" "assert d['profile'] is None, d"
CERT=$(wait_cert_state "$T" "$ID5" issued 60) || fail "p5 not issued"
json_check "$CERT" "assert d['issuer'] == 'ca-p.daemon.test', d
assert d['issued_profile'] == 'shortlived', d" || fail "p5: $CERT"
[ "$(last_orders 1)" = "shortlived/201" ] || fail "p5 order: $(last_orders 1)"
pass "byocad.conf [ca] profile used for a lineage without one"

# ---- the tenant's default profile (operator): for lineages naming none
api_expect 403 PUT "/v1/tenants/$TID/profile" '{"profile":"classic"}' "$T"
api_expect 200 PUT "/v1/tenants/$TID/profile" '{"profile":"classic"}' "$BYOCAD_OPERATOR"
json_check "$API_BODY" "assert d['profile'] == 'classic' and d['profile_required'] is False, d"
api_expect 200 GET "/v1/tenants/$TID" "" "$BYOCAD_OPERATOR"
json_check "$API_BODY" "assert d['profile'] == 'classic', d"
api_expect 201 POST /v1/certificates \
  "{\"identifiers\":[\"p6.daemon.test\"],\"ca\":\"$A_DIR\"}" "$T"
ID6=$(json_get "$API_BODY" 'd["id"]')
json_check "$API_BODY" "assert d['profile'] is None, d"
CERT=$(wait_cert_state "$T" "$ID6" issued 60) || fail "p6 not issued"
json_check "$CERT" "assert d['issued_profile'] == 'classic', d" || fail "p6: $CERT"
[ "$(last_orders 1)" = "classic/201" ] || fail "p6 order: $(last_orders 1)"
# the tenant's default beats the provider's [ca] profile
cts_add_caa p7.daemon.test 0 issue "ca-p.daemon.test"
api_expect 201 POST /v1/certificates '{"identifiers":["p7.daemon.test"]}' "$T"
ID7=$(json_get "$API_BODY" 'd["id"]')
CERT=$(wait_cert_state "$T" "$ID7" issued 60) || fail "p7 not issued"
json_check "$CERT" "assert d['issued_profile'] == 'classic', d" || fail "p7: $CERT"
# required at the tenant level: a CA without it fails the lineage
api_expect 200 PUT "/v1/tenants/$TID/profile" \
  '{"profile":"tlsserver","profile_required":true}' "$BYOCAD_OPERATOR"
n=$(norders)
api_expect 201 POST /v1/certificates \
  "{\"identifiers\":[\"p8.daemon.test\"],\"ca\":\"$A_DIR\"}" "$T"
ID8=$(json_get "$API_BODY" 'd["id"]')
api_cert_outcome "$T" "$ID8" 'required profile "tlsserver"'
[ "$(norders)" = "$n" ] || fail "p8: an order was sent"
DET=$(api_has_event "$BYOCAD_OPERATOR" tenant.profile_set None)
json_check "$DET" "assert d == {'profile': 'tlsserver', 'profile_required': True}, d" ||
  fail "tenant.profile_set: $DET"
api_expect 400 PUT "/v1/tenants/$TID/profile" '{"profile":"two words"}' "$BYOCAD_OPERATOR"
api_expect 400 PUT "/v1/tenants/$TID/profile" '{"profile":null,"profile_required":true}' "$BYOCAD_OPERATOR"
api_expect 400 PUT "/v1/tenants/$TID/profile" '{}' "$BYOCAD_OPERATOR"
api_expect 404 PUT "/v1/tenants/99999/profile" '{"profile":null}' "$BYOCAD_OPERATOR"
api_expect 200 PUT "/v1/tenants/$TID/profile" '{"profile":null}' "$BYOCAD_OPERATOR"
json_check "$API_BODY" "assert d['profile'] is None and d['profile_required'] is False, d"
pass "tenant default profile: used, beats the provider's, required fails, cleared"

# ---- bad input: 400 naming the field
api_expect 400 POST /v1/certificates \
  '{"identifiers":["x.daemon.test"],"profile_required":true}' "$T"
expect_in "$API_BODY" "profile_required" "required without a profile"
api_expect 400 POST /v1/certificates \
  '{"identifiers":["x.daemon.test"],"profile":"a","profile_required":"yes"}' "$T"
expect_in "$API_BODY" "profile_required" "not a boolean"
api_expect 400 POST /v1/certificates \
  '{"identifiers":["x.daemon.test"],"profile":"two words"}' "$T"
expect_in "$API_BODY" "profile" "bad name"
pass "bad profile input refused with 400"

env_stop_byocad
byocad_log_clean
