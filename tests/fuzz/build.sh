#!/usr/bin/env bash
# Builds every libFuzzer target in tests/fuzz/ into build-fuzz/ with clang
# (ASan + UBSan + libFuzzer). The library sources are compiled directly,
# once, with coverage instrumentation; CMake is not involved.
#   tests/fuzz/build.sh            (CC=clang-15 to pick another clang)
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root"
CC=${CC:-clang}
out=build-fuzz
mods=(util crypto net caa acme solve)
pkgs=(openssl jansson libcurl libevent libevent_openssl libevent_pthreads
  libunbound ldns)

if ! command -v "$CC" >/dev/null 2>&1; then
  echo "build.sh: $CC not found (apt-get install clang)" >&2
  exit 1
fi

read -r -a pkg_cflags <<<"$(pkg-config --cflags "${pkgs[@]}")"
read -r -a libs <<<"$(pkg-config --libs "${pkgs[@]}") -lpthread"
# shellcheck disable=SC2054 # the commas belong to -fsanitize=
cflags=(-std=c11 -g -O1 -fno-omit-frame-pointer
  -fsanitize=address,undefined -fno-sanitize-recover=undefined
  -D_POSIX_C_SOURCE=200809L -D_DEFAULT_SOURCE '-DBYOCA_VERSION="fuzz"'
  -Wall -Wextra -Wno-unused-parameter -Iinclude "${pkg_cflags[@]}")
for m in "${mods[@]}"; do
  cflags+=("-Ilib/$m")
done

mkdir -p "$out/obj"
# A changed header makes every object stale (no dependency tracking here).
stamp="$out/obj/.stamp"
if [[ -f $stamp && -n $(find include lib -name '*.h' -newer "$stamp") ]]; then
  rm -f "$out"/obj/*.o
fi
touch "$stamp.new"
objs=()
for m in "${mods[@]}"; do
  for src in lib/"$m"/*.c; do
    obj="$out/obj/$m-$(basename "$src" .c).o"
    if [[ ! -f $obj || $src -nt $obj ]]; then
      "$CC" "${cflags[@]}" -fsanitize=fuzzer-no-link -c "$src" -o "$obj"
    fi
    objs+=("$obj")
  done
done
mv "$stamp.new" "$stamp"

built=0
for src in tests/fuzz/fuzz_*.c; do
  name=$(basename "$src" .c)
  "$CC" "${cflags[@]}" -fsanitize=fuzzer "$src" "${objs[@]}" "${libs[@]}" \
    -o "$out/$name"
  echo "built $out/$name"
  built=$((built + 1))
done
echo "build.sh: $built targets in $out/"
