#!/usr/bin/env bash
# Crash safety of `byoca issue --batch` (byocad: test_daemon_crash.sh).
#
# A batch of N names (BYOCA_BATCH_CRASH_N, default 60) at --parallel 10 is
# started K times (BYOCA_BATCH_CRASH_KILLS, default 6) and killed with
# SIGKILL each time a random 0.3-3 s in (the same batch each time: names
# done already are "not needed", the others are ordered again), then run
# to its end. On top of what the kills left, a kill in the middle of
# writing a version is planted (its window is too short to hit by chance):
# a temp version folder with part of its files and a temp link, named for
# a killed process; and a temp file of a process still running. Then:
#  - the last run reports every name issued or not needed, none failed;
#  - every name: live/<name> is a symlink to a version folder of
#    archive/<name>/ with all four files, privkey.pem (0600) matches
#    cert.pem, fullchain.pem is cert.pem + chain.pem, the chain verifies
#    (check_live), and renewal/<name>.json names the live serial (one
#    current certificate per lineage);
#  - every version folder under archive/ is complete and its key matches
#    its certificate (no private key without its certificate);
#  - no temp file anywhere in the state dir but the running writer's.
source "$BYOCA_SRC/tests/integration/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init batch_crash
env_gen_tls
env_start_challtestsrv
env_start_pebble PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=0 \
  PEBBLE_VA_SLEEPTIME=3
N=${BYOCA_BATCH_CRASH_N:-60}
KILLS=${BYOCA_BATCH_CRASH_KILLS:-6}
W=$ENV_DIR/work
STATE=$ENV_DIR/state
mkdir -p "$W"
env_start_pebble_proxy "$PORT_SPARE_FIRST"

for i in $(seq 1 "$N"); do echo "b$i.crash.test"; done >"$W/batch.txt"
batch_args=(issue --batch "$W/batch.txt" --parallel 10 --http-addr 127.0.0.1
  --http-port "$PORT_HTTP01" --agree-tos --server "$PROXY_DIRECTORY"
  --ca-bundle "$ENV_CA_BUNDLE" --state-dir "$STATE"
  --resolver "127.0.0.1@$PORT_DNS")
# count_live: lineage links under live/ so far (not temps: ".*")
count_live() {
  if [ -d "$STATE/live" ]; then
    find "$STATE/live" -mindepth 1 -maxdepth 1 -not -name '.*' | wc -l
  else
    echo 0
  fi
}

hit=0
for ((k = 1; k <= KILLS; k++)); do
  before=$(count_live)
  "$BYOCA" "${batch_args[@]}" >"$W/run$k.out" 2>&1 &
  BPID=$!
  sleep "$((RANDOM % 27 / 10 + 0)).$((RANDOM % 10))"
  sleep 0.3
  if env__alive "$BPID"; then
    kill -KILL "$BPID"
    hit=$((hit + 1))
  fi
  wait "$BPID" 2>/dev/null || true
  temps=$(find "$STATE" -name '.*' 2>/dev/null | wc -l)
  echo "run $k: $before -> $(count_live) of $N live, $temps temp file(s) left"
done
[ "$hit" -gt 0 ] || fail "no run was still going when it was killed"
[ "$(count_live)" -lt "$N" ] || fail "every name was done before the last kill"

# what a kill in the middle of writing a version leaves
mkdir -p "$STATE/archive/b1.crash.test" "$STATE/live"
partial=$STATE/archive/b1.crash.test/.2026-01-01T00-00-00Z-01.tmp$BPID-Ab12Cd
mkdir "$partial"
head -c 100 "$ENV_TLS_CERT" >"$partial/cert.pem"
head -c 50 "$ENV_TLS_KEY" >"$partial/privkey.pem"
echo partial >"$STATE/live/.b2.crash.test.tmp$BPID-link00"
# and one in the archive of a lineage the batch does not write: `byoca
# issue` leaves it (it walks only its own lineages' folders), `byoca
# renew` of every lineage removes it
other=$STATE/archive/zz.crash.test/.2026-01-01T00-00-00Z-01.tmp$BPID-Ef56Gh
mkdir -p "$other"
head -c 50 "$ENV_TLS_KEY" >"$other/privkey.pem"
# and one of a writer still running: stays
sleep 120 &
LIVEPID=$!
echo running >"$STATE/live/.b3.crash.test.tmp$LIVEPID-Xy34Zw"

expect_rc 0 "$BYOCA" "${batch_args[@]}"
python3 - "$OUT" "$N" <<'PY' || fail "last run's summary: $OUT"
import re, sys
m = re.search(r"(\d+) issued, (\d+) failed, (\d+) not needed", sys.argv[1])
n = int(sys.argv[2])
assert m and int(m.group(1)) + int(m.group(3)) == n and m.group(2) == "0", m
PY
[ -f "$STATE/live/.b3.crash.test.tmp$LIVEPID-Xy34Zw" ] ||
  fail "the temp file of a running writer was removed"
kill "$LIVEPID"
wait "$LIVEPID" 2>/dev/null || true
rm "$STATE/live/.b3.crash.test.tmp$LIVEPID-Xy34Zw"
[ -d "$other" ] || fail "issue --batch swept another lineage's archive"
expect_rc 0 "$BYOCA" renew --state-dir "$STATE" --ca-bundle "$ENV_CA_BUNDLE"
[ ! -e "$other" ] || fail "renew left a killed writer's temp in $other"
rmdir "$STATE/archive/zz.crash.test"
[ "$(count_live)" = "$N" ] || fail "expected $N live lineages, $(count_live)"

for i in $(seq 1 "$N"); do
  name=b$i.crash.test
  [ -L "$STATE/live/$name" ] || fail "live/$name is not a symlink"
  case "$(readlink "$STATE/live/$name")" in
  "../archive/$name/"*) ;;
  *) fail "live/$name points at $(readlink "$STATE/live/$name")" ;;
  esac
  check_live "$name"
  serial=$(cert_serial "$STATE/live/$name/cert.pem" | sed 's/^0*//')
  json_check "$(cat "$STATE/renewal/$name.json")" "
s = d.get('serial', '').replace(':', '').lower().lstrip('0')
assert s == '$serial', 'renewal/$name.json names serial %s, live is $serial' % s" ||
    fail "$name: renewal state and live certificate disagree"
done
pass "$N lineages: live link to a complete, matching, current version"

# every version folder complete, its key with its certificate
for v in "$STATE"/archive/*/*/; do
  for f in cert.pem chain.pem fullchain.pem privkey.pem; do
    [ -s "$v$f" ] || fail "incomplete version $v: no $f"
  done
  kpub=$(openssl pkey -in "$v/privkey.pem" -pubout 2>/dev/null | sha256sum)
  cpub=$(openssl x509 -in "$v/cert.pem" -noout -pubkey | sha256sum)
  [ "$kpub" = "$cpub" ] || fail "$v: privkey.pem is not the key of cert.pem"
done
# private keys only inside complete version folders
stray=$(find "$STATE" -name '*.pem' -path '*key*' -not -path "$STATE/archive/*/*/privkey.pem" \
  -not -path "$STATE/live/*" -not -path "$STATE/accounts/*" | head -5)
[ -z "$stray" ] || fail "private keys outside a version folder: $stray"
check_no_partial
stray=$(find "$STATE" -name '.*' | head -5)
[ -z "$stray" ] || fail "temp files left: $stray"
pass "every version complete, no key without its certificate, no temp file"
pass "batch crash ($hit kills)"
