#!/usr/bin/env bash
# dns-01 by RFC 2136 dynamic update with TSIG against BIND 9 (named, started
# by the test): Pebble resolves and validates through that named, so the
# certificate is issued only if the TXT records really are in the zone.
# Covers a wildcard with its base name, the zone found by SOA, hmac-sha512
# and a wrong TSIG secret (one clear line naming the TSIG failure, no
# secret, nothing left behind). The zone is read by transfer after each
# step: no _acme-challenge record may remain, after success or failure.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/bind_update.sh"
command -v named >/dev/null 2>&1 || {
  echo "skip: named (bind9) is not installed"
  exit 77
}
env_init issue_rfc2136_bind
env_gen_tls
env_start_bind_update hmac-sha256
env_start_pebble_bind
STATE=$ENV_DIR/state
SECRET=$(cat "$ENV_BIND_SECRET_FILE")
WRONG=$(cat "$ENV_BIND_WRONG_FILE")

br() {
  "$BYOCA" issue "$@" --server "$ENV_DIRECTORY" --ca-bundle "$ENV_CA_BUNDLE" \
    --state-dir "$STATE" --resolver "127.0.0.1@$PORT_BIND" --agree-tos
}
rfc() {
  echo --dns-rfc2136 "127.0.0.1:$PORT_BIND" --tsig-key "$ENV_BIND_TSIG_NAME"
}
zone_clean() {
  local left
  left=$(bind_acme_txt) || fail "$1: cannot transfer the zone"
  [ -z "$left" ] || fail "$1: _acme-challenge records left in the zone: $left"
  # the transfer itself works (the zone is there): guards the check above
  [ -n "$(dig +noall +answer -p "$PORT_BIND" @127.0.0.1 bind.test AXFR |
    awk '$4 == "SOA"')" ] || fail "$1: the zone transfer returned no SOA"
}
no_secret() {
  case "$1" in
  *"$SECRET"* | *"$WRONG"*) fail "$2: the TSIG secret appears in the output" ;;
  esac
}

# 1. wildcard and base name, the zone found by SOA: two TXT records on
#    _acme-challenge.bind.test at once, each deleted on its own
# shellcheck disable=SC2046
expect_rc 0 br -d bind.test -d '*.bind.test' $(rfc) \
  --tsig-secret-file "$ENV_BIND_SECRET_FILE"
check_live bind.test
sans=$(cert_sans "$STATE/live/bind.test/cert.pem" | sort | tr '\n' ' ')
[ "$sans" = "DNS:*.bind.test DNS:bind.test " ] || fail "wildcard SANs: $sans"
expect_in "$ERR" "added _acme-challenge.bind.test. TXT to zone bind.test." \
  "progress names the record and the zone found by SOA"
no_secret "$OUT$ERR" "issue *.bind.test"
zone_clean "after the wildcard"
# named logged the signed updates: two adds and two deletes
n=$(grep -c "updating zone 'bind.test/IN': adding an RR at '_acme-challenge.bind.test' TXT" \
  "$ENV_DIR/bind-upd.log" || true)
[ "$n" = 2 ] || fail "named did not log two TXT adds: $n"
pass "wildcard + base name via RFC 2136 to BIND, both records removed"

# 2. a name below the apex, the zone given
# shellcheck disable=SC2046
expect_rc 0 br -d a.bind.test $(rfc) --tsig-secret-file "$ENV_BIND_SECRET_FILE" \
  --dns-zone bind.test
check_live a.bind.test
zone_clean "after a.bind.test"
pass "--dns-zone with BIND"

# 3. wrong TSIG secret: one clear line naming the TSIG failure, no secret,
#    no certificate, nothing in the zone
# shellcheck disable=SC2046
expect_rc 1 br -d bad.bind.test $(rfc) --tsig-secret-file "$ENV_BIND_WRONG_FILE"
expect_in "$ERR" "NOTAUTH" "wrong secret: rcode named"
expect_in "$ERR" "BADSIG" "wrong secret: TSIG error named"
expect_in "$ERR" "127.0.0.1:$PORT_BIND" "wrong secret: server named"
expect_in "$ERR" "zone bind.test." "wrong secret: zone named"
[ "$(grep -c '^byoca: ' <<<"$ERR")" = 1 ] || fail "not one error line: $ERR"
no_secret "$OUT$ERR" "wrong secret"
[ ! -e "$STATE/live/bad.bind.test" ] || fail "live/ written despite BADSIG"
grep -q "byoca-bind.*BADSIG\|request has invalid signature" \
  "$ENV_DIR/bind-upd.log" || fail "named did not log the bad signature"
zone_clean "after the wrong secret"
check_no_partial
pass "wrong TSIG secret at BIND -> NOTAUTH/BADSIG, nothing left"

# 4. a key named does not know at all (BADKEY)
# shellcheck disable=SC2046
expect_rc 1 br -d badkey.bind.test --dns-rfc2136 "127.0.0.1:$PORT_BIND" \
  --tsig-key unknown-key. --tsig-secret-file "$ENV_BIND_SECRET_FILE"
expect_in "$ERR" "BADKEY" "unknown key: TSIG error named"
zone_clean "after the unknown key"
pass "unknown TSIG key at BIND -> BADKEY, nothing left"

# 5. hmac-sha512, on a named restarted with such a key
env_stop bind-upd
env_start_bind_update hmac-sha512
# shellcheck disable=SC2046
expect_rc 0 br -d b.bind.test $(rfc) --tsig-alg hmac-sha512 \
  --tsig-secret-file "$ENV_BIND_SECRET_FILE"
check_live b.bind.test
zone_clean "after hmac-sha512"
pass "hmac-sha512 with BIND"
