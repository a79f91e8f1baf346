#!/usr/bin/env bash
# Crash safety of byocad (byoca issue --batch: test_batch_crash.sh).
#
# N lineages (BYOCA_CRASH_N, default 200) are added at once (max_parallel
# and per CA N) while Pebble sleeps 0-59 s before each validation
# (PEBBLE_VA_SLEEPTIME=60), so the issuances finish spread over a minute,
# not in one burst (all requests go through daemon_check.py's
# pebble-proxy, see start_pebble_proxy); byocad is
# killed with SIGKILL K times (BYOCA_CRASH_KILLS, default 50), each a
# random 0.05-0.5 s after it answered again (so the kills fall inside that
# minute), and started again after each kill; D lineages (BYOCA_CRASH_DELETES, default 20) are deleted along the
# way (in four groups, right before kills, so some deletions are cut off
# too; with revocation, so some die while revoking). Lineages are
# deployed (deploy_dir). Right after each kill (the store is then exactly
# what the next start finds) tests/env/daemon_check.py db-state records
# which lineages were in flight: those with an order row (URL known;
# "keyed" once the fresh key was stored before finalize) and those leased
# without an order row yet. Then:
#  - every lineage left ends issued, with a distinct serial, the deleted
#    ones are gone, and the store holds no order row, no sealed order key
#    and no certificate key outside an issued lineage (db-clean);
#  - every lineage's deployed files (check-deploy): live/<id> is a link
#    to a complete version whose cert.pem is the API's serial, privkey.pem
#    its key, fullchain.pem cert + chain; no files of a deleted lineage and
#    no temp file anywhere under deploy_dir;
#  - for a sample of 10, GET chain?include_key=1: the key matches the leaf,
#    the leaf is the serial the API shows, for the lineage's name, and the
#    chain verifies to Pebble's root;
#  - the audit log: every lineage has one certificate.added, each one left
#    exactly one certificate.issued naming its serial, each deleted one
#    exactly one certificate.deleted;
#  - every lineage (not deleted) that had an order row at a kill logged
#    order.resumed after that kill, and its certificate is the one of the
#    order stored at the last kill that found one (manager.h: a restarted
#    manager resumes the order; Pebble's log maps serials to orders);
#  - Pebble registered one account (one per tenant per CA; the first kill
#    waits for an order row, so the account was stored by then);
#  - Pebble signed at most one certificate per lineage, and every one
#    byocad holds (an order finalized before a kill is downloaded, not
#    ordered again); those it signed and byocad does not hold are of
#    deleted lineages; and it accepted at most N + (lineages leased
#    without an order row at each kill) orders: only an order whose URL
#    was not yet stored may be lost and made again.
# How Pebble is counted: its log prints 'Added order "ID" to the db' once
# per accepted newOrder and 'Issued certificate serial S for order ID' once
# per signed certificate (daemon_check.py pebble-log).
# At least half the kills must find orders in flight (else the test proved
# little). Cost: about 1.5 minutes on an idle 2-core machine with the
# defaults (4.5 under ASan next to other tests).
source "$BYOCA_SRC/tests/integration/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init daemon_crash
env_gen_tls
env_start_challtestsrv
env_start_pebble PEBBLE_VA_ALWAYS_VALID=1 PEBBLE_VA_NOSLEEP=0 \
  PEBBLE_VA_SLEEPTIME=60
N=${BYOCA_CRASH_N:-200}
KILLS_WANTED=${BYOCA_CRASH_KILLS:-50}
DELETES=${BYOCA_CRASH_DELETES:-20}
CHECK=(python3 "$BYOCA_SRC/tests/env/daemon_check.py")
W=$ENV_DIR/work
mkdir -p "$W"
DEPLOY=$ENV_DIR/deploy
CONF=("max_parallel = $N" "max_parallel_per_ca = $N" "deploy_dir = $DEPLOY")

# every ACME request goes through daemon_check.py pebble-proxy
# (env_start_pebble_proxy, daemon.sh)
start_pebble_proxy() {
  env_start_pebble_proxy "$PORT_SPARE_FIRST"
  export BYOCAD_DEFAULT_CA=$PROXY_DIRECTORY
}
pebble_json() { "${CHECK[@]}" pebble-log "$ENV_DIR/pebble.log"; }
# db_state: the store's snapshot (JSON) into $W/state.json; ISSUED gets
# the number of issued lineages
db_state() {
  "${CHECK[@]}" db-state "${BYOCAD_STORE_URL:-$BYOCAD_DB}" >"$W/state.json" || fail "db-state"
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
    "${CHECK[@]}" wait-db "${BYOCAD_STORE_URL:-$BYOCAD_DB}" 60 "$2" ${3:+"$3"} &
    waiter=$!
  fi
  env_start_byocad "${CONF[@]}"
  [ -z "$waiter" ] || wait "$waiter"
}

# --- N issuances, KILLS_WANTED crashes at random points, DELETES deletions
start_pebble_proxy
env_start_byocad "${CONF[@]}"
env_tenant crash >/dev/null
T=$ENV_DIR/crash.token
"${CHECK[@]}" add-certs "$BYOCAD_SOCK" "$T" 'c%03d.crash.test' 1 "$N" 16 \
  >"$W/ids.json" || fail "adding $N certificates"
# an order row means the tenant's account is stored: no kill can make a
# correct byocad register a second one
for ((i = 0; i < 600; i++)); do
  db_state
  [ "$(json_get "$(cat "$W/state.json")" 'd["orders"]')" = 0 ] || break
  sleep 0.05
done
# the lineages to delete, in four groups before kills K/5, 2K/5, 3K/5, 4K/5
python3 -c 'import json, random, sys
ids = json.load(open(sys.argv[1]))
print(*random.sample(ids, int(sys.argv[2])))' "$W/ids.json" "$DELETES" \
  >"$W/deleted.txt"
read -r -a DEL_IDS <"$W/deleted.txt"
dgroup=$(((DELETES + 3) / 4))
started=$SECONDS
for ((k = 1; k <= KILLS_WANTED; k++)); do
  if ((k % (KILLS_WANTED / 5 > 0 ? KILLS_WANTED / 5 : 1) == 0)) &&
    [ "${#DEL_IDS[@]}" -gt 0 ]; then
    "${CHECK[@]}" delete-certs "$BYOCAD_SOCK" "$T" "${DEL_IDS[@]:0:dgroup}" ||
      fail "deleting lineages"
    DEL_IDS=("${DEL_IDS[@]:dgroup}")
  fi
  sleep "$(printf '0.%02d' $((RANDOM % 46 + 5)))"
  crash "$k"
done
if [ "${#DEL_IDS[@]}" -gt 0 ]; then
  "${CHECK[@]}" delete-certs "$BYOCAD_SOCK" "$T" "${DEL_IDS[@]}" ||
    fail "deleting lineages"
fi
echo "$KILLS_WANTED kills in $((SECONDS - started)) s"
LEFT=$((N - DELETES))
"${CHECK[@]}" wait-final "${BYOCAD_STORE_URL:-$BYOCAD_DB}" 180 "$LEFT" ||
  { stalled; fail "not all of $LEFT lineages issued (and $DELETES deleted) 180 s after the last kill"; }
sleep 1 # let the last events land
inflight=0
for k in "${KILLS[@]}"; do
  n=$(json_get "$(cat "$W/kill-$k.json")" \
    'd["orders"] + len(d["leased_unordered"])')
  [ "$n" = 0 ] || inflight=$((inflight + 1))
done
[ "$inflight" -ge $((${#KILLS[@]} / 2)) ] ||
  fail "only $inflight of ${#KILLS[@]} kills hit orders in flight: the test proved little"
pass "$LEFT lineages issued, $DELETES deleted after ${#KILLS[@]} kills ($inflight mid-flight)"

# --- the store: one certificate per lineage, nothing in flight left
"${CHECK[@]}" list-certs "$BYOCAD_SOCK" "$T" >"$W/list.json" || fail "list"
python3 - "$W/list.json" "$W/ids.json" "$W/deleted.txt" <<'PY' || fail "certificates after the crashes"
import json, sys
rows = json.load(open(sys.argv[1]))
ids = json.load(open(sys.argv[2]))
deleted = {int(x) for x in open(sys.argv[3]).read().split()}
n = len(ids) - len(deleted)
assert len(rows) == n, "%d lineages, expected %d" % (len(rows), n)
assert not deleted & {r["id"] for r in rows}, "deleted lineages still there"
bad = [r for r in rows if r["state"] != "issued" or not r["serial"]]
assert not bad, "not issued: %s" % bad[:3]
assert len({r["serial"] for r in rows}) == n, "two lineages share a serial"
names = sorted(r["identifiers"][0] for r in rows)
want = sorted("c%03d.crash.test" % (i + 1) for i, cid in enumerate(ids)
              if cid not in deleted)
assert names == want, names[:5]
PY
"${CHECK[@]}" db-clean "${BYOCAD_STORE_URL:-$BYOCAD_DB}" >"$W/clean.json" ||
  fail "in-flight order state left in the store: $(cat "$W/clean.json")"
pass "no order row, no sealed order key and no stray certificate key left"
"${CHECK[@]}" check-deploy "$DEPLOY" "$W/list.json" ||
  fail "deployed files after the crashes"
pass "every lineage deployed complete and current, nothing of deleted ones, no temp file"

# --- a sample of 10: key, leaf and chain belong together
cat "$ENV_PEBBLE_ROOTS" >"$W/roots.pem"
for idx in $(python3 -c 'import random, sys; print(*random.sample(range(int(sys.argv[1])), 10))' "$LEFT"); do
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
  "$W/deleted.txt" "${KILLS[@]/#/$W/kill-}" <<'PY' || fail "crash recovery"
import collections, json, sys
rows = json.load(open(sys.argv[1]))
ev = json.load(open(sys.argv[2]))
peb = json.load(open(sys.argv[3]))
n = int(sys.argv[4])
deleted = {int(x) for x in open(sys.argv[5]).read().split()}
kills = [json.load(open(f + ".json")) for f in sys.argv[6:]]
errs = []
def norm(serial):
    return serial.replace(":", "").lower().lstrip("0")
# the audit log is complete: one certificate.added per lineage, one
# certificate.issued naming the serial of each one left, one
# certificate.deleted per deleted lineage (each lands in the transaction
# of the change it records)
count = collections.Counter((e["type"], e["certificate"]) for e in ev)
issued_serial = collections.defaultdict(list)
for e in ev:
    if e["type"] == "certificate.issued":
        issued_serial[e["certificate"]].append(norm(e["detail"].get("serial", "")))
all_ids = {r["id"] for r in rows} | deleted
no_add = sorted(c for c in all_ids if count[("certificate.added", c)] != 1)
if no_add:
    errs.append("%d lineages without exactly one certificate.added, e.g. %s"
                % (len(no_add), no_add[:5]))
bad_iss = sorted(r["id"] for r in rows
                 if issued_serial[r["id"]] != [norm(r["serial"])])
if bad_iss:
    errs.append("%d lineages whose certificate.issued events are not exactly "
                "one naming their serial, e.g. %s"
                % (len(bad_iss), [(c, issued_serial[c]) for c in bad_iss[:5]]))
multi = sorted(c for c in deleted if len(issued_serial[c]) > 1)
if multi:
    errs.append("deleted lineages issued twice: %s" % multi[:5])
no_del = sorted(c for c in deleted if count[("certificate.deleted", c)] != 1)
if no_del:
    errs.append("%d deleted lineages without exactly one certificate.deleted "
                "event, e.g. %s" % (len(no_del), no_del[:5]))
stray = sorted(c for (t, c) in count if t == "certificate.deleted"
               and c not in deleted)
if stray:
    errs.append("certificate.deleted for lineages never deleted: %s" % stray[:5])
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
    missing = sorted(set(st["order_certs"]) - resumed - deleted)
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
if len(signed) > n:
    errs.append("Pebble signed %d certificates for %d lineages: finalized "
                "orders were abandoned instead of resumed (serials %s)"
                % (len(signed), n, extra[:5]))
if len(extra) > len(deleted):
    errs.append("Pebble signed %d certificates byocad does not hold, more "
                "than the %d deleted lineages (serials %s)"
                % (len(extra), len(deleted), extra[:5]))
if peb["orders"] > n + lost:
    errs.append("Pebble accepted %d orders, more than %d lineages + %d whose "
                "order URL was not stored yet at a kill"
                % (peb["orders"], n, lost))
if errs:
    sys.exit("\n".join(errs))
PY
pass "audit log complete; orders in flight were resumed; Pebble signed at most one certificate per lineage"
env_stop_byocad || fail "byocad did not stop cleanly after the crashes"
byocad_log_clean || fail "sanitizer report"

pass "daemon crash"
