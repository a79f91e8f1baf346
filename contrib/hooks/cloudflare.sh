#!/bin/sh
# byoca dns-01 hook: Cloudflare's DNS API (v4).
#
# Needs: curl and jq; an API token with the permission Zone / DNS / Edit
# for the zones concerned (and Zone / Zone / Read unless CF_ZONE_ID is set).
#
# Settings, from the environment or from a file of VAR=value lines read
# with ". FILE": $BYOCA_HOOK_CONF if set, else this script's path with
# ".conf" appended (e.g. /usr/local/lib/byoca/cloudflare.sh.conf). byoca
# runs hooks with a minimal environment (PATH, HOME, LANG and the BYOCA_*
# variables), so under byoca the file is the way to set them.
#
#   CF_API_TOKEN_FILE  a file (0600) holding the API token (required; the
#                      token goes to curl through its standard input, never
#                      through a command line)
#   CF_ZONE_ID         the zone's id (default: looked up by name, the
#                      closest enclosing zone of the record's name)
#   CF_TTL             TTL of the record (default 60; 1 = automatic)
#   CF_WAIT            seconds to sleep after adding the record, for
#                      Cloudflare's name servers to catch up (default 10)
#   CF_API_URL         the API's base URL (default
#                      https://api.cloudflare.com/client/v4; the tests
#                      point it at a local recorder)
#
# From byoca (see byoca(1), "--hook"): $1 (or BYOCA_ACTION) is setup or
# cleanup; BYOCA_RECORD_NAME and BYOCA_RECORD_VALUE are the TXT record.
# setup creates one TXT record; cleanup deletes the TXT records of the
# name whose content is that value, and no other. Exit 0 on success;
# otherwise the last line printed says why.
set -eu

conf=${BYOCA_HOOK_CONF:-$0.conf}
if [ -r "$conf" ]; then
  # shellcheck disable=SC1090
  . "$conf"
fi

die() {
  echo "cloudflare hook: $*" >&2
  exit 1
}

action=${1:-${BYOCA_ACTION:-}}
name=${BYOCA_RECORD_NAME:-}
value=${BYOCA_RECORD_VALUE:-}
api=${CF_API_URL:-https://api.cloudflare.com/client/v4}
tokenfile=${CF_API_TOKEN_FILE:-}
zone_id=${CF_ZONE_ID:-}
ttl=${CF_TTL:-60}
wait=${CF_WAIT:-10}

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
*) die "CF_API_URL must be an http:// or https:// URL" ;;
esac
case "$zone_id" in
*[!A-Za-z0-9]*) die "invalid CF_ZONE_ID" ;;
esac
case "$ttl$wait" in
*[!0-9]*) die "CF_TTL and CF_WAIT must be numbers" ;;
esac
if [ -z "$tokenfile" ] || [ ! -r "$tokenfile" ]; then
  die "CF_API_TOKEN_FILE '$tokenfile' is not a readable file"
fi
token=$(head -n 1 "$tokenfile")
case "$token" in
'' | *[\"\\]*) die "CF_API_TOKEN_FILE holds no usable token" ;;
esac
name=${name%.}

body_file=$(mktemp)
trap 'rm -f "$body_file"' EXIT
trap 'exit 1' HUP INT TERM
# cf METHOD PATH [BODY]: the HTTP status in $status, the response in
# $body; fails unless Cloudflare says "success": true.
cf() {
  status=$(printf 'header = "Authorization: Bearer %s"\n' "$token" |
    curl -sS -K - -o "$body_file" -w '%{http_code}' -X "$1" \
      -H 'Content-Type: application/json' ${3:+--data-binary "$3"} \
      "$api$2") || die "cannot reach $api"
  body=$(cat "$body_file")
  if ! printf '%s' "$body" | jq -e '.success == true' >/dev/null 2>&1; then
    die "$1 $2: HTTP $status: $(printf '%s' "$body" |
      jq -r '[.errors[]? | "\(.code): \(.message)"] | join("; ")' 2>/dev/null ||
      printf '%s' "$body" | head -c 200)"
  fi
}

# The zone: configured, else the closest enclosing zone Cloudflare has.
if [ -z "$zone_id" ]; then
  z=$name
  while [ -n "$z" ]; do
    cf GET "/zones?name=$z"
    zone_id=$(printf '%s' "$body" | jq -r '.result[0].id // empty')
    [ -z "$zone_id" ] || break
    case "$z" in
    *.*) z=${z#*.} ;;
    *) z= ;;
    esac
  done
  [ -n "$zone_id" ] || die "no Cloudflare zone holds $name"
  case "$zone_id" in
  *[!A-Za-z0-9]*) die "unexpected zone id from $api" ;;
  esac
fi

if [ "$action" = setup ]; then
  cf POST "/zones/$zone_id/dns_records" "$(jq -nc --arg n "$name" \
    --arg c "\"$value\"" --argjson ttl "$ttl" \
    '{type: "TXT", name: $n, content: $c, ttl: $ttl}')"
  [ "$wait" -eq 0 ] || sleep "$wait"
  exit 0
fi

# cleanup: every TXT record of the name holding our value (quoted or not)
cf GET "/zones/$zone_id/dns_records?type=TXT&name=$name&per_page=100"
ids=$(printf '%s' "$body" | jq -r --arg v "$value" \
  '.result[] | select(.content == $v or .content == "\"" + $v + "\"") | .id')
for id in $ids; do
  case "$id" in
  *[!A-Za-z0-9]*) die "unexpected record id from $api" ;;
  esac
  cf DELETE "/zones/$zone_id/dns_records/$id"
done
