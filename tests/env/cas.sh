# Several ACME CAs the way CAA discovery finds them: Pebble i behind nginx
# at https://ca<i>.byoca.test/.well-known/acme (port 443 on a loopback
# address of its own, resolved by pebble-challtestsrv), which redirects to
# that Pebble's directory. Sourced after lib.sh.
#
#   env_start_cas N [PEBBLE_VAR=value ...]   exports ENV_CA_IP_<i>,
#                                            ENV_CA_MGMT_<i>, ENV_CA_NAME_<i>
#   env_stop_ca I                            stops Pebble I (nginx stays)
#   ENV_CA_EAB="2 3"                         these CAs require EAB (kid-1,
#                                            $ENV_DIR/eab-kid-1.hmac)
#
# Loopback addresses are 127.<x>.<y>.<i+1>, derived from this script's
# port block, so suites running in parallel never share an address; the
# demo sets ENV_CA_IP_PREFIX=127.0.0 to get 127.0.0.2, .3, .4.

env__ca_prefix() {
  if [ -n "${ENV_CA_IP_PREFIX:-}" ]; then
    echo "$ENV_CA_IP_PREFIX"
  else
    echo "127.$(((PORT_BASE / 256) % 256)).$((PORT_BASE % 256))"
  fi
}

env_start_cas() {
  local n=$1 i ip acme mgmt prefix names=() conf
  shift
  [ "$n" -ge 1 ] && [ "$n" -le 5 ] || { env__die "env_start_cas: 1..5 CAs" && return 1; }
  [ -n "${ENV_TLS_CERT:-}" ] || env_gen_tls || return 1
  [ -n "$(env_pid challtestsrv)" ] || env_start_challtestsrv || return 1
  prefix=$(env__ca_prefix)
  for i in $(seq 1 "$n"); do names+=("ca$i.byoca.test"); done
  env_gen_server_cert cas "ca.byoca.test" "${names[@]}" || return 1
  mkdir -p "$ENV_DIR/nginx-cas"
  chmod 711 "$ENV_DIR" # nginx workers (nobody) read CA 4's directory file
  conf=$ENV_DIR/nginx-cas/nginx.conf
  {
    echo "daemon off; worker_processes 1; pid $ENV_DIR/nginx-cas/nginx.pid;"
    echo "error_log $ENV_DIR/nginx-cas/error.log;"
    echo "events { worker_connections 256; }"
    echo "http { access_log $ENV_DIR/nginx-cas/access.log;"
    echo "  client_body_temp_path $ENV_DIR/nginx-cas/tmp;"
  } >"$conf"
  for i in $(seq 1 "$n"); do
    ip=$prefix.$((i + 1))
    acme=$((PORT_SPARE_FIRST + 2 * (i - 1)))
    mgmt=$((acme + 1))
    local eab=0
    case " ${ENV_CA_EAB:-} " in *" $i "*)
      eab=1
      [ -s "$ENV_DIR/eab-kid-1.hmac" ] || env__gen_eab_keys || return 1
      ;;
    esac
    env_start_pebble_one "pebble-ca$i" "$acme" "$mgmt" "$eab" "" 0 "$@" || return 1
    cts_add_a "ca$i.byoca.test" "$ip" || return 1
    cat >>"$conf" <<CONF
  server {
    listen $ip:443 ssl;
    server_name ca$i.byoca.test;
    ssl_certificate $ENV_DIR/tls/cas.pem;
    ssl_certificate_key $ENV_DIR/tls/cas.key;
$(env__ca_location "$i" "$acme" "$mgmt")
  }
CONF
    export "ENV_CA_IP_$i=$ip" "ENV_CA_MGMT_$i=https://127.0.0.1:$mgmt"
    export "ENV_CA_NAME_$i=ca$i.byoca.test"
    export "ENV_CA_DIRECTORY_$i=https://127.0.0.1:$acme/dir"
  done
  echo "}" >>"$conf"
  env_spawn nginx-cas nginx -c "$conf" -p "$ENV_DIR/nginx-cas" || return 1
  for i in $(seq 1 "$n"); do
    env__wait nginx-cas "$ENV_LAST_PID" 10 env__ca_ready "$prefix.$((i + 1))" || return 1
  done
}

# How CA i serves its well-known URL: 1 and 2 redirect to their Pebble;
# 3 through a chain of three redirects; 4 serves a copy of its Pebble's
# directory whose caaIdentities names another CA (to be refused).
env__ca_location() {
  local i=$1 acme=$2
  case "$i" in
  3)
    echo "    location = /.well-known/acme { return 302 /hop-1; }"
    echo "    location = /hop-1 { return 301 /hop-2; }"
    echo "    location = /hop-2 { return 307 https://127.0.0.1:$acme/dir; }"
    ;;
  4)
    mkdir -p "$ENV_DIR/ca4-www/.well-known"
    curl -sf --cacert "$ENV_CA_BUNDLE" "https://127.0.0.1:$acme/dir" |
      python3 -c 'import json,sys; d=json.load(sys.stdin); d.setdefault("meta",{})["caaIdentities"]=["someone-else.example"]; print(json.dumps(d))' \
        >"$ENV_DIR/ca4-www/.well-known/acme"
    chmod -R a+rX "$ENV_DIR/ca4-www"
    echo "    location = /.well-known/acme { root $ENV_DIR/ca4-www; default_type application/json; }"
    ;;
  *) echo "    location = /.well-known/acme { return 307 https://127.0.0.1:$acme/dir; }" ;;
  esac
}

env__ca_ready() {
  curl -s -o /dev/null --cacert "$ENV_CA_BUNDLE" --resolve "ca.byoca.test:443:$1" \
    "https://ca.byoca.test/.well-known/acme"
}

env_stop_ca() {
  env_stop "pebble-ca$1"
}
