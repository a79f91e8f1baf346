#!/bin/sh
# Runs every unit test binary of a build under valgrind's memcheck: any
# invalid access, use of uninitialised memory or leak (definite, indirect or
# possible) fails the run. Used by `make check-valgrind`. Tests that
# valgrind cannot run (a child whose execve fails) skip on BYOCA_VALGRIND.
#   tests/valgrind.sh BUILD_DIR
set -u
build=${1:?usage: $0 BUILD_DIR}
command -v valgrind >/dev/null 2>&1 || {
  echo "valgrind.sh: valgrind not found (apt-get install valgrind)" >&2
  exit 1
}
failed=""
n=0
for t in "$build"/tests/test_*; do
  [ -x "$t" ] || continue
  n=$((n + 1))
  log=$(mktemp "${TMPDIR:-/tmp}/byoca-vg.XXXXXX")
  if BYOCA_VALGRIND=1 valgrind --quiet --error-exitcode=99 --leak-check=full \
    --errors-for-leak-kinds=definite,indirect,possible \
    --show-leak-kinds=definite,indirect,possible --track-origins=yes \
    "$t" >"$log" 2>&1; then
    printf '%-32s ok\n' "$(basename "$t")"
  else
    printf '%-32s FAILED\n' "$(basename "$t")"
    grep -E '==[0-9]+==|FAILED|\[  (FAILED|ERROR)' "$log" | head -n 40
    failed="$failed $(basename "$t")"
  fi
  rm -f "$log"
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
