#!/bin/sh
# Runs every fuzz target built by tests/fuzz/build.sh for SECONDS each,
# starting from a temporary copy of its seed corpus (the checked-in seeds
# are never written). Prints executions per target; exits non-zero if any
# target crashed, leaked or timed out (crash inputs land in build-fuzz/).
#   tests/fuzz/run.sh [SECONDS]    (default 10; FUZZ_JOBS targets at once,
#                                   default one per core)
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
cd "$root" || exit 1
secs=${1:-10}
out=build-fuzz
case $secs in
'' | *[!0-9]*)
  echo "usage: $0 SECONDS" >&2
  exit 2
  ;;
esac

tmp=$(mktemp -d "${TMPDIR:-/tmp}/byoca-fuzz.XXXXXX") || exit 1
trap 'rm -rf "$tmp"' EXIT INT TERM
mkdir -p "$out/crashes"

# One target: fuzz from a copy of its seeds, leave the exit code and the
# execution count in $tmp/NAME.rc and $tmp/NAME.log.
run_one() {
  bin=$1
  name=$(basename "$bin")
  target=${name#fuzz_}
  corpus="$tmp/$target"
  mkdir -p "$corpus"
  if [ -d "tests/fuzz/corpus/$target" ]; then
    cp tests/fuzz/corpus/"$target"/* "$corpus"/ 2>/dev/null
  fi
  UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
    "$bin" -max_total_time="$secs" -max_len=65536 -timeout=5 \
    -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$out/crashes/$name-" "$corpus" >"$tmp/$name.log" 2>&1
  echo $? >"$tmp/$name.rc"
}

# The targets are independent and single-threaded: run one per core.
jobs=${FUZZ_JOBS:-$(nproc 2>/dev/null || echo 2)}
running=0
for bin in "$out"/fuzz_*; do
  [ -x "$bin" ] || continue
  run_one "$bin" &
  running=$((running + 1))
  if [ "$running" -ge "$jobs" ]; then
    wait
    running=0
  fi
done
wait

failed=""
total=0
for bin in "$out"/fuzz_*; do
  [ -x "$bin" ] || continue
  name=$(basename "$bin")
  log="$tmp/$name.log"
  rc=$(cat "$tmp/$name.rc" 2>/dev/null || echo 1)
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -n 1)
  total=$((total + 1))
  if [ "$rc" -ne 0 ]; then
    failed="$failed $name"
    printf '%-20s FAILED (exit %d, %s executions)\n' "$name" "$rc" \
      "${execs:-?}"
    grep -E 'ERROR|SUMMARY|artifact|runtime error' "$log" | head -n 20
    cp "$log" "$out/crashes/$name.log"
  else
    printf '%-20s ok  %s executions in %ss\n' "$name" "${execs:-?}" "$secs"
  fi
done

if [ "$total" -eq 0 ]; then
  echo "run.sh: no targets in $out/ (run tests/fuzz/build.sh)" >&2
  exit 1
fi
if [ -n "$failed" ]; then
  echo "run.sh: crashes in:$failed (inputs and logs in $out/crashes/)" >&2
  exit 1
fi
echo "run.sh: $total targets, no crashes"
