#!/usr/bin/env bash
# Bad input: each a one-line error naming the problem, a non-zero exit, and
# nothing partial in live/.
source "$(dirname "$0")/common.sh"
env_init bad_input
env_gen_tls
STATE=$ENV_DIR/state

one_line() {
  [ "$(printf '%s\n' "$ERR" | grep -c '^byoca: ')" -ge 1 ] || fail "no 'byoca:' error line: $ERR"
}

expect_rc 2 "$BYOCA" issue --frobnicate
expect_in "$ERR" "unknown option '--frobnicate'" "unknown flag"
expect_rc 2 "$BYOCA" frobnicate
expect_in "$ERR" "unknown command" "unknown command"
expect_rc 2 "$BYOCA" issue --server https://127.0.0.1:1/dir
expect_in "$ERR" "no names" "missing names"
# without --server the CAA records choose; a resolver that does not answer
# fails closed (only loopback is queried)
expect_rc 1 "$BYOCA" issue -d example.org --resolver 127.0.0.1@1 --state-dir "$STATE" \
  --http-port "$PORT_HTTP01"
expect_in "$ERR" "CAA lookup failed" "unreachable resolver"
expect_rc 2 "$BYOCA" issue -d 'bad_name!.example' --server https://127.0.0.1:1/dir --state-dir "$STATE"
expect_in "$ERR" 'invalid domain name "bad_name!.example"' "bad domain"
expect_rc 2 "$BYOCA" issue -d example.org --key-type rsa1024 --server https://127.0.0.1:1/dir
expect_in "$ERR" "unknown key type 'rsa1024'" "bad key type"
expect_rc 2 "$BYOCA" issue -d example.org --http-port 99999 --server https://127.0.0.1:1/dir
expect_in "$ERR" "invalid port '99999'" "bad port"
one_line

# unreadable EAB file
expect_rc 1 "$BYOCA" issue -d example.org --server https://127.0.0.1:1/dir --state-dir "$STATE" \
  --eab-kid k --eab-hmac-file "$ENV_DIR/missing.hmac" --http-port "$PORT_HTTP01"
expect_in "$ERR" "$ENV_DIR/missing.hmac" "unreadable EAB file"

# unreachable server (nothing listens on port 1)
expect_rc 1 "$BYOCA" issue -d example.org --server https://127.0.0.1:1/dir --state-dir "$STATE" \
  --http-port "$PORT_HTTP01"
expect_in "$ERR" "reading the ACME directory https://127.0.0.1:1/dir" "unreachable server"
one_line

# a server that returns garbage, and one whose directory lacks newOrder
mkdir -p "$ENV_DIR/www"
echo '{"newNonce": "http://127.0.0.1/n", "newAccount": ' >"$ENV_DIR/www/garbage.json"
printf '{"newNonce": "http://127.0.0.1:%s/n", "newAccount": "http://127.0.0.1:%s/a"}' \
  "$PORT_SPARE_FIRST" "$PORT_SPARE_FIRST" >"$ENV_DIR/www/noorder.json"
env_spawn http.server python3 -m http.server --bind 127.0.0.1 \
  --directory "$ENV_DIR/www" "$PORT_SPARE_FIRST"
for _ in $(seq 50); do curl -sf -o /dev/null "http://127.0.0.1:$PORT_SPARE_FIRST/noorder.json" && break; sleep 0.1; done

expect_rc 1 "$BYOCA" issue -d example.org --server "http://127.0.0.1:$PORT_SPARE_FIRST/garbage.json" \
  --state-dir "$STATE" --http-port "$PORT_HTTP01"
expect_in "$ERR" "is not JSON" "garbage directory"
expect_rc 1 "$BYOCA" issue -d example.org --server "http://127.0.0.1:$PORT_SPARE_FIRST/noorder.json" \
  --state-dir "$STATE" --http-port "$PORT_HTTP01"
expect_in "$ERR" 'has no "newOrder"' "directory without newOrder"
one_line

[ ! -e "$STATE/live" ] || fail "live/ exists after failures: $(find "$STATE/live")"
check_no_partial
pass "bad input"
