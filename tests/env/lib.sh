# shellcheck shell=bash
# Test bed for byoca's integration tests: starts pebble-challtestsrv (mock
# DNS) and Pebble (ACME test CA, optionally a second one requiring EAB) on
# loopback ports private to the calling script, and stops them on exit.
# Sourced by tests/integration/*.sh and by tests/env/up.sh. Safe under
# `set -euo pipefail`. See docs/internals/testbed.md for the whole story.
#
# Call env_* functions from the main shell of the script, never inside
# $(...), a pipeline or ( ... ): servers are tied to the shell that started
# them and die with it.

if [ -n "${BYOCA_ENV_LIB_LOADED:-}" ]; then
  return 0
fi
BYOCA_ENV_LIB_LOADED=1

ENV_LIB_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# Port blocks: [ENV_PORT_MIN, ENV_PORT_MAX) cut into blocks of
# ENV_PORT_BLOCK, below the kernel's ephemeral range (32768+) and above
# every port Pebble or challtestsrv use by default.
: "${ENV_PORT_MIN:=20000}"
: "${ENV_PORT_MAX:=32000}"
ENV_PORT_BLOCK=20
: "${BYOCA_PORT_LOCK_DIR:=/tmp/byoca-ports}"
ENV_ATEXIT=()
ENV_CURL=(curl --noproxy '*' -sS --max-time 10)

# ---------------------------------------------------------------- helpers

env__log() { echo "env: $*" >&2; }

env__die() {
  env__log "ERROR: $*"
  return 1
}

# env__alive PID: true when PID runs and is not a zombie.
env__alive() {
  local st
  [ -r "/proc/$1/stat" ] || return 1
  st=$(cut -d' ' -f3 "/proc/$1/stat" 2>/dev/null) || return 1
  [ -n "$st" ] && [ "$st" != Z ] && [ "$st" != X ]
}

# env__starttime PID: the process start time (clock ticks since boot), used
# to tell a server from a later process that reuses its PID.
env__starttime() {
  local stat
  stat=$(cat "/proc/$1/stat" 2>/dev/null) || return 1
  stat=${stat##*) }
  # Fields after "comm)" start at field 3; starttime is field 22.
  # shellcheck disable=SC2086
  set -- $stat
  echo "${20}"
}

# env__json_str S: S as a JSON string literal (quotes included).
env__json_str() {
  local s=$1
  case "$s" in
  *[$'\001'-$'\037']*)
    env__die "control character in JSON value"
    return 1
    ;;
  esac
  s=${s//\\/\\\\}
  s=${s//\"/\\\"}
  printf '"%s"' "$s"
}

# env__wait DESC PID SECONDS CMD...: runs CMD quietly every 0.1 s until it
# succeeds; fails early when PID dies, late after SECONDS.
env__wait() {
  local desc=$1 pid=$2 secs=$3 i=0
  shift 3
  while [ "$i" -lt $((secs * 10)) ]; do
    if "$@" >/dev/null 2>&1; then
      return 0
    fi
    if ! env__alive "$pid"; then
      env__die "$desc exited during startup (see $ENV_DIR/$desc.log)"
      return 1
    fi
    sleep 0.1
    i=$((i + 1))
  done
  env__die "$desc not ready after ${secs}s (see $ENV_DIR/$desc.log)"
}

env__tail_logs() {
  local f
  for f in "$ENV_DIR"/*.log; do
    [ -e "$f" ] || continue
    echo "----- last lines of $f" >&2
    tail -n 20 "$f" >&2
  done
}

# -------------------------------------------------------------- work dir

# env_init NAME: private work dir, exit trap, port block, proxy bypass.
env_init() {
  local name=${1:-test} parent=${BYOCA_TEST_TMP:-/tmp}
  ENV_NAME=$name
  mkdir -p "$parent" || return 1
  ENV_DIR=$(mktemp -d "$parent/byoca-it.$name.XXXXXX") || return 1
  export ENV_NAME ENV_DIR
  : >"$ENV_DIR/servers"
  trap 'env__on_exit' EXIT
  trap 'exit 129' HUP
  trap 'exit 130' INT
  trap 'exit 143' TERM
  env__no_proxy
  env__reserve_ports || return 1
}

# Loopback must never go through a proxy from the environment (curl and
# libcurl honor http_proxy/https_proxy).
env__no_proxy() {
  local v=127.0.0.1,localhost,::1
  export NO_PROXY="${NO_PROXY:+$NO_PROXY,}$v"
  export no_proxy="${no_proxy:+$no_proxy,}$v"
}

# env_atexit CMD...: runs CMD (as one string) at exit, before the servers
# are stopped; last registered runs first.
env_atexit() {
  ENV_ATEXIT+=("$*")
}

env__on_exit() {
  local rc=$? i
  trap - EXIT HUP INT TERM
  set +e
  for ((i = ${#ENV_ATEXIT[@]} - 1; i >= 0; i--)); do
    eval "${ENV_ATEXIT[$i]}"
  done
  if [ "$rc" != 0 ] && [ -n "${ENV_DIR:-}" ]; then
    env__log "exit code $rc; server logs in $ENV_DIR"
    env__tail_logs
  fi
  env_stop_all
  if [ -n "${ENV_PORT_LOCK_FD:-}" ]; then
    exec {ENV_PORT_LOCK_FD}<&-
  fi
  if [ -n "${ENV_DIR:-}" ] && [ -d "$ENV_DIR" ]; then
    if [ "${BYOCA_KEEP:-0}" = 1 ]; then
      env__log "kept $ENV_DIR"
    else
      rm -rf "$ENV_DIR"
    fi
  fi
  exit "$rc"
}

# ------------------------------------------------------------------ ports

# env__ports_free BASE COUNT: no TCP or UDP socket is bound on 127.0.0.1 to
# a port in [BASE, BASE+COUNT).
env__ports_free() {
  if command -v python3 >/dev/null 2>&1; then
    python3 - "$1" "$2" <<'EOF'
import socket, sys
base, count = int(sys.argv[1]), int(sys.argv[2])
for port in range(base, base + count):
    for kind in (socket.SOCK_STREAM, socket.SOCK_DGRAM):
        s = socket.socket(socket.AF_INET, kind)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            sys.exit(1)
        finally:
            s.close()
EOF
  else
    local used
    used=$(ss -Htanu | awk '{print $5}' | sed -n 's/.*:\([0-9]*\)$/\1/p')
    local p
    for ((p = $1; p < $1 + $2; p++)); do
      if grep -qx "$p" <<<"$used"; then
        return 1
      fi
    done
  fi
}

# Takes a free block of ENV_PORT_BLOCK ports. The block is owned by whoever
# holds an flock on $BYOCA_PORT_LOCK_DIR/<base>.lock; the lock fd is
# inherited by the servers, so the block stays taken while any of them
# runs, and the kernel drops the lock when the last holder dies.
env__reserve_ports() {
  local nblocks=$(((ENV_PORT_MAX - ENV_PORT_MIN) / ENV_PORT_BLOCK))
  local start=$(((RANDOM * 32768 + RANDOM + $$) % nblocks)) i base f fd
  if [ ! -d "$BYOCA_PORT_LOCK_DIR" ]; then
    mkdir -m 1777 "$BYOCA_PORT_LOCK_DIR" 2>/dev/null || true
  fi
  for ((i = 0; i < nblocks; i++)); do
    base=$((ENV_PORT_MIN + ((start + i) % nblocks) * ENV_PORT_BLOCK))
    f=$BYOCA_PORT_LOCK_DIR/$base.lock
    if [ ! -e "$f" ]; then
      (umask 0 && : >>"$f") 2>/dev/null || continue
    fi
    exec {fd}<"$f" || continue
    if flock -n "$fd" && env__ports_free "$base" "$ENV_PORT_BLOCK"; then
      ENV_PORT_LOCK_FD=$fd
      env__set_ports "$base"
      return 0
    fi
    exec {fd}<&-
  done
  env__die "no free block of $ENV_PORT_BLOCK ports in $ENV_PORT_MIN..$ENV_PORT_MAX"
}

env__set_ports() {
  local b=$1
  export PORT_BASE=$b
  export PORT_DNS=$b              # challtestsrv DNS, UDP and TCP
  export PORT_CTS_API=$((b + 1))  # challtestsrv management (HTTP)
  export PORT_ACME=$((b + 2))     # Pebble ACME (HTTPS)
  export PORT_MGMT=$((b + 3))     # Pebble management (HTTPS)
  export PORT_ACME_EAB=$((b + 4)) # Pebble requiring EAB, ACME
  export PORT_MGMT_EAB=$((b + 5)) # Pebble requiring EAB, management
  export PORT_HTTP01=$((b + 6))   # where Pebble's VA sends http-01
  export PORT_TLSALPN=$((b + 7))  # where Pebble's VA sends tls-alpn-01
  export PORT_NGINX=$((b + 8))    # for the test's nginx (well-known/acme)
  export PORT_API=$((b + 9))      # for byocad's REST API
  export PORT_SPARE_FIRST=$((b + 10))
  export PORT_SPARE_LAST=$((b + ENV_PORT_BLOCK - 1))
}

# -------------------------------------------------------------- processes

# env_spawn NAME CMD...: starts CMD in the background, output to
# $ENV_DIR/NAME.log, recorded in $ENV_DIR/servers for env_stop_all. The
# server gets SIGTERM if this shell dies without running its exit trap
# (ctest timeout), unless ENV_DETACH=1 (up.sh), which puts it in its own
# session so that it outlives the shell.
env_spawn() {
  local name=$1 pid st
  shift
  if [ "${ENV_DETACH:-0}" = 1 ]; then
    setsid "$@" >"$ENV_DIR/$name.log" 2>&1 </dev/null &
  elif command -v setpriv >/dev/null 2>&1; then
    setpriv --pdeathsig TERM -- "$@" >"$ENV_DIR/$name.log" 2>&1 </dev/null &
  else
    "$@" >"$ENV_DIR/$name.log" 2>&1 </dev/null &
  fi
  pid=$!
  st=$(env__starttime "$pid") || st=0
  echo "$name $pid $st" >>"$ENV_DIR/servers"
  ENV_LAST_PID=$pid
}

# env_pid NAME: the PID of server NAME (empty when not running).
env_pid() {
  awk -v n="$1" '$1 == n { p = $2 } END { if (p) print p }' \
    "$ENV_DIR/servers"
}

# env__stop_lines LINE...: stops the servers of "name pid starttime" lines:
# SIGTERM, up to 5 s grace, then SIGKILL; reaps our own children.
env__stop_lines() {
  local line name pid st pids=() alive i
  for line in "$@"; do
    read -r name pid st <<<"$line"
    [ -n "$pid" ] || continue
    if env__alive "$pid" &&
      { [ "$st" = 0 ] || [ "$(env__starttime "$pid")" = "$st" ]; }; then
      kill -TERM "$pid" 2>/dev/null && pids+=("$pid")
    fi
  done
  for ((i = 0; i < 50; i++)); do
    alive=()
    for pid in "${pids[@]}"; do
      env__alive "$pid" && alive+=("$pid")
    done
    [ ${#alive[@]} -eq 0 ] && break
    sleep 0.1
  done
  for pid in "${alive[@]}"; do
    env__log "pid $pid ignored SIGTERM for 5 s, sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null
  done
  for pid in "${pids[@]}"; do
    wait "$pid" 2>/dev/null || true
  done
}

# env_stop NAME: stops one server (e.g. to take a CA down mid-test).
env_stop() {
  local lines
  [ -s "$ENV_DIR/servers" ] || return 0
  mapfile -t lines < <(awk -v n="$1" '$1 == n' "$ENV_DIR/servers")
  [ ${#lines[@]} -gt 0 ] || return 0
  env__stop_lines "${lines[@]}"
  awk -v n="$1" '$1 != n' "$ENV_DIR/servers" >"$ENV_DIR/servers.new"
  mv "$ENV_DIR/servers.new" "$ENV_DIR/servers"
}

# env_stop_all: stops every server this bed started (newest first).
env_stop_all() {
  local lines
  [ -n "${ENV_DIR:-}" ] && [ -s "$ENV_DIR/servers" ] || return 0
  mapfile -t lines < <(tac "$ENV_DIR/servers")
  env__stop_lines "${lines[@]}"
  : >"$ENV_DIR/servers"
}

# -------------------------------------------------------------------- TLS

# env_gen_tls [NAME...]: test root CA + server cert for 127.0.0.1, ::1,
# localhost and NAMEs (Pebble's HTTPS listeners). Exports ENV_CA_BUNDLE (the
# root, for byoca --ca-bundle), ENV_TLS_CERT, ENV_TLS_KEY.
# shellcheck disable=SC2120
env_gen_tls() {
  local d=$ENV_DIR/tls
  mkdir -p "$d"
  if [ ! -s "$d/ca.pem" ]; then
    (umask 077 && openssl req -x509 -newkey ec \
      -pkeyopt ec_paramgen_curve:P-256 -nodes -days 30 \
      -subj "/CN=byoca test bed root ($ENV_NAME)" \
      -keyout "$d/ca.key" -out "$d/ca.pem" \
      -addext basicConstraints=critical,CA:TRUE \
      -addext keyUsage=critical,keyCertSign,cRLSign \
      -addext subjectKeyIdentifier=hash) >"$d/openssl.log" 2>&1 ||
      { env__die "openssl: CA generation failed" && return 1; }
    chmod 0644 "$d/ca.pem"
  fi
  env_gen_server_cert server 127.0.0.1 ::1 localhost "$@" || return 1
  export ENV_CA_BUNDLE=$d/ca.pem
  export ENV_TLS_CERT=$d/server.pem
  export ENV_TLS_KEY=$d/server.key
}

# env_gen_server_cert NAME SAN...: $ENV_DIR/tls/NAME.pem (leaf only) and
# NAME.key (0600), signed by the test root; SANs that parse as IP
# addresses become iPAddress entries, the others dNSName.
env_gen_server_cert() {
  local name=$1 d=$ENV_DIR/tls san="" s cn=${2:-$1}
  shift
  [ -s "$d/ca.pem" ] || { env__die "env_gen_tls first" && return 1; }
  for s in "$@"; do
    case "$s" in
    *:* | [0-9]*.[0-9]*.[0-9]*.[0-9]*) san+=",IP:$s" ;;
    *) san+=",DNS:$s" ;;
    esac
  done
  san=${san#,}
  printf '%s\n' "basicConstraints=critical,CA:FALSE" \
    "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
    "subjectKeyIdentifier=hash" "authorityKeyIdentifier=keyid:always" \
    "subjectAltName=$san" >"$d/$name.ext"
  (umask 077 && openssl req -new -newkey ec \
    -pkeyopt ec_paramgen_curve:P-256 -nodes -subj "/CN=$cn" \
    -keyout "$d/$name.key" -out "$d/$name.csr" &&
    openssl x509 -req -in "$d/$name.csr" -CA "$d/ca.pem" \
      -CAkey "$d/ca.key" -CAcreateserial -days 30 -sha256 \
      -extfile "$d/$name.ext" -out "$d/$name.pem") >>"$d/openssl.log" 2>&1 ||
    { env__die "openssl: certificate $name failed" && return 1; }
  chmod 0644 "$d/$name.pem"
}

# ---------------------------------------------------------- challtestsrv

# env_start_challtestsrv: mock DNS on 127.0.0.1:$PORT_DNS (UDP and TCP),
# management API on 127.0.0.1:$PORT_CTS_API; its own http-01, https-01 and
# tls-alpn-01 responders are off. Every A query without a mock answers
# 127.0.0.1; AAAA answers nothing. Exports ENV_CTS, ENV_DNS_SERVER.
env_start_challtestsrv() {
  env_spawn challtestsrv pebble-challtestsrv \
    -dns01 "127.0.0.1:$PORT_DNS" -management "127.0.0.1:$PORT_CTS_API" \
    -http01 "" -https01 "" -tlsalpn01 "" \
    -defaultIPv4 127.0.0.1 -defaultIPv6 ""
  export ENV_CTS=http://127.0.0.1:$PORT_CTS_API
  export ENV_DNS_SERVER=127.0.0.1:$PORT_DNS
  env__wait challtestsrv "$ENV_LAST_PID" 10 env__cts_ready || return 1
}

env__cts_ready() {
  cts_post /set-default-ipv4 '{"ip":"127.0.0.1"}' &&
    [ "$(env_dns_query localhost.invalid A)" = 127.0.0.1 ] &&
    [ "$(env_dns_query localhost.invalid A +tcp)" = 127.0.0.1 ]
}

# cts_post PATH JSON: POSTs to challtestsrv's management API; fails unless
# it answers 200.
cts_post() {
  local code
  code=$("${ENV_CURL[@]}" -o /dev/null -w '%{http_code}' -X POST \
    --data-binary "$2" "$ENV_CTS$1") || return 1
  [ "$code" = 200 ] || {
    env__log "challtestsrv $1 $2: HTTP $code"
    return 1
  }
}

# cts_add_a HOST ADDR...: mock A records (replacing the default answer).
cts_add_a() {
  local host=$1 list="" a
  shift
  for a in "$@"; do list+=",$(env__json_str "$a")"; done
  cts_post /add-a "{\"host\":$(env__json_str "$host"),\"addresses\":[${list#,}]}"
}

# cts_clear_a HOST: back to the default A answer.
cts_clear_a() { cts_post /clear-a "{\"host\":$(env__json_str "$1")}"; }

# cts_add_aaaa HOST ADDR... / cts_clear_aaaa HOST: the same for AAAA.
cts_add_aaaa() {
  local host=$1 list="" a
  shift
  for a in "$@"; do list+=",$(env__json_str "$a")"; done
  cts_post /add-aaaa \
    "{\"host\":$(env__json_str "$host"),\"addresses\":[${list#,}]}"
}
cts_clear_aaaa() { cts_post /clear-aaaa "{\"host\":$(env__json_str "$1")}"; }

# cts_add_txt NAME VALUE: adds one TXT record (several calls, several
# records). cts_clear_txt NAME removes all TXT records of NAME. Unlike the
# other endpoints, challtestsrv's set-txt/clear-txt only match a name with
# the trailing dot, so it is added here.
cts_add_txt() {
  cts_post /set-txt \
    "{\"host\":$(env__json_str "${1%.}."),\"value\":$(env__json_str "$2")}"
}
cts_clear_txt() {
  cts_post /clear-txt "{\"host\":$(env__json_str "${1%.}.")}"
}

# cts_add_caa NAME FLAGS TAG VALUE: adds one CAA record. challtestsrv 2.4
# always answers flags 0, so FLAGS other than 0 is refused (it would make a
# test silently check the wrong thing). cts_clear_caa NAME removes all.
cts_add_caa() {
  if [ "$2" != 0 ]; then
    env__die "cts_add_caa: challtestsrv cannot serve CAA flags $2 (only 0)"
    return 1
  fi
  cts_post /add-caa "{\"host\":$(env__json_str "$1"),\"policies\":[{\"tag\":$(
    env__json_str "$3"
  ),\"value\":$(env__json_str "$4")}]}"
}
cts_clear_caa() { cts_post /clear-caa "{\"host\":$(env__json_str "$1")}"; }

# cts_set_cname HOST TARGET / cts_clear_cname HOST: one level of aliasing
# for every query type.
cts_set_cname() {
  cts_post /set-cname \
    "{\"host\":$(env__json_str "$1"),\"target\":$(env__json_str "$2")}"
}
cts_clear_cname() { cts_post /clear-cname "{\"host\":$(env__json_str "$1")}"; }

# cts_servfail NAME: every query for NAME answers SERVFAIL (overrides all
# other mocks). cts_clear_servfail NAME undoes it.
cts_servfail() { cts_post /set-servfail "{\"host\":$(env__json_str "$1")}"; }
cts_clear_servfail() {
  cts_post /clear-servfail "{\"host\":$(env__json_str "$1")}"
}

# cts_set_default_ipv4 ADDR: the A answer for names without a mock ("" for
# none).
cts_set_default_ipv4() {
  cts_post /set-default-ipv4 "{\"ip\":$(env__json_str "$1")}"
}

# cts_dns_history HOST: JSON list of the DNS questions challtestsrv got for
# HOST (a trailing dot is dropped: history is kept under the bare name), e.g.
# [{"Question":{"Name":"a.test.","Qtype":257,"Qclass":1}}]. Names are
# matched case-sensitively. cts_clear_history HOST forgets them.
cts_dns_history() {
  "${ENV_CURL[@]}" -f -X POST --data-binary \
    "{\"host\":$(env__json_str "${1%.}")}" "$ENV_CTS/dns-request-history"
}
cts_clear_history() {
  cts_post /clear-request-history \
    "{\"host\":$(env__json_str "${1%.}"),\"type\":\"dns\"}"
}

# env_dns_query NAME TYPE [+tcp]: asks challtestsrv, prints the answer
# records' data one per line like `dig +short` (A, AAAA, TXT, CAA, CNAME).
# Uses dig when installed (ENV_DNS_TOOL=python forces the fallback).
env_dns_query() {
  local server=${ENV_DNS_SERVER%:*} port=${ENV_DNS_SERVER##*:}
  if [ "${ENV_DNS_TOOL:-}" != python ] && command -v dig >/dev/null 2>&1; then
    dig +short +time=2 +tries=1 ${3:+"$3"} -p "$port" "@$server" "$1" "$2"
  else
    env__pydns "$server" "$port" "$1" "$2" "${3:-}" short
  fi
}

# env_dns_rcode NAME TYPE: prints the response code (NOERROR, SERVFAIL,
# NOTIMP, ...).
env_dns_rcode() {
  local server=${ENV_DNS_SERVER%:*} port=${ENV_DNS_SERVER##*:}
  if [ "${ENV_DNS_TOOL:-}" != python ] && command -v dig >/dev/null 2>&1; then
    dig +time=2 +tries=1 -p "$port" "@$server" "$1" "$2" |
      sed -n 's/.*status: \([A-Z]*\),.*/\1/p'
  else
    env__pydns "$server" "$port" "$1" "$2" "" rcode
  fi
}

# Minimal DNS stub in Python's standard library, for machines without dig.
env__pydns() {
  python3 - "$@" <<'EOF'
import ipaddress, random, socket, struct, sys
server, port, name, qtype, proto, mode = sys.argv[1:7]
types = {"A": 1, "CNAME": 5, "TXT": 16, "AAAA": 28, "CAA": 257}
rcodes = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN",
          4: "NOTIMP", 5: "REFUSED"}
qid = random.randrange(65536)
q = struct.pack(">HHHHHH", qid, 0x0100, 1, 0, 0, 0)
for label in name.rstrip(".").split("."):
    q += bytes([len(label)]) + label.encode()
q += b"\0" + struct.pack(">HH", types[qtype.upper()], 1)
if proto == "+tcp":
    s = socket.create_connection((server, int(port)), timeout=3)
    s.sendall(struct.pack(">H", len(q)) + q)
    buf = b""
    while len(buf) < 2 or len(buf) < 2 + struct.unpack(">H", buf[:2])[0]:
        chunk = s.recv(65535)
        if not chunk:
            break
        buf += chunk
    msg = buf[2:]
else:
    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.settimeout(3)
    s.sendto(q, (server, int(port)))
    msg = s.recv(65535)
rid, flags, qd, an = struct.unpack(">HHHH", msg[:8])
if rid != qid:
    sys.exit("id mismatch")
if mode == "rcode":
    print(rcodes.get(flags & 15, str(flags & 15)))
    sys.exit(0)

def read_name(off):
    labels = []
    while True:
        n = msg[off]
        if n >= 0xC0:
            ptr = struct.unpack(">H", msg[off:off + 2])[0] & 0x3FFF
            return ".".join(labels + [read_name(ptr)[0].rstrip(".")]) + ".", off + 2
        off += 1
        if n == 0:
            return ".".join(labels) + ".", off
        labels.append(msg[off:off + n].decode())
        off += n

off = 12
for _ in range(qd):
    off = read_name(off)[1] + 4
for _ in range(an):
    off = read_name(off)[1]
    rtype, _cls, _ttl, rdlen = struct.unpack(">HHIH", msg[off:off + 10])
    off += 10
    rd = msg[off:off + rdlen]
    if rtype == 1:
        print(ipaddress.IPv4Address(rd))
    elif rtype == 28:
        print(ipaddress.IPv6Address(rd))
    elif rtype == 5:
        print(read_name(off)[0])
    elif rtype == 16:
        parts, i = [], 0
        while i < len(rd):
            parts.append('"%s"' % rd[i + 1:i + 1 + rd[i]].decode())
            i += 1 + rd[i]
        print(" ".join(parts))
    elif rtype == 257:
        tl = rd[1]
        print('%d %s "%s"' % (rd[0], rd[2:2 + tl].decode(),
                              rd[2 + tl:].decode()))
    off += rdlen
EOF
}

# ----------------------------------------------------------------- Pebble

# env_start_pebble [--eab] [--blocklist NAME[,NAME...]] [--validity SECONDS]
#                  [VAR=VALUE...]:
# Pebble on 127.0.0.1:$PORT_ACME (management $PORT_MGMT), resolving through
# challtestsrv, validating http-01 on $PORT_HTTP01 and tls-alpn-01 on
# $PORT_TLSALPN of the identifier's A address. With --eab also a second
# Pebble on $PORT_ACME_EAB/$PORT_MGMT_EAB that requires External Account
# Binding (kids kid-1 and kid-2, keys in $ENV_DIR/eab-kid-N.hmac). Defaults
# PEBBLE_VA_NOSLEEP=1 PEBBLE_WFE_NONCEREJECT=0 PEBBLE_AUTHZREUSE=0; the
# caller's environment, then VAR=VALUE arguments, override them.
# --blocklist: names Pebble refuses (rejectedIdentifier, subdomains too).
# --validity: certificateValidityPeriod in seconds (0: Pebble's 5 years).
# Starts challtestsrv and env_gen_tls first when not done yet.
env_start_pebble() {
  local eab=0 block="" validity=0 vars=()
  while [ $# -gt 0 ]; do
    case "$1" in
    --eab) eab=1 ;;
    --blocklist) block=$2 && shift ;;
    --validity) validity=$2 && shift ;;
    [A-Za-z_]*=*) vars+=("$1") ;;
    *) env__die "env_start_pebble: bad argument '$1'" && return 1 ;;
    esac
    shift
  done
  # shellcheck disable=SC2119
  [ -n "${ENV_TLS_CERT:-}" ] || env_gen_tls || return 1
  [ -n "$(env_pid challtestsrv)" ] || env_start_challtestsrv || return 1
  env_start_pebble_one pebble "$PORT_ACME" "$PORT_MGMT" 0 "$block" \
    "$validity" "${vars[@]}" || return 1
  export ENV_DIRECTORY=https://127.0.0.1:$PORT_ACME/dir
  export ENV_MGMT=https://127.0.0.1:$PORT_MGMT
  export ENV_PEBBLE_ROOTS=$ENV_DIR/pebble-roots.pem
  if [ "$eab" = 1 ]; then
    env__gen_eab_keys || return 1
    env_start_pebble_one pebble-eab "$PORT_ACME_EAB" "$PORT_MGMT_EAB" 1 \
      "$block" "$validity" "${vars[@]}" || return 1
    export ENV_DIRECTORY_EAB=https://127.0.0.1:$PORT_ACME_EAB/dir
    export ENV_MGMT_EAB=https://127.0.0.1:$PORT_MGMT_EAB
    export ENV_PEBBLE_ROOTS_EAB=$ENV_DIR/pebble-roots-eab.pem
  fi
}

# EAB credentials: a fresh random 256-bit HMAC key per kid, base64url
# without padding, in $ENV_DIR/eab-<kid>.hmac (0600, no newline).
env__gen_eab_keys() {
  local kid
  for kid in kid-1 kid-2; do
    [ -s "$ENV_DIR/eab-$kid.hmac" ] && continue
    (umask 077 && openssl rand 32 | base64 -w0 | tr '+/' '-_' | tr -d '=' \
      >"$ENV_DIR/eab-$kid.hmac") || return 1
  done
  export ENV_EAB_KID=kid-1
  export ENV_EAB_HMAC_FILE=$ENV_DIR/eab-kid-1.hmac
  export ENV_EAB_KID2=kid-2
  export ENV_EAB_HMAC_FILE2=$ENV_DIR/eab-kid-2.hmac
}

# env_start_pebble_one NAME ACME_PORT MGMT_PORT EAB(0|1) BLOCKLIST VALIDITY
#                      [VAR=VALUE...]:
# one Pebble instance (building block of env_start_pebble; use it for a
# third CA on spare ports, or to restart one after env_stop NAME). Config in
# $ENV_DIR/NAME.json, log in NAME.log, roots in env_pebble_roots_file NAME.
env_start_pebble_one() {
  local name=$1 acme=$2 mgmt=$3 eab=$4 block=$5 validity=$6 keys="" bl="" x
  shift 6
  if [ "$eab" = 1 ]; then
    keys="\"kid-1\": \"$(cat "$ENV_DIR/eab-kid-1.hmac")\", "
    keys+="\"kid-2\": \"$(cat "$ENV_DIR/eab-kid-2.hmac")\""
  fi
  if [ -n "$block" ]; then
    for x in ${block//,/ }; do bl+=",$(env__json_str "$x")"; done
  fi
  sed -e "s|@ACME_PORT@|$acme|" -e "s|@MGMT_PORT@|$mgmt|" \
    -e "s|@TLS_CERT@|$ENV_TLS_CERT|" -e "s|@TLS_KEY@|$ENV_TLS_KEY|" \
    -e "s|@HTTP01_PORT@|$PORT_HTTP01|" -e "s|@TLSALPN_PORT@|$PORT_TLSALPN|" \
    -e "s|@EAB_REQUIRED@|$([ "$eab" = 1 ] && echo true || echo false)|" \
    -e "s|@EAB_KEYS@|$keys|" -e "s|@BLOCKLIST@|${bl#,}|" \
    -e "s|@VALIDITY@|$((validity + 0))|" \
    "$ENV_LIB_DIR/pebble-config.json.in" >"$ENV_DIR/$name.json"
  chmod 0600 "$ENV_DIR/$name.json"
  env_spawn "$name" env \
    PEBBLE_VA_NOSLEEP="${PEBBLE_VA_NOSLEEP:-1}" \
    PEBBLE_WFE_NONCEREJECT="${PEBBLE_WFE_NONCEREJECT:-0}" \
    PEBBLE_AUTHZREUSE="${PEBBLE_AUTHZREUSE:-0}" "$@" \
    pebble -config "$ENV_DIR/$name.json" -dnsserver "$ENV_DNS_SERVER"
  env__wait "$name" "$ENV_LAST_PID" 20 env__pebble_ready "$acme" "$mgmt" ||
    return 1
  env__pebble_roots "$mgmt" >"$(env_pebble_roots_file "$name")" || return 1
}

# env_pebble_roots_file NAME: where the issuing roots of Pebble instance NAME
# are saved: pebble-roots.pem for "pebble", pebble-roots-eab.pem for
# "pebble-eab", pebble-roots-NAME.pem otherwise (all match
# $ENV_DIR/pebble-roots*.pem).
env_pebble_roots_file() {
  case "$1" in
  pebble) echo "$ENV_DIR/pebble-roots.pem" ;;
  pebble-*) echo "$ENV_DIR/pebble-roots-${1#pebble-}.pem" ;;
  *) echo "$ENV_DIR/pebble-roots-$1.pem" ;;
  esac
}

env__pebble_ready() {
  "${ENV_CURL[@]}" -f --cacert "$ENV_CA_BUNDLE" \
    "https://127.0.0.1:$1/dir" | grep -q newOrder &&
    "${ENV_CURL[@]}" -f --cacert "$ENV_CA_BUNDLE" \
      "https://127.0.0.1:$2/roots/0" | grep -q 'BEGIN CERTIFICATE'
}

# All issuing roots of the Pebble with management port $1 (roots/0, and
# roots/1.. with PEBBLE_ALTERNATE_ROOTS).
env__pebble_roots() {
  local i=0 pem
  while pem=$("${ENV_CURL[@]}" -f --cacert "$ENV_CA_BUNDLE" \
    "https://127.0.0.1:$1/roots/$i" 2>/dev/null); do
    printf '%s\n' "$pem"
    i=$((i + 1))
  done
  [ "$i" -gt 0 ]
}

# pebble_mgmt [--eab] PATH: GET on Pebble's management API, body to stdout.
pebble_mgmt() {
  local base=${ENV_MGMT:-}
  if [ "${1:-}" = --eab ]; then
    base=$ENV_MGMT_EAB
    shift
  fi
  "${ENV_CURL[@]}" -f --cacert "$ENV_CA_BUNDLE" "$base$1"
}

# pebble_cert_status [--eab] SERIAL: prints Pebble's status JSON for the
# certificate with hex SERIAL (any case, leading zeros and colons allowed):
# {"Certificate": "<PEM>", "Serial": "<hex>", "Status": "Valid"} or, once
# revoked, with "Status": "Revoked", "Reason": <code>, "RevokedAt": "<time>".
# Fails (HTTP 404) for a serial Pebble never issued.
pebble_cert_status() {
  local eab="" serial
  if [ "${1:-}" = --eab ]; then
    eab=--eab
    shift
  fi
  serial=$(echo "$1" | tr -d ':' | tr 'A-F' 'a-f' | sed 's/^0*//')
  pebble_mgmt $eab "/cert-status-by-serial/$serial"
}

# ------------------------------------------------------------------ nginx

# env_start_nginx DOMAIN=URL...: nginx on https://127.0.0.1:$PORT_NGINX
# standing in for each CA's web server: for a request with Host/SNI DOMAIN,
# /.well-known/acme serves the ACME directory at URL (proxied, so the body
# is the directory object itself). DOMAIN=302:URL answers a redirect to URL
# instead. Its certificate covers every DOMAIN and is signed by the test
# root ($ENV_CA_BUNDLE), as does 127.0.0.1. Any other path or host answers
# 404. Tests can add
# server or location blocks in $ENV_DIR/nginx/extra.conf (included in the
# http block) before calling this.
env_start_nginx() {
  local d=$ENV_DIR/nginx arg dom url names=() servers=""
  mkdir -p "$d"
  for arg in "$@"; do
    dom=${arg%%=*}
    url=${arg#*=}
    names+=("$dom")
    servers+=$(env__nginx_server "$dom" "$url")
  done
  env_gen_server_cert nginx "${names[@]}" 127.0.0.1 || return 1
  [ -e "$d/extra.conf" ] || : >"$d/extra.conf"
  cat >"$d/nginx.conf" <<EOF
daemon off;
master_process off;
worker_processes 1;
pid $d/nginx.pid;
events { worker_connections 256; }
http {
  access_log $d/access.log;
  client_body_temp_path $d/body;
  proxy_temp_path $d/proxy;
  fastcgi_temp_path $d/fastcgi;
  uwsgi_temp_path $d/uwsgi;
  scgi_temp_path $d/scgi;
  ssl_certificate $ENV_DIR/tls/nginx.pem;
  ssl_certificate_key $ENV_DIR/tls/nginx.key;
  default_type application/json;
  server {
    listen 127.0.0.1:$PORT_NGINX ssl default_server;
    server_name _;
    return 404;
  }
$servers
  include $d/extra.conf;
}
EOF
  env_spawn nginx nginx -p "$d" -e "$ENV_DIR/nginx.log" -c "$d/nginx.conf"
  env__wait nginx "$ENV_LAST_PID" 10 "${ENV_CURL[@]}" -o /dev/null \
    --cacert "$ENV_CA_BUNDLE" "https://127.0.0.1:$PORT_NGINX/" || return 1
}

env__nginx_server() {
  local dom=$1 url=$2 body
  case "$url" in
  302:*) body="return 302 ${url#302:};" ;;
  *)
    body="proxy_pass $url; proxy_ssl_verify off;"
    body+=" proxy_ssl_server_name on;"
    ;;
  esac
  printf '  server {\n    listen 127.0.0.1:%s ssl;\n    server_name %s;\n' \
    "$PORT_NGINX" "$dom"
  printf '    location = /.well-known/acme { %s }\n' "$body"
  printf '    location / { return 404; }\n  }\n'
}

# env_write_exports FILE: the bed's variables as `export` lines.
env_write_exports() {
  local v
  for v in ENV_NAME ENV_DIR PORT_BASE PORT_DNS PORT_CTS_API PORT_ACME \
    PORT_MGMT PORT_ACME_EAB PORT_MGMT_EAB PORT_HTTP01 PORT_TLSALPN \
    PORT_NGINX PORT_API PORT_SPARE_FIRST PORT_SPARE_LAST ENV_CA_BUNDLE \
    ENV_TLS_CERT ENV_TLS_KEY ENV_CTS ENV_DNS_SERVER ENV_DIRECTORY ENV_MGMT \
    ENV_PEBBLE_ROOTS ENV_DIRECTORY_EAB ENV_MGMT_EAB ENV_PEBBLE_ROOTS_EAB \
    ENV_EAB_KID ENV_EAB_HMAC_FILE ENV_EAB_KID2 ENV_EAB_HMAC_FILE2; do
    if [ -n "${!v:-}" ]; then
      printf 'export %s=%q\n' "$v" "${!v}"
    fi
  done >"$1"
}
