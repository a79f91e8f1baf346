#!/usr/bin/env bash
# Installs every Debian package that byoca's build, tests, demo and
# benchmarks need. Idempotent: does nothing when all are present.
set -euo pipefail

pkgs=(
  # build
  build-essential cmake pkg-config
  libssl-dev libjansson-dev libcurl4-openssl-dev libevent-dev libunbound-dev
  libldns-dev libsqlite3-dev libpq-dev libinih-dev libcmocka-dev
  dns-root-data
  # test bed
  pebble nginx libnginx-mod-stream openssl curl iproute2 util-linux procps python3 dnsutils
  knot ldnsutils postgresql bind9 unbound pdns-server pdns-backend-sqlite3 sqlite3 jq
  # fuzzing (libFuzzer's runtime is in libclang-rt-dev) and check-valgrind
  clang libclang-rt-dev valgrind
)
# `install-deps.sh bench`: also the peers byoca is measured against
if [ "${1:-}" = bench ]; then
  pkgs+=(lego certbot uacme dehydrated)
fi

missing=()
for p in "${pkgs[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done
[ ${#missing[@]} -eq 0 ] && exit 0

SUDO=
[ "$(id -u)" -eq 0 ] || SUDO=sudo
echo "install-deps: installing ${missing[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
