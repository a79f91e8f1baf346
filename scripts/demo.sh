#!/usr/bin/env bash
# make demo: starts a local Pebble CA (with pebble-challtestsrv as its DNS),
# issues a real certificate for demo.byoca.test with http-01 validation,
# prints the certificate, and stops what it started.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
BYOCA=$(realpath "${1:-$src/build/byoca}")
# shellcheck source=../tests/env/lib.sh
source "$src/tests/env/lib.sh"

env_init demo
env_gen_tls
env_start_challtestsrv
env_start_pebble
state=$ENV_DIR/state

echo
echo "== Pebble (a real RFC 8555 CA) is at $ENV_DIRECTORY"
echo "== byoca issue -d demo.byoca.test   (http-01, validated by Pebble)"
echo
"$BYOCA" issue -d demo.byoca.test \
  --server "$ENV_DIRECTORY" --ca-bundle "$ENV_CA_BUNDLE" \
  --state-dir "$state" --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" \
  --email demo@byoca.test --agree-tos
echo
echo "== $state/live/demo.byoca.test/"
ls -l "$state/live/demo.byoca.test/"
echo
openssl x509 -in "$state/live/demo.byoca.test/cert.pem" -noout \
  -subject -issuer -dates -ext subjectAltName
echo
"$BYOCA" list --state-dir "$state"
