# shellcheck shell=bash
# A zone on a real authoritative server (Knot) that accepts RFC 2136
# dynamic updates signed with a TSIG key, for the rfc2136 dns-01 solver.
# Sourced after lib.sh.
#
#   env_start_knot_update [ALG]  serves on 127.0.0.1:$PORT_KNOT_UPD (a spare
#     port, UDP and TCP) the zone upd.test. (SOA, NS ns.upd.test., and
#     ns.upd.test. A 127.0.0.1), updatable by the key "byoca-test." with
#     algorithm ALG (hmac-sha256 by default). Exports ENV_TSIG_NAME,
#     ENV_TSIG_ALG and ENV_TSIG_SECRET_FILE (the base64 secret, 0600) and
#     ENV_TSIG_WRONG_FILE (another, valid-looking secret Knot does not know).
#   env_start_pebble_knot        Pebble (name "pebble") resolving and
#     validating through that Knot, on $PORT_ACME/$PORT_MGMT; exports
#     ENV_DIRECTORY, ENV_MGMT, ENV_PEBBLE_ROOTS.
#   knot_txt NAME                the TXT data of NAME, asked of Knot
#     directly (dig +short, one record per line).

env_start_knot_update() {
  local d=$ENV_DIR/knot-upd alg=${1:-hmac-sha256}
  mkdir -p "$d/db"
  # the block's last spare port is dnssec.sh's; take the one before it
  export PORT_KNOT_UPD=$((PORT_SPARE_LAST - 1))
  (umask 077 && openssl rand -base64 32 >"$d/tsig.secret" &&
    openssl rand -base64 32 >"$d/tsig.wrong") ||
    { env__die "cannot make the TSIG secrets" && return 1; }
  cat >"$d/upd.zone" <<ZONE
\$ORIGIN upd.test.
\$TTL 300
@ IN SOA ns.upd.test. admin.upd.test. 1 3600 600 86400 60
@ IN NS ns.upd.test.
ns IN A 127.0.0.1
www IN A 127.0.0.1
ZONE
  cat >"$d/knot.conf" <<CONF
server:
  rundir: $d
  listen: 127.0.0.1@$PORT_KNOT_UPD
  user: $(id -un):$(id -gn)
database:
  storage: $d/db
key:
  - id: byoca-test.
    algorithm: $alg
    secret: $(cat "$d/tsig.secret")
acl:
  - id: byoca-update
    key: byoca-test.
    action: update
zone:
  - domain: upd.test
    file: $d/upd.zone
    zonefile-sync: -1
    zonefile-load: whole
    journal-content: none
    acl: byoca-update
log:
  - target: $d/knot.log
    any: info
CONF
  chmod 0600 "$d/knot.conf"
  env_spawn knot-upd knotd -c "$d/knot.conf" || return 1
  env__wait knot-upd "$ENV_LAST_PID" 10 env__knot_update_ready || return 1
  export ENV_TSIG_NAME=byoca-test.
  export ENV_TSIG_ALG=$alg
  export ENV_TSIG_SECRET_FILE=$d/tsig.secret
  export ENV_TSIG_WRONG_FILE=$d/tsig.wrong
}

env__knot_update_ready() {
  [ "$(dig +short +time=1 +tries=1 -p "$PORT_KNOT_UPD" @127.0.0.1 \
    ns.upd.test A)" = 127.0.0.1 ]
}

env_start_pebble_knot() {
  # shellcheck disable=SC2119
  [ -n "${ENV_TLS_CERT:-}" ] || env_gen_tls || return 1
  ENV_DNS_SERVER=127.0.0.1:$PORT_KNOT_UPD \
    env_start_pebble_one pebble "$PORT_ACME" "$PORT_MGMT" 0 "" 0 || return 1
  export ENV_DIRECTORY=https://127.0.0.1:$PORT_ACME/dir
  export ENV_MGMT=https://127.0.0.1:$PORT_MGMT
  export ENV_PEBBLE_ROOTS=$ENV_DIR/pebble-roots.pem
}

knot_txt() {
  dig +short +time=2 +tries=2 +norecurse -p "$PORT_KNOT_UPD" @127.0.0.1 \
    "$1" TXT
}
