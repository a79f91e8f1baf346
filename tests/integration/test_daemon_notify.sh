#!/usr/bin/env bash
# byocad's operational side: webhook notifications (failure after N tries,
# retried while the receiver answers 500, CA backoff, deletion), deploy
# files and hook, SIGHUP reload (and a broken config kept out), metrics
# values. Pebble with real http-01 validation on byocad's responder.
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init daemon_notify
env_gen_tls
env_start_challtestsrv
env_start_pebble
SINK_PORT=$PORT_SPARE_FIRST
SINK=$ENV_DIR/webhook.jsonl
: >"$SINK"
env_spawn sink python3 "$BYOCA_SRC/tests/env/webhook_sink.py" "$SINK_PORT" "$SINK" 2
DEPLOY=$ENV_DIR/deploy
HOOKLOG=$ENV_DIR/hook.env
cat >"$ENV_DIR/hook.sh" <<HOOK
#!/bin/sh
env | grep -E '^(BYOCA_|RENEWED_)' | sort >"$HOOKLOG"
HOOK
chmod +x "$ENV_DIR/hook.sh"
env_start_byocad "webhook_url = http://127.0.0.1:$SINK_PORT/hook" \
  "notify_after_failures = 2" "deploy_dir = $DEPLOY" \
  "deploy_hook = $ENV_DIR/hook.sh"
TID=$(env_tenant notify)
T=$ENV_DIR/notify.token

# sink_has TYPE CERT [SECONDS]: a notification of TYPE for CERT arrived
sink_has() {
  local i
  for ((i = 0; i < ${3:-20} * 5; i++)); do
    python3 -c '
import json, sys
for line in open(sys.argv[1]):
    n = json.loads(line)
    if n["event"] == sys.argv[2] and str(n.get("certificate")) == sys.argv[3]:
        sys.exit(0)
sys.exit(1)' "$SINK" "$1" "$2" && return 0
    sleep 0.2
  done
  fail "no $1 notification for certificate $2 in: $(cat "$SINK")"
}

# --- issuance: deploy files and hook
NAME=dep.notify.byoca.test
api_expect 201 POST /v1/certificates "{\"identifiers\":[\"$NAME\"]}" "$T"
ID=$(json_get "$API_BODY" 'd["id"]')
wait_cert_state "$T" "$ID" issued 45 >/dev/null || fail "not issued"
L=$DEPLOY/$TID/live/$ID
for f in cert chain fullchain privkey; do
  [ -s "$L/$f.pem" ] || fail "deploy: no $f.pem in $L"
done
[ "$(stat -c %a "$L/privkey.pem")" = 600 ] || fail "privkey.pem is not 0600"
cat "$L/cert.pem" "$L/chain.pem" | cmp -s - "$L/fullchain.pem" || fail "fullchain != cert + chain"
api_expect 200 GET "/v1/certificates/$ID/chain" "" "$T"
printf '%s' "$API_BODY" | cmp -s - "$L/fullchain.pem" ||
  printf '%s\n' "$API_BODY" | cmp -s - "$L/fullchain.pem" || fail "deployed chain != API chain"
[ "$(openssl pkey -in "$L/privkey.pem" -pubout | sha256sum)" = \
  "$(openssl x509 -in "$L/cert.pem" -noout -pubkey | sha256sum)" ] || fail "deployed key != cert"
for i in $(seq 50); do [ -s "$HOOKLOG" ] && break; sleep 0.1; done
grep -q "^BYOCA_CERT_ID=$ID\$" "$HOOKLOG" || fail "hook env: $(cat "$HOOKLOG" 2>/dev/null)"
grep -q "^BYOCA_FULLCHAIN_PATH=$L/fullchain.pem\$" "$HOOKLOG" || fail "hook env paths: $(cat "$HOOKLOG")"
grep -q "^BYOCA_TENANT=$TID\$" "$HOOKLOG" || fail "hook env tenant"
pass "deploy files and hook"

# --- a name Pebble cannot validate: certificate.failed after 2 failures,
# delivered although the receiver answered 500 twice first
BAD=bad.notify.byoca.test
cts_add_a "$BAD" 127.0.0.9
api_expect 201 POST /v1/certificates "{\"identifiers\":[\"$BAD\"]}" "$T"
BID=$(json_get "$API_BODY" 'd["id"]')
sink_has certificate.failed "$BID" 60
python3 -c '
import json, sys
ns = [json.loads(l) for l in open(sys.argv[1])]
f = [n for n in ns if n["event"] == "certificate.failed" and str(n["certificate"]) == sys.argv[2]]
assert len(f) >= 1, ns
n = f[0]
assert n["tenant"] == int(sys.argv[3]), n
assert n["detail"]["failures"] >= 2, n
assert "time" in n, n
' "$SINK" "$BID" "$TID" || fail "certificate.failed payload"
! grep -qi "PRIVATE KEY\|byoca_[A-Za-z0-9_-]\{43\}" "$SINK" || fail "a secret in a notification"
pass "certificate.failed notified (after 500s from the receiver)"

# --- metrics: counters by CA and outcome, states
api_expect 200 GET /metrics "" "$BYOCAD_OPERATOR"
printf '%s\n' "$API_BODY" >"$ENV_DIR/metrics.txt"
python3 - "$ENV_DIR/metrics.txt" <<'PY' || fail "metrics values"
import re, sys
m = {}
for line in open(sys.argv[1]):
    if line.startswith("#") or not line.strip():
        continue
    k, v = line.rsplit(" ", 1)
    m[k] = float(v)
def get(prefix, *parts):
    return sum(v for k, v in m.items() if k.startswith(prefix) and all(p in k for p in parts))
assert get('byoca_certificates{', 'state="issued"') == 1, m
assert get('byoca_issuance_total{', 'outcome="ok"') >= 1, m
assert get('byoca_issuance_total{', 'outcome="error"') >= 2, m
assert get('byoca_order_duration_seconds_count') >= 1, m
PY
pass "metrics"

# --- SIGHUP: a broken config is refused and the old one kept; a good one
# (new webhook path) is used for the next notification
cp "$BYOCAD_CONF" "$ENV_DIR/good.conf"
echo "no_such_key = 1" >>"$BYOCAD_CONF"
kill -HUP "$BYOCAD_PID"
sleep 1
env__alive "$BYOCAD_PID" || fail "byocad died on a broken config"
grep -q "no_such_key" "$BYOCAD_LOG" || fail "broken config not reported"
api_expect 200 GET /healthz
sed "s|/hook$|/reloaded|" "$ENV_DIR/good.conf" >"$BYOCAD_CONF"
kill -HUP "$BYOCAD_PID"
sleep 1
api_expect 202 DELETE "/v1/certificates/$ID" "" "$T"
sink_has certificate.deleted "$ID" 30
pass "SIGHUP: broken config kept out, reload applied"

# --- deletion notified and revoked at Pebble
python3 -c '
import json, sys
ns = [json.loads(l) for l in open(sys.argv[1])]
d = [n for n in ns if n["event"] == "certificate.deleted" and str(n["certificate"]) == sys.argv[2]]
assert d and d[-1]["detail"].get("key_sha256"), ns
assert d[-1]["_path"] == "/reloaded", d[-1]
' "$SINK" "$ID" || fail "certificate.deleted payload (or the reloaded webhook URL unused)"

# --- the outbox survives a crash: with the receiver down, the
# notification waits in the store; byocad dies (SIGKILL) and sends it
# after its restart, once
env_stop sink
api_expect 202 DELETE "/v1/certificates/$BID" "" "$T"
outbox() { store_query "SELECT count(*) FROM outbox WHERE type = 'certificate.deleted'"; }
for ((i = 0; i < 100; i++)); do
  [ "$(outbox)" -ge 1 ] && break
  sleep 0.1
done
env_kill_byocad
[ "$(outbox)" = 1 ] || fail "certificate.deleted is not in the outbox (found $(outbox))"
env_spawn sink python3 "$BYOCA_SRC/tests/env/webhook_sink.py" "$SINK_PORT" "$SINK" 0
env_start_byocad "webhook_url = http://127.0.0.1:$SINK_PORT/hook" \
  "notify_after_failures = 2" "deploy_dir = $DEPLOY" \
  "deploy_hook = $ENV_DIR/hook.sh"
sink_has certificate.deleted "$BID" 30
for ((i = 0; i < 50; i++)); do
  [ "$(outbox)" = 0 ] && break
  sleep 0.1
done
[ "$(outbox)" = 0 ] || fail "the delivered notification stayed in the outbox"
python3 -c '
import json, sys
d = [json.loads(l) for l in open(sys.argv[1])]
d = [n for n in d if n["event"] == "certificate.deleted" and str(n["certificate"]) == sys.argv[2]]
assert len(d) == 1, d
' "$SINK" "$BID" || fail "certificate.deleted of $BID delivered more than once"
pass "a pending notification survives a crash"
env_stop_byocad
byocad_log_clean
pass "byocad notifications, deploy, reload"
