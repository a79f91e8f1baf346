#!/usr/bin/env bash
# make demo: the domain owner chooses the CA through DNS.
#
# Starts three ACME CAs (Pebble) behind nginx as
# https://ca1.byoca.test/.well-known/acme ... on 127.0.0.2-4:443, a DNS
# server (pebble-challtestsrv) that publishes
#   demo.byoca.test CAA 0 issue "ca2.byoca.test; priority=1"
#   demo.byoca.test CAA 0 issue "ca1.byoca.test; priority=2"
# then shows what byoca discovers, issues a real certificate (ca2 issues),
# stops ca2 and issues again (ca1 issues), and stops what it started.
set -euo pipefail
src=$(cd "$(dirname "$0")/.." && pwd)
BYOCA=$(realpath "${1:-$src/build/byoca}")
# shellcheck source=../tests/env/lib.sh
source "$src/tests/env/lib.sh"
# shellcheck source=../tests/env/cas.sh
source "$src/tests/env/cas.sh"

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
issuer_cn() {
  openssl x509 -in "$1" -noout -issuer -nameopt multiline |
    sed -n 's/^ *commonName *= *//p'
}

env_init demo
env_gen_tls
env_start_challtestsrv
ENV_CA_IP_PREFIX=127.0.0 env_start_cas 3
state=$ENV_DIR/state
cts_add_caa demo.byoca.test 0 issue "ca2.byoca.test; priority=1"
cts_add_caa demo.byoca.test 0 issue "ca1.byoca.test; priority=2"
net=(--resolver "127.0.0.1@$PORT_DNS" --allow-net 127.0.0.0/8
  --ca-bundle "$ENV_CA_BUNDLE")
solver=(--http-addr 127.0.0.1 --http-port "$PORT_HTTP01")

say "The owner of demo.byoca.test published (DNS at 127.0.0.1:$PORT_DNS):"
echo '   demo.byoca.test. CAA 0 issue "ca2.byoca.test; priority=1"'
echo '   demo.byoca.test. CAA 0 issue "ca1.byoca.test; priority=2"'

say "byoca discover demo.byoca.test"
"$BYOCA" discover demo.byoca.test "${net[@]}"

say "byoca issue -d demo.byoca.test   (no --server: the CAA records choose)"
"$BYOCA" issue -d demo.byoca.test "${net[@]}" "${solver[@]}" \
  --state-dir "$state"
cert=$state/live/demo.byoca.test/cert.pem
openssl x509 -in "$cert" -noout -subject -issuer -dates -ext subjectAltName
echo "   issued by: $(issuer_cn "$cert") -- the Pebble behind ca2.byoca.test"

say "ca2.byoca.test goes down; byoca falls back to the owner's next choice"
env_stop_ca 2
"$BYOCA" issue -d demo.byoca.test "${net[@]}" "${solver[@]}" \
  --state-dir "$state" --force
openssl x509 -in "$cert" -noout -subject -issuer -dates
echo "   issued by: $(issuer_cn "$cert") -- the Pebble behind ca1.byoca.test"

say "byoca list"
"$BYOCA" list --state-dir "$state"
