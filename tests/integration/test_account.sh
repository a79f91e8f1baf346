#!/usr/bin/env bash
# Account lifecycle: register, show, key rollover then issuance with the new
# key, deactivation then a clear error.
source "$(dirname "$0")/common.sh"
env_init account
env_gen_tls
env_start_challtestsrv
env_start_pebble
STATE=$ENV_DIR/state

expect_rc 0 bp account register --email ops@byoca.test --agree-tos
expect_in "$OUT" "account: https://" "register"
url=$(echo "$OUT" | sed -n 's/^account: //p')
expect_rc 0 bp account show --json
expect_in "$OUT" "mailto:ops@byoca.test" "show contacts"
keydir=$(dirname "$(find "$STATE/accounts" -name key.pem)")

# a new --email on the existing account is an update, not a new account
expect_rc 0 bp account register --email changed@byoca.test --agree-tos
expect_in "$OUT" "account: $url" "same account"
expect_rc 0 bp account show --json
expect_in "$OUT" "mailto:changed@byoca.test" "updated contacts"
# account.json lost: show finds the account by its key (onlyReturnExisting)
rm "$keydir/account.json"
expect_rc 0 bp account show
expect_in "$OUT" "account: $url" "lookup by key"
[ -s "$keydir/account.json" ] || fail "account.json not restored"
pass "update and lookup"

[ "$(stat -c %a "$keydir/key.pem")" = 600 ] || fail "account key not 0600"
old=$(sha256sum <"$keydir/key.pem")

expect_rc 0 bp account rollover
new=$(sha256sum <"$keydir/key.pem")
[ "$old" != "$new" ] || fail "rollover kept the key"
[ ! -e "$keydir/key.pem.next" ] || fail "key.pem.next left behind"
expect_rc 0 bp issue -d acct.byoca.test --http-addr 127.0.0.1 --http-port "$PORT_HTTP01"
expect_in "$ERR" "using account $url" "same account after rollover"
check_live acct.byoca.test
pass "rollover then issue"

expect_rc 0 bp account deactivate
expect_rc 1 bp issue -d acct2.byoca.test --http-addr 127.0.0.1 --http-port "$PORT_HTTP01"
expect_in "$ERR" "deactivated" "issue with a deactivated account"
expect_rc 1 bp account show
pass "deactivation"
