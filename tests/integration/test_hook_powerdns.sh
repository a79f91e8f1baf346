#!/usr/bin/env bash
# contrib/hooks/powerdns.sh end to end against a real PowerDNS
# Authoritative Server (gsqlite3 backend, HTTP API) started by the test,
# with Pebble validating through that server: a wildcard and its base name
# (two setups on one name at once, merged under the hook's lock), the
# zone found through the API, a foreign value of the name kept, a wrong
# API key failing with the HTTP status and leaving nothing. The zone is
# read through the API afterwards: no _acme-challenge RRset may remain.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/pdns.sh"
command -v pdns_server >/dev/null 2>&1 || {
  echo "skip: pdns_server is not installed"
  exit 77
}
command -v jq >/dev/null 2>&1 || {
  echo "skip: jq is not installed"
  exit 77
}
env_init hook_powerdns
env_gen_tls
env_start_pdns
env_start_pebble_pdns
STATE=$ENV_DIR/state
H=$ENV_DIR/hooks
mkdir -p "$H"
cp "$BYOCA_SRC/contrib/hooks/powerdns.sh" "$H/powerdns.sh"
KEY=$(cat "$ENV_PDNS_KEY_FILE")

conf() {
  {
    echo "PDNS_API_URL=$ENV_PDNS_API"
    echo "PDNS_API_KEY_FILE=$ENV_PDNS_KEY_FILE"
    printf '%s\n' "$@"
  } >"$H/powerdns.sh.conf"
  chmod 0600 "$H/powerdns.sh.conf"
}
bh() {
  "$BYOCA" issue "$@" --server "$ENV_DIRECTORY" --ca-bundle "$ENV_CA_BUNDLE" \
    --state-dir "$STATE" --resolver "127.0.0.1@$PORT_PDNS" --agree-tos \
    --hook "$H/powerdns.sh" --hook-timeout 60
}
zone_clean() {
  local z left
  z=$(pdns_api GET /zones/pdns.test.) || fail "$1: cannot read the zone"
  left=$(jq -r '.rrsets[] | select(.name | startswith("_acme-challenge")) | .name + " " + ([.records[].content] | join(" "))' <<<"$z")
  [ -z "$left" ] || fail "$1: left in the zone: $left"
  [ -n "$(jq -r '.rrsets[] | select(.type == "SOA") | .name' <<<"$z")" ] ||
    fail "$1: the zone read has no SOA"
}

# 1. wildcard + base name, the zone found through the API
conf
expect_rc 0 bh -d pdns.test -d '*.pdns.test'
check_live pdns.test
sans=$(cert_sans "$STATE/live/pdns.test/cert.pem" | sort | tr '\n' ' ')
[ "$sans" = "DNS:*.pdns.test DNS:pdns.test " ] || fail "wildcard SANs: $sans"
zone_clean "after the wildcard"
pass "powerdns hook: wildcard + base name issued through PowerDNS, RRset removed"

# 2. a foreign value of the name is kept through setup and cleanup
pdns_api PATCH /zones/pdns.test. \
  '{"rrsets":[{"name":"_acme-challenge.b.pdns.test.","type":"TXT","ttl":60,"changetype":"REPLACE","records":[{"content":"\"not-ours\"","disabled":false}]}]}' \
  >/dev/null || fail "cannot add the foreign value"
conf "PDNS_ZONE=pdns.test"
expect_rc 0 bh -d b.pdns.test
check_live b.pdns.test
[ "$(pdns_txt _acme-challenge.b.pdns.test)" = '"not-ours"' ] ||
  fail "the foreign value was touched: $(pdns_txt _acme-challenge.b.pdns.test)"
pdns_api PATCH /zones/pdns.test. \
  '{"rrsets":[{"name":"_acme-challenge.b.pdns.test.","type":"TXT","changetype":"DELETE"}]}' >/dev/null
zone_clean "after b.pdns.test"
pass "powerdns hook: PDNS_ZONE, foreign value kept"

# 3. a wrong API key: HTTP 401 named, nothing left, no key shown
(umask 077 && echo wrong-key >"$H/wrong.key")
conf "PDNS_API_KEY_FILE=$H/wrong.key"
expect_rc 1 bh -d bad.pdns.test
expect_in "$ERR" "powerdns hook:" "wrong key: the hook's reason"
expect_in "$ERR" "HTTP 401" "wrong key: the status"
case "$OUT$ERR" in *"$KEY"*) fail "the API key appears in the output" ;; esac
[ ! -e "$STATE/live/bad.pdns.test" ] || fail "live/ written despite the wrong key"
zone_clean "after the wrong key"
pass "powerdns hook: wrong API key -> HTTP 401, nothing left"

# 4. setup then cleanup by hand, checked on the wire
conf
BYOCA_RECORD_NAME=_acme-challenge.h.pdns.test BYOCA_RECORD_VALUE=val-1 \
  "$H/powerdns.sh" setup || fail "manual setup failed"
[ "$(pdns_txt _acme-challenge.h.pdns.test)" = '"val-1"' ] ||
  fail "manual setup: $(pdns_txt _acme-challenge.h.pdns.test)"
BYOCA_RECORD_NAME=_acme-challenge.h.pdns.test BYOCA_RECORD_VALUE=val-1 \
  "$H/powerdns.sh" cleanup || fail "manual cleanup failed"
zone_clean "after the manual setup and cleanup"
pass "powerdns hook: setup/cleanup called directly"
