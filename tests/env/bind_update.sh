# shellcheck shell=bash
# A zone on a real authoritative server (BIND 9, named) that accepts RFC
# 2136 dynamic updates signed with a TSIG key: for the rfc2136 dns-01
# solver, byocad's [rfc2136] zones and the nsupdate hook. Sourced after
# lib.sh. named runs as the test's user (root in CI: named keeps root then,
# no -u) from a folder of the bed, with no rndc control channel.
#
#   env_start_bind_update [ALG]  serves on 127.0.0.1:$PORT_BIND (the first
#     spare port, UDP and TCP) the zone bind.test. (SOA, NS ns.bind.test.,
#     ns.bind.test. A 127.0.0.1), where the key "byoca-bind." (algorithm
#     ALG, hmac-sha256 by default) may update TXT records of any name.
#     Exports ENV_BIND_TSIG_NAME, ENV_BIND_TSIG_ALG, ENV_BIND_SECRET_FILE
#     (the base64 secret, 0600), ENV_BIND_WRONG_FILE (another, valid-looking
#     secret named does not know) and ENV_BIND_KEY_FILE (the key as
#     nsupdate -k reads it, 0600).
#   env_start_pebble_bind        Pebble (name "pebble") resolving and
#     validating through that named, on $PORT_ACME/$PORT_MGMT; exports
#     ENV_DIRECTORY, ENV_MGMT, ENV_PEBBLE_ROOTS.
#   bind_txt NAME                the TXT data of NAME, asked of named
#     directly (dig +short, one record per line).
#   bind_acme_txt                every _acme-challenge TXT record in the
#     zone (a zone transfer; empty when the zone is clean).

env_start_bind_update() {
  local d=$ENV_DIR/bind-upd alg=${1:-hmac-sha256}
  command -v named >/dev/null 2>&1 ||
    { env__die "named (bind9) is not installed" && return 1; }
  mkdir -p "$d"
  export PORT_BIND=$PORT_SPARE_FIRST
  (umask 077 && openssl rand -base64 32 >"$d/tsig.secret" &&
    openssl rand -base64 32 >"$d/tsig.wrong") ||
    { env__die "cannot make the TSIG secrets" && return 1; }
  cat >"$d/bind.zone" <<ZONE
\$ORIGIN bind.test.
\$TTL 300
@ IN SOA ns.bind.test. admin.bind.test. 1 3600 600 86400 60
@ IN NS ns.bind.test.
ns IN A 127.0.0.1
www IN A 127.0.0.1
ZONE
  rm -f "$d/bind.zone.jnl"
  (umask 077 && cat >"$d/tsig.key" <<KEY
key "byoca-bind." {
  algorithm $alg;
  secret "$(cat "$d/tsig.secret")";
};
KEY
  )
  (umask 077 && cat >"$d/named.conf" <<CONF
include "$d/tsig.key";
options {
  directory "$d";
  pid-file "$d/named.pid";
  session-keyfile "$d/session.key";
  managed-keys-directory "$d";
  listen-on port $PORT_BIND { 127.0.0.1; };
  listen-on-v6 { none; };
  recursion no;
  dnssec-validation no;
  allow-transfer { 127.0.0.1; };
  notify no;
};
controls { };
zone "bind.test" {
  type primary;
  file "$d/bind.zone";
  update-policy { grant byoca-bind. subdomain bind.test. TXT; };
};
CONF
  )
  env_spawn bind-upd named -g -c "$d/named.conf" || return 1
  env__wait bind-upd "$ENV_LAST_PID" 15 env__bind_update_ready || return 1
  export ENV_BIND_TSIG_NAME=byoca-bind.
  export ENV_BIND_TSIG_ALG=$alg
  export ENV_BIND_SECRET_FILE=$d/tsig.secret
  export ENV_BIND_WRONG_FILE=$d/tsig.wrong
  export ENV_BIND_KEY_FILE=$d/tsig.key
}

env__bind_update_ready() {
  [ "$(dig +short +time=1 +tries=1 -p "$PORT_BIND" @127.0.0.1 \
    ns.bind.test A)" = 127.0.0.1 ]
}

env_start_pebble_bind() {
  # shellcheck disable=SC2119
  [ -n "${ENV_TLS_CERT:-}" ] || env_gen_tls || return 1
  ENV_DNS_SERVER=127.0.0.1:$PORT_BIND \
    env_start_pebble_one pebble "$PORT_ACME" "$PORT_MGMT" 0 "" 0 || return 1
  export ENV_DIRECTORY=https://127.0.0.1:$PORT_ACME/dir
  export ENV_MGMT=https://127.0.0.1:$PORT_MGMT
  export ENV_PEBBLE_ROOTS=$ENV_DIR/pebble-roots.pem
}

bind_txt() {
  dig +short +time=2 +tries=2 +norecurse -p "$PORT_BIND" @127.0.0.1 \
    "$1" TXT
}

bind_acme_txt() {
  dig +noall +answer +time=2 +tries=2 -p "$PORT_BIND" @127.0.0.1 \
    bind.test AXFR | awk '$4 == "TXT" && $1 ~ /_acme-challenge/'
}
# bind_clean WHEN: fails unless bind.test. holds no _acme-challenge record
bind_clean() {
  local left
  left=$(bind_acme_txt) || fail "$1: cannot transfer bind.test."
  [ -z "$left" ] || fail "$1: records left in bind.test.: $left"
}
