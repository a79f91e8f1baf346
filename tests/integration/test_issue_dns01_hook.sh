#!/usr/bin/env bash
# dns-01 through a hook program that writes the TXT record into
# pebble-challtestsrv, which is Pebble's DNS; a wildcard certificate too.
source "$(dirname "$0")/common.sh"
env_init issue_dns01
env_gen_tls
env_start_challtestsrv
env_start_pebble
STATE=$ENV_DIR/state
HOOK=$ENV_DIR/dns-hook.sh
cat >"$HOOK" <<HOOK
#!/bin/sh
# example dns-01 hook for pebble-challtestsrv's management API
echo "\$BYOCA_ACTION \$BYOCA_CHALLENGE_TYPE \$BYOCA_IDENTIFIER \$BYOCA_RECORD_NAME" >> "$ENV_DIR/hook.log"
case "\$BYOCA_ACTION" in
setup) curl -sf -d "{\"host\":\"\$BYOCA_RECORD_NAME.\",\"value\":\"\$BYOCA_RECORD_VALUE\"}" http://127.0.0.1:$PORT_CTS_API/set-txt ;;
cleanup) curl -sf -d "{\"host\":\"\$BYOCA_RECORD_NAME.\"}" http://127.0.0.1:$PORT_CTS_API/clear-txt ;;
esac
HOOK
chmod 755 "$HOOK"

expect_rc 0 bp issue -d dns.byoca.test -d '*.dns.byoca.test' --hook "$HOOK" --agree-tos
check_live dns.byoca.test
sans=$(cert_sans "$STATE/live/dns.byoca.test/cert.pem")
expect_in "$sans" "DNS:*.dns.byoca.test" "wildcard SAN"
expect_in "$(cat "$ENV_DIR/hook.log")" "setup dns-01 dns.byoca.test _acme-challenge.dns.byoca.test" "hook setup"
expect_in "$(cat "$ENV_DIR/hook.log")" "cleanup dns-01 dns.byoca.test" "hook cleanup"
pass "dns-01 via hook, wildcard"

# a failing hook: clear error with its output, nothing written
printf '#!/bin/sh\necho "zone example refused the update" >&2\nexit 3\n' >"$ENV_DIR/bad-hook.sh"
chmod 755 "$ENV_DIR/bad-hook.sh"
expect_rc 1 bp issue -d bad.byoca.test --hook "$ENV_DIR/bad-hook.sh"
expect_in "$ERR" "zone example refused the update" "hook failure"
[ ! -e "$STATE/live/bad.byoca.test" ] || fail "live dir for a failed issuance"
check_no_partial
pass "failing hook reported"
