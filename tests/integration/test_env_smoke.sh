#!/usr/bin/env bash
# Smoke test of the test bed itself (tests/env/lib.sh): challtestsrv answers
# the mock DNS data we give it (UDP and TCP, through dig and through the
# Python fallback), both Pebbles serve their directory over TLS that our
# test root verifies, the EAB one requires EAB, nothing listens outside the
# script's port block, and stopping works. Needs no byoca binary.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=../env/lib.sh
source "$here/../env/lib.sh"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
pass() { echo "ok: $*"; }

# expect_eq GOT WANT WHAT
expect_eq() {
  [ "$1" = "$2" ] || fail "$3: got '$1', want '$2'"
}

env_init smoke
env_gen_tls
env_start_challtestsrv
env_start_pebble --eab
env_start_nginx ca1.test="$ENV_DIRECTORY" ca2.test="302:$ENV_DIRECTORY_EAB"
pass "bed up on ports $PORT_BASE..$((PORT_BASE + 19)) in $ENV_DIR"

# --- every listening socket of our servers is inside our block
for name in challtestsrv pebble pebble-eab nginx; do
  pid=$(env_pid "$name")
  [ -n "$pid" ] || fail "$name has no pid"
  ports=$(ss -Hltunp | grep "pid=$pid," | awk '{print $5}' | sed 's/.*://')
  [ -n "$ports" ] || fail "$name listens nowhere"
  for p in $ports; do
    if [ "$p" -lt "$PORT_BASE" ] || [ "$p" -gt "$PORT_SPARE_LAST" ]; then
      fail "$name listens on port $p outside $PORT_BASE..$PORT_SPARE_LAST"
    fi
  done
  if ss -Hltunp | grep "pid=$pid," | awk '{print $5}' | grep -qv '^127\.0\.0\.1:'; then
    fail "$name listens on something other than 127.0.0.1"
  fi
done
pass "servers listen only on 127.0.0.1 inside the port block"

# --- mock DNS, through every available query path
tools=(python)
if command -v dig >/dev/null 2>&1; then
  tools=(dig python)
else
  echo "note: dig not installed, only the python3 fallback is checked"
fi
cts_add_a host1.example 127.0.0.2 127.0.0.3
cts_add_txt _acme-challenge.host1.example "token-one"
cts_add_txt _acme-challenge.host1.example "token-two"
cts_add_caa caa.example 0 issue "ca.test; validationmethods=dns-01"
cts_add_caa caa.example 0 iodef "mailto:sec@caa.example"
cts_servfail broken.example
for ENV_DNS_TOOL in "${tools[@]}"; do
  export ENV_DNS_TOOL
  for proto in "" +tcp; do
    how="$ENV_DNS_TOOL${proto:+ $proto}"
    expect_eq "$(env_dns_query host1.example A "$proto" | sort | paste -sd' ')" \
      "127.0.0.2 127.0.0.3" "A via $how"
    expect_eq "$(env_dns_query other.example A "$proto")" 127.0.0.1 \
      "default A via $how"
    expect_eq "$(env_dns_query other.example AAAA "$proto")" "" \
      "default AAAA via $how"
    expect_eq "$(env_dns_query _acme-challenge.host1.example TXT "$proto" |
      sort | paste -sd' ')" '"token-one" "token-two"' "TXT via $how"
    expect_eq "$(env_dns_query caa.example CAA "$proto" | sort | paste -sd'|')" \
      '0 iodef "mailto:sec@caa.example"|0 issue "ca.test; validationmethods=dns-01"' \
      "CAA via $how"
  done
  expect_eq "$(env_dns_rcode broken.example A)" SERVFAIL "SERVFAIL via $ENV_DNS_TOOL"
  expect_eq "$(env_dns_rcode host1.example A)" NOERROR "NOERROR via $ENV_DNS_TOOL"
  pass "A, AAAA, TXT, CAA, SERVFAIL over UDP and TCP via $ENV_DNS_TOOL"
done
unset ENV_DNS_TOOL

cts_clear_txt _acme-challenge.host1.example
expect_eq "$(env_dns_query _acme-challenge.host1.example TXT)" "" "TXT cleared"
cts_clear_caa caa.example
expect_eq "$(env_dns_query caa.example CAA)" "" "CAA cleared"
cts_clear_a host1.example
expect_eq "$(env_dns_query host1.example A)" 127.0.0.1 "A cleared"
cts_clear_servfail broken.example
expect_eq "$(env_dns_rcode broken.example A)" NOERROR "SERVFAIL cleared"
if cts_add_caa caa.example 128 issue ca.test 2>/dev/null; then
  fail "cts_add_caa accepted a non-zero flag challtestsrv cannot serve"
fi
pass "clear-txt, clear-caa, clear-a, clear-servfail; CAA flags refused"

# --- both ACME directories, verified with our test root
dir=$("${ENV_CURL[@]}" -f --cacert "$ENV_CA_BUNDLE" "$ENV_DIRECTORY")
dir_eab=$("${ENV_CURL[@]}" -f --cacert "$ENV_CA_BUNDLE" "$ENV_DIRECTORY_EAB")
for d in "$dir" "$dir_eab"; do
  case "$d" in
  *'"newOrder"'*) ;;
  *) fail "directory without newOrder: $d" ;;
  esac
done
req() { python3 -c 'import json,sys; print(json.load(sys.stdin)["meta"]["externalAccountRequired"])'; }
expect_eq "$(req <<<"$dir")" False "externalAccountRequired of plain Pebble"
expect_eq "$(req <<<"$dir_eab")" True "externalAccountRequired of EAB Pebble"
if "${ENV_CURL[@]}" -f "$ENV_DIRECTORY" >/dev/null 2>&1; then
  fail "Pebble's TLS verified without --cacert"
fi
pass "both directories have newOrder; only the EAB one requires EAB"

# --- nginx standing in for the CAs' web servers
wk() {
  "${ENV_CURL[@]}" --cacert "$ENV_CA_BUNDLE" \
    --resolve "$1:$PORT_NGINX:127.0.0.1" "https://$1:$PORT_NGINX$2" "${@:3}"
}
expect_eq "$(wk ca1.test /.well-known/acme | req)" False \
  "directory proxied at ca1.test/.well-known/acme"
expect_eq "$(wk ca2.test /.well-known/acme -o /dev/null -w '%{http_code} %{redirect_url}')" \
  "302 $ENV_DIRECTORY_EAB" "redirect at ca2.test/.well-known/acme"
expect_eq "$(wk ca1.test /other -o /dev/null -w '%{http_code}')" 404 "other path"
expect_eq "$(wk ca3.test /.well-known/acme -o /dev/null -w '%{http_code}' -k)" 404 \
  "unknown host"
pass "nginx serves /.well-known/acme per CA domain (proxy and redirect)"

# --- EAB credentials, roots, management API
for f in "$ENV_EAB_HMAC_FILE" "$ENV_EAB_HMAC_FILE2"; do
  expect_eq "$(stat -c %a "$f")" 600 "mode of $f"
  key=$(cat "$f")
  [[ "$key" =~ ^[A-Za-z0-9_-]{43}$ ]] || fail "EAB key in $f is not base64url"
done
grep -q "\"kid-1\": \"$(cat "$ENV_EAB_HMAC_FILE")\"" "$ENV_DIR/pebble-eab.json" ||
  fail "EAB Pebble config does not carry kid-1's key"
for f in "$ENV_PEBBLE_ROOTS" "$ENV_PEBBLE_ROOTS_EAB"; do
  openssl x509 -in "$f" -noout -subject | grep -q 'Pebble Root CA' ||
    fail "no Pebble root in $f"
done
if cmp -s "$ENV_PEBBLE_ROOTS" "$ENV_PEBBLE_ROOTS_EAB"; then
  fail "both Pebbles have the same root"
fi
pebble_mgmt /intermediates/0 | grep -q 'BEGIN CERTIFICATE' ||
  fail "no intermediate from $ENV_MGMT"
if pebble_cert_status 0123abcd >/dev/null 2>&1; then
  fail "cert status for a serial Pebble never issued"
fi
pass "EAB keys 0600 base64url, roots and intermediates, status 404"

# --- environment defaults reach Pebble
grep -q 'reject 0% of good nonces' "$ENV_DIR/pebble.log" ||
  fail "PEBBLE_WFE_NONCEREJECT=0 not applied"
grep -q 'authz reuse for each identifier 0%' "$ENV_DIR/pebble.log" ||
  fail "PEBBLE_AUTHZREUSE=0 not applied"
grep -q 'Disabling random VA sleeps' "$ENV_DIR/pebble.log" ||
  fail "PEBBLE_VA_NOSLEEP=1 not applied"
pass "nonce rejection, authz reuse and VA sleeps off"

# --- stopping one server
env_stop pebble-eab
if "${ENV_CURL[@]}" -f --cacert "$ENV_CA_BUNDLE" "$ENV_DIRECTORY_EAB" \
  >/dev/null 2>&1; then
  fail "EAB Pebble still answers after env_stop"
fi
[ -z "$(env_pid pebble-eab)" ] || fail "pebble-eab still recorded"
pass "env_stop takes one server down"

# --- up.sh / down.sh: a detached bed that outlives its starter
out=$(BYOCA_TEST_TMP=$ENV_DIR "$here/../env/up.sh" --no-eab --validity 3600 \
  2>/dev/null)
up_dir=$(sed -n 's/^export BYOCA_ENV_DIR=//p' <<<"$out")
[ -d "$up_dir" ] || fail "up.sh printed no BYOCA_ENV_DIR: $out"
env_atexit "'$here/../env/down.sh' '$up_dir' 2>/dev/null"
up_directory=$(sed -n 's/^export ENV_DIRECTORY=//p' <<<"$out")
[ "$up_directory" != "$ENV_DIRECTORY" ] || fail "up.sh reused our ports"
"${ENV_CURL[@]}" -f --cacert "$up_dir/tls/ca.pem" "$up_directory" |
  grep -q newOrder || fail "up.sh's Pebble does not answer"
grep -q 'validity period of 3600 seconds' "$up_dir/pebble.log" ||
  fail "up.sh did not pass --validity to Pebble"
up_pids=$(awk '{print $2}' "$up_dir/servers")
"$here/../env/down.sh" "$up_dir" 2>/dev/null
for p in $up_pids; do
  if env__alive "$p"; then fail "down.sh left pid $p running"; fi
done
[ ! -e "$up_dir" ] || fail "down.sh left $up_dir"
pass "up.sh starts a detached bed, down.sh stops and removes it"
