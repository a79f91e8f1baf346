#!/usr/bin/env bash
# byoca issue --webroot: a real nginx serves the challenge files Pebble
# fetches; the files are gone afterwards.
source "$(dirname "$0")/common.sh"
env_init issue_webroot
env_gen_tls
env_start_challtestsrv
env_start_pebble
STATE=$ENV_DIR/state
WEBROOT=$ENV_DIR/www
mkdir -p "$WEBROOT" "$ENV_DIR/nginx"
chmod 711 "$ENV_DIR" # nginx workers run as nobody
cat >"$ENV_DIR/nginx/nginx.conf" <<CONF
daemon off;
worker_processes 1;
pid $ENV_DIR/nginx/nginx.pid;
error_log $ENV_DIR/nginx/error.log;
events { worker_connections 64; }
http {
  access_log $ENV_DIR/nginx/access.log;
  client_body_temp_path $ENV_DIR/nginx/tmp;
  server {
    listen 127.0.0.1:$PORT_HTTP01;
    root $WEBROOT;
  }
}
CONF
env_spawn nginx nginx -c "$ENV_DIR/nginx/nginx.conf" -p "$ENV_DIR/nginx"
for _ in $(seq 50); do
  curl -s -o /dev/null "http://127.0.0.1:$PORT_HTTP01/" && break
  sleep 0.1
done

expect_rc 0 bp issue -d webroot.byoca.test --webroot "$WEBROOT" --agree-tos
check_live webroot.byoca.test
grep -q "acme-challenge" "$ENV_DIR/nginx/access.log" || fail "nginx never served a challenge"
[ ! -e "$WEBROOT/.well-known" ] || fail "webroot not cleaned: $(find "$WEBROOT")"
pass "issued through nginx webroot, cleaned up"
