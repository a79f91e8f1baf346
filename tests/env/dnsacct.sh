# shellcheck shell=bash
# The dns-account-01 fixture (tests/env/dnsacct_proxy.py): a TLS reverse
# proxy in front of a Pebble started with PEBBLE_VA_ALWAYS_VALID=1 that
# offers dns-account-01 (Pebble 2.4 has none) and checks the TXT record at
# the account label itself before it lets an answer through. Sourced after
# lib.sh, once that Pebble runs.
#
#   env_start_dnsacct DNS [PORT CONTROL_PORT]
#       starts the proxy in front of $ENV_DIRECTORY's Pebble, checking
#       records at DNS (IP:PORT); defaults $PORT_SPARE_FIRST and the port
#       after it. Exports DNSACCT_DIRECTORY and DNSACCT_CTRL.
#   dnsacct_ctl PATH JSON   POST to the control API (fails unless 200)
#   dnsacct_checks          the checks the proxy made (JSON on stdout)

env_start_dnsacct() {
  local dns=$1 port=${2:-$PORT_SPARE_FIRST} ctrl=${3:-$((PORT_SPARE_FIRST + 1))}
  [ -n "${ENV_TLS_CERT:-}" ] || { env__die "env_gen_tls first" && return 1; }
  env_spawn dnsacct python3 "$ENV_LIB_DIR/dnsacct_proxy.py" \
    --listen "127.0.0.1:$port" --control "127.0.0.1:$ctrl" \
    --upstream "https://127.0.0.1:$PORT_ACME" --cert "$ENV_TLS_CERT" \
    --key "$ENV_TLS_KEY" --ca-bundle "$ENV_CA_BUNDLE" --dns "$dns"
  env__wait dnsacct "$ENV_LAST_PID" 10 env__dnsacct_ready "$port" "$ctrl" ||
    return 1
  export DNSACCT_DIRECTORY=https://127.0.0.1:$port/dir
  export DNSACCT_CTRL=http://127.0.0.1:$ctrl
}

env__dnsacct_ready() {
  "${ENV_CURL[@]}" -f "http://127.0.0.1:$2/health" &&
    "${ENV_CURL[@]}" -f --cacert "$ENV_CA_BUNDLE" \
      "https://127.0.0.1:$1/dir" | grep -q newOrder
}

dnsacct_ctl() {
  local code
  code=$("${ENV_CURL[@]}" -o /dev/null -w '%{http_code}' -X POST \
    --data-binary "$2" "$DNSACCT_CTRL$1") || return 1
  [ "$code" = 200 ] || {
    env__log "dnsacct proxy $1 $2: HTTP $code"
    return 1
  }
}

dnsacct_checks() { "${ENV_CURL[@]}" -f "$DNSACCT_CTRL/checks"; }
