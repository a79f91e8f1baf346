#!/usr/bin/env bash
# External Account Binding against a Pebble that requires it: missing and
# wrong credentials give a clear error, right ones register and issue.
source "$(dirname "$0")/common.sh"
env_init eab
env_gen_tls
env_start_challtestsrv
env_start_pebble --eab
STATE=$ENV_DIR/state
be() {
  "$BYOCA" "$@" --server "$ENV_DIRECTORY_EAB" --ca-bundle "$ENV_CA_BUNDLE" \
    --state-dir "$STATE" --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --agree-tos
}

expect_rc 1 be issue -d eab.byoca.test
expect_in "$ERR" "requires External Account Binding" "missing EAB"
[ ! -e "$STATE/live" ] || fail "live/ written without an account"

expect_rc 1 be issue -d eab.byoca.test --eab-kid kid-1 --eab-hmac-file "$ENV_DIR/nonexistent"
expect_in "$ERR" "$ENV_DIR/nonexistent" "unreadable EAB file named"

printf 'c2VjcmV0LW5vdC10aGUtb25lLXBlYmJsZS1rbm93cw\n' >"$ENV_DIR/wrong.hmac"
expect_rc 1 be issue -d eab.byoca.test --eab-kid kid-1 --eab-hmac-file "$ENV_DIR/wrong.hmac"
expect_in "$ERR" "registering the account" "wrong EAB"
case "$ERR" in *c2VjcmV0*) fail "the MAC key appeared in an error" ;; esac

expect_rc 0 be issue -d eab.byoca.test --eab-kid kid-1 --eab-hmac-file "$ENV_DIR/eab-kid-1.hmac"
check_live eab.byoca.test
pass "EAB"
