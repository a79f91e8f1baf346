#!/usr/bin/env bash
# contrib/hooks/cloudflare.sh against a local FIXTURE of Cloudflare's DNS
# API (tests/env/cf_fixture.py; no real Cloudflare can run here), which
# checks and records the request shape: the zone looked up by name
# (walking up from the record's name), one POST per record with a JSON
# body (type TXT, name, quoted content, ttl) and a bearer token, cleanup
# deleting exactly the record holding its value, so a wildcard's and its
# base name's records (one name, set up at once) do not clobber each
# other. A wrong token fails with Cloudflare's error text and no token in
# the output.
source "$(dirname "$0")/common.sh"
command -v jq >/dev/null 2>&1 || {
  echo "skip: jq is not installed"
  exit 77
}
env_init hook_cloudflare
H=$ENV_DIR/hooks
mkdir -p "$H"
cp "$BYOCA_SRC/contrib/hooks/cloudflare.sh" "$H/cloudflare.sh"
PORT_CF=$((PORT_SPARE_FIRST + 3))
ZID=0123456789abcdef0123456789abcdef
(umask 077 && openssl rand -hex 20 >"$H/token")
TOKEN=$(cat "$H/token")
env_spawn cf python3 "$BYOCA_SRC/tests/env/cf_fixture.py" "$PORT_CF" cf.test "$ZID" "$H/token"
cf_ready() { curl -sf "http://127.0.0.1:$PORT_CF/__requests" >/dev/null; }
env__wait cf "$ENV_LAST_PID" 10 cf_ready
API=http://127.0.0.1:$PORT_CF/client/v4
reqs() { curl -sf "http://127.0.0.1:$PORT_CF/__requests"; }
records() { # records NAME: the contents the fixture holds for NAME, sorted
  printf 'header = "Authorization: Bearer %s"\n' "$TOKEN" |
    curl -sf -K - "$API/zones/$ZID/dns_records?type=TXT&name=$1" |
    jq -r '[.result[].content] | sort | join(" ")'
}
conf() {
  {
    echo "CF_API_URL=$API"
    echo "CF_API_TOKEN_FILE=$H/token"
    echo "CF_WAIT=0"
    printf '%s\n' "$@"
  } >"$H/cloudflare.sh.conf"
  chmod 0600 "$H/cloudflare.sh.conf"
}
hook() { # hook ACTION NAME VALUE
  env -i PATH="$PATH" BYOCA_ACTION="$1" BYOCA_CHALLENGE_TYPE=dns-01 \
    BYOCA_RECORD_NAME="$2" BYOCA_RECORD_VALUE="$3" "$H/cloudflare.sh" "$1"
}
N=_acme-challenge.shop.cf.test
V1=AAAAbbbbCCCCddddEEEEffffGGGGhhhhIIIIjjjjKKK
V2=zzzzYYYYxxxxWWWWvvvvUUUUttttSSSSrrrrQQQQppp

# 1. a wildcard and its base name set up at once: two records
conf
hook setup "$N" "$V1" &
p1=$!
hook setup "$N" "$V2" &
p2=$!
wait "$p1" || fail "setup 1 failed"
wait "$p2" || fail "setup 2 failed"
[ "$(records "$N")" = "\"$V1\" \"$V2\"" ] || fail "records after setup: $(records "$N")"
R=$(reqs)
jq -e --arg z "$ZID" '
  [.result[] | select(.method == "GET" and .path == "/client/v4/zones")
   | .query.name] as $walk
  | ($walk | index("cf.test")) != null
    and ($walk | index("_acme-challenge.shop.cf.test")) != null
  and ([.result[] | select(.method == "POST")] | length == 2)
  and all(.result[] | select(.method == "POST");
      .path == "/client/v4/zones/\($z)/dns_records"
      and .content_type == "application/json"
      and (.body | fromjson | .type == "TXT" and .name == "_acme-challenge.shop.cf.test"
           and .ttl == 60 and (.content | test("^\"[A-Za-z0-9_-]+\"$"))))
  and all(.result[]; .auth_bearer)' <<<"$R" >/dev/null ||
  fail "request shape: $(jq -c '.result' <<<"$R")"
pass "cloudflare hook: zone found by walking up, one POST per value, JSON and bearer token"

# 2. cleanup removes exactly its own record, then the other
hook cleanup "$N" "$V1" || fail "cleanup 1 failed"
[ "$(records "$N")" = "\"$V2\"" ] || fail "records after cleanup 1: $(records "$N")"
hook cleanup "$N" "$V2" || fail "cleanup 2 failed"
[ -z "$(records "$N")" ] || fail "records left: $(records "$N")"
jq -e '[.result[] | select(.method == "DELETE")] | length == 2' <<<"$(reqs)" >/dev/null ||
  fail "not two DELETEs"
pass "cloudflare hook: cleanup deletes exactly the record with its value"

# 3. CF_ZONE_ID given: no zone lookup
conf "CF_ZONE_ID=$ZID"
before=$(reqs | jq '[.result[] | select(.path == "/client/v4/zones")] | length')
hook setup "$N" "$V1" || fail "setup with CF_ZONE_ID failed"
hook cleanup "$N" "$V1" || fail "cleanup with CF_ZONE_ID failed"
after=$(reqs | jq '[.result[] | select(.path == "/client/v4/zones")] | length')
[ "$before" = "$after" ] || fail "zone looked up despite CF_ZONE_ID"
[ -z "$(records "$N")" ] || fail "records left: $(records "$N")"
pass "cloudflare hook: CF_ZONE_ID skips the lookup"

# 4. a wrong token: Cloudflare's error text, exit 1, no token shown
(umask 077 && echo not-the-token >"$H/wrong")
conf "CF_API_TOKEN_FILE=$H/wrong"
rc=0
out=$(hook setup "$N" "$V1" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "wrong token: exit $rc"
expect_in "$out" "10000: Authentication error" "wrong token: Cloudflare's reason"
case "$out" in *"$TOKEN"* | *not-the-token*) fail "a token appears in the output" ;; esac
[ -z "$(records "$N")" ] || fail "records after the wrong token: $(records "$N")"
pass "cloudflare hook: wrong token -> Cloudflare's error, nothing added"

# 5. a name in no zone, and unsafe input
conf
rc=0
out=$(hook setup _acme-challenge.other.test "$V1" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "a name in no zone: exit $rc"
expect_in "$out" "no Cloudflare zone holds _acme-challenge.other.test" "no zone"
rc=0
out=$(hook setup "$N\"}" "$V1" 2>&1) || rc=$?
[ "$rc" = 1 ] || fail "an unsafe name: exit $rc"
expect_in "$out" "invalid record name" "unsafe name refused"
pass "cloudflare hook: no zone and unsafe names refused"
