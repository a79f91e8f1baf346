#!/usr/bin/env bash
# Hostile ACME server (tests/hostile/), redirects and DNS: a redirect loop,
# a chain of 20, redirects to 169.254.169.254, to 127.0.0.1 and to
# [::ffff:10.0.0.1] (of the well-known URL CAA discovery fetches, where
# byoca follows up to 5 redirects, and of a --server directory, where it
# follows none), and a host name whose DNS answer changes to 10.0.0.1
# after the first lookup (rebinding). Canary listeners on those addresses
# must see nothing.
HOSTILE_PORT=443
source "$(dirname "$0")/../hostile/lib.sh"
hostile_init redirects "$@"
env_start_challtestsrv
cts_add_a hostile.byoca.test "$HOSTILE_ADDR"
cts_add_caa victim.byoca.test 0 issue "hostile.byoca.test"

# control: the well-known URL of a well-behaved fixture is accepted
hostile_start normal
expect_rc 0 "$BYOCA" discover victim.byoca.test --json \
  --resolver "127.0.0.1@$PORT_DNS" --ca-bundle "$ENV_CA_BUNDLE" \
  --allow-net "$HOSTILE_ADDR/32"
expect_in "$OUT" "\"directory\": \"https://hostile.byoca.test/.well-known/acme\"" "control directory"
pass "control: the fixture's well-known directory is found"

hostile_discover_fail redirect_loop "redirect"
hostile_discover_fail redirect_chain20 "redirect"
hostile_discover_fail redirect_metadata "169.254.169.254"
hostile_discover_fail redirect_loopback "127.0.0.1"
hostile_discover_fail redirect_mapped "10.0.0.1"
hops=$(grep -c "^GET /hop/" "$HOSTILE_LOG" || true)
[ "$hops" -ge 5 ] || fail "the redirect hops were not followed (test bed broken?)"
[ "$hops" -le 12 ] || fail "byoca followed $hops hops of loops and chains"
pass "redirect scenarios (discovery)"

# --server: the directory URL is used as given, a redirect is refused
hostile_expect_fail redirect_metadata "302"
pass "redirect of a --server directory refused"

# DNS rebinding: newOrder lives on ca.rebind.test; the fixture's DNS
# answers 127.0.0.2 (allowed here) the first time and 10.0.0.1 afterwards.
# Whatever byoca does, nothing may reach 10.0.0.1.
hostile_start dns_rebind
rm -rf "$STATE"
hostile_issue --resolver "$HOSTILE_ADDR@$HOSTILE_DNS_PORT" \
  --allow-net "$HOSTILE_ADDR/32"
hostile_check_sane
hostile_check_canaries
grep -q "DNS ca.rebind.test A #1" "$HOSTILE_LOG" || fail "dns_rebind: the name was never looked up"
lookups=$(grep -c 'DNS ca.rebind.test A' "$HOSTILE_LOG")
if [ "$RC" = 0 ]; then
  echo "SCENARIO dns_rebind: issued, connecting only to the address checked ($lookups lookups)"
else
  [ "$RC" = 1 ] || fail "dns_rebind: exit $RC"
  expect_in "$ERR" "10.0.0.1" "dns_rebind refused the rebound address"
  hostile_check_no_partial
  echo "SCENARIO dns_rebind ($lookups lookups): $(printf '%s\n' "$ERR" | grep '^byoca:' | head -1)"
fi
pass "DNS rebinding reaches nothing"
