#!/bin/sh
# byoca dns-01 hook: the PowerDNS Authoritative Server's HTTP API.
#
# Needs: curl and jq; the API enabled on the server (api=yes, api-key=...,
# webserver-address/-allow-from reaching it). Tested against PowerDNS 4.7.
#
# Settings, from the environment or from a file of VAR=value lines read
# with ". FILE": $BYOCA_HOOK_CONF if set, else this script's path with
# ".conf" appended (e.g. /usr/local/lib/byoca/powerdns.sh.conf). byoca runs
# hooks with a minimal environment (PATH, HOME, LANG and the BYOCA_*
# variables), so under byoca the file is the way to set them.
#
#   PDNS_API_URL       the webserver's base URL, e.g. http://127.0.0.1:8081
#                      (required)
#   PDNS_API_KEY_FILE  a file (0600) holding the API key (required; the key
#                      goes to curl through its standard input, never
#                      through a command line)
#   PDNS_SERVER_ID     the server id in the API path (default localhost)
#   PDNS_ZONE          the zone (default: the closest enclosing zone the
#                      API knows, asked for the name and its parents)
#   PDNS_TTL           TTL of the TXT RRset (default 60)
#   PDNS_WAIT          seconds to sleep after a change, for secondaries
#                      fed by AXFR/NOTIFY (default 0)
#
# From byoca (see byoca(1), "--hook"): $1 (or BYOCA_ACTION) is setup or
# cleanup; BYOCA_RECORD_NAME and BYOCA_RECORD_VALUE are the TXT record.
# The API replaces whole RRsets, so the hook reads the RRset, adds (setup)
# or removes (cleanup) only its own value and writes it back, under a lock
# per name: a wildcard's and its base name's challenges share one name and
# run at the same time. Other values of the name are kept. Exit 0 on
# success; otherwise the last line printed says why.
set -eu

conf=${BYOCA_HOOK_CONF:-$0.conf}
if [ -r "$conf" ]; then
  # shellcheck disable=SC1090
  . "$conf"
fi

die() {
  echo "powerdns hook: $*" >&2
  exit 1
}

action=${1:-${BYOCA_ACTION:-}}
name=${BYOCA_RECORD_NAME:-}
value=${BYOCA_RECORD_VALUE:-}
api=${PDNS_API_URL:-}
keyfile=${PDNS_API_KEY_FILE:-}
server_id=${PDNS_SERVER_ID:-localhost}
ttl=${PDNS_TTL:-60}
wait=${PDNS_WAIT:-0}

case "$action" in
setup | cleanup) ;;
*) die "unknown action '$action' (setup or cleanup)" ;;
esac
case "${BYOCA_CHALLENGE_TYPE:-dns-01}" in
dns-*) ;;
*) die "answers dns challenges only, not ${BYOCA_CHALLENGE_TYPE}" ;;
esac
case "$name" in
'' | *[!A-Za-z0-9._-]*) die "invalid record name '$name'" ;;
esac
case "$value" in
'' | *[!A-Za-z0-9_-]*) die "invalid record value" ;;
esac
case "$api" in
http://* | https://*) api=${api%/} ;;
*) die "PDNS_API_URL must be an http:// or https:// URL" ;;
esac
case "$server_id" in
'' | *[!A-Za-z0-9._-]*) die "invalid PDNS_SERVER_ID" ;;
esac
case "$ttl$wait" in
*[!0-9]*) die "PDNS_TTL and PDNS_WAIT must be numbers" ;;
esac
if [ -z "$keyfile" ] || [ ! -r "$keyfile" ]; then
  die "PDNS_API_KEY_FILE '$keyfile' is not a readable file"
fi
key=$(head -n 1 "$keyfile")
case "$key" in
'' | *[\"\\]*) die "PDNS_API_KEY_FILE holds no usable key" ;;
esac
name=${name%.}

# pdns METHOD PATH [BODY]: the HTTP status in $status, the response body
# in $body. The key reaches curl through a config on stdin.
body_file=$(mktemp)
lock=
cleanup_files() {
  rm -f "$body_file"
  [ -z "$lock" ] || rmdir "$lock" 2>/dev/null || true
}
trap cleanup_files EXIT
trap 'exit 1' HUP INT TERM
pdns() {
  status=$(printf 'header = "X-API-Key: %s"\n' "$key" |
    curl -sS -K - -o "$body_file" -w '%{http_code}' -X "$1" \
      -H 'Content-Type: application/json' ${3:+--data-binary "$3"} \
      "$api/api/v1/servers/$server_id$2") || die "cannot reach $api"
  body=$(cat "$body_file")
}

# The zone: configured, else the closest enclosing zone the API knows.
zone=${PDNS_ZONE:-}
if [ -z "$zone" ]; then
  z=$name
  while [ -n "$z" ]; do
    pdns GET "/zones/$z."
    case "$status" in
    200)
      zone=$z
      break
      ;;
    404 | 422) ;; # no such zone: try the parent
    *) die "looking for the zone of $name: HTTP $status: $(printf '%s' "$body" | head -c 200)" ;;
    esac
    case "$z" in
    *.*) z=${z#*.} ;;
    *) z= ;;
    esac
  done
  [ -n "$zone" ] || die "the API at $api knows no zone holding $name"
fi
zone=${zone%.}
case "$zone" in
*[!A-Za-z0-9._-]*) die "invalid PDNS_ZONE '$zone'" ;;
esac

# One change of this name at a time (mkdir is atomic); a lock older than
# two minutes is from a hook that was killed.
lockdir=${TMPDIR:-/tmp}/byoca-pdns-$name.lock
i=0
until mkdir "$lockdir" 2>/dev/null; do
  i=$((i + 1))
  if [ "$i" -ge 120 ]; then
    rmdir "$lockdir" 2>/dev/null || true
    i=0
  fi
  sleep 1
done
lock=$lockdir

# The RRset now: its values except ours, as a JSON array of contents.
pdns GET "/zones/$zone.?rrset_name=$name.&rrset_type=TXT"
[ "$status" = 200 ] || die "reading $name TXT in zone $zone: HTTP $status: $(printf '%s' "$body" | head -c 200)"
others=$(printf '%s' "$body" | jq -c --arg n "$name." --arg v "\"$value\"" \
  '[.rrsets[]? | select(.name == $n and .type == "TXT") | .records[]
    | select(.content != $v) | .content]') || die "unexpected answer from $api"

if [ "$action" = setup ]; then
  all=$(printf '%s' "$others" | jq -c --arg v "\"$value\"" '. + [$v]')
else
  all=$others
fi
patch=$(jq -nc --arg n "$name." --argjson all "$all" --argjson ttl "$ttl" '
  {rrsets: [if ($all | length) == 0
    then {name: $n, type: "TXT", changetype: "DELETE"}
    else {name: $n, type: "TXT", ttl: $ttl, changetype: "REPLACE",
          records: [$all[] | {content: ., disabled: false}]}
    end]}')
pdns PATCH "/zones/$zone." "$patch"
case "$status" in
2??) ;;
*) die "$action of $name TXT in zone $zone: HTTP $status: $(printf '%s' "$body" | head -c 200)" ;;
esac
[ "$wait" -eq 0 ] || sleep "$wait"
