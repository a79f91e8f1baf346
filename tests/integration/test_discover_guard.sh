#!/usr/bin/env bash
# A CAA record can point byoca at any host (draft: "Malicious ACME
# Servers"). Issuers whose names resolve to 10.0.0.1, 169.254.169.254,
# ::ffff:127.0.0.1 or fd00::1, and a well-known URL that redirects to
# such an address, are refused before any connection. Runs inside a fresh
# network namespace, so nothing can leave even if the guard were wrong.
if [ -z "${BYOCA_IN_NETNS:-}" ]; then
  if ! unshare -n true 2>/dev/null; then
    echo "skip: cannot create a network namespace"
    exit 77
  fi
  exec unshare -n -- env BYOCA_IN_NETNS=1 bash "$0" "$@"
fi
ip link set lo up
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/cas.sh"
env_init discover_guard
env_gen_tls
env_start_challtestsrv
env_start_cas 1
# the addresses exist in this namespace, so a connection attempt would
# reach a listener if the guard failed: nginx answers on all of them
for a in 10.0.0.1/32 169.254.169.254/32; do ip addr add "$a" dev lo; done

cts_add_a private.byoca.test 10.0.0.1
cts_add_a metadata.byoca.test 169.254.169.254
cts_add_aaaa mapped.byoca.test ::ffff:127.0.0.1
cts_add_aaaa ula.byoca.test fd00::1
for ca in private metadata mapped ula; do
  cts_add_caa "$ca.victim.byoca.test" 0 issue "$ca.byoca.test"
done

bd() {
  "$BYOCA" discover "$@" --resolver "127.0.0.1@$PORT_DNS" --ca-bundle "$ENV_CA_BUNDLE"
}
jq_py() { python3 -c "import json,sys; d=json.load(sys.stdin); $1"; }

for ca in private metadata mapped ula; do
  expect_rc 0 bd "$ca.victim.byoca.test" --json
  echo "$OUT" | jq_py '
c = d["candidates"][0]
assert c["directory"] is None, c
assert "refus" in c["error"] or "is " in c["error"], c
print(c["error"])' || fail "$ca: $OUT"
done
pass "private, link-local, mapped and ULA issuers refused"

# nothing connected to the private addresses: nginx would have logged it
! grep -qE "10\.0\.0\.1|169\.254" "$ENV_DIR/nginx-cas/access.log" 2>/dev/null ||
  fail "a connection reached a private address"

# a well-known URL that redirects to 169.254.169.254 is refused at the hop,
# even with the CA itself on an allowed loopback address
mkdir -p "$ENV_DIR/nginx-redir"
cat >"$ENV_DIR/nginx-redir/nginx.conf" <<CONF
daemon off; worker_processes 1; pid $ENV_DIR/nginx-redir/nginx.pid;
error_log $ENV_DIR/nginx-redir/error.log;
events { worker_connections 16; }
http { access_log $ENV_DIR/nginx-redir/access.log;
  server { listen $ENV_CA_IP_1:443 ssl; server_name evil.byoca.test;
    ssl_certificate $ENV_DIR/tls/evil.pem; ssl_certificate_key $ENV_DIR/tls/evil.key;
    location = /.well-known/acme { return 302 https://169.254.169.254/latest/meta-data; } } }
CONF
env_gen_server_cert evil evil.byoca.test evil.byoca.test
env_stop nginx-cas
env_spawn nginx-redir nginx -c "$ENV_DIR/nginx-redir/nginx.conf" -p "$ENV_DIR/nginx-redir"
sleep 0.5
cts_add_a evil.byoca.test "$ENV_CA_IP_1"
cts_add_caa redirected.byoca.test 0 issue "evil.byoca.test"
expect_rc 0 bd redirected.byoca.test --json --allow-net "$ENV_CA_IP_1/32"
echo "$OUT" | jq_py '
c = d["candidates"][0]
assert c["directory"] is None and "169.254.169.254" in c["error"], c' ||
  fail "redirect to link-local: $OUT"
grep -q "well-known" "$ENV_DIR/nginx-redir/access.log" || fail "the first hop was never made"
pass "redirect to a link-local address refused"
