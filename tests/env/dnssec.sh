# A DNSSEC-signed zone on a real authoritative server (Knot), signed by
# this script with ldns-signzone, for libunbound to validate against the
# zone's own key. Sourced after lib.sh.
#
#   env_start_knot_signed   serves on 127.0.0.1:$PORT_KNOT (a spare port):
#     sec.byoca.test.      CAA 0 issue "ca1.byoca.test"   signed, valid
#     bad.sec.byoca.test.  CAA 0 issue "ca9.byoca.test"   its signature was
#                          made over "ca1.byoca.test": bogus
#     plain.test.          CAA 0 issue "ca1.byoca.test"   unsigned: insecure
#   and exports ENV_DNSSEC_ANCHOR, the zone's KSK (a DNSKEY record) as the
#   trust anchor file for byoca --trust-anchor.

env_start_knot_signed() {
  local d=$ENV_DIR/knot k
  mkdir -p "$d/db"
  export PORT_KNOT=$PORT_SPARE_LAST
  cat >"$d/sec.zone" <<ZONE
\$ORIGIN sec.byoca.test.
\$TTL 300
@ IN SOA ns.sec.byoca.test. admin.sec.byoca.test. 1 3600 600 86400 300
@ IN NS ns.sec.byoca.test.
ns IN A 127.0.0.1
@ IN CAA 0 issue "ca1.byoca.test"
bad IN CAA 0 issue "ca1.byoca.test"
ZONE
  cat >"$d/plain.zone" <<ZONE
\$ORIGIN plain.test.
\$TTL 300
@ IN SOA ns.plain.test. admin.plain.test. 1 3600 600 86400 300
@ IN NS ns.plain.test.
ns IN A 127.0.0.1
@ IN CAA 0 issue "ca1.byoca.test"
ZONE
  (cd "$d" && k=$(ldns-keygen -a ECDSAP256SHA256 -k sec.byoca.test) &&
    ldns-signzone -n -f sec.zone.signed sec.zone "$k" && cp "$k.key" anchor.key) \
    >>"$d/sign.log" 2>&1 || { env__die "signing the test zone failed (see $d/sign.log)" && return 1; }
  # tamper: keep the RRSIG, change the data it signs -> bogus
  sed -i 's/^\(bad\.sec\.byoca\.test\..*CAA.*\)"ca1\.byoca\.test"/\1"ca9.byoca.test"/' \
    "$d/sec.zone.signed"
  grep -q '^bad\.sec\.byoca\.test\..*"ca9\.byoca\.test"' "$d/sec.zone.signed" ||
    { env__die "tampering with the signed zone failed" && return 1; }
  cat >"$d/knot.conf" <<CONF
server:
  rundir: $d
  listen: 127.0.0.1@$PORT_KNOT
  user: root:root
database:
  storage: $d/db
zone:
  - domain: sec.byoca.test
    file: $d/sec.zone.signed
    zonefile-sync: -1
    journal-content: none
  - domain: plain.test
    file: $d/plain.zone
    zonefile-sync: -1
    journal-content: none
log:
  - target: $d/knot.log
    any: info
CONF
  env_spawn knot knotd -c "$d/knot.conf" || return 1
  env__wait knot "$ENV_LAST_PID" 10 env__knot_ready || return 1
  export ENV_DNSSEC_ANCHOR=$d/anchor.key
}

env__knot_ready() {
  [ -n "$(ENV_DNS_SERVER=127.0.0.1:$PORT_KNOT env_dns_query sec.byoca.test CAA)" ]
}
