# Sourced by the integration tests: the test bed (tests/env/lib.sh) plus
# small assertions. Each test runs the real byoca binary as a user would.
set -euo pipefail

: "${BYOCA_SRC:=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
: "${BYOCA_BUILD:=$BYOCA_SRC/build}"
: "${BYOCA:=$BYOCA_BUILD/byoca}"
# shellcheck source=../env/lib.sh
source "$BYOCA_SRC/tests/env/lib.sh"

fail() {
  echo "FAIL: $*" >&2
  exit 1
}
pass() { echo "ok: $*"; }

# Runs byoca against the local Pebble with a private state dir; extra
# arguments come first so the test can add anything.
bp() {
  "$BYOCA" "$@" --server "$ENV_DIRECTORY" --ca-bundle "$ENV_CA_BUNDLE" \
    --state-dir "$STATE" ${PORT_DNS:+--resolver "127.0.0.1@$PORT_DNS"}
}

# expect_rc CODE CMD...: runs CMD, captures stdout/stderr in $OUT/$ERR,
# fails unless it exits with CODE.
expect_rc() {
  local want=$1 rc=0
  shift
  OUT=$("$@" 2>"$ENV_DIR/stderr") || rc=$?
  ERR=$(cat "$ENV_DIR/stderr")
  if [ "$rc" != "$want" ]; then
    echo "--- stdout:" >&2
    echo "$OUT" >&2
    echo "--- stderr:" >&2
    echo "$ERR" >&2
    fail "expected exit $want, got $rc: $*"
  fi
}

# expect_in TEXT NEEDLE WHAT
expect_in() {
  case "$1" in
  *"$2"*) ;;
  *) fail "$3: expected to find '$2' in: $1" ;;
  esac
}

# expect_validated NEEDLE CMD...: runs CMD (exit 0) and expects NEEDLE in
# its stderr. Pebble reuses a valid authorization about 1% of the time
# even with PEBBLE_AUTHZREUSE=0 (its test is rand.Intn(100) > percent), so
# a repeat order for a name may need no challenge at all; byoca says so
# ("already authorized") and CMD is run again, three times at most.
expect_validated() {
  local want=$1 i
  shift
  for i in 1 2 3; do
    expect_rc 0 "$@"
    case "$ERR" in
    *"already authorized"*) echo "note: the CA reused an authorization; again" >&2 ;;
    *) break ;;
    esac
  done
  expect_in "$ERR" "$want" "validation of a repeat order"
}

# The SANs of a PEM certificate, one per line.
cert_sans() {
  openssl x509 -in "$1" -noout -ext subjectAltName 2>/dev/null |
    tail -n +2 | tr ',' '\n' | sed 's/^ *//'
}

# Checks the live files of lineage $1 are complete and consistent.
check_live() {
  local d="$STATE/live/$1"
  for f in cert.pem chain.pem fullchain.pem privkey.pem; do
    [ -s "$d/$f" ] || fail "$d/$f missing or empty"
  done
  [ "$(stat -L -c %a "$d/privkey.pem")" = 600 ] || fail "privkey.pem is not 0600"
  local kpub cpub
  kpub=$(openssl pkey -in "$d/privkey.pem" -pubout 2>/dev/null | sha256sum)
  cpub=$(openssl x509 -in "$d/cert.pem" -noout -pubkey | sha256sum)
  [ "$kpub" = "$cpub" ] || fail "privkey.pem does not match cert.pem"
  # the chain must lead to one of the Pebble roots
  cat "${ENV_PEBBLE_ROOTS:-/dev/null}" "${ENV_PEBBLE_ROOTS_EAB:-/dev/null}" \
    >"$ENV_DIR/roots.pem" 2>/dev/null || true
  openssl verify -CAfile "$ENV_DIR/roots.pem" -untrusted "$d/chain.pem" \
    "$d/cert.pem" >/dev/null 2>&1 || fail "$1: chain does not verify"
  cmp -s <(cat "$d/cert.pem" "$d/chain.pem") "$d/fullchain.pem" ||
    fail "$1: fullchain.pem is not cert.pem + chain.pem"
}

# No temp files or partial lineages anywhere under live/ and archive/.
check_no_partial() {
  if [ -d "$STATE/live" ] || [ -d "$STATE/archive" ]; then
    local stray
    stray=$(find "$STATE" \( -name '.*.tmp*' -o -name '.*.new' \) 2>/dev/null || true)
    [ -z "$stray" ] || fail "temporary files left behind: $stray"
  fi
}

# Serial of a certificate file in the form Pebble's management API uses.
cert_serial() {
  openssl x509 -in "$1" -noout -serial | cut -d= -f2 | tr 'A-F' 'a-f'
}
