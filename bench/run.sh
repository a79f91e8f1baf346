#!/usr/bin/env bash
# make bench: byoca against its peers on a local Pebble, in one run.
#   bench/run.sh [SCENARIO...]   (default: floor seq seqreal batch daemon
#   discover)
# Knobs (environment; the defaults are the sizes of `make bench`, chosen to
# finish in under 20 minutes on 2 cores): BENCH_N (30 sequential
# certificates per client), BENCH_CLIENTS, BENCH_N_REAL (5),
# BENCH_CLIENTS_REAL, BENCH_BATCH (1000 names), BENCH_PARALLEL ("1 8 64
# 256", and the concurrency Pebble sustained), BENCH_REPEAT (1 run of
# 1,000 names per level), BENCH_REPEAT_P1 (3 runs of 25 names at
# --parallel 1), BENCH_BATCH_TIMEOUT (300 s),
# BENCH_CEILING_LEVELS ("1 4 8 16 32 64" lego processes),
# BENCH_CEILING_CERTS (64, shared by each level's processes),
# BENCH_CEILING_TIMEOUT (120 s), BENCH_BATCH_IDLE (20 s without a new
# certificate: stalled), BENCH_STARTUP_N
# (200), BENCH_LINEAGES (1000000), BENCH_DUE (10000),
# BENCH_DAEMON_PARALLEL (32), BENCH_PG_LINEAGES (= BENCH_LINEAGES),
# BENCH_PG_DUE (1000), BENCH_PG_NODES ("1 3"), BENCH_DAEMON_TIMEOUT (600
# s), BENCH_DAEMON_IDLE (60 s without an issuance: stalled),
# BENCH_DAEMON_PROXY (1: byocad's orders go through tests/env/
# daemon_check.py pebble-proxy, as in the daemon tests), BENCH_DISCOVER (10000),
# BENCH_DISCOVER_REPEAT (3), BENCH_TIMEOUT (600 s for any one command).
# Results: bench/results/latest.json and bench/RESULTS.md (regenerated).
# BENCH_OUT_DIR and BENCH_RESULTS put them elsewhere. BENCH_UPDATE=1 with
# scenarios named re-measures only those and keeps the others' figures
# from latest.json (RESULTS.md dates each re-measured scenario). Figures are
# reported, never asserted.
#
# BENCH_SMOKE=1 (`make bench-smoke`, part of `make check`): every scenario
# at a tiny size, with the binaries of $BUILD (default build/), results in
# $BUILD/bench-smoke/ and bench/RESULTS.md untouched: proves the harness
# still runs, measures nothing.
# The whole script is one block, read before it runs: editing this file
# while a bench runs does not change what that run does.
{
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
if [ -n "${BENCH_SMOKE:-}" ]; then
  BUILD=${BUILD:-$SRC/build}
  case $BUILD in /*) ;; *) BUILD=$SRC/$BUILD ;; esac
  "$SRC/scripts/install-deps.sh"
  cmake -S "$SRC" -B "$BUILD" -DBYOCA_BENCH=ON >/dev/null
  export BENCH_N=${BENCH_N:-2} BENCH_N_REAL=${BENCH_N_REAL:-1} \
    BENCH_CLIENTS=${BENCH_CLIENTS:-byoca lego} \
    BENCH_CLIENTS_REAL=${BENCH_CLIENTS_REAL:-byoca} \
    BENCH_BATCH=${BENCH_BATCH:-20} BENCH_PARALLEL=${BENCH_PARALLEL:-4} \
    BENCH_REPEAT_P1=${BENCH_REPEAT_P1:-1} BENCH_DISCOVER_REPEAT=${BENCH_DISCOVER_REPEAT:-1} BENCH_CEILING_LEVELS=${BENCH_CEILING_LEVELS:-1 4} \
    BENCH_CEILING_CERTS=${BENCH_CEILING_CERTS:-8} BENCH_STARTUP_N=${BENCH_STARTUP_N:-10} \
    BENCH_LINEAGES=${BENCH_LINEAGES:-10000} BENCH_DUE=${BENCH_DUE:-20} \
    BENCH_PG_DUE=${BENCH_PG_DUE:-20} BENCH_PG_NODES=${BENCH_PG_NODES:-3} BENCH_DAEMON_PARALLEL=${BENCH_DAEMON_PARALLEL:-8} \
    BENCH_DISCOVER=${BENCH_DISCOVER:-200} BENCH_TIMEOUT=${BENCH_TIMEOUT:-120} \
    BENCH_DAEMON_TIMEOUT=${BENCH_DAEMON_TIMEOUT:-120} \
    BENCH_NOTE=${BENCH_NOTE:-smoke run (tiny sizes): proves the harness runs}
  OUT_DIR=$BUILD/bench-smoke
  RESULTS=$OUT_DIR/RESULTS.md
else
  BUILD=${BUILD:-$SRC/build-bench}
  "$SRC/scripts/install-deps.sh" bench
  cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo \
    -DBYOCA_TESTS=OFF -DBYOCA_BENCH=ON >/dev/null
  OUT_DIR=${BENCH_OUT_DIR:-$SRC/bench/results}
  RESULTS=${BENCH_RESULTS:-$SRC/bench/RESULTS.md}
fi
KNOWN="floor seq seqreal batch daemon discover"
for s in "$@"; do
  case " $KNOWN " in
  *" $s "*) ;;
  *) echo "bench: unknown scenario '$s' (known: $KNOWN)" >&2 && exit 2 ;;
  esac
done
if [ "${BENCH_UPDATE:-}" = 1 ] && [ ! -f "$OUT_DIR/latest.json" ]; then
  echo "bench: BENCH_UPDATE=1 keeps the other scenarios of $OUT_DIR/latest.json, which does not exist: run make bench once first" >&2
  exit 2
fi
cmake --build "$BUILD" -j "$(nproc)" --target byoca byocad bench_floor bench_startup bench_store >/dev/null

# shellcheck source=../tests/env/lib.sh
source "$SRC/tests/env/lib.sh"
env_init bench
env_gen_tls
env_start_challtestsrv
env_start_pebble PEBBLE_VA_NOSLEEP=1 PEBBLE_VA_ALWAYS_VALID=1
[ $# -gt 0 ] || set -- floor seq seqreal batch daemon discover
case " $* " in
*" daemon "*)
  # shellcheck source=../tests/env/pg.sh
  source "$SRC/tests/env/pg.sh"
  if env_pg_available; then
    env_start_postgres
    BENCH_PG_BIN=$(env_pg_bindir)
    BENCH_PG_PID=$(env_pid postgres)
    export BENCH_PG_BIN BENCH_PG_PID BENCH_PG_HOST=$PG_HOST BENCH_PG_PORT=$PORT_PG
  fi
  ;;
esac
export BENCH_DIRECTORY=$ENV_DIRECTORY
export BENCH_PEBBLE_PID
BENCH_PEBBLE_PID=$(env_pid pebble)
export BENCH_CA_BUNDLE=$ENV_CA_BUNDLE
export BENCH_HTTP_PORT=$PORT_HTTP01
export BENCH_UNBOUND_PORT=$PORT_SPARE_FIRST
export BENCH_PROXY_PORT=$((PORT_SPARE_FIRST + 1))
export BENCH_SRC=$SRC BENCH_TLS_CERT=$ENV_TLS_CERT BENCH_TLS_KEY=$ENV_TLS_KEY
export BENCH_BYOCA=$BUILD/byoca
export BENCH_FLOOR=$BUILD/bench_floor
export BENCH_STARTUP=$BUILD/bench_startup
export BENCH_BYOCAD=$BUILD/byocad
export BENCH_STORE=$BUILD/bench_store
export BENCH_DNS=127.0.0.1@$PORT_DNS
export BENCH_CTS=127.0.0.1:$PORT_CTS_API
export BENCH_PEBBLE_CONFIG=$ENV_DIR/pebble.json
export BENCH_DIR=$ENV_DIR/bench
mkdir -p "$BENCH_DIR" "$OUT_DIR"
export BENCH_OUT=$OUT_DIR/latest.json
python3 "$SRC/bench/harness.py" "$@"
python3 "$SRC/bench/report.py" "$BENCH_OUT" >"$RESULTS.new"
mv "$RESULTS.new" "$RESULTS"
echo "bench: results in $RESULTS" >&2
exit 0
}
