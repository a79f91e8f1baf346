# shellcheck shell=bash
# Shell helpers for the hostile-server tests (tests/integration/
# test_hostile_*.sh): each test runs byoca against tests/hostile/
# hostile_acme.py (a test fixture: an ACME server that misbehaves in one
# named way) inside a fresh user+network namespace, so nothing can leave
# the machine even if one of byoca's guards were wrong. Canary listeners
# sit where a failed guard would send traffic (10.0.0.1, 169.254.169.254,
# fd00::1 and 127.0.0.1, added to lo in the namespace) and must stay
# silent.
#
#   hostile_init NAME        first thing in a test: enters the namespace
#                            (exit 77 when none can be made), starts the
#                            canaries; exports HOSTILE_URL and friends
#   hostile_start SCENARIO   (re)starts the fixture in that scenario
#   hostile_issue [ARGS...]  byoca issue against it; rc in $RC, $OUT, $ERR
#   hostile_expect_fail SCENARIO NEEDLE...
#                            start, issue, exit 1 with every NEEDLE in the
#                            error, no crash, no partial file, canaries
#                            silent; prints "SCENARIO: <byoca's error>"

HOSTILE_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
HOSTILE_ADDR=127.0.0.2
HOSTILE_PORT=${HOSTILE_PORT:-8443}
HOSTILE_DNS_PORT=5353
# short limits so a scenario that makes byoca wait ends in seconds
HOSTILE_HTTP_TIMEOUT=${HOSTILE_HTTP_TIMEOUT:-2}
HOSTILE_ORDER_TIMEOUT=${HOSTILE_ORDER_TIMEOUT:-3}
# canary addresses (added to lo) and the ports they listen on
HOSTILE_CANARY_ADDRS="10.0.0.1 169.254.169.254 fd00::1 127.0.0.1"

hostile__in_netns() {
  [ -n "${BYOCA_IN_NETNS:-}" ]
}

# Re-runs the calling script in a new network namespace: a plain one when
# we are root (servers such as nginx can then switch users), else a
# user+network namespace (unshare -rn); exit 77 when neither can be made.
hostile__enter_netns() {
  hostile__in_netns && return 0
  local how ways=(-rn)
  [ "$(id -u)" != 0 ] || ways=(-n -rn)
  for how in "${ways[@]}"; do
    if unshare "$how" true 2>/dev/null; then
      exec unshare "$how" -- env BYOCA_IN_NETNS=1 bash "$0" "$@"
    fi
  done
  echo "skip: cannot create a network namespace (unshare -rn and -n both" \
    "refused: no user namespaces and not root)"
  exit 77
}

# True inside a user namespace (unshare -rn), where only our own uid
# exists: servers that change user (nginx) cannot run there.
hostile_in_userns() {
  ! grep -qE '^ *0 +0 +4294967295' /proc/self/uid_map
}

hostile_init() {
  local name=$1 a p spec=""
  shift
  hostile__enter_netns "$@"
  ip link set lo up
  ip addr add 10.0.0.1/32 dev lo
  ip addr add 169.254.169.254/32 dev lo
  ip -6 addr add fd00::1/128 dev lo nodad 2>/dev/null || true
  # shellcheck source=../integration/common.sh
  source "$HOSTILE_DIR/../integration/common.sh"
  env_init "hostile_$name"
  env_gen_tls "$HOSTILE_ADDR" ca.rebind.test hostile.byoca.test
  STATE=$ENV_DIR/state
  HOSTILE_LOG=$ENV_DIR/fixture-requests.log
  HOSTILE_CANARY_LOG=$ENV_DIR/canary.log
  mkdir -p "$ENV_DIR/hostile-work"
  : >"$HOSTILE_CANARY_LOG"
  for a in $HOSTILE_CANARY_ADDRS; do
    if [ "$a" = fd00::1 ] && ! ip -6 addr show dev lo | grep -q fd00::1; then
      continue # no IPv6 in this kernel: nothing can reach it either
    fi
    for p in $(printf '%s\n' 80 443 "$HOSTILE_PORT" | sort -u); do
      case "$a" in *:*) spec+=",[$a]:$p" ;; *) spec+=",$a:$p" ;; esac
    done
  done
  env_spawn canaries python3 "$HOSTILE_DIR/hostile_acme.py" \
    --canary "${spec#,}" --log "$HOSTILE_CANARY_LOG"
  env__wait canaries "$ENV_LAST_PID" 10 hostile__port_open 10.0.0.1 443
  sleep 0.2
  : >"$HOSTILE_CANARY_LOG" # the readiness probe above was ours
  export HOSTILE_URL=https://$HOSTILE_ADDR:$HOSTILE_PORT/dir
  export STATE HOSTILE_LOG HOSTILE_CANARY_LOG
}

hostile__port_open() {
  python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 1).close()' "$1" "$2"
}

# hostile_start SCENARIO [FIXTURE ARGS...]
hostile_start() {
  local sc=$1
  shift
  env_stop hostile
  HOSTILE_SCENARIO=$sc
  echo "=== $sc" >>"$HOSTILE_LOG"
  env_spawn hostile python3 "$HOSTILE_DIR/hostile_acme.py" --scenario "$sc" \
    --addr "$HOSTILE_ADDR" --port "$HOSTILE_PORT" --cert "$ENV_TLS_CERT" \
    --key "$ENV_TLS_KEY" --work "$ENV_DIR/hostile-work" --log "$HOSTILE_LOG" \
    --dns-port "$HOSTILE_DNS_PORT" "$@"
  env__wait hostile "$ENV_LAST_PID" 20 hostile__port_open "$HOSTILE_ADDR" \
    "$HOSTILE_PORT"
}

# hostile_issue [ARGS...]: byoca issue for hostile.byoca.test against the
# fixture, with short timeouts; sets RC, OUT, ERR. Never hangs the test:
# 60 s of wall time at most (a hang is a failure).
hostile_issue() {
  RC=0
  OUT=$(timeout -k 5 60 "$BYOCA" issue -d "${HOSTILE_NAME:-hostile.byoca.test}" \
    --server "$HOSTILE_URL" --ca-bundle "$ENV_CA_BUNDLE" --state-dir "$STATE" \
    --agree-tos --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" \
    --http-timeout "$HOSTILE_HTTP_TIMEOUT" \
    --order-timeout "$HOSTILE_ORDER_TIMEOUT" "$@" 2>"$ENV_DIR/stderr") || RC=$?
  ERR=$(cat "$ENV_DIR/stderr")
}

# Fails unless no canary saw a connection.
hostile_check_canaries() {
  if [ -s "$HOSTILE_CANARY_LOG" ]; then
    fail "${HOSTILE_SCENARIO:-?}: a connection reached a canary: $(cat "$HOSTILE_CANARY_LOG")"
  fi
}

# Fails if byoca crashed or a sanitizer spoke.
hostile_check_sane() {
  [ "$RC" -lt 124 ] || fail "$HOSTILE_SCENARIO: byoca died or hung (exit $RC): $ERR"
  case "$ERR" in
  *AddressSanitizer* | *LeakSanitizer* | *"runtime error:"*)
    fail "$HOSTILE_SCENARIO: sanitizer report: $ERR"
    ;;
  esac
  # the server's text never reaches the terminal raw
  if printf '%s' "$ERR" | LC_ALL=C grep -q $'[\x01-\x08\x0b-\x1f\x7f]'; then
    fail "$HOSTILE_SCENARIO: control characters reached stderr raw"
  fi
}

# No certificate for the name and no temporary file anywhere.
hostile_check_no_partial() {
  local n=${HOSTILE_NAME:-hostile.byoca.test} stray
  [ ! -e "$STATE/live/$n" ] || fail "$HOSTILE_SCENARIO: live/$n exists"
  [ ! -e "$STATE/archive/$n" ] || fail "$HOSTILE_SCENARIO: archive/$n exists"
  stray=$(find "$STATE" \( -name '.*.tmp*' -o -name '*.tmp' -o -name '.*.new' \) 2>/dev/null || true)
  [ -z "$stray" ] || fail "$HOSTILE_SCENARIO: temporary files left: $stray"
}

# hostile_expect_fail SCENARIO NEEDLE... [-- ISSUE ARGS...]
hostile_expect_fail() {
  local sc=$1 needles=() line
  shift
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    needles+=("$1")
    shift
  done
  [ "${1:-}" = -- ] && shift
  hostile_start "$sc"
  rm -rf "$STATE"
  hostile_issue "$@"
  hostile_check_sane
  [ "$RC" = 1 ] || fail "$sc: expected exit 1, got $RC; stderr: $ERR"
  for line in "${needles[@]}"; do
    expect_in "$ERR" "$line" "$sc"
  done
  hostile_check_no_partial
  hostile_check_canaries
  echo "SCENARIO $sc: $(printf '%s\n' "$ERR" | grep '^byoca:' | head -1)"
}

# hostile_discover SCENARIO: byoca discover for victim.byoca.test, whose
# CAA record names hostile.byoca.test (the fixture, on port 443: set
# HOSTILE_PORT=443 before hostile_init; challtestsrv answers the DNS).
# Sets RC, OUT, ERR and HOSTILE_CAND_ERR (the candidate's error).
hostile_discover() {
  hostile_start "$1"
  RC=0
  OUT=$(timeout -k 5 60 "$BYOCA" discover victim.byoca.test --json \
    --resolver "127.0.0.1@$PORT_DNS" --ca-bundle "$ENV_CA_BUNDLE" \
    --allow-net "$HOSTILE_ADDR/32" --http-timeout "$HOSTILE_HTTP_TIMEOUT" \
    2>"$ENV_DIR/stderr") || RC=$?
  ERR=$(cat "$ENV_DIR/stderr")
  hostile_check_sane
  HOSTILE_CAND_ERR=$(printf '%s' "$OUT" | python3 -c '
import json, sys
c = json.load(sys.stdin)["candidates"][0]
assert c["directory"] is None, "a directory was accepted: %r" % c
print(c["error"])') || fail "$1: discover --json: $OUT $ERR"
  hostile_check_canaries
}

# hostile_discover_fail SCENARIO NEEDLE...: the candidate CA is refused
# with an error holding every NEEDLE.
hostile_discover_fail() {
  local sc=$1 n
  shift
  hostile_discover "$sc"
  for n in "$@"; do
    expect_in "$HOSTILE_CAND_ERR" "$n" "$sc (discover)"
  done
  echo "SCENARIO $sc (discover): $HOSTILE_CAND_ERR"
}
