# shellcheck shell=bash
# An existing TLS front end handing tls-alpn-01 to byocad, as docs/daemon.md
# shows: nginx's stream module on Pebble's tls-alpn port ($PORT_TLSALPN)
# reads the ClientHello without terminating TLS (ssl_preread) and passes
# connections offering ALPN acme-tls/1 to byocad's [tls-alpn] listener,
# everything else to "the site", an nginx https server (certificate for
# site.byoca.test from the test root) answering "the site". Sourced after
# lib.sh.
#
#   alpn_front_available            0 if nginx's stream module is there
#                                   (else prints a skip line)
#   env_start_alpn_front ALPN SITE  the front end; ALPN the byocad port,
#                                   SITE the site's own TLS port

ALPN_FRONT_MOD=/usr/lib/nginx/modules/ngx_stream_module.so

alpn_front_available() {
  [ -e "$ALPN_FRONT_MOD" ] && return 0
  echo "skip: nginx's stream module is not installed (libnginx-mod-stream)"
  return 1
}

env_start_alpn_front() {
  local alpn=$1 site=$2 f=$ENV_DIR/front
  mkdir -p "$f"
  env_gen_server_cert site site.byoca.test || return 1
  cat >"$f/nginx.conf" <<EOF
load_module $ALPN_FRONT_MOD;
daemon off;
master_process off;
worker_processes 1;
pid $f/nginx.pid;
events { worker_connections 64; }
stream {
  map \$ssl_preread_alpn_protocols \$backend {
    ~\\bacme-tls/1\\b 127.0.0.1:$alpn;
    default 127.0.0.1:$site;
  }
  server {
    listen 127.0.0.1:$PORT_TLSALPN;
    ssl_preread on;
    proxy_pass \$backend;
  }
}
http {
  access_log $f/access.log;
  client_body_temp_path $f/body;
  proxy_temp_path $f/proxy;
  fastcgi_temp_path $f/fastcgi;
  uwsgi_temp_path $f/uwsgi;
  scgi_temp_path $f/scgi;
  server {
    listen 127.0.0.1:$site ssl;
    ssl_certificate $ENV_DIR/tls/site.pem;
    ssl_certificate_key $ENV_DIR/tls/site.key;
    location / { return 200 "the site\n"; }
  }
}
EOF
  env_spawn front nginx -p "$f" -e "$ENV_DIR/front.log" -c "$f/nginx.conf"
  env__wait front "$ENV_LAST_PID" 10 "${ENV_CURL[@]}" -f -o /dev/null \
    --cacert "$ENV_CA_BUNDLE" \
    --resolve "site.byoca.test:$PORT_TLSALPN:127.0.0.1" \
    "https://site.byoca.test:$PORT_TLSALPN/"
}
