#!/usr/bin/env bash
# byocad answers dns-01 by RFC 2136 ([rfc2136 "ZONE"] in byocad.conf): a
# wildcard certificate ordered through the API is issued end to end with
# Knot holding the zone upd.test. and Pebble validating through that Knot;
# a second zone, bind.test., goes to BIND 9 (its own server and key), so
# each name reaches the server of its zone (Pebble cannot see bind.test.:
# that order fails, and its record is removed again). A name in no zone
# fails with a reason naming it; a secret file others may read is refused
# at start and at reload; SIGHUP applies a new zone list (a zone-less
# [rfc2136] section, zone found by SOA). Every zone is read afterwards: no
# _acme-challenge record is left.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/knot_update.sh"
source "$BYOCA_SRC/tests/env/bind_update.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
command -v named >/dev/null 2>&1 || {
  echo "skip: named (bind9) is not installed"
  exit 77
}
env_init daemon_rfc2136
env_gen_tls
env_start_knot_update hmac-sha256
env_start_bind_update hmac-sha512
env_start_pebble_knot
W=$ENV_DIR/work
mkdir -p "$W"

# conf_zones: the [rfc2136] sections of the first start
conf_zones() {
  ZONES=("resolver = 127.0.0.1@$PORT_KNOT_UPD"
    '[rfc2136 "upd.test"]' "server = 127.0.0.1" "port = $PORT_KNOT_UPD"
    "tsig_key = $ENV_TSIG_NAME" "tsig_alg = hmac-sha256"
    "tsig_secret_file = $ENV_TSIG_SECRET_FILE"
    "propagation_timeout = 20" "propagation_interval = 1"
    '[rfc2136 "Bind.Test."]' "server = 127.0.0.1:$PORT_BIND"
    "tsig_key = $ENV_BIND_TSIG_NAME" "tsig_alg = hmac-sha512"
    "tsig_secret_file = $ENV_BIND_SECRET_FILE"
    "propagation_timeout = 20" "propagation_interval = 1"
    '[rfc2136 "s.upd.test"]' "server = 127.0.0.1:$PORT_BIND"
    "tsig_key = $ENV_BIND_TSIG_NAME" "tsig_alg = hmac-sha512"
    "tsig_secret_file = $ENV_BIND_SECRET_FILE")
}
knot_clean() {
  local n left=""
  for n in _acme-challenge.upd.test _acme-challenge.w.upd.test \
    _acme-challenge.s.upd.test; do
    [ -z "$(knot_txt "$n")" ] || left+=" $n"
  done
  [ -z "$left" ] || fail "$1: TXT records left in upd.test.:$left"
}
# leaf_sans TOKEN ID: the SANs of the lineage's current leaf, sorted
leaf_sans() {
  api GET "/v1/certificates/$2/chain" "" "$1" | openssl x509 -noout -ext subjectAltName |
    tail -n +2 | tr ',' '\n' | sed 's/^ *//' | sort | tr '\n' ' '
}

cp "$ENV_TSIG_SECRET_FILE" "$W/open.secret"
chmod 0644 "$W/open.secret"

# ---- the wildcard through Knot, end to end
conf_zones
env_start_byocad "${ZONES[@]}"
env_tenant dnsd >/dev/null
T=$ENV_DIR/dnsd.token
ID=$(api_cert_add "$T" '*.upd.test')
CERT=$(wait_cert_state "$T" "$ID" issued 90) || {
  api GET "/v1/certificates/$ID" "" "$T" >/dev/null
  fail "*.upd.test not issued: $API_BODY"
}
sans=$(leaf_sans "$T" "$ID")
[ "$sans" = "DNS:*.upd.test " ] || fail "wildcard SANs: $sans"
grep -q "added _acme-challenge.upd.test. TXT to zone upd.test. at 127.0.0.1:$PORT_KNOT_UPD" \
  "$BYOCAD_LOG" || fail "byocad did not log the update at Knot"
[ "$(grep -c 'DDNS, finished' "$ENV_DIR/knot-upd/knot.log")" = 2 ] ||
  fail "Knot did not apply one add and one delete: $(grep DDNS "$ENV_DIR/knot-upd/knot.log")"
knot_clean "after *.upd.test"
bind_clean "after *.upd.test"
pass "wildcard certificate via RFC 2136 (Knot) through the API, record removed"

# ---- bind.test. goes to BIND with its own key; Pebble (asking Knot)
#      cannot validate it: the order fails and the record is removed
ID2=$(api_cert_add "$T" '*.s.bind.test')
api_cert_outcome "$T" "$ID2" "s.bind.test"
api_cert_forget "$T" "$ID2"
grep -q "adding an RR at '_acme-challenge.s.bind.test' TXT" \
  "$ENV_DIR/bind-upd.log" || fail "BIND did not get the bind.test. record"
grep -q "deleting an RR at _acme-challenge.s.bind.test TXT" \
  "$ENV_DIR/bind-upd.log" || fail "BIND did not delete the bind.test. record"
bind_clean "after the failed *.s.bind.test"
knot_clean "after the failed *.s.bind.test"
grep -q "s.bind.test" "$ENV_DIR/knot-upd/knot.log" &&
  fail "a bind.test. record went to Knot"
pass "each zone's records go to its own server and key; removed after failure"

# ---- the longest zone wins: s.upd.test. (BIND, which does not hold it)
#      over upd.test. (Knot)
ID6=$(api_cert_add "$T" '*.x.s.upd.test')
api_cert_outcome "$T" "$ID6" "127.0.0.1:$PORT_BIND"
api_cert_outcome "$T" "$ID6" "zone s.upd.test."
api_cert_forget "$T" "$ID6"
grep -q "x.s.upd.test" "$ENV_DIR/knot-upd/knot.log" &&
  fail "a name of s.upd.test. went to Knot"
knot_clean "after *.x.s.upd.test"
pass "the longest configured zone holding a name wins"

# ---- a name in no zone and no dns_hook: the reason names it
ID3=$(api_cert_add "$T" '*.nozone.test')
api_cert_outcome "$T" "$ID3" "nozone.test fits (dns-01: no zone or hook configured for this name)"
api_cert_forget "$T" "$ID3"
pass "a name in no configured zone fails naming it"

# ---- reload: a world-readable secret is refused, the running zones stay
conf_zones
BYOCAD_CONF=$W/next.conf env__byocad_conf "${ZONES[@]/$ENV_TSIG_SECRET_FILE/$W/open.secret}"
cp "$W/next.conf" "$BYOCAD_CONF"
kill -HUP "$BYOCAD_PID"
for ((i = 0; i < 50; i++)); do
  grep -q "reload: .*may be read by group or others" "$BYOCAD_LOG" && break
  sleep 0.2
done
grep -q "reload: .*$W/open.secret may be read by group or others.*keeping the running settings" \
  "$BYOCAD_LOG" || fail "reload did not refuse the open secret file"

# ---- reload: one zone-less [rfc2136] section for Knot (zone by SOA)
env__byocad_conf "resolver = 127.0.0.1@$PORT_KNOT_UPD" \
  '[rfc2136]' "server = 127.0.0.1:$PORT_KNOT_UPD" \
  "tsig_key = $ENV_TSIG_NAME" "tsig_secret_file = $ENV_TSIG_SECRET_FILE" \
  "propagation_interval = 1"
nrel=$(grep -c "configuration reloaded" "$BYOCAD_LOG" || true)
kill -HUP "$BYOCAD_PID"
for ((i = 0; i < 50; i++)); do
  [ "$(grep -c "configuration reloaded" "$BYOCAD_LOG")" -gt "$nrel" ] && break
  sleep 0.2
done
[ "$(grep -c "configuration reloaded" "$BYOCAD_LOG")" -gt "$nrel" ] ||
  fail "the second reload was not applied"
ID4=$(api_cert_add "$T" '*.w.upd.test')
CERT=$(wait_cert_state "$T" "$ID4" issued 90) || {
  api GET "/v1/certificates/$ID4" "" "$T" >/dev/null
  fail "*.w.upd.test not issued after the reload: $API_BODY"
}
knot_clean "after the reload"
# the name in bind.test. now goes to Knot (no zone there): fails, nothing
# is left in either zone
ID5=$(api_cert_add "$T" '*.t.bind.test')
api_cert_outcome "$T" "$ID5" "serves no zone holding _acme-challenge.t.bind.test."
api_cert_forget "$T" "$ID5"
bind_clean "after the reload"
pass "SIGHUP applies a new [rfc2136] list; a zone-less section finds zones by SOA"

env_stop_byocad
byocad_log_clean
grep -qF "$(cat "$ENV_TSIG_SECRET_FILE")" "$BYOCAD_LOG" "$ENV_DIR/byocad.log.old" 2>/dev/null &&
  fail "a TSIG secret is in byocad's log"
grep -qF "$(cat "$ENV_BIND_SECRET_FILE")" "$BYOCAD_LOG" &&
  fail "a TSIG secret is in byocad's log"
pass "byocad stopped cleanly; no secret in its log"

# ---- a secret file others may read: byocad refuses to start
conf_zones
BYOCAD_CONF=$W/open.conf env__byocad_conf "${ZONES[@]/$ENV_TSIG_SECRET_FILE/$W/open.secret}"
rc=0
timeout 20 "$BYOCAD" run -c "$W/open.conf" >"$W/open.log" 2>&1 || rc=$?
[ "$rc" != 0 ] || fail "byocad started with a world-readable TSIG secret"
grep -q "$W/open.secret may be read by group or others" "$W/open.log" ||
  fail "no reason for the refused secret file: $(cat "$W/open.log")"
pass "a TSIG secret file others may read is refused at start"

# ---- bad [rfc2136] sections: exit 2 naming the file, line or section
bad_conf() {
  local want=$1 rc=0
  shift
  printf '[byocad]\nstate_dir = %s\n' "$W/bad-state" >"$W/bad.conf"
  printf '%s\n' "$@" >>"$W/bad.conf"
  timeout 20 "$BYOCAD" run -c "$W/bad.conf" >"$W/bad.log" 2>&1 || rc=$?
  [ "$rc" = 2 ] || fail "bad config ($*): exit $rc, not 2: $(cat "$W/bad.log")"
  grep -qF "$want" "$W/bad.log" || fail "bad config ($*): no '$want' in: $(cat "$W/bad.log")"
}
bad_conf "bad.conf:5: tsig_alg: expected hmac-sha256 or hmac-sha512" \
  '[rfc2136 "a.test"]' 'server = 127.0.0.1' 'tsig_alg = hmac-md5'
bad_conf "bad.conf:5: unknown key zone" '[rfc2136]' 'server = 127.0.0.1' 'zone = a.test'
bad_conf "bad.conf:4: unknown section [rfc2136 a.test]" '[rfc2136 a.test]' 'server = 127.0.0.1'
bad_conf "bad.conf:5: port: expected a number from 1 to 65535" \
  '[rfc2136]' 'server = 127.0.0.1' 'port = 70000'
bad_conf '[rfc2136 "a.test"] has no tsig_key' '[rfc2136 "a.test"]' 'server = 127.0.0.1' \
  "tsig_secret_file = $ENV_TSIG_SECRET_FILE"
bad_conf '[rfc2136] has no server' '[rfc2136]' 'tsig_key = k.' \
  "tsig_secret_file = $ENV_TSIG_SECRET_FILE"
bad_conf '[rfc2136 "a.test"]: port given twice' '[rfc2136 "a.test"]' \
  'server = 127.0.0.1:53' 'port = 5353' 'tsig_key = k.' \
  "tsig_secret_file = $ENV_TSIG_SECRET_FILE"
pass "bad [rfc2136] sections refused with the line or section named"

# ---- stopped while a record waits for a name server that never gets it
#      (drain_timeout 1 s): byocad removes the record and exits 0
SECRET=$(cat "$ENV_TSIG_SECRET_FILE")
printf 'server 127.0.0.1 %s\nzone upd.test\nupdate add upd.test. 60 NS ns2.upd.test.\nupdate add ns2.upd.test. 60 A 127.0.0.2\nsend\n' \
  "$PORT_KNOT_UPD" | nsupdate -y "hmac-sha256:$ENV_TSIG_NAME:$SECRET" ||
  fail "cannot add the lagging name server"
conf_zones
env_start_byocad "${ZONES[@]/propagation_timeout = 20/propagation_timeout = 120}" \
  "[byocad]" "drain_timeout = 1"
ID7=$(api_cert_add "$T" '*.lag.upd.test')
for ((i = 0; i < 150; i++)); do
  grep -q "added _acme-challenge.lag.upd.test. TXT to zone upd.test.*waiting for its 2 name servers" \
    "$BYOCAD_LOG" && break
  sleep 0.2
done
[ -n "$(knot_txt _acme-challenge.lag.upd.test)" ] || fail "the record of $ID7 is not in the zone"
env_stop_byocad
byocad_log_clean
grep -q "removing the dns-01 records of 1 RFC 2136 update cut off" "$BYOCAD_LOG" ||
  fail "no word of the records removed at exit"
[ -z "$(knot_txt _acme-challenge.lag.upd.test)" ] || fail "TXT left after the stop"
pass "stopped during the propagation wait: record removed, clean exit"
