#!/usr/bin/env bash
# byocad's REST API refuses bad input with an RFC 7807 problem document and
# the right status, stores nothing, names what was wrong (sanitised), and
# survives hostile bodies (2 MiB, 100,000-deep nesting, invalid UTF-8).
source "$(dirname "$0")/common.sh"
source "$BYOCA_SRC/tests/env/daemon.sh"
env_init daemon_bad_input
env_gen_tls
env_start_challtestsrv
# no CA is needed: nothing here may ever be ordered
BYOCAD_DEFAULT_CA=https://127.0.0.1:$PORT_ACME/dir
env_start_byocad
OP=$BYOCAD_OPERATOR
TID=$(env_tenant bad-input)
T=$ENV_DIR/bad-input.token
B=$ENV_DIR/bodies
mkdir -p "$B"

# problem STATUS NAME [NEEDLE...]: the last answer is the problem document
# NAME with STATUS, its detail a sanitised string holding every NEEDLE
problem() {
  local want=$1 name=$2 detail
  shift 2
  case "$API_CTYPE" in application/problem+json*) ;; *)
    fail "HTTP $API_STATUS: Content-Type '$API_CTYPE', want application/problem+json (body: $(env__short "$API_BODY"))" ;;
  esac
  json_check "$API_BODY" "assert d['type'] == 'urn:byoca:error:$name', d
assert d['status'] == $want, d
assert isinstance(d['title'], str) and d['title'], d
assert isinstance(d['detail'], str) and d['detail'], d
bad = [c for c in d['detail'] if ord(c) < 0x20 or ord(c) == 0x7f]
assert not bad, 'control characters in detail: %r' % d['detail']" ||
    fail "problem document: $(env__short "$API_BODY")"
  detail=$(json_get "$API_BODY" 'd["detail"]')
  for n in "$@"; do
    case "$detail" in *"$n"*) ;; *) fail "detail '$detail' does not name '$n'" ;; esac
  done
}
# bad STATUS NAME METHOD PATH BODY [NEEDLE...]: as the tenant
bad() {
  local st=$1 name=$2 m=$3 p=$4 body=$5
  shift 5
  api_expect "$st" "$m" "$p" "$body" "$T" || fail "$m $p $(env__short "$body")"
  problem "$st" "$name" "$@"
}
# cert BODY [NEEDLE...]: POST /v1/certificates BODY -> 400 naming NEEDLEs
cert() {
  local body=$1
  shift
  bad 400 badRequest POST /v1/certificates "$body" "$@"
}
# state: what the tenant and the operator see (must never change here)
snapshot() {
  local s=""
  api_expect 200 GET "/v1/certificates?limit=1000" "" "$T" && s+=$API_BODY
  api_expect 200 GET /v1/eab "" "$T" && s+=$API_BODY
  api_expect 200 GET /v1/tenants "" "$OP" && s+=$API_BODY
  s+=$(api_events "$OP" | "$BYOCA_PY" -c 'import json,sys; print(len(json.load(sys.stdin)))')
  printf '%s' "$s"
}
BEFORE=$(snapshot)
json_check "$(api_events "$OP")" "assert any(e['type'] == 'tenant.created' for e in d), d" ||
  fail "events: no tenant.created"

# --- not a JSON object
cert '{"identifiers": ['
cert '{"identifiers": ["ok.example"]'
cert '["ok.example"]'
cert '[]'
cert '"ok.example"'
cert 'null'
cert '42'
API_CURL_ARGS=(-H 'Content-Type: application/json' --data-binary '')
bad 400 badRequest POST /v1/certificates ""
API_CURL_ARGS=()
pass "malformed JSON, arrays, scalars, empty body: 400"

# --- the fields
cert '{"identifiers":["ok.example"],"colour":"blue"}' colour
cert '{"identifiers":["ok.example"],"key_type":"ec-p256","Identifiers":["x.example"]}' Identifiers
cert '{}' identifiers
cert '{"key_type":"ec-p256"}' identifiers
cert '{"identifiers":"ok.example"}' identifiers
cert '{"identifiers":[1]}' identifiers
cert '{"identifiers":[null]}' identifiers
cert '{"identifiers":[["ok.example"]]}' identifiers
cert '{"identifiers":{"a":"ok.example"}}' identifiers
cert '{"identifiers":[]}' identifiers
cert '{"identifiers":["ok.example"],"key_type":"rsa1024"}' rsa1024
cert '{"identifiers":["ok.example"],"key_type":5}' key_type
cert '{"identifiers":["ok.example"],"ca":"http://127.0.0.1/dir"}' ca
cert '{"identifiers":["ok.example"],"ca":7}' ca
cert '{"identifiers":["ok.example"],"profile":["x"]}' profile
pass "unknown field, missing/mistyped identifiers, bad key_type, ca, profile: 400 naming them"

# --- identifiers: count and syntax
"$BYOCA_PY" -c 'import json; print(json.dumps({"identifiers": ["n%d.example" % i for i in range(101)]}))' >"$B/101.json"
"$BYOCA_PY" -c 'import json; print(json.dumps({"identifiers": ["n%d.example" % i for i in range(10000)]}))' >"$B/10000.json"
cert "@$B/101.json" identifiers
cert "@$B/10000.json" identifiers
cert '{"identifiers":["exa mple.org"]}' "exa mple.org"
cert '{"identifiers":["-bad.example"]}' "-bad.example"
cert '{"identifiers":["ok.example","-bad.example"]}' "-bad.example"
cert '{"identifiers":["a..example"]}'
cert '{"identifiers":[""]}'
cert "{\"identifiers\":[\"$(printf 'a%.0s' $(seq 1 64)).example\"]}"
cert '{"identifiers":["evil\u001b[31m.example"]}'
cert '{"identifiers":["nul\u0000.example"]}'
cert '{"identifiers":["line\nbreak.example"]}'
pass "101 and 10,000 identifiers, invalid names (named, sanitised): 400"

# --- encodings and sizes
printf '{"identifiers":["\xff\xfe.example"]}' >"$B/utf8.json"
cert "@$B/utf8.json"
printf '{"identifiers":["ok.example"],"profile":"\xc0\xaf"}' >"$B/overlong.json"
cert "@$B/overlong.json"
"$BYOCA_PY" -c '
import json
pad = "x" * (2 * 1024 * 1024)
print(json.dumps({"identifiers": ["ok.example"], "profile": pad}))' >"$B/2mib.json"
bad 413 tooLarge POST /v1/certificates "@$B/2mib.json"
API_CURL_ARGS=(-H 'Transfer-Encoding: chunked')
bad 413 tooLarge POST /v1/certificates "@$B/2mib.json"
API_CURL_ARGS=()
API_CT=text/plain bad 415 unsupportedMediaType POST /v1/certificates '{"identifiers":["ok.example"]}'
API_CT=application/x-www-form-urlencoded bad 415 unsupportedMediaType POST /v1/certificates '{"identifiers":["ok.example"]}'
pass "invalid UTF-8: 400; 2 MiB (with and without Content-Length): 413; wrong Content-Type: 415"

# --- deep nesting
"$BYOCA_PY" -c 'n = 100000; print("{\"identifiers\":" + "[" * n + "]" * n + "}")' >"$B/deep-array.json"
"$BYOCA_PY" -c 'n = 100000; print("{\"a\":" * n + "1" + "}" * n)' >"$B/deep-object.json"
cert "@$B/deep-array.json"
cert "@$B/deep-object.json"
api_expect 200 GET /healthz || fail "daemon unhealthy after deep nesting"
pass "JSON nested 100,000 deep: 400, daemon alive"

# --- paths and methods
bad 404 notFound GET /v1/nope ""
bad 404 notFound GET /v1/certificates/999999 ""
bad 404 notFound POST /v1/certificates/999999/renew ""
bad 405 methodNotAllowed PUT /v1/certificates '{"identifiers":["ok.example"]}'
allow=$(api_header Allow)
case "$allow" in *GET*POST* | *POST*GET*) ;; *) fail "405 Allow: '$allow', want GET and POST" ;; esac
api_expect 405 PATCH "/v1/tenants/$TID" '{"name":"x"}' "$OP"
problem 405 methodNotAllowed
[ -n "$(api_header Allow)" ] || fail "405 without Allow"
pass "unknown path: 404; wrong method: 405 with Allow"

# --- query parameters
for q in limit=0 limit=1001 limit=abc after=abc; do
  bad 400 badRequest GET "/v1/certificates?$q" "" || fail "?$q"
done
pass "limit out of 1..1000, non-numeric after: 400"

# --- EAB credentials
bad 400 badRequest PUT /v1/eab/ca1.byoca.test '{"kid":"k1","hmac_key":"not base64!"}' hmac_key
bad 400 badRequest PUT /v1/eab/ca1.byoca.test '{"kid":"k1","hmac_key":"a+b/c=="}' hmac_key
bad 400 badRequest PUT /v1/eab/ca1.byoca.test '{"kid":"k1","hmac_key":""}' hmac_key
bad 400 badRequest PUT /v1/eab/ca1.byoca.test '{"hmac_key":"c2VjcmV0LWtleS1vZi10aGlydHktdHdvLWJ5dGVzISE"}' kid
bad 400 badRequest PUT /v1/eab/ca1.byoca.test '{"kid":"k1","hmac_key":"c2VjcmV0LWtleS1vZi10aGlydHktdHdvLWJ5dGVzISE","x":1}' x
case "$API_BODY" in *c2VjcmV0*) fail "the MAC key echoed in an error" ;; esac
pass "EAB: bad hmac_key, missing kid, unknown field: 400"

# --- tenant names (operator)
for n in 'a/b' '../etc' '' 'sp ace' "$(printf 'n%.0s' $(seq 1 65))"; do
  api_expect 400 POST /v1/tenants "{\"name\":$(env__json_str "$n")}" "$OP" || fail "tenant name '$n'"
  problem 400 badRequest
done
api_expect 400 POST /v1/tenants '{"name":"fine","extra":true}' "$OP"
problem 400 badRequest extra
api_expect 400 POST /v1/tenants '{}' "$OP"
problem 400 badRequest name
pass "tenant names with '/', '..', empty, space, 65 chars: 400"

# --- nothing stored, still healthy
AFTER=$(snapshot)
[ "$BEFORE" = "$AFTER" ] || fail "state changed: before $BEFORE, after $AFTER"
api_expect 200 GET "/v1/certificates" "" "$T"
json_check "$API_BODY" "assert d['items'] == [], d"
api_expect 200 GET /healthz
byocad_log_clean || fail "sanitizer report"
env_stop_byocad
byocad_log_clean || fail "sanitizer report at exit"
pass "nothing stored; healthy; clean exit"
