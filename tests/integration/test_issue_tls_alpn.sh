#!/usr/bin/env bash
# tls-alpn-01 (RFC 8737) with the built-in responder, validated for real by
# Pebble's VA on $PORT_TLSALPN: a DNS name (chosen over http-01 when both
# solvers are configured), an IP address (RFC 8738), the [tls-alpn]
# section of byoca.conf, renewal with the stored setting; the responder
# refusing TLS clients that do not offer acme-tls/1 or ask for a name it
# does not answer, without showing a certificate; the wrong port (clear
# error, nothing left behind).
source "$(dirname "$0")/common.sh"
env_init issue_tls_alpn
env_gen_tls
env_start_challtestsrv
env_start_pebble
STATE=$ENV_DIR/state

# 1. a DNS name; http-01 is configured too, but tls-alpn-01 is preferred
expect_rc 0 bp issue -d alpn.byoca.test -d www.alpn.byoca.test \
  --tls-alpn "127.0.0.1:$PORT_TLSALPN" \
  --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --agree-tos -v
expect_in "$ERR" "validating alpn.byoca.test (tls-alpn-01)" "progress line"
expect_in "$ERR" "validating www.alpn.byoca.test (tls-alpn-01)" "progress line"
check_live alpn.byoca.test
sans=$(cert_sans "$STATE/live/alpn.byoca.test/cert.pem" | sort | tr '\n' ' ')
[ "$sans" = "DNS:alpn.byoca.test DNS:www.alpn.byoca.test " ] ||
  fail "SANs: $sans"
# Pebble's VA got the certificates from our responder
expect_in "$ERR" "tls-alpn-01: answered 127.0.0.1:" "responder log"
expect_in "$ERR" "for alpn.byoca.test" "responder log"
expect_in "$ERR" "for www.alpn.byoca.test" "responder log"
python3 - "$STATE/renewal/alpn.byoca.test.json" "127.0.0.1:$PORT_TLSALPN" <<'PY' ||
import json, sys
d = json.load(open(sys.argv[1]))
assert d.get("tls_alpn") == sys.argv[2], d
PY
  fail "the lineage does not keep the tls-alpn setting"
pass "issued through tls-alpn-01 (preferred over http-01)"

# 2. renewal reuses the stored --tls-alpn (no solver option given)
serial1=$(cert_serial "$STATE/live/alpn.byoca.test/cert.pem")
expect_validated "(tls-alpn-01)" "$BYOCA" renew --force -v \
  --ca-bundle "$ENV_CA_BUNDLE" --state-dir "$STATE" \
  --resolver "127.0.0.1@$PORT_DNS"
[ "$(cert_serial "$STATE/live/alpn.byoca.test/cert.pem")" != "$serial1" ] ||
  fail "renew --force did not renew"
check_live alpn.byoca.test
pass "renewal through the stored tls-alpn setting"

# 3. an IP address identifier: SNI is 1.0.0.127.in-addr.arpa (RFC 8738)
expect_rc 0 bp issue -d 127.0.0.1 --tls-alpn "127.0.0.1:$PORT_TLSALPN" \
  --agree-tos -v
expect_in "$ERR" "validating 127.0.0.1 (tls-alpn-01)" "IP progress line"
expect_in "$ERR" "for 1.0.0.127.in-addr.arpa" "IP: the server name asked for"
# the responder saw Pebble's handshake, so the authorization was polled
# right after it rather than at D-POLL's first guess
expect_in "$ERR" "the CA fetched the tls-alpn-01 answer for 127.0.0.1" \
  "poll brought forward by the validation handshake"
check_live 127.0.0.1
expect_in "$(cert_sans "$STATE/live/127.0.0.1/cert.pem")" \
  "IP Address:127.0.0.1" "IP SAN"
pass "IP identifier through tls-alpn-01"

# 4. [tls-alpn] in byoca.conf, the port only (all addresses)
cat >"$ENV_DIR/byoca.conf" <<CONF
[tls-alpn]
listen = $PORT_TLSALPN
CONF
expect_rc 0 bp issue -d conf.alpn.byoca.test --config "$ENV_DIR/byoca.conf"
expect_in "$ERR" "validating conf.alpn.byoca.test (tls-alpn-01)" "config"
check_live conf.alpn.byoca.test
printf '[tls-alpn]\nlisten = 127.0.0.1:0\n' >"$ENV_DIR/bad.conf"
expect_rc 2 bp issue -d x.alpn.byoca.test --config "$ENV_DIR/bad.conf"
expect_in "$ERR" "bad.conf:2" "bad [tls-alpn] listen names the line"
pass "[tls-alpn] listen in byoca.conf"

# 5. the responder refuses TLS without acme-tls/1, and acme-tls/1 for a
#    name it has no challenge for, and shows no certificate either way.
#    To hold byoca with its responder open, --server points at a
#    fixture (no real server hangs on purpose): a TLS server with the test
#    bed's certificate that completes the handshake and then never
#    answers, so byoca waits for its whole request timeout (30 s).
hang_port=$PORT_SPARE_FIRST
alpn_port=$((PORT_SPARE_FIRST + 1))
env_spawn hang python3 -c '
import socket, ssl, sys, threading
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(sys.argv[2], sys.argv[3])
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", int(sys.argv[1])))
s.listen(16)
held = []
def hold(c):
    try:
        held.append(ctx.wrap_socket(c, server_side=True))
    except (OSError, ssl.SSLError):
        c.close()
while True:
    c, _ = s.accept()
    threading.Thread(target=hold, args=(c,), daemon=True).start()
' "$hang_port" "$ENV_TLS_CERT" "$ENV_TLS_KEY"
env__wait hang "$ENV_LAST_PID" 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$hang_port"
"$BYOCA" issue -d held.alpn.byoca.test --tls-alpn "127.0.0.1:$alpn_port" \
  --server "https://127.0.0.1:$hang_port/dir" --ca-bundle "$ENV_CA_BUNDLE" \
  --state-dir "$ENV_DIR/state-held" --agree-tos -v \
  >"$ENV_DIR/held.out" 2>"$ENV_DIR/held.err" &
held_pid=$!
# shellcheck disable=SC2016 # expanded at exit: empty once reaped below
env_atexit '[ -z "$held_pid" ] || { kill "$held_pid"; wait "$held_pid"; } 2>/dev/null'
env__wait byoca-held "$held_pid" 10 bash -c "exec 3<>/dev/tcp/127.0.0.1/$alpn_port"
probe() { # ALPN SNI: s_client's output
  timeout 10 openssl s_client -connect "127.0.0.1:$alpn_port" \
    -servername "$2" ${1:+-alpn "$1"} </dev/null 2>&1 || true
}
no_cert() { # OUTPUT WHAT
  case "$1" in
  *"BEGIN CERTIFICATE"* | *"Certificate chain"*) fail "$2: a certificate was sent" ;;
  esac
  expect_in "$1" "no peer certificate available" "$2"
}
out=$(probe h2 held.alpn.byoca.test)
no_cert "$out" "ALPN h2"
expect_in "$out" "no application protocol" "ALPN h2: the alert"
out=$(probe "" held.alpn.byoca.test)
no_cert "$out" "no ALPN"
out=$(probe "h2,http/1.1" held.alpn.byoca.test)
no_cert "$out" "ALPN h2,http/1.1"
out=$(probe acme-tls/1 other.byoca.test)
no_cert "$out" "acme-tls/1 for a name not set up"
expect_in "$out" "unrecognized name" "unknown name: the alert"
# a client that connects and sends garbage, and one that sends nothing
printf 'GET / HTTP/1.0\r\n\r\n' | timeout 10 bash -c \
  "exec 3<>/dev/tcp/127.0.0.1/$alpn_port; cat >&3; cat <&3 >/dev/null" || true
env__alive "$held_pid" || fail "byoca died while its responder was probed"
# still answering after all that
out=$(probe h2 held.alpn.byoca.test)
expect_in "$out" "no application protocol" "after the probes"
kill "$held_pid"
wait "$held_pid" 2>/dev/null || true
held_pid=""
grep -q "refused 127.0.0.1:[0-9]* (server name 'held.alpn.byoca.test'): the client did not offer ALPN acme-tls/1" \
  "$ENV_DIR/held.err" ||
  fail "the refusals were not logged: $(cat "$ENV_DIR/held.err")"
pass "non-acme-tls/1 and unknown names refused, no certificate shown"

# 6. the responder on a port the CA does not use: clear error, no files
wrong=$((PORT_SPARE_FIRST + 2))
expect_rc 1 bp issue -d wrong.alpn.byoca.test --tls-alpn "127.0.0.1:$wrong" \
  --agree-tos
expect_in "$ERR" "wrong.alpn.byoca.test" "wrong port: the name"
expect_in "$ERR" "tls-alpn-01" "wrong port: the challenge"
expect_in "$ERR" "$PORT_TLSALPN" "wrong port: where the CA connected"
[ "$(grep -c '^byoca: ' <<<"$ERR")" = 1 ] || fail "not one error line: $ERR"
[ ! -e "$STATE/live/wrong.alpn.byoca.test" ] || fail "live/ written"
[ ! -e "$STATE/archive/wrong.alpn.byoca.test" ] || fail "archive/ written"
[ ! -e "$STATE/renewal/wrong.alpn.byoca.test.json" ] || fail "lineage written"
check_no_partial
pass "wrong port -> clear error, nothing left behind"

# 7. usage errors
expect_rc 2 bp issue -d x.alpn.byoca.test --tls-alpn "::1:443"
expect_in "$ERR" "expected [ADDR:]PORT" "IPv6 without brackets"
expect_rc 2 bp issue -d x.alpn.byoca.test --tls-alpn "host.example:443"
expect_rc 2 bp issue -d x.alpn.byoca.test --tls-alpn 70000
# a port already taken is reported at once
expect_rc 1 bp issue -d x.alpn.byoca.test --tls-alpn "127.0.0.1:$PORT_ACME" \
  --agree-tos
expect_in "$ERR" "cannot listen on 127.0.0.1:$PORT_ACME for tls-alpn-01" \
  "busy port"
pass "usage errors"
