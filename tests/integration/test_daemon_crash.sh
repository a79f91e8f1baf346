#!/usr/bin/env bash
# Crash safety of byocad and of `byoca issue --batch`.
#
# byocad: 100 lineages added at once (max_parallel 100, per CA 100) while
# Pebble sleeps 0-4 s before each validation (PEBBLE_VA_SLEEPTIME=5), so
# orders stay in flight a while (and through daemon_check.py's pebble-proxy,
# see start_pebble_proxy); byocad is killed with SIGKILL
# three times (0.3-0.7 s after the adds, once an order exists; once 30-39
# are issued; once 65-74 are issued and an order is being finalized) and
# started again after each kill. Right after each kill (the store is then
# exactly what the next start finds) tests/env/daemon_check.py db-state
# records which lineages were in flight: those with an order row (URL
# known; "keyed" once the fresh key was stored before finalize) and those
# leased without an order row yet. Then:
#  - every lineage ends issued, with a distinct serial, and the store holds
#    no order row and no sealed order key;
#  - for a sample of 10, GET chain?include_key=1: the key matches the leaf,
#    the leaf is the serial the API shows, for the lineage's name, and the
#    chain verifies to Pebble's root;
#  - every lineage that had an order row at a kill logged order.resumed
#    after that kill, and its certificate is the one of the order stored
#    at the last kill that found one (manager.h: a restarted manager
#    resumes the order; Pebble's log maps serials to orders);
#  - Pebble registered one account (one per tenant per CA; the first kill
#    waits for an order row, so the account was stored by then);
#  - Pebble signed exactly 100 certificates, all of them the ones byocad
#    holds (an order finalized before a kill is downloaded, not ordered
#    again); and it accepted at most 100 + (lineages leased without an
#    order row at each kill) orders: only an order whose URL was not yet
#    stored may be lost and made again.
# How Pebble is counted: its log prints 'Added order "ID" to the db' once
# per accepted newOrder and 'Issued certificate serial S for order ID' once
# per signed certificate (daemon_check.py pebble-log).
#
# byoca (the CLI): `issue --batch` of 50 names at --parallel 10 is killed
# with SIGKILL mid-run and run again with the same batch: every name ends
# with complete live/ files (check_live), every archive version is
# complete, and nothing partial is left (check_no_partial): neither what
# the kill left nor a planted temp version folder and temp file of the
# killed process; the temp file of a process still running stays.
source "$BYOCA_SRC/tests/integration/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init daemon_crash
env_gen_tls
env_start_challtestsrv
env_start_pebble PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=0 \
  PEBBLE_VA_SLEEPTIME=5
N=100
CHECK=(python3 "$BYOCA_SRC/tests/env/daemon_check.py")
W=$ENV_DIR/work
mkdir -p "$W"
CONF=("max_parallel = $N" "max_parallel_per_ca = $N")

# start_pebble_proxy: every ACME request goes through daemon_check.py
# pebble-proxy on $PORT_SPARE_FIRST (see PebbleGate there for the Pebble
# 2.4 deadlocks it keeps out); BYOCAD_DEFAULT_CA and PROXY_DIRECTORY point
# at it
start_pebble_proxy() {
  env_spawn pebble-proxy "${CHECK[@]}" pebble-proxy "$PORT_SPARE_FIRST" \
    "$PORT_ACME" "$ENV_TLS_CERT" "$ENV_TLS_KEY" "$ENV_CA_BUNDLE"
  export PROXY_DIRECTORY=https://127.0.0.1:$PORT_SPARE_FIRST/dir
  export BYOCAD_DEFAULT_CA=$PROXY_DIRECTORY
  env__wait pebble-proxy "$ENV_LAST_PID" 10 "${ENV_CURL[@]}" -f -o /dev/null \
    --cacert "$ENV_CA_BUNDLE" "$PROXY_DIRECTORY"
}
pebble_json() { "${CHECK[@]}" pebble-log "$ENV_DIR/pebble.log"; }
# db_state: the store's snapshot (JSON) into $W/state.json; ISSUED gets
# the number of issued lineages
db_state() {
  "${CHECK[@]}" db-state "$BYOCAD_DB" >"$W/state.json" || fail "db-state"
  ISSUED=$(json_get "$(cat "$W/state.json")" \
    'sum(n for s, n in d["states"].items() if s in ("1", "issued"))')
}
# stalled: after a wait ran out, tells a hung Pebble (it answers no /dir
# within 5 s; a goroutine dump is then written to pebble.log with SIGQUIT)
# from a stalled byocad
stalled() {
  db_state
  if ! "${ENV_CURL[@]}" -o /dev/null --max-time 5 --cacert "$ENV_CA_BUNDLE" \
    "$ENV_DIRECTORY"; then
    kill -QUIT "$(env_pid pebble)" 2>/dev/null || true
    sleep 1
    env__log "Pebble does not answer any more (goroutine dump in pebble.log)"
  fi
}
# crash K [MIN_ISSUED [keyed]]: SIGKILL, record what was in flight, start
# again; with MIN_ISSUED, returns once that many lineages are issued (with
# keyed: and an order is being finalized, its fresh key stored, unless all
# are issued), 1 if that takes over 60 s. The watch (wait-db, every 10 ms)
# starts before the restart: resumed orders finish in a burst that a watch
# begun once byocad answers would miss.
KILLS=()
crash() {
  local waiter=
  env_kill_byocad
  [ -n "$BYOCAD_RC" ] || fail "byocad survived SIGKILL"
  db_state
  cp "$W/state.json" "$W/kill-$1.json"
  KILLS+=("$1")
  echo "kill $1: $(json_get "$(cat "$W/state.json")" \
    '"issued %s, order rows %d (%d keyed), leased without order %d, events up to %d" % (d["states"], d["orders"], d["orders_keyed"], len(d["leased_unordered"]), d["max_event"])')"
  if [ $# -gt 1 ]; then
    "${CHECK[@]}" wait-db "$BYOCAD_DB" 60 "$2" ${3:+"$3"} &
    waiter=$!
  fi
  env_start_byocad "${CONF[@]}"
  [ -z "$waiter" ] || wait "$waiter"
}

# --- 100 issuances, three crashes
start_pebble_proxy
env_start_byocad "${CONF[@]}"
env_tenant crash >/dev/null
T=$ENV_DIR/crash.token
"${CHECK[@]}" add-certs "$BYOCAD_SOCK" "$T" 'c%03d.crash.test' 1 "$N" 16 \
  >"$W/ids.json" || fail "adding $N certificates"
sleep 0.$((RANDOM % 5 + 3))
# an order row means the tenant's account is stored: no kill can make a
# correct byocad register a second one
for ((i = 0; i < 600; i++)); do
  db_state
  [ "$(json_get "$(cat "$W/state.json")" 'd["orders"]')" = 0 ] || break
  sleep 0.05
done
crash 1 $((N * 3 / 10 + RANDOM % 10)) || { stalled; fail "issuance stalled after kill 1"; }
crash 2 $((N * 65 / 100 + RANDOM % 10)) keyed ||
  { stalled; fail "issuance stalled after kill 2"; }
crash 3
"${CHECK[@]}" wait-db "$BYOCAD_DB" 90 "$N" ||
  { stalled; fail "only $ISSUED of $N issued 90 s after the last kill"; }
sleep 1 # let the last events and deletes land
inflight=0
for k in "${KILLS[@]}"; do
  n=$(json_get "$(cat "$W/kill-$k.json")" \
    'd["orders"] + len(d["leased_unordered"])')
  [ "$n" = 0 ] || inflight=$((inflight + 1))
done
[ "$inflight" -ge 2 ] ||
  fail "only $inflight of ${#KILLS[@]} kills hit orders in flight: the test proved nothing"
pass "all $N lineages issued after ${#KILLS[@]} kills ($inflight mid-flight)"

# --- the store: one certificate per lineage, nothing in flight left
"${CHECK[@]}" list-certs "$BYOCAD_SOCK" "$T" >"$W/list.json" || fail "list"
python3 - "$W/list.json" "$N" <<'PY' || fail "certificates after the crashes"
import json, sys
rows = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
assert len(rows) == n, "%d lineages, expected %d" % (len(rows), n)
bad = [r for r in rows if r["state"] != "issued" or not r["serial"]]
assert not bad, "not issued: %s" % bad[:3]
assert len({r["serial"] for r in rows}) == n, "two lineages share a serial"
names = sorted(r["identifiers"][0] for r in rows)
assert names == ["c%03d.crash.test" % i for i in range(1, n + 1)], names[:5]
PY
"${CHECK[@]}" db-clean "$BYOCAD_DB" >"$W/clean.json" ||
  fail "in-flight order state left in the store: $(cat "$W/clean.json")"
pass "no order row and no sealed order key left"

# --- a sample of 10: key, leaf and chain belong together
cat "$ENV_PEBBLE_ROOTS" >"$W/roots.pem"
for idx in $(python3 -c 'import random; print(*random.sample(range(100), 10))'); do
  read -r id serial name < <(python3 -c 'import json,sys
r = json.load(open(sys.argv[1]))[int(sys.argv[2])]
print(r["id"], r["serial"], r["identifiers"][0])' "$W/list.json" "$idx")
  api_expect 200 GET "/v1/certificates/$id/chain?include_key=1" "" "$T" ||
    fail "chain of $id"
  printf '%s\n' "$API_BODY" >"$W/c.pem"
  sed -n '/-----BEGIN [A-Z ]*PRIVATE KEY-----/,/-----END [A-Z ]*PRIVATE KEY-----/p' \
    "$W/c.pem" >"$W/c.key"
  sed -n '/-----BEGIN CERTIFICATE-----/,/-----END CERTIFICATE-----/p' \
    "$W/c.pem" >"$W/c.full"
  awk '/-----BEGIN CERTIFICATE-----/ { n++ } n == 1' "$W/c.full" >"$W/c.leaf"
  awk '/-----BEGIN CERTIFICATE-----/ { n++ } n >= 2' "$W/c.full" >"$W/c.chain"
  [ "$(grep -c 'BEGIN [A-Z ]*PRIVATE KEY' "$W/c.key")" = 1 ] ||
    fail "$id: not exactly one private key in the export"
  kpub=$(openssl pkey -in "$W/c.key" -pubout | sha256sum)
  cpub=$(openssl x509 -in "$W/c.leaf" -noout -pubkey | sha256sum)
  [ "$kpub" = "$cpub" ] || fail "$id ($name): stored key does not match the leaf"
  [ "$(cert_serial "$W/c.leaf" | sed 's/^0*//')" = \
    "$(echo "$serial" | tr -d : | tr 'A-F' 'a-f' | sed 's/^0*//')" ] ||
    fail "$id: leaf serial is not the API's $serial"
  [ "$(cert_sans "$W/c.leaf")" = "DNS:$name" ] || fail "$id: SANs $(cert_sans "$W/c.leaf")"
  openssl verify -CAfile "$W/roots.pem" -untrusted "$W/c.chain" "$W/c.leaf" \
    >/dev/null || fail "$id: chain does not verify"
done
pass "10 sampled lineages: key matches leaf, chain verifies"

# --- resumed, not ordered again
"${CHECK[@]}" list-events "$BYOCAD_SOCK" "$BYOCAD_OPERATOR" >"$W/events.json" ||
  fail "events"
pebble_json >"$W/pebble.json" || fail "pebble log"
python3 - "$W/list.json" "$W/events.json" "$W/pebble.json" "$N" \
  "${KILLS[@]/#/$W/kill-}" <<'PY' || fail "crash recovery"
import json, sys
rows = json.load(open(sys.argv[1]))
ev = json.load(open(sys.argv[2]))
peb = json.load(open(sys.argv[3]))
n = int(sys.argv[4])
kills = [json.load(open(f + ".json")) for f in sys.argv[5:]]
errs = []
# one ACME account per tenant per CA (store.h, DESIGN.md): an order made
# with another account than the stored one cannot be resumed (403)
if peb["accounts"] != 1:
    errs.append("Pebble registered %d accounts for one tenant (expected 1): "
                "concurrent jobs each created the tenant's account"
                % peb["accounts"])
# every order row found at a kill was resumed by the next process
for k, st in enumerate(kills, 1):
    resumed = {e["certificate"] for e in ev
               if e["type"] == "order.resumed" and e["id"] > st["max_event"]}
    missing = sorted(set(st["order_certs"]) - resumed)
    if missing:
        errs.append("kill %d: %d of %d orders in flight never resumed "
                    "(no order.resumed event), e.g. lineages %s"
                    % (k, len(missing), st["orders"], missing[:5]))
# exact: a lineage's certificate comes from the order stored for it at the
# last kill that found one (resumed to the end, never ordered again)
sbo = peb["serial_by_order"]
byid = {r["id"]: r["serial"].replace(":", "").lower().lstrip("0") for r in rows}
reordered = []
for cid, serial in byid.items():
    url = None
    for st in kills:
        url = st["order_urls"].get(str(cid), url)
    if url is not None and sbo.get(url.rstrip("/").rsplit("/", 1)[-1]) != serial:
        reordered.append(cid)
if reordered:
    errs.append("%d lineages whose order was stored at a kill got their "
                "certificate from another order (not resumed), e.g. %s"
                % (len(reordered), sorted(reordered)[:5]))
lost = sum(len(st["leased_unordered"]) for st in kills)
keyed = sum(st["orders_keyed"] for st in kills)
api = {r["serial"].replace(":", "").lower().lstrip("0") for r in rows}
signed = peb["serials"]
extra = sorted(set(signed) - api)
print("Pebble: %d accounts, %d orders, %d certificates; in flight at the kills: %d order "
      "rows (%d keyed), %d leased without order row"
      % (peb["accounts"], peb["orders"], peb["issued"], sum(st["orders"] for st in kills),
         keyed, lost), file=sys.stderr)
if not api <= set(signed):
    errs.append("%d stored serials Pebble never issued" % len(api - set(signed)))
if len(signed) > n + sum(st["orders"] for st in kills):
    errs.append("Pebble signed %d certificates, more than %d lineages + %d "
                "orders in flight at the kills" % (len(signed), n,
                sum(st["orders"] for st in kills)))
if len(signed) != n:
    errs.append("Pebble signed %d certificates for %d lineages: %d finalized "
                "orders were abandoned instead of resumed (serials %s)"
                % (len(signed), n, len(signed) - n, extra[:5]))
if peb["orders"] > n + lost:
    errs.append("Pebble accepted %d orders, more than %d lineages + %d whose "
                "order URL was not stored yet at a kill"
                % (peb["orders"], n, lost))
if errs:
    sys.exit("\n".join(errs))
PY
pass "orders in flight were resumed; Pebble signed exactly $N certificates"
env_stop_byocad || fail "byocad did not stop cleanly after the crashes"
byocad_log_clean || fail "sanitizer report"

# --- the CLI: issue --batch killed mid-run, then run again
STATE=$ENV_DIR/state
for i in $(seq 1 50); do echo "k$i.crash.test"; done >"$W/batch.txt"
batch_args=(issue --batch "$W/batch.txt" --parallel 10 --http-addr 127.0.0.1
  --http-port "$PORT_HTTP01" --agree-tos --server "$PROXY_DIRECTORY"
  --ca-bundle "$ENV_CA_BUNDLE" --state-dir "$STATE"
  --resolver "127.0.0.1@$PORT_DNS")
# count_live: lineage folders under live/ so far (not temps: ".*")
count_live() {
  if [ -d "$STATE/live" ]; then
    find "$STATE/live" -mindepth 1 -maxdepth 1 -not -name '.*' | wc -l
  else
    echo 0
  fi
}
"$BYOCA" "${batch_args[@]}" >"$W/batch1.out" 2>&1 &
BPID=$!
for ((i = 0; i < 600; i++)); do
  [ "$(count_live)" -lt 15 ] || break
  env__alive "$BPID" || break
  sleep 0.05
done
env__alive "$BPID" || fail "byoca --batch ended before it could be killed: $(tail -5 "$W/batch1.out")"
kill -KILL "$BPID"
wait "$BPID" 2>/dev/null && fail "byoca survived SIGKILL"
done1=$(count_live)
[ "$done1" -lt 50 ] || fail "the batch had finished before the kill"
left=$(find "$STATE" -name '.*.tmp*' | wc -l)
echo "batch killed with $done1 of 50 live lineages, $left temp file(s) left"
# what a kill in the middle of writing a version leaves (the window is
# short, so the kill above rarely hits it): a temp version folder with
# part of its files, and a temp file, named for the killed process
mkdir -p "$STATE/archive/k1.crash.test"
partial=$STATE/archive/k1.crash.test/.2026-01-01T00-00-00Z-01.tmp$BPID-Ab12Cd
mkdir "$partial"
head -c 100 "$ENV_TLS_CERT" >"$partial/cert.pem"
mkdir -p "$STATE/live"
echo partial >"$STATE/live/.k2.crash.test.tmp$BPID-link00"
# and one of a writer still running: stays
sleep 120 &
LIVEPID=$!
echo running >"$STATE/live/.k3.crash.test.tmp$LIVEPID-Xy34Zw"
expect_rc 0 "$BYOCA" "${batch_args[@]}"
expect_in "$OUT" "0 failed" "batch rerun summary"
python3 - "$OUT" <<'PY' || fail "rerun summary: $OUT"
import re, sys
m = re.search(r"(\d+) issued, (\d+) failed, (\d+) not needed", sys.argv[1])
assert m and int(m.group(1)) + int(m.group(3)) == 50 and m.group(2) == "0", m
PY
[ "$(count_live)" = 50 ] ||
  fail "expected 50 live lineages after the rerun"
[ -f "$STATE/live/.k3.crash.test.tmp$LIVEPID-Xy34Zw" ] ||
  fail "the temp file of a running writer was removed"
kill "$LIVEPID"
wait "$LIVEPID" 2>/dev/null || true
rm "$STATE/live/.k3.crash.test.tmp$LIVEPID-Xy34Zw"
for i in $(seq 1 50); do check_live "k$i.crash.test"; done
check_no_partial
# every version folder is complete, whatever the kill interrupted
for v in "$STATE"/archive/*/*/; do
  for f in cert.pem chain.pem fullchain.pem privkey.pem; do
    [ -s "$v$f" ] || fail "incomplete version $v: no $f"
  done
done
pass "byoca --batch killed mid-run, rerun completes every lineage"
pass "daemon crash"
