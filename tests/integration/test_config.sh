#!/usr/bin/env bash
# byoca.conf: [defaults] instead of repeated options, and [ca "issuer"]
# sections giving the directory of a CA that serves no well-known URL and
# the EAB credentials of a CA that requires them.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/cas.sh"
env_init config
env_gen_tls
env_start_challtestsrv
ENV_CA_EAB=2 env_start_cas 2
STATE=$ENV_DIR/state
cat "$ENV_DIR"/pebble-roots-ca*.pem >"$ENV_DIR/all-roots.pem"
export ENV_PEBBLE_ROOTS=$ENV_DIR/all-roots.pem
ca_cn() {
  curl -sf --cacert "$ENV_CA_BUNDLE" "$(eval echo "\$ENV_CA_MGMT_$1")/intermediates/0" |
    openssl x509 -noout -subject -nameopt multiline | sed -n 's/^ *commonName *= *//p'
}
issued_by() {
  openssl x509 -in "$STATE/live/$1/cert.pem" -noout -issuer -nameopt multiline |
    sed -n 's/^ *commonName *= *//p'
}
CONF=$ENV_DIR/byoca.conf
cat >"$CONF" <<CONF
; byoca.conf for this test
[defaults]
state_dir = $STATE
resolver = 127.0.0.1@$PORT_DNS
allow_net = 127.0.0.0/8

[ca "nowellknown.byoca.test"]
directory = $ENV_CA_DIRECTORY_1

[ca "ca2.byoca.test"]
eab_kid = kid-1
eab_hmac_file = $ENV_DIR/eab-kid-1.hmac
CONF
bc() {
  "$BYOCA" "$@" --config "$CONF" --ca-bundle "$ENV_CA_BUNDLE" \
    --http-addr 127.0.0.1 --http-port "$PORT_HTTP01"
}

# a CA known only from the configuration's directory override
cts_add_caa over.byoca.test 0 issue "nowellknown.byoca.test"
expect_rc 0 bc issue -d over.byoca.test
[ "$(issued_by over.byoca.test)" = "$(ca_cn 1)" ] || fail "override directory not used"
pass "[ca] directory override (state_dir, resolver, allow_net from [defaults])"

# EAB credentials from the configuration
cts_add_caa eab.byoca.test 0 issue "ca2.byoca.test"
expect_rc 0 bc issue -d eab.byoca.test
[ "$(issued_by eab.byoca.test)" = "$(ca_cn 2)" ] || fail "EAB from the configuration"
pass "[ca] EAB credentials"

# [defaults] http_timeout: a CA that accepts the connection and never
# answers (a listening socket nobody accepts on) is given up after the
# file's timeout, not the built-in 30 s; order_timeout parses too
SILENT_PORT=$((PORT_SPARE_FIRST + 4)) # cas.sh: Pebble 1, 2 below
env_spawn silent python3 -c 'import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
time.sleep(3600)' "$SILENT_PORT"
silent_up() { (exec 3<>"/dev/tcp/127.0.0.1/$SILENT_PORT") 2>/dev/null; }
env__wait silent "$ENV_LAST_PID" 10 silent_up
{ cat "$CONF"; printf '\n[defaults]\nhttp_timeout = 1\norder_timeout = 600\n'; } >"$ENV_DIR/timeout.conf"
expect_rc 1 "$BYOCA" issue -d silent.byoca.test --config "$ENV_DIR/timeout.conf" \
  --ca-bundle "$ENV_CA_BUNDLE" --server "https://127.0.0.1:$SILENT_PORT/dir" \
  --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --agree-tos
expect_in "$ERR" "127.0.0.1:$SILENT_PORT" "the silent CA named"
MS=$(grep -Eo 'after [0-9]+ milliseconds' <<<"$ERR" | grep -Eo '[0-9]+' | head -1)
[ -n "$MS" ] && [ "$MS" -lt 10000 ] || fail "http_timeout = 1 not applied: $ERR"
printf '[defaults]\nstate_dir = %s\norder_timeout = 0\n' "$STATE" >"$ENV_DIR/bad-timeout.conf"
expect_rc 2 "$BYOCA" list --config "$ENV_DIR/bad-timeout.conf"
expect_in "$ERR" "bad-timeout.conf:3" "order_timeout = 0"
pass "[defaults] http_timeout applied (gave up after $MS ms), order_timeout checked"

# $BYOCA_CONFIG is read too; a bad line is an error with its number
BYOCA_CONFIG=$CONF "$BYOCA" list >/dev/null || fail "BYOCA_CONFIG"
printf '[defaults]\nstate_dir = %s\nfrobnicate = yes\n' "$STATE" >"$ENV_DIR/bad.conf"
expect_rc 2 "$BYOCA" list --config "$ENV_DIR/bad.conf"
expect_in "$ERR" "bad.conf:3" "bad config line"
expect_rc 2 "$BYOCA" list --config "$ENV_DIR/missing.conf"
expect_in "$ERR" "missing.conf" "missing config"
pass "configuration errors"
