#!/usr/bin/env bash
# `byoca daemon` against a real byocad (Pebble as the CA): tenants and
# tokens (a created token alone on stdout), certificates added, waited
# for, listed, exported (atomic file, 0600 with the key), renewed and
# deleted; EAB set/list/delete; events, cas, metrics; API errors as one
# line with exit 1, an unreachable daemon named, usage errors exit 2.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init daemon_cli
env_gen_tls
env_start_challtestsrv
# shellcheck disable=SC2119
env_start_pebble
env_start_byocad
W=$ENV_DIR/work
mkdir -p "$W"
export BYOCAD_SOCKET=unix:$BYOCAD_SOCK
export BYOCA_TOKEN_FILE=$BYOCAD_OPERATOR
unset BYOCA_TOKEN
TOKEN_RE='^byoca_[A-Za-z0-9_-]{43}$'
d() { "$BYOCA" daemon "$@"; }
# as_tenant FILE CMD...: runs CMD with the token in FILE
as_tenant() {
  local f=$1
  shift
  BYOCA_TOKEN_FILE=$f "$@"
}
# one_error WHAT: stderr is a single "byoca: ..." line
one_error() {
  [ "$(wc -l <<<"$ERR")" = 1 ] || fail "$1: more than one error line: $ERR"
  case "$ERR" in "byoca: "?*) ;; *) fail "$1: error line: $ERR" ;; esac
}
serial_of() { json_get "$1" 'd["serial"]'; }

# --- tokens come from files or the environment, and must be given
expect_rc 1 env BYOCA_TOKEN_FILE= "$BYOCA" daemon cas
expect_in "$ERR" "no API token was given" "missing token"
expect_rc 0 env BYOCA_TOKEN_FILE= BYOCA_TOKEN="$(cat "$BYOCAD_OPERATOR")" \
  "$BYOCA" daemon --json cas
json_check "$OUT" 'assert isinstance(d["items"], list), d'
pass "token from \$BYOCA_TOKEN_FILE or \$BYOCA_TOKEN; none: 401 explained"

# --- tenants: the first token alone on stdout
T=$W/t.token
expect_rc 0 d tenant create cli-tenant
printf '%s\n' "$OUT" >"$T"
if [ "$(wc -l <"$T")" != 1 ] || ! grep -Eq "$TOKEN_RE" "$T"; then
  fail "stdout is not just the token: $OUT"
fi
TID=$(sed -n 's/^created tenant \([0-9]*\);.*/\1/p' <<<"$ERR")
[ -n "$TID" ] || fail "tenant id not on stderr: $ERR"
expect_rc 0 d --json tenant show "$TID"
json_check "$OUT" "assert d['name'] == 'cli-tenant' and d['state'] == 'active', d
assert 'token' not in d, d"
expect_rc 0 d tenant list
expect_in "$OUT" "cli-tenant" "tenant list"
expect_rc 1 as_tenant "$T" "$BYOCA" daemon tenant list
one_error "tenant token on an operator endpoint"
pass "tenant create/show/list; tenant token refused on operator endpoints"

# --- the operator must name the tenant
expect_rc 1 d cert list
one_error "operator without --tenant"
expect_in "$ERR" "tenant=" "operator without --tenant"
expect_rc 0 d cert list --tenant "$TID"
expect_in "$OUT" "no certificates" "empty list"
pass "operator needs --tenant; the API's problem is one line, exit 1"

# --- a certificate, waited for
NAME=cli.daemon.byoca.test
expect_rc 0 as_tenant "$T" "$BYOCA" daemon --json cert add "$NAME" "www.$NAME" \
  --ca "$ENV_DIRECTORY" --wait 90
CERT=$OUT
json_check "$CERT" "assert d['state'] == 'issued' and d['serial'], d
assert d['identifiers'] == ['$NAME', 'www.$NAME'], d"
ID=$(json_get "$CERT" 'd["id"]')
SERIAL1=$(serial_of "$CERT")
expect_rc 0 d cert list --tenant "$TID"
expect_in "$OUT" "$NAME" "cert list"
expect_in "$OUT" "issued" "cert list"
expect_rc 0 as_tenant "$T" "$BYOCA" daemon cert show "$ID"
expect_in "$OUT" "issued" "cert show"
pass "cert add --wait: issued; list and show"

# --- chain export
expect_rc 0 as_tenant "$T" "$BYOCA" daemon cert chain "$ID" -o "$W/chain.pem"
[ "$(stat -c %a "$W/chain.pem")" = 644 ] || fail "chain file mode $(stat -c %a "$W/chain.pem")"
grep -q 'BEGIN CERTIFICATE' "$W/chain.pem" || fail "no certificate in the chain"
if grep -q PRIVATE "$W/chain.pem"; then fail "a key without --include-key"; fi
expect_rc 0 d cert chain "$ID" --tenant "$TID" --include-key -o "$W/key+chain.pem"
[ "$(stat -c %a "$W/key+chain.pem")" = 600 ] || fail "key file is not 0600"
pem_split "$W/key+chain.pem" "$W/k"
[ -s "$W/k.key" ] || fail "no key with --include-key"
[ "$(openssl pkey -in "$W/k.key" -pubout | sha256sum)" = \
  "$(openssl x509 -in "$W/k.leaf" -noout -pubkey | sha256sum)" ] ||
  fail "exported key does not match the certificate"
for f in "$W"/.*tmp*; do [ ! -e "$f" ] || fail "temporary file $f left"; done
expect_rc 0 as_tenant "$T" "$BYOCA" daemon --json events --limit 1000
json_check "$OUT" "assert any(e['type'] == 'key.exported' and e['certificate'] == $ID for e in d['items']), d"
pass "cert chain -o (0644), --include-key (0600, matches), key.exported"

# --- renewal
expect_rc 0 as_tenant "$T" "$BYOCA" daemon --json cert renew "$ID" --wait 90
SERIAL2=$(serial_of "$OUT")
[ "$SERIAL2" != "$SERIAL1" ] || fail "renew --wait returned the old serial"
pass "cert renew --wait: new serial"

# --- tokens
expect_rc 0 d token create "$TID" --label ci
printf '%s\n' "$OUT" >"$W/t2.token"
grep -Eq "$TOKEN_RE" "$W/t2.token" || fail "token create stdout: $OUT"
TOK2=$(sed -n 's/^created token \([0-9]*\);.*/\1/p' <<<"$ERR")
[ -n "$TOK2" ] || fail "token id not on stderr: $ERR"
expect_rc 0 as_tenant "$W/t2.token" "$BYOCA" daemon cert list
expect_rc 0 d token revoke "$TID" "$TOK2"
expect_rc 1 as_tenant "$W/t2.token" "$BYOCA" daemon cert list
one_error "revoked token"
pass "token create (stdout only the token), revoke"

# --- EAB: the MAC key goes in once, never comes out
(umask 077 && openssl rand 32 | base64 -w0 >"$W/eab.hmac") # standard base64
expect_rc 0 as_tenant "$T" "$BYOCA" daemon eab set "eab.byoca.test" --kid kid-cli \
  --hmac-file "$W/eab.hmac"
expect_rc 0 as_tenant "$T" "$BYOCA" daemon eab list
expect_in "$OUT" "kid-cli" "eab list"
expect_rc 0 as_tenant "$T" "$BYOCA" daemon --json eab list
mac_url=$(tr '+/' '-_' <"$W/eab.hmac" | tr -d '=')
case "$OUT" in *"${mac_url:0:16}"* | *"$(head -c 16 "$W/eab.hmac")"*) fail "MAC key in eab list" ;; esac
expect_rc 0 as_tenant "$T" "$BYOCA" daemon eab delete "eab.byoca.test"
expect_rc 0 as_tenant "$T" "$BYOCA" daemon eab list
case "$OUT" in *kid-cli*) fail "eab delete left it: $OUT" ;; esac
pass "eab set (base64 MAC key accepted), list without the key, delete"

# --- import the exported certificate and key
expect_rc 0 as_tenant "$T" "$BYOCA" daemon --json cert import --cert "$W/k.full" \
  --key "$W/k.key"
json_check "$OUT" "assert d['state'] == 'issued', d"
IMP=$(json_get "$OUT" 'd["id"]')
pass "cert import"

# --- operator views
expect_rc 0 d cas
expect_rc 0 d metrics
expect_in "$OUT" "byoca_certificates" "metrics"
expect_rc 0 d events --tenant "$TID"
expect_in "$OUT" "certificate.issued" "events"
pass "cas, metrics, events"

# --- delete, waited for
expect_rc 0 as_tenant "$T" "$BYOCA" daemon cert delete "$ID" --wait 90
expect_in "$OUT" "is gone" "cert delete --wait"
expect_rc 1 as_tenant "$T" "$BYOCA" daemon cert show "$ID"
one_error "deleted certificate"
expect_rc 0 as_tenant "$T" "$BYOCA" daemon cert delete "$IMP" --no-revoke --wait 90
pass "cert delete --wait, --no-revoke"

# --- errors of the command line itself
expect_rc 1 d --socket "unix:$ENV_DIR/nothing.sock" cas
expect_in "$ERR" "$ENV_DIR/nothing.sock" "unreachable daemon"
expect_rc 2 d cert show abc
expect_rc 2 d cert list --label x
expect_rc 2 d frob
expect_rc 2 d --socket nonsense cas
pass "unreachable daemon named (exit 1), usage errors (exit 2)"

env_stop_byocad
for tok in "$BYOCAD_OPERATOR" "$T"; do
  if grep -qF -f "$tok" "$BYOCAD_LOG"; then fail "a token in byocad's log"; fi
done
byocad_log_clean || fail "sanitizer report"
pass "byocad stopped cleanly"
