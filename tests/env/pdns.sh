# shellcheck shell=bash
# A real PowerDNS Authoritative Server (pdns_server, gsqlite3 backend) with
# its HTTP API, for contrib/hooks/powerdns.sh. Sourced after lib.sh.
#
#   env_start_pdns   serves DNS on 127.0.0.1:$PORT_PDNS (first spare port
#     + 1, UDP and TCP) and the API on http://127.0.0.1:$PORT_PDNS_API
#     (first spare + 2), with the zone pdns.test. (NS ns.pdns.test.,
#     ns.pdns.test. A 127.0.0.1) made through the API. Exports
#     ENV_PDNS_API (base URL) and ENV_PDNS_KEY_FILE (the API key, 0600).
#   env_start_pebble_pdns  Pebble (name "pebble") resolving and validating
#     through that server; exports ENV_DIRECTORY, ENV_MGMT.
#   pdns_api METHOD PATH [BODY]  calls the API (key via a header file),
#     prints the body.
#   pdns_txt NAME    the TXT data of NAME asked of pdns directly.

env_start_pdns() {
  local d=$ENV_DIR/pdns schema=/usr/share/doc/pdns-backend-sqlite3/schema.sqlite3.sql
  command -v pdns_server >/dev/null 2>&1 ||
    { env__die "pdns_server is not installed" && return 1; }
  [ -r "$schema" ] || { env__die "no $schema (pdns-backend-sqlite3)" && return 1; }
  mkdir -p "$d"
  export PORT_PDNS=$((PORT_SPARE_FIRST + 1)) PORT_PDNS_API=$((PORT_SPARE_FIRST + 2))
  rm -f "$d/pdns.db"
  sqlite3 "$d/pdns.db" <"$schema" || { env__die "cannot make the pdns database" && return 1; }
  (umask 077 && openssl rand -hex 24 >"$d/api.key" &&
    printf 'X-API-Key: %s\n' "$(cat "$d/api.key")" >"$d/api.hdr")
  (umask 077 && cat >"$d/pdns.conf" <<CONF
launch=gsqlite3
gsqlite3-database=$d/pdns.db
local-address=127.0.0.1
local-port=$PORT_PDNS
api=yes
api-key=$(cat "$d/api.key")
webserver=yes
webserver-address=127.0.0.1
webserver-port=$PORT_PDNS_API
webserver-allow-from=127.0.0.1/32
socket-dir=$d
guardian=no
daemon=no
disable-syslog=yes
setuid=
setgid=
loglevel=5
CONF
  )
  env_spawn pdns pdns_server --config-dir="$d" || return 1
  export ENV_PDNS_API=http://127.0.0.1:$PORT_PDNS_API
  export ENV_PDNS_KEY_FILE=$d/api.key
  env__wait pdns "$ENV_LAST_PID" 15 env__pdns_ready || return 1
  pdns_api POST /zones \
    '{"name":"pdns.test.","kind":"Native","nameservers":["ns.pdns.test."]}' >/dev/null &&
    pdns_api PATCH /zones/pdns.test. \
      '{"rrsets":[{"name":"ns.pdns.test.","type":"A","ttl":300,"changetype":"REPLACE","records":[{"content":"127.0.0.1","disabled":false}]}]}' \
      >/dev/null || { env__die "cannot create the zone pdns.test." && return 1; }
  env__wait pdns "$ENV_LAST_PID" 10 env__pdns_zone_ready || return 1
}

env__pdns_ready() {
  curl -sf -H @"$ENV_DIR/pdns/api.hdr" "$ENV_PDNS_API/api/v1/servers/localhost" >/dev/null
}

env__pdns_zone_ready() {
  [ "$(dig +short +time=1 +tries=1 -p "$PORT_PDNS" @127.0.0.1 ns.pdns.test A)" = 127.0.0.1 ]
}

pdns_api() {
  curl -sf -H @"$ENV_DIR/pdns/api.hdr" -H 'Content-Type: application/json' \
    -X "$1" ${3:+--data-binary "$3"} "$ENV_PDNS_API/api/v1/servers/localhost$2"
}

env_start_pebble_pdns() {
  # shellcheck disable=SC2119
  [ -n "${ENV_TLS_CERT:-}" ] || env_gen_tls || return 1
  ENV_DNS_SERVER=127.0.0.1:$PORT_PDNS \
    env_start_pebble_one pebble "$PORT_ACME" "$PORT_MGMT" 0 "" 0 || return 1
  export ENV_DIRECTORY=https://127.0.0.1:$PORT_ACME/dir
  export ENV_MGMT=https://127.0.0.1:$PORT_MGMT
  export ENV_PEBBLE_ROOTS=$ENV_DIR/pebble-roots.pem
}

pdns_txt() {
  dig +short +time=2 +tries=2 +norecurse -p "$PORT_PDNS" @127.0.0.1 "$1" TXT
}
