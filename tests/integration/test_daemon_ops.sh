#!/usr/bin/env bash
# byocad's operational side, part 1 (part 2: test_daemon_ops2.sh), against
# Pebble (through daemon_check.py's pebble-proxy) with real
# http-01 validation on byocad's responder:
#  - deploy_dir: <deploy_dir>/<tenant>/live/<id>/{cert,chain,fullchain,
#    privkey}.pem, nothing else, privkey 0600, fullchain = cert + chain =
#    the API's chain; live/<id> is a link to a complete version folder
#    archive/<id>/<version>/ (swapped as a set), no temp left; the deploy
#    hook gets the variables byoca(1) documents with the right values, and
#    the files are in place when it runs; a forced renewal rewrites them
#    with the new serial (the previous version kept); a failing hook is
#    logged with its output and loses nothing;
#  - certificate.failed (notify_after_failures = 2) for a name Pebble
#    cannot validate: exactly one notification although the lineage fails
#    on, with tenant and certificate ids and no secrets, delivered after
#    the receiver answered 500 twice (same body and Idempotency-Key,
#    retried after 1 s, 2 s; every notification has its own key);
#    a customer's validation failure never puts the CA into backoff;
#  - /metrics values against what happened (issuance counters by CA, kind
#    and outcome, certificates by state, the histogram's count and buckets);
#  - deletion: certificate.revoked and certificate.deleted notifications
#    (serial, reason, key_sha256), none of revoked for a never-issued one;
#    the deployed files (privkey.pem with them) are removed;
#  - http_listen: unknown challenge 404, the API never served there, and
#    /.well-known/acme-keys lists exactly the accounts Pebble registered
#    (and loses a deleted tenant's).
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_daemon_ops daemon_ops
SINK_PORT=$((PORT_SPARE_FIRST + 1))
SINK=$W/sink.jsonl
env_webhook_sink sink "$SINK_PORT" "$SINK" 2

# notes [FILE]: every notification FILE (default: delivered) holds, as a
# JSON array
notes() { webhook_notes "${1:-$SINK}"; }
# note_count EVENT CERT: how many EVENT notifications about CERT arrived
note_count() {
  json_get "$(notes)" "len([n for n in d if n['event'] == '$1' and n['certificate'] == $2])"
}
has_note() { [ "$(note_count "$1" "$2")" -ge 1 ]; }
norm_serial() { tr -d ':' <<<"$1" | tr 'A-F' 'a-f' | sed 's/^0*//'; }
file_serial() { norm_serial "$(openssl x509 -in "$1" -noout -serial | cut -d= -f2)"; }

# the deploy hook: records its environment and the files it was pointed
# at, per run; fails (exit 3, with a message) while $W/hook-fail exists
cat >"$W/hook.sh" <<HOOK
#!/bin/sh
n=\$(ls "$W" | grep -c "^hook-env\\.\$BYOCA_CERT_NAME\\.")
n=\$((n + 1))
cp "\$BYOCA_CERT_PATH" "$W/hook-cert.\$BYOCA_CERT_NAME.\$n" 2>/dev/null
env | grep -E '^(BYOCA_|RENEWED_)' | sort >"$W/hook-env.\$BYOCA_CERT_NAME.\$n"
if [ -e "$W/hook-fail" ]; then
  echo "test hook refuses run \$n" >&2
  exit 3
fi
HOOK
chmod 755 "$W/hook.sh"
DEPLOY=$ENV_DIR/deploy
env_start_byocad "webhook_url = http://127.0.0.1:$SINK_PORT/notify" \
  "notify_after_failures = 2" "retry_base = 1" "deploy_dir = $DEPLOY" \
  "deploy_hook = $W/hook.sh"
TA=$(env_tenant ops-a)
T=$ENV_DIR/ops-a.token

# --- deploy: files, modes, contents, hook environment
G=g.ops.byoca.test
api_expect 201 POST /v1/certificates "{\"identifiers\":[\"$G\",\"www.$G\"]}" "$T"
GID=$(json_get "$API_BODY" 'd["id"]')
wait_cert_state "$T" "$GID" issued 40 >/dev/null || fail "$G not issued"
L=$DEPLOY/$TA/live/$GID
wait_for 10 test -s "$W/hook-env.$GID.1" || fail "the deploy hook did not run"
# check_deploy N: the live files hold the API's current certificate, the
# hook's run N saw them in place, with the documented variables
check_deploy() {
  local n=$1 serial v
  # live/<id> links to a complete version folder; every version is complete
  # (written as a set) and no temp is left
  case "$(readlink "$L")" in
  ../archive/"$GID"/*) ;;
  *) fail "$L is not a link into archive/$GID: $(ls -ld "$L")" ;;
  esac
  for v in "$DEPLOY/$TA/archive/$GID"/*/; do
    [ "$(cd "$v" && ls -A | sort | tr '\n' ' ')" = "cert.pem chain.pem fullchain.pem privkey.pem " ] ||
      fail "files in $v: $(ls -A "$v")"
  done
  [ -z "$(find "$DEPLOY" -name '.*')" ] || fail "temps left: $(find "$DEPLOY" -name '.*')"
  [ "$(cd "$L" && ls -A | sort | tr '\n' ' ')" = "cert.pem chain.pem fullchain.pem privkey.pem " ] ||
    fail "files in $L: $(ls -A "$L")"
  [ "$(stat -c %a "$L/privkey.pem")" = 600 ] || fail "privkey.pem is mode $(stat -c %a "$L/privkey.pem")"
  cat "$L/cert.pem" "$L/chain.pem" | cmp -s - "$L/fullchain.pem" || fail "fullchain.pem != cert.pem + chain.pem"
  [ "$(grep -c 'BEGIN CERTIFICATE' "$L/cert.pem")" = 1 ] || fail "cert.pem is not one certificate"
  [ "$(grep -c 'BEGIN CERTIFICATE' "$L/chain.pem")" -ge 1 ] || fail "chain.pem holds no intermediate"
  api_expect 200 GET "/v1/certificates/$GID/chain" "" "$T"
  printf '%s\n' "$API_BODY" | sed '/^$/d' >"$W/api-chain.pem"
  sed '/^$/d' "$L/fullchain.pem" | cmp -s - "$W/api-chain.pem" || fail "fullchain.pem differs from the API's chain"
  [ "$(openssl pkey -in "$L/privkey.pem" -pubout | sha256sum)" = \
    "$(openssl x509 -in "$L/cert.pem" -noout -pubkey | sha256sum)" ] || fail "privkey.pem does not match cert.pem"
  serial=$(norm_serial "$(cert_field "$GID" 'd["serial"]')")
  [ "$(file_serial "$L/cert.pem")" = "$serial" ] || fail "cert.pem is not serial $serial"
  [ "$(file_serial "$W/hook-cert.$GID.$n")" = "$serial" ] ||
    fail "hook run $n found serial $(file_serial "$W/hook-cert.$GID.$n") at BYOCA_CERT_PATH, not $serial"
  local envf=$W/hook-env.$GID.$n
  for kv in "RENEWED_LINEAGE=$L" "RENEWED_DOMAINS=$G www.$G" \
    "BYOCA_CERT_NAME=$GID" "BYOCA_CERT_PATH=$L/cert.pem" \
    "BYOCA_KEY_PATH=$L/privkey.pem" "BYOCA_CHAIN_PATH=$L/chain.pem" \
    "BYOCA_FULLCHAIN_PATH=$L/fullchain.pem"; do
    grep -qxF "$kv" "$envf" || fail "hook run $n: no $kv in: $(cat "$envf")"
  done
  echo "$serial"
}
S1=$(check_deploy 1)
pass "deploy: the four files (0600 key, fullchain = cert + chain = API chain), hook environment"

# a forced renewal with a failing hook: new files, the failure logged,
# the certificate kept
touch "$W/hook-fail"
api_expect 202 POST "/v1/certificates/$GID/renew" "" "$T"
wait_for 40 test -s "$W/hook-env.$GID.2" || fail "no hook run after the forced renewal"
wait_for 10 grep -q "deploy hook failed" "$BYOCAD_LOG" || fail "the failing hook was not logged"
grep "deploy hook failed" "$BYOCAD_LOG" | grep -q "status 3" || fail "hook status not logged: $(grep 'deploy hook' "$BYOCAD_LOG")"
grep "deploy hook failed" "$BYOCAD_LOG" | grep -q "test hook refuses run 2" || fail "hook output not logged"
rm -f "$W/hook-fail"
S2=$(check_deploy 2)
[ "$S2" != "$S1" ] || fail "the renewal kept serial $S1"
[ "$(find "$DEPLOY/$TA/archive/$GID" -mindepth 1 -maxdepth 1 | wc -l)" = 2 ] ||
  fail "expected the live and the previous version: $(ls "$DEPLOY/$TA/archive/$GID")"
CERT=$(cert_field "$GID" 'd')
json_check "$CERT" "assert d['state'] == 'issued' and d['failures'] == 0, d
assert d['last_outcome'].startswith('issued by'), d" || fail "after a failing hook: $CERT"
api_has_event "$T" certificate.renewed "$GID" >/dev/null
[ "$(json_get "$(api_events "$T")" "len([e for e in d if e['type'] == 'certificate.failed' and e['certificate'] == $GID])")" = 0 ] ||
  fail "a failing deploy hook counted as a failed issuance"
pass "forced renewal: files hold serial $S2; failing hook logged (status, output), certificate kept"

# --- certificate.failed: exactly one after 2 failures, through two 500s
B=bad.ops.byoca.test
cts_add_a "$B" 127.0.0.9
api_expect 201 POST /v1/certificates "{\"identifiers\":[\"$B\"]}" "$T"
BID=$(json_get "$API_BODY" 'd["id"]')
wait_for 40 failures_at_least "$BID" 3 || fail "$B did not fail 3 times: $API_BODY"
wait_for 20 has_note certificate.failed "$BID" || fail "no certificate.failed delivered: $(notes)"
sleep 1 # a (wrong) notification of failure 3 would be in by now
[ "$(note_count certificate.failed "$BID")" = 1 ] ||
  fail "$(note_count certificate.failed "$BID") certificate.failed notifications, want exactly 1: $(notes)"
"$BYOCA_PY" - "$SINK" "$SINK.rejected" "$TA" "$BID" <<'PY' || fail "certificate.failed delivery: $(notes) / $(notes "$SINK.rejected")"
import json, sys
ok = [json.loads(l) for l in open(sys.argv[1])]
rej = [json.loads(l) for l in open(sys.argv[2])]
tenant, cert = int(sys.argv[3]), int(sys.argv[4])
n = [x for x in ok if x["event"] == "certificate.failed"][0]
assert n["_path"] == "/notify", n
assert n["tenant"] == tenant and n["certificate"] == cert, n
assert set(n) == {"event", "time", "tenant", "certificate", "detail", "_path", "_key", "_t", "_status"}, n
assert n["detail"]["failures"] == 2, "notified at failure %r, want 2" % n["detail"]
assert n["detail"].get("error"), n
assert n["time"].endswith("Z"), n
assert len(rej) == 2, "the receiver answered 500 %d times, want 2" % len(rej)
strip = lambda x: {k: v for k, v in x.items() if not k.startswith("_")}
for r in rej:
    assert strip(r) == strip(n), (r, n)
    assert r["_key"] == n["_key"], "retries carry another Idempotency-Key: %r" % ((r, n),)
assert n["_key"] and n["_key"].isdigit(), n
keys = [x["_key"] for x in ok]
assert len(set(keys)) == len(keys), "notifications share an Idempotency-Key: %r" % keys
g1, g2 = rej[1]["_t"] - rej[0]["_t"], n["_t"] - rej[1]["_t"]
assert 0.8 <= g1 <= 3 and 1.7 <= g2 <= 5, "retry gaps %.2f s, %.2f s, want ~1 s then ~2 s" % (g1, g2)
PY
pass "certificate.failed: one notification at failure 2, retried after 500s (1 s, 2 s)"

# --- metrics while one lineage is issued and one failing
metrics_check "
ca = '$CA'
st = {l['state']: x for l, x in series('byoca_certificates')}
assert st == {'pending': 0, 'issued': 1, 'failed': 1, 'deleting': 0}, st
assert v('byoca_issuance_total', ca=ca, kind='new', outcome='ok') == 1, S
assert v('byoca_issuance_total', ca=ca, kind='renewal', outcome='ok') == 1, S
assert v('byoca_issuance_total', ca=ca, kind='new', outcome='error') >= 3, S
assert v('byoca_order_duration_seconds_count') == 2, S
assert v('byoca_ca_backoff', ca=ca) == 0, 'a validation failure put the CA into backoff: %r' % S
" || fail "metrics with one issued and one failing lineage"
api_expect 200 GET /v1/cas "" "$BYOCAD_OPERATOR"
json_check "$API_BODY" "h = [c for c in d['items'] if c['issuer'] == '$CA']
assert len(h) == 1 and h[0]['backoff_until'] is None and h[0]['failures'] == 0, d" ||
  fail "CA health after validation failures: $API_BODY"
pass "metrics: certificates by state, counters, no CA backoff for a customer's failure"

# --- deleting the never-issued lineage: deleted, nothing revoked; then
# the counters match the audit log exactly
api_expect 202 DELETE "/v1/certificates/$BID" "" "$T"
wait_for 20 cert_gone "$BID" || fail "$B not deleted"
wait_for 10 has_note certificate.deleted "$BID" || fail "no certificate.deleted for $B"
NFAIL=$(json_get "$(api_events "$BYOCAD_OPERATOR" "tenant=$TA")" \
  "len([e for e in d if e['type'] == 'certificate.failed' and e['certificate'] == $BID])")
metrics_check "
ca = '$CA'
st = {l['state']: x for l, x in series('byoca_certificates')}
assert st == {'pending': 0, 'issued': 1, 'failed': 0, 'deleting': 0}, st
iss = {(l['ca'], l['kind'], l['outcome']): x for l, x in series('byoca_issuance_total')}
assert iss == {(ca, 'new', 'ok'): 1, (ca, 'renewal', 'ok'): 1, (ca, 'new', 'error'): $NFAIL}, (iss, $NFAIL)
b = sorted(((float(l['le']), x) for l, x in series('byoca_order_duration_seconds_bucket')))
assert b[-1] == (float('inf'), 2), b
assert all(b[i][1] <= b[i + 1][1] for i in range(len(b) - 1)), b
assert 0 < v('byoca_order_duration_seconds_sum') < 120, S
assert v('byoca_orders_in_flight') == 0, S
" || fail "metrics against the audit log ($NFAIL failures)"
pass "metrics: issuance_total = audit log (1 new, 1 renewal, $NFAIL errors), histogram"

# --- deleting the issued lineage: revoked + deleted notifications
KSHA=$(openssl pkey -in "$L/privkey.pem" -pubout -outform DER | sha256sum | cut -d' ' -f1)
cp "$L/privkey.pem" "$W/g.key"
openssl x509 -in "$L/cert.pem" >"$W/g.crt"
api_expect 202 DELETE "/v1/certificates/$GID" "" "$T"
wait_for 20 cert_gone "$GID" || fail "$G not deleted"
# the deployed key is destroyed with the lineage: no live link, no version
[ ! -e "$L" ] && [ ! -L "$L" ] || fail "$L is still there after the deletion"
[ ! -e "$DEPLOY/$TA/archive/$GID" ] ||
  fail "versions of $GID left: $(find "$DEPLOY/$TA/archive/$GID")"
mapfile -t deployed < <(find "$DEPLOY" -type f)
key_absent_from "$W/g.key" "$W/g.crt" "${deployed[@]}" ||
  fail "the deleted lineage's private key is still under deploy_dir"
wait_for 10 has_note certificate.deleted "$GID" || fail "no certificate.deleted for $G: $(notes)"
"$BYOCA_PY" - "$SINK" "$TA" "$GID" "$BID" "$S2" "$KSHA" <<'PY' || fail "deletion notifications: $(notes)"
import json, sys
ns = [json.loads(l) for l in open(sys.argv[1])]
tenant, gid, bid, serial, ksha = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4]), sys.argv[5], sys.argv[6]
norm = lambda s: s.replace(":", "").lower().lstrip("0")
of = lambda ev, c: [n for n in ns if n["event"] == ev and n["certificate"] == c]
r, d = of("certificate.revoked", gid), of("certificate.deleted", gid)
assert len(r) == 1 and len(d) == 1, (r, d)
assert r[0]["tenant"] == tenant and d[0]["tenant"] == tenant, (r, d)
assert norm(r[0]["detail"]["serial"]) == serial and r[0]["detail"]["reason"] == 5, r
assert d[0]["detail"]["revoked"] is True and d[0]["detail"]["key_sha256"].lower() == ksha, d
assert of("certificate.revoked", bid) == [], "revoked notified for a never-issued lineage"
bd = of("certificate.deleted", bid)
assert len(bd) == 1 and bd[0]["detail"]["revoked"] is False, bd
PY
ST=$(pebble_cert_status "$S2")
json_check "$ST" "assert d['Status'] == 'Revoked', d" || fail "Pebble: $ST"
# nothing secret in any notification
for tok in "$T" "$BYOCAD_OPERATOR"; do
  ! grep -qF -f "$tok" "$SINK" "$SINK.rejected" || fail "a token in a notification"
done
! grep -q "PRIVATE KEY" "$SINK" "$SINK.rejected" || fail "a private key in a notification"
key_absent_from "$W/g.key" "$W/g.crt" "$SINK" "$SINK.rejected" || fail "key bytes in a notification"
pass "delete: certificate.revoked (serial, reason 5) and certificate.deleted (key_sha256) notified; no secrets; deployed files removed"

# --- http_listen: only the public paths
H=http://127.0.0.1:$PORT_HTTP01
env__auth_header "$BYOCAD_OPERATOR"
hcode() { curl --noproxy '*' -sS -o "$W/h.body" -w '%{http_code}' -H "@$BYOCAD_OPERATOR.hdr" "$@"; }
[ "$(hcode "$H/.well-known/acme-challenge/AAAAnotAtokenAAAA")" = 404 ] || fail "unknown challenge token"
[ "$(hcode "$H/.well-known/acme-challenge/..%2F..%2Fv1%2Ftenants")" = 404 ] || fail "odd challenge token"
for p in /v1/tenants /v1/certificates /v1/cas /v1/events /metrics /v1/tenants/$TA; do
  c=$(hcode "$H$p")
  [ "$c" = 404 ] || fail "http_listen serves $p (HTTP $c)"
done
c=$(hcode -X POST -H 'Content-Type: application/json' -d '{"name":"via-http"}' "$H/v1/tenants")
[ "$c" = 404 ] || fail "POST /v1/tenants on http_listen: HTTP $c"
api_expect 404 GET /v1/tenants/$((TA + 1)) "" "$BYOCAD_OPERATOR" # and nothing was made
[ "$(hcode "$H/healthz")" = 200 ] || fail "healthz on http_listen"
pass "http_listen: unknown challenge 404, API paths 404 even with the operator token"

# --- acme-keys: one JWK per account in use
TC=$(env_tenant ops-c)
api_expect 201 POST /v1/certificates '{"identifiers":["c.ops.byoca.test"]}' "$ENV_DIR/ops-c.token"
CID=$(json_get "$API_BODY" 'd["id"]')
wait_cert_state "$ENV_DIR/ops-c.token" "$CID" issued 40 >/dev/null || fail "tenant C's certificate"
env_tenant ops-d >/dev/null # no certificate, no account
# jwks_ok WANT: acme-keys on http_listen lists WANT distinct public keys,
# as many as the store's distinct account URLs
jwks_ok() {
  local body urls
  body=$(curl --noproxy '*' -sSf "$H/.well-known/acme-keys") || return 1
  urls=$(store_query "SELECT count(DISTINCT url) FROM accounts") || return 1
  json_check "$body" "ks = d['keys']
assert len(ks) == $1 == $urls, (len(ks), $1, $urls)
assert len({json.dumps(k, sort_keys=True) for k in ks}) == len(ks), 'duplicate keys'
for k in ks:
    assert k['kty'] in ('EC', 'RSA', 'OKP') and not set(k) & {'d', 'p', 'q', 'dp', 'dq', 'qi', 'k'}, k"
}
ACCTS=$(json_get "$(python3 "$BYOCA_SRC/tests/env/daemon_check.py" pebble-log "$ENV_DIR/pebble.log")" 'd["accounts"]')
[ "$ACCTS" = 2 ] || fail "Pebble registered $ACCTS accounts, expected 2 (tenants A and C)"
jwks_ok 2 || fail "acme-keys with two tenants' accounts"
api_expect 202 DELETE "/v1/tenants/$TC" "" "$BYOCAD_OPERATOR"
tenant_gone() {
  api GET "/v1/tenants/$TC" "" "$BYOCAD_OPERATOR" >/dev/null
  [ "$API_STATUS" = 404 ]
}
wait_for 30 tenant_gone || fail "tenant C not deleted"
jwks_ok 1 || fail "acme-keys still lists a deleted tenant's account"
pass "acme-keys: exactly the accounts in use (2 = Pebble's count, 1 after a tenant's deletion)"

env_stop_byocad
byocad_log_clean || fail "sanitizer report"
pass "byocad operations, part 1"
