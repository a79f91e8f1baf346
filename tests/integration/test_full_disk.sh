#!/usr/bin/env bash
# A full disk under byocad's store and under byoca's state dir.
#
# The test runs in a private mount namespace (unshare -m as root, else
# unshare -rm in a user namespace; exit 77 when neither works) and puts
# each on its own small tmpfs, filled to the last byte with a filler file.
#
# byocad (state_dir on a 4 MiB tmpfs): with one lineage issued, the disk
# is filled but for 64 KiB; new lineages are added until one is refused
# (their issuances meet the full disk when they store). Then:
#  - the refusal is HTTP 507 urn:byoca:error:insufficientStorage naming
#    the full disk; byocad keeps running and answers reads;
#  - a key export, which cannot be audited, is refused (507, key not sent);
#  - once the filler is removed, without a restart, every lineage that was
#    accepted gets issued (one issued while the disk was full is resumed
#    when its 10 s lease runs out, its certificate downloaded again), a new one is accepted and issued, the first
#    lineage's key is exported and matches its leaf (no key lost), the store's
#    integrity check passes and no temp file is left.
# byoca (state dir on a 1 MiB tmpfs): with one lineage issued, the disk is
# filled; `byoca issue` of a second name fails (exit 1) with an error
# naming the full disk, leaves no temp file, no version folder, no live
# link and no renewal file for it, and the first lineage is untouched;
# with the filler removed the same command succeeds.
source "$BYOCA_SRC/tests/integration/common.sh"
if [ -z "${BYOCA_FULL_DISK_NS:-}" ]; then
  for how in -m -rm; do
    if unshare "$how" --propagation private true 2>/dev/null; then
      BYOCA_FULL_DISK_NS=1 exec unshare "$how" --propagation private \
        bash "$0" "$@"
    fi
  done
  echo "SKIP: cannot make a private mount namespace (unshare -m / -rm)"
  exit 77
fi
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init full_disk
env_gen_tls
env_start_challtestsrv
env_start_pebble PEBBLE_VA_ALWAYS_VALID=1
W=$ENV_DIR/work
mkdir -p "$W"

# small_fs DIR SIZE: a tmpfs of SIZE on DIR (private to this namespace)
small_fs() {
  mkdir -p "$1"
  mount -t tmpfs -o "size=$2,mode=0700" tmpfs "$1" ||
    { echo "SKIP: cannot mount a tmpfs"; exit 77; }
  ENV_ATEXIT+=("umount -l '$1'") # lazily: servers may still hold files

}
# fill DIR: writes DIR/filler until the disk is full
fill() {
  dd if=/dev/zero of="$1/filler" bs=64k 2>/dev/null || true
  cat /dev/zero >>"$1/filler" 2>/dev/null || true
  [ "$(df --output=avail -B1 "$1" | tail -1 | tr -d ' ')" -lt 4096 ] ||
    fail "$1 is not full"
}
key_matches() { # ID: the exported key is the leaf's
  api_expect 200 GET "/v1/certificates/$1/chain?include_key=1" "" "$T" ||
    fail "chain of $1"
  printf '%s\n' "$API_BODY" >"$W/c.pem"
  sed -n '/-----BEGIN [A-Z ]*PRIVATE KEY-----/,/-----END [A-Z ]*PRIVATE KEY-----/p' \
    "$W/c.pem" >"$W/c.key"
  awk '/-----BEGIN CERTIFICATE-----/ { n++ } n == 1' "$W/c.pem" |
    sed '/-----END CERTIFICATE-----/q' >"$W/c.leaf"
  [ "$(openssl pkey -in "$W/c.key" -pubout | sha256sum)" = \
    "$(openssl x509 -in "$W/c.leaf" -noout -pubkey | sha256sum)" ] ||
    fail "lineage $1: the stored key does not match its certificate"
}

# --- byocad
small_fs "$ENV_DIR/byocad-state" 4m
# lease = 10: a lineage whose certificate was issued while the disk was
# full ("issued, but it could not be stored") keeps its order row and is
# resumed when its lease runs out (outcome.c); with the default 600 s the
# wait below would end first
env_start_byocad "lease = 10"
env_tenant full >/dev/null
T=$ENV_DIR/full.token
add() { # NAME: POST; sets API_STATUS, ID (on 201)
  api POST /v1/certificates "{\"identifiers\":[\"$1\"]}" "$T" >/dev/null
  ID=$(json_get "$API_BODY" 'd.get("id")' 2>/dev/null || echo null)
}
add first.full.test
[ "$API_STATUS" = 201 ] || fail "add: HTTP $API_STATUS $API_BODY"
FIRST=$ID
wait_cert_state "$T" "$FIRST" issued 60 >/dev/null || fail "the first lineage was not issued"
key_matches "$FIRST"

fill "$BYOCAD_STATE"
# room for a few lineages: their issuances then meet the full disk too
truncate -s -64K "$BYOCAD_STATE/filler"
accepted=()
refused=
for i in $(seq 1 400); do
  add "n$i.full.test"
  if [ "$API_STATUS" = 201 ]; then
    accepted+=("$ID")
    continue
  fi
  refused=$i
  break
done
[ -n "$refused" ] || fail "400 lineages added on a full disk: it never filled"
[ "${#accepted[@]}" -gt 0 ] || fail "no lineage fitted in the room left"
echo "disk full: ${#accepted[@]} lineage(s) accepted before a refusal"
[ "$API_STATUS" = 507 ] || fail "a full store answered HTTP $API_STATUS: $API_BODY"
json_check "$API_BODY" '
assert d["type"] == "urn:byoca:error:insufficientStorage", d
assert d["status"] == 507, d
assert "no space left" in d["detail"], d' || fail "the full-disk problem: $API_BODY"
pass "a full store refuses a write with 507 naming the full disk"
sleep 3 # let accepted lineages try to issue on the full disk
env__alive "$BYOCAD_PID" || fail "byocad died on a full disk"
api_expect 200 GET "/v1/certificates/$FIRST" "" "$T" || fail "reads fail on a full disk"
api_expect 200 GET "/v1/certificates/$FIRST/chain" "" "$T" || fail "chain on a full disk"
# a key export that cannot be audited is refused, and says why
api_expect 507 GET "/v1/certificates/$FIRST/chain?include_key=1" "" "$T" ||
  fail "key export on a full disk: HTTP $API_STATUS $API_BODY"
expect_in "$API_BODY" "no space left" "the refused key export"
grep -qi "no space left\|disk is full\|database or disk is full" "$BYOCAD_LOG" ||
  fail "byocad's log does not name the full disk"
pass "byocad runs on, reads work, the issued key is kept"

rm -f "$BYOCAD_STATE/filler"
for id in "${accepted[@]}"; do
  wait_cert_state "$T" "$id" issued 40 >/dev/null ||
    fail "lineage $id not issued once space returned"
done
add last.full.test
[ "$API_STATUS" = 201 ] || fail "add after space returned: HTTP $API_STATUS $API_BODY"
wait_cert_state "$T" "$ID" issued 60 >/dev/null || fail "the last lineage was not issued"
key_matches "$FIRST"
key_matches "$ID"
[ "$(store_query 'PRAGMA integrity_check')" = ok ] || fail "store integrity"
stray=$(find "$BYOCAD_STATE" -name '.*' | head -3)
[ -z "$stray" ] || fail "temp files left in the state dir: $stray"
env_stop_byocad || fail "byocad did not stop cleanly"
byocad_log_clean || fail "sanitizer report"
pass "byocad recovered without a restart once space returned"

# --- byoca
STATE=$ENV_DIR/cli-state
small_fs "$STATE" 1m
cli() {
  bp issue -d "$1" --http-addr 127.0.0.1 --http-port "$PORT_HTTP01" --agree-tos
}
expect_rc 0 cli one.full.test
check_live one.full.test
# fingerprint: every file's content and every link's target
fingerprint() {
  (cd "$STATE" && find . -type f -print0 | sort -z | xargs -0 sha256sum &&
    find . -type l -printf '%p -> %l\n' | sort) | sha256sum
}
before=$(fingerprint)
fill "$STATE"
expect_rc 1 cli two.full.test
expect_in "$ERR" "No space left on device" "byoca on a full state dir"
echo "byoca on a full state dir: $ERR"
stray=$(find "$STATE" -name '.*' | head -3)
[ -z "$stray" ] || fail "temp files left: $stray"
for p in live/two.full.test archive/two.full.test renewal/two.full.test.json; do
  [ ! -e "$STATE/$p" ] && [ ! -L "$STATE/$p" ] || fail "$p was made on a full disk"
done
rm "$STATE/filler"
after=$(fingerprint)
[ "$before" = "$after" ] || fail "the full disk changed the first lineage's files"
check_live one.full.test
pass "byoca refuses on a full state dir, names it, leaves nothing partial"
expect_rc 0 cli two.full.test
check_live two.full.test
check_no_partial
pass "byoca works once space returned"
pass "full disk"
