#!/usr/bin/env bash
# contrib/hooks/nsupdate.sh end to end: byoca issue --hook with the hook
# (copied next to its .conf, the way an admin installs it) updating a zone
# on BIND 9 that Pebble validates through. A wildcard and its base name
# run two setups on one name at once; both records must reach the zone and
# both must be gone afterwards. A wrong key fails with nsupdate's reason
# and leaves nothing; the zone is found by SOA when NSUPDATE_ZONE is unset.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/bind_update.sh"
command -v named >/dev/null 2>&1 || {
  echo "skip: named (bind9) is not installed"
  exit 77
}
env_init hook_nsupdate
env_gen_tls
env_start_bind_update hmac-sha256
env_start_pebble_bind
STATE=$ENV_DIR/state
H=$ENV_DIR/hooks
mkdir -p "$H"
cp "$BYOCA_SRC/contrib/hooks/nsupdate.sh" "$H/nsupdate.sh"
SECRET=$(cat "$ENV_BIND_SECRET_FILE")

conf() { # conf [LINE...]: the hook's settings file
  {
    echo "NSUPDATE_SERVER=127.0.0.1"
    echo "NSUPDATE_PORT=$PORT_BIND"
    echo "NSUPDATE_KEY_FILE=$ENV_BIND_KEY_FILE"
    echo "NSUPDATE_WAIT=10"
    printf '%s\n' "$@"
  } >"$H/nsupdate.sh.conf"
  chmod 0600 "$H/nsupdate.sh.conf"
}
bh() {
  "$BYOCA" issue "$@" --server "$ENV_DIRECTORY" --ca-bundle "$ENV_CA_BUNDLE" \
    --state-dir "$STATE" --resolver "127.0.0.1@$PORT_BIND" --agree-tos \
    --hook "$H/nsupdate.sh" --hook-timeout 60
}
zone_clean() {
  local left
  left=$(bind_acme_txt) || fail "$1: cannot transfer the zone"
  [ -z "$left" ] || fail "$1: _acme-challenge records left in the zone: $left"
}

# 1. wildcard + base name, zone found by SOA
conf
expect_rc 0 bh -d bind.test -d '*.bind.test'
check_live bind.test
sans=$(cert_sans "$STATE/live/bind.test/cert.pem" | sort | tr '\n' ' ')
[ "$sans" = "DNS:*.bind.test DNS:bind.test " ] || fail "wildcard SANs: $sans"
n=$(grep -c "adding an RR at '_acme-challenge.bind.test' TXT" "$ENV_DIR/bind-upd.log" || true)
[ "$n" = 2 ] || fail "BIND did not get two TXT records for the wildcard and its base: $n"
n=$(grep -c "deleting an RR at _acme-challenge.bind.test TXT" "$ENV_DIR/bind-upd.log" || true)
[ "$n" = 2 ] || fail "BIND did not delete both TXT records: $n"
zone_clean "after the wildcard"
pass "nsupdate hook: wildcard + base name issued through BIND, records removed"

# 2. the zone given; a foreign record of the name survives cleanup
conf "NSUPDATE_ZONE=bind.test"
printf 'server 127.0.0.1 %s\nzone bind.test.\nupdate add _acme-challenge.c.bind.test. 60 TXT "not-ours"\nsend\n' \
  "$PORT_BIND" | nsupdate -k "$ENV_BIND_KEY_FILE" || fail "cannot add the foreign record"
expect_rc 0 bh -d c.bind.test
check_live c.bind.test
[ "$(bind_txt _acme-challenge.c.bind.test)" = '"not-ours"' ] ||
  fail "the foreign record was touched: $(bind_txt _acme-challenge.c.bind.test)"
printf 'server 127.0.0.1 %s\nzone bind.test.\nupdate delete _acme-challenge.c.bind.test. TXT\nsend\n' \
  "$PORT_BIND" | nsupdate -k "$ENV_BIND_KEY_FILE"
zone_clean "after c.bind.test"
pass "nsupdate hook: NSUPDATE_ZONE, foreign record kept"

# 3. a wrong secret: the hook's reason, nothing left, no secret shown
sed "s|$SECRET|$(cat "$ENV_BIND_WRONG_FILE")|" "$ENV_BIND_KEY_FILE" >"$H/wrong.key"
chmod 0600 "$H/wrong.key"
conf "NSUPDATE_KEY_FILE=$H/wrong.key"
expect_rc 1 bh -d bad.bind.test
expect_in "$ERR" "setup of _acme-challenge.bad.bind.test TXT in zone bind.test at 127.0.0.1:$PORT_BIND failed" \
  "wrong key: the hook's reason"
expect_in "$ERR" "NOTAUTH" "wrong key: the server's answer"
case "$OUT$ERR" in *"$SECRET"*) fail "the secret appears in the output" ;; esac
[ ! -e "$STATE/live/bad.bind.test" ] || fail "live/ written despite the wrong key"
zone_clean "after the wrong key"
pass "nsupdate hook: wrong key -> NOTAUTH named, nothing left"

# 4. bad input from the environment is refused before any update
conf
rc=0
out=$(BYOCA_RECORD_NAME='x.bind.test; update delete bind.test.' BYOCA_RECORD_VALUE=abc \
  "$H/nsupdate.sh" setup 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "injected record name accepted (exit $rc)"
expect_in "$out" "invalid record name" "injection refused"
zone_clean "after the injection attempt"
pass "nsupdate hook: unsafe names refused"
