# shellcheck shell=bash
# The ARI-and-profiles fixture (tests/env/ari_proxy.py): a TLS reverse proxy
# in front of a Pebble that adds renewalInfo (RFC 9773) and meta.profiles,
# which Pebble 2.4 lacks. Sourced after lib.sh, once the Pebble runs.
#
#   env_start_ari [NAME UPSTREAM PORT CONTROL_PORT]
#       starts one proxy; defaults: "ari" in front of $ENV_DIRECTORY's
#       Pebble on $PORT_SPARE_LAST (control $PORT_SPARE_LAST - 1). Exports
#       ARI_DIRECTORY (its directory URL) and ARI_CTRL (its control API)
#       for the proxy just started. A second proxy (a second CA) takes two
#       other spare ports; cas.sh uses the spare ports from the first up.
#   env_stop_ari [NAME]      stops it (connections are then refused)
#   ari_ctl CTRL PATH JSON   POST to a proxy's control API (fails unless 200)
#   ari_requests CTRL        what the proxy saw (JSON on stdout)

env_start_ari() {
  local name=${1:-ari} upstream=${2:-https://127.0.0.1:$PORT_ACME}
  local port=${3:-$PORT_SPARE_LAST} ctrl=${4:-$((PORT_SPARE_LAST - 1))}
  [ -n "${ENV_TLS_CERT:-}" ] || { env__die "env_gen_tls first" && return 1; }
  env_spawn "$name" python3 "$ENV_LIB_DIR/ari_proxy.py" \
    --listen "127.0.0.1:$port" --control "127.0.0.1:$ctrl" \
    --upstream "$upstream" --cert "$ENV_TLS_CERT" --key "$ENV_TLS_KEY" \
    --ca-bundle "$ENV_CA_BUNDLE"
  env__wait "$name" "$ENV_LAST_PID" 10 env__ari_ready "$port" "$ctrl" ||
    return 1
  export ARI_DIRECTORY=https://127.0.0.1:$port/dir
  export ARI_CTRL=http://127.0.0.1:$ctrl
}

env__ari_ready() {
  "${ENV_CURL[@]}" -f "http://127.0.0.1:$2/health" &&
    "${ENV_CURL[@]}" -f --cacert "$ENV_CA_BUNDLE" \
      "https://127.0.0.1:$1/dir" | grep -q renewalInfo
}

env_stop_ari() { env_stop "${1:-ari}"; }

ari_ctl() {
  local code
  code=$("${ENV_CURL[@]}" -o /dev/null -w '%{http_code}' -X POST \
    --data-binary "$3" "$1$2") || return 1
  [ "$code" = 200 ] || {
    env__log "ari proxy $2 $3: HTTP $code"
    return 1
  }
}

ari_requests() { "${ENV_CURL[@]}" -f "$1/requests"; }
