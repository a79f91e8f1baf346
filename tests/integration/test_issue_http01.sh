#!/usr/bin/env bash
# byoca issue with the built-in http-01 responder, validated for real by
# Pebble; then "not yet due", --force, list, renew.
source "$(dirname "$0")/common.sh"
env_init issue_http01
env_gen_tls
env_start_challtestsrv
env_start_pebble
STATE=$ENV_DIR/state

expect_rc 0 bp issue -d http01.byoca.test -d www.http01.byoca.test \
  --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --agree-tos \
  --email admin@byoca.test -v
# Pebble's fetch of each token was seen, and the poll brought forward
for n in http01.byoca.test www.http01.byoca.test; do
  expect_in "$ERR" "the CA fetched the http-01 answer for $n" "seen fetch"
done
for step in "discovering directory" "registered account" "ordering" \
  "validating http01.byoca.test (http-01)" "finalizing" "issued: serial"; do
  expect_in "$ERR" "$step" "progress line"
done
check_live http01.byoca.test
sans=$(cert_sans "$STATE/live/http01.byoca.test/cert.pem")
expect_in "$sans" "DNS:http01.byoca.test" "SANs"
expect_in "$sans" "DNS:www.http01.byoca.test" "SANs"
serial1=$(cert_serial "$STATE/live/http01.byoca.test/cert.pem")
pass "issued with http-01 standalone"

# the same again: not due, nothing happens
expect_rc 0 bp issue -d http01.byoca.test -d www.http01.byoca.test \
  --http-addr 127.0.0.1 --http-port "$PORT_HTTP01"
expect_in "$ERR" "not yet due" "second issue"
[ "$(cert_serial "$STATE/live/http01.byoca.test/cert.pem")" = "$serial1" ] ||
  fail "certificate changed without --force"
pass "not yet due"

# --force renews, with JSON output
expect_rc 0 bp issue -d http01.byoca.test -d www.http01.byoca.test \
  --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --force --json
serial2=$(cert_serial "$STATE/live/http01.byoca.test/cert.pem")
[ "$serial2" != "$serial1" ] || fail "--force did not renew"
echo "$OUT" | python3 -c 'import json,sys; d=json.load(sys.stdin); assert d["status"]=="issued", d; assert d["key_path"].endswith("privkey.pem")' ||
  fail "issue --json output"
check_live http01.byoca.test
# the previous version is kept, older ones pruned
[ "$(ls "$STATE/archive/http01.byoca.test" | wc -l)" = 2 ] || fail "archive versions"
pass "--force renews"

# list
expect_rc 0 "$BYOCA" list --json --state-dir "$STATE"
echo "$OUT" | python3 -c '
import json,sys
d=json.load(sys.stdin)
assert len(d)==1 and d[0]["name"]=="http01.byoca.test", d
assert d[0]["state"]=="valid", d
assert d[0]["names"]==["http01.byoca.test","www.http01.byoca.test"], d' || fail "list --json"
expect_rc 0 "$BYOCA" list --state-dir "$STATE"
expect_in "$OUT" "http01.byoca.test" "list"

# renew: nothing due; renew --force: renewed with the stored settings
expect_rc 0 "$BYOCA" renew --state-dir "$STATE"
expect_in "$ERR" "not due until" "renew"
expect_rc 0 "$BYOCA" renew --force --state-dir "$STATE"
[ "$(cert_serial "$STATE/live/http01.byoca.test/cert.pem")" != "$serial2" ] ||
  fail "renew --force did not renew"
check_live http01.byoca.test
check_no_partial
pass "renew"

# deploy hook gets the paths
expect_rc 0 bp issue -d http01.byoca.test -d www.http01.byoca.test \
  --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --force \
  --deploy-hook "env > $ENV_DIR/deploy.env"
grep -q "^RENEWED_LINEAGE=$STATE/live/http01.byoca.test$" "$ENV_DIR/deploy.env" || fail "deploy hook env"
grep -q "^BYOCA_KEY_PATH=$STATE/live/http01.byoca.test/privkey.pem$" "$ENV_DIR/deploy.env" || fail "deploy hook env"
expect_rc 1 bp issue -d http01.byoca.test -d www.http01.byoca.test \
  --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --force --deploy-hook "exit 7"
expect_in "$ERR" "deploy hook failed" "failing deploy hook"
check_live http01.byoca.test
pass "deploy hook"

# a CA that reuses a valid authorization: no challenge, and byoca says why
env_stop pebble
env_start_pebble PEBBLE_AUTHZREUSE=100
STATE=$ENV_DIR/state-reuse
expect_rc 0 bp issue -d reuse.byoca.test --agree-tos \
  --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" -v
expect_in "$ERR" "validating reuse.byoca.test (http-01)" "first order"
expect_rc 0 bp issue -d reuse.byoca.test --agree-tos \
  --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --force -v
expect_in "$ERR" "every name is already authorized" "reused authorization"
case "$ERR" in *validating*) fail "validated a reused authorization" ;; esac
check_live reuse.byoca.test
pass "a reused authorization is named and needs no challenge"
