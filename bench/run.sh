#!/usr/bin/env bash
# make bench: byoca against its peers on a local Pebble, in one run.
#   bench/run.sh [SCENARIO...]   (default: floor seq seqreal batch daemon
#   discover)
# Knobs (environment): BENCH_N (30 sequential certificates per client),
# BENCH_BATCH (1000 names), BENCH_PARALLEL ("1 8 64 256"), BENCH_REPEAT (3),
# BENCH_CLIENTS, BENCH_N_REAL (5), BENCH_CLIENTS_REAL, BENCH_STARTUP_N (200),
# BENCH_CEILING, BENCH_LINEAGES (1000000), BENCH_DUE (10000),
# BENCH_DAEMON_PARALLEL (256). Results: bench/results/latest.json and
# bench/RESULTS.md (regenerated). Figures are reported, never asserted.
set -euo pipefail
SRC=$(cd "$(dirname "$0")/.." && pwd)
BUILD=${BUILD:-$SRC/build-bench}
"$SRC/scripts/install-deps.sh" bench
cmake -S "$SRC" -B "$BUILD" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DBYOCA_TESTS=OFF \
  -DBYOCA_BENCH=ON >/dev/null
cmake --build "$BUILD" -j "$(nproc)" --target byoca byocad bench_floor bench_startup bench_store >/dev/null

# shellcheck source=../tests/env/lib.sh
source "$SRC/tests/env/lib.sh"
env_init bench
env_gen_tls
env_start_challtestsrv
env_start_pebble PEBBLE_VA_NOSLEEP=1 PEBBLE_VA_ALWAYS_VALID=1
export BENCH_DIRECTORY=$ENV_DIRECTORY
export BENCH_PEBBLE_PID
BENCH_PEBBLE_PID=$(env_pid pebble)
export BENCH_CA_BUNDLE=$ENV_CA_BUNDLE
export BENCH_HTTP_PORT=$PORT_HTTP01
export BENCH_BYOCA=$BUILD/byoca
export BENCH_FLOOR=$BUILD/bench_floor
export BENCH_STARTUP=$BUILD/bench_startup
export BENCH_BYOCAD=$BUILD/byocad
export BENCH_STORE=$BUILD/bench_store
export BENCH_DNS=127.0.0.1@$PORT_DNS
export BENCH_CTS=127.0.0.1:$PORT_CTS_API
export BENCH_PEBBLE_CONFIG=$ENV_DIR/pebble.json
export BENCH_DIR=$ENV_DIR/bench
mkdir -p "$BENCH_DIR" "$SRC/bench/results"
export BENCH_OUT=$SRC/bench/results/latest.json
[ $# -gt 0 ] || set -- floor seq seqreal batch daemon discover
python3 "$SRC/bench/harness.py" "$@"
python3 "$SRC/bench/report.py" "$BENCH_OUT" >"$SRC/bench/RESULTS.md"
echo "bench: results in bench/RESULTS.md" >&2
