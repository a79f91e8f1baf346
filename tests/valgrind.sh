#!/bin/sh
# Runs every unit test binary of a build under valgrind's memcheck: any
# invalid access, use of uninitialised memory or leak (definite, indirect or
# possible) fails the run. Used by `make check-valgrind`. Tests that
# valgrind cannot run (a child whose execve fails) skip on BYOCA_VALGRIND.
#   tests/valgrind.sh BUILD_DIR     (VALGRIND_JOBS tests at once, default
#                                   one per core)
set -u
build=${1:?usage: $0 BUILD_DIR}
command -v valgrind >/dev/null 2>&1 || {
  echo "valgrind.sh: valgrind not found (apt-get install valgrind)" >&2
  exit 1
}
tmp=$(mktemp -d "${TMPDIR:-/tmp}/byoca-vg.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM

# The tests are independent: one per core at once (VALGRIND_JOBS), each
# leaving its output in $tmp/NAME.log and its exit status in $tmp/NAME.rc.
jobs=${VALGRIND_JOBS:-$(nproc 2>/dev/null || echo 2)}
for t in "$build"/tests/test_*; do
  [ -x "$t" ] && printf '%s\n' "$t"
done | TMPD=$tmp xargs -P "$jobs" -I{} sh -c '
  name=$(basename "$1")
  BYOCA_VALGRIND=1 valgrind --quiet --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect,possible \
    --show-leak-kinds=definite,indirect,possible --track-origins=yes \
    "$1" >"$TMPD/$name.log" 2>&1
  echo $? >"$TMPD/$name.rc"' sh {}

failed=""
n=0
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  n=$((n + 1))
  name=$(basename "$t")
  if [ "$(cat "$tmp/$name.rc" 2>/dev/null)" = 0 ]; then
    printf '%-32s ok\n' "$name"
  else
    printf '%-32s FAILED\n' "$name"
    grep -E '==[0-9]+==|FAILED|\[  (FAILED|ERROR)' "$tmp/$name.log" | head -n 40
    failed="$failed $name"
  fi
done
[ "$n" -gt 0 ] || {
  echo "valgrind.sh: no unit tests in $build/tests" >&2
  exit 1
}
if [ -n "$failed" ]; then
  echo "valgrind.sh: failed:$failed" >&2
  exit 1
fi
echo "valgrind.sh: $n unit tests clean"
