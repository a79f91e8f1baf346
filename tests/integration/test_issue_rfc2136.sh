#!/usr/bin/env bash
# dns-01 by RFC 2136 dynamic update with TSIG: Knot serves upd.test. and
# accepts signed updates; Pebble resolves and validates through that Knot,
# so the certificate is issued only if the TXT records really are in the
# zone. Covers a plain name, a wildcard with its base name (two TXT
# records for one name at once), the zone found by SOA and given, the
# [rfc2136] section of byoca.conf, hmac-sha512, and a wrong TSIG secret
# (clear error, no secret in the output, nothing left behind).
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/knot_update.sh"
env_init issue_rfc2136
env_gen_tls
env_start_knot_update hmac-sha256
env_start_pebble_knot
STATE=$ENV_DIR/state
SECRET=$(cat "$ENV_TSIG_SECRET_FILE")
WRONG=$(cat "$ENV_TSIG_WRONG_FILE")

br() {
  "$BYOCA" issue "$@" --server "$ENV_DIRECTORY" --ca-bundle "$ENV_CA_BUNDLE" \
    --state-dir "$STATE" --resolver "127.0.0.1@$PORT_KNOT_UPD" --agree-tos
}
rfc() {
  echo --dns-rfc2136 "127.0.0.1:$PORT_KNOT_UPD" --tsig-key "$ENV_TSIG_NAME"
}

# no _acme-challenge TXT anywhere under upd.test. (asked of Knot directly)
zone_clean() {
  local n left=""
  for n in _acme-challenge.upd.test _acme-challenge.a.upd.test \
    _acme-challenge.b.upd.test _acme-challenge.c.upd.test; do
    [ -z "$(knot_txt "$n")" ] || left+=" $n: $(knot_txt "$n" | tr '\n' ' ')"
  done
  [ -z "$left" ] || fail "$1: TXT records left in the zone:$left"
}
no_secret() {
  case "$1" in
  *"$SECRET"* | *"$WRONG"*) fail "$2: the TSIG secret appears in the output" ;;
  esac
}

# 1. one name, the zone found by SOA
# shellcheck disable=SC2046
expect_rc 0 br -d a.upd.test $(rfc) --tsig-secret-file "$ENV_TSIG_SECRET_FILE"
check_live a.upd.test
[ "$(cert_sans "$STATE/live/a.upd.test/cert.pem")" = "DNS:a.upd.test" ] ||
  fail "a.upd.test SANs: $(cert_sans "$STATE/live/a.upd.test/cert.pem")"
expect_in "$ERR" "added _acme-challenge.a.upd.test. TXT to zone upd.test." \
  "progress names the record and the zone"
no_secret "$OUT$ERR" "issue a.upd.test"
zone_clean "after a.upd.test"
# one signed add, one signed delete: Knot applied both
[ "$(grep -c 'DDNS, finished' "$ENV_DIR/knot-upd/knot.log")" = 2 ] ||
  fail "Knot did not apply exactly two updates: $(grep DDNS "$ENV_DIR/knot-upd/knot.log")"
pass "dns-01 by RFC 2136 update, zone found by SOA, record removed"

# 2. wildcard and base name: two TXT records for _acme-challenge.upd.test
#    at once, each deleted on its own
# shellcheck disable=SC2046
expect_rc 0 br -d upd.test -d '*.upd.test' $(rfc) \
  --tsig-secret-file "$ENV_TSIG_SECRET_FILE" --dns-zone upd.test
check_live upd.test
sans=$(cert_sans "$STATE/live/upd.test/cert.pem" | sort | tr '\n' ' ')
[ "$sans" = "DNS:*.upd.test DNS:upd.test " ] || fail "wildcard SANs: $sans"
no_secret "$OUT$ERR" "issue *.upd.test"
zone_clean "after the wildcard"
pass "wildcard + base name via RFC 2136, --dns-zone, both records removed"

# 3. a record of someone else on the same name survives our cleanup
cat >"$ENV_DIR/nsu" <<NSU
server 127.0.0.1 $PORT_KNOT_UPD
zone upd.test
update add _acme-challenge.b.upd.test. 60 TXT "not-ours"
send
NSU
nsupdate -y "hmac-sha256:$ENV_TSIG_NAME:$SECRET" "$ENV_DIR/nsu" ||
  fail "nsupdate could not add the foreign record"
# shellcheck disable=SC2046
expect_rc 0 br -d b.upd.test $(rfc) --tsig-secret-file "$ENV_TSIG_SECRET_FILE"
check_live b.upd.test
[ "$(knot_txt _acme-challenge.b.upd.test)" = '"not-ours"' ] ||
  fail "the foreign TXT record was touched: $(knot_txt _acme-challenge.b.upd.test)"
sed -i 's/update add/update delete/' "$ENV_DIR/nsu"
nsupdate -y "hmac-sha256:$ENV_TSIG_NAME:$SECRET" "$ENV_DIR/nsu"
zone_clean "after b.upd.test"
pass "cleanup deletes exactly our record, not the RRset"

# 4. the same settings from byoca.conf's [rfc2136] section
cat >"$ENV_DIR/byoca.conf" <<CONF
[rfc2136]
server = 127.0.0.1:$PORT_KNOT_UPD
tsig_key = $ENV_TSIG_NAME
tsig_alg = hmac-sha256
tsig_secret_file = $ENV_TSIG_SECRET_FILE
propagation_timeout = 30
propagation_interval = 1
CONF
expect_rc 0 br -d c.upd.test --config "$ENV_DIR/byoca.conf"
check_live c.upd.test
zone_clean "after c.upd.test (config)"
pass "[rfc2136] in byoca.conf"

# 5. wrong TSIG secret: one clear line, no secret, nothing left behind
# shellcheck disable=SC2046
expect_rc 1 br -d bad.upd.test $(rfc) --tsig-secret-file "$ENV_TSIG_WRONG_FILE"
expect_in "$ERR" "NOTAUTH" "wrong secret: rcode named"
expect_in "$ERR" "BADSIG" "wrong secret: TSIG error named"
expect_in "$ERR" "127.0.0.1:$PORT_KNOT_UPD" "wrong secret: server named"
expect_in "$ERR" "zone upd.test." "wrong secret: zone named"
[ "$(grep -c '^byoca: ' <<<"$ERR")" = 1 ] || fail "not one error line: $ERR"
no_secret "$OUT$ERR" "wrong secret"
[ ! -e "$STATE/live/bad.upd.test" ] || fail "live/ written despite BADSIG"
[ -z "$(knot_txt _acme-challenge.bad.upd.test)" ] || fail "TXT left after BADSIG"
zone_clean "after the wrong secret"
check_no_partial
pass "wrong TSIG secret -> NOTAUTH/BADSIG, nothing left"

# 6. the update server knows no zone for the name
# shellcheck disable=SC2046
expect_rc 1 br -d www.other.test $(rfc) \
  --tsig-secret-file "$ENV_TSIG_SECRET_FILE"
expect_in "$ERR" "serves no zone holding _acme-challenge.www.other.test." \
  "no zone"
[ ! -e "$STATE/live/www.other.test" ] || fail "live/ written without a zone"
pass "no zone at the server -> clear error"

# 7. bad options are refused before any order
expect_rc 1 br -d a.upd.test --dns-rfc2136 "127.0.0.1:$PORT_KNOT_UPD" \
  --tsig-secret-file "$ENV_TSIG_SECRET_FILE"
expect_in "$ERR" "--tsig-key" "missing key name"
# shellcheck disable=SC2046
expect_rc 1 br -d a.upd.test $(rfc) --tsig-secret-file "$ENV_DIR/none"
expect_in "$ERR" "$ENV_DIR/none" "missing secret file named"
# shellcheck disable=SC2046
expect_rc 1 br -d a.upd.test $(rfc) --tsig-secret-file "$ENV_TSIG_SECRET_FILE" \
  --tsig-alg hmac-md5
expect_in "$ERR" "unsupported TSIG algorithm" "md5 refused"
# shellcheck disable=SC2046
expect_rc 2 br -d a.upd.test $(rfc) --tsig-secret-file "$ENV_TSIG_SECRET_FILE" \
  --dns-propagation-timeout soon
expect_in "$ERR" "invalid --dns-propagation-timeout 'soon'" "bad timeout"
printf '[rfc2136]\nserver = 127.0.0.1\npropagation_timeout = forever\n' \
  >"$ENV_DIR/bad.conf"
expect_rc 2 br -d a.upd.test --config "$ENV_DIR/bad.conf"
expect_in "$ERR" "bad.conf:3:" "bad [rfc2136] value named by line"
pass "bad solver options refused"

# 8. a second name server that never gets the record: the wait times out
#    naming it, the record is removed again, nothing is issued
cat >"$ENV_DIR/nsu2" <<NSU
server 127.0.0.1 $PORT_KNOT_UPD
zone upd.test
update add upd.test. 60 NS ns2.upd.test.
update add ns2.upd.test. 60 A 127.0.0.2
send
NSU
nsupdate -y "hmac-sha256:$ENV_TSIG_NAME:$SECRET" "$ENV_DIR/nsu2" ||
  fail "nsupdate could not add the second name server"
# shellcheck disable=SC2046
expect_rc 1 br -d lag.upd.test $(rfc) --tsig-secret-file "$ENV_TSIG_SECRET_FILE" \
  --dns-propagation-timeout 2 --dns-propagation-interval 1
expect_in "$ERR" "_acme-challenge.lag.upd.test. TXT not served by every name server of zone upd.test. after 2 s: ns2.upd.test. (" \
  "lagging name server named"
case "$ERR" in *"ns.upd.test. ("*) fail "the up-to-date name server was named: $ERR" ;; esac
[ "$(grep -c '^byoca: ' <<<"$ERR")" = 1 ] || fail "not one error line: $ERR"
[ -z "$(knot_txt _acme-challenge.lag.upd.test)" ] || fail "TXT left after the timeout"
[ ! -e "$STATE/live/lag.upd.test" ] || fail "live/ written after the timeout"
pass "propagation timeout names the lagging server and removes the record"

# 9. hmac-sha512, on a Knot restarted with such a key (and the zone as
#    first loaded: updates are not kept across restarts)
env_stop knot-upd
env_start_knot_update hmac-sha512
# shellcheck disable=SC2046
expect_rc 0 br -d a.upd.test --force $(rfc) --tsig-alg hmac-sha512 \
  --tsig-secret-file "$ENV_TSIG_SECRET_FILE"
check_live a.upd.test
zone_clean "after hmac-sha512"
pass "hmac-sha512"
