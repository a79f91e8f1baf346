#!/bin/sh
# byoca dns-01 hook: RFC 2136 dynamic update with BIND's nsupdate.
#
# For DNS servers that accept TSIG-signed updates (BIND, Knot, PowerDNS,
# ...). byoca and byocad can do this themselves (--dns-rfc2136, the
# [rfc2136] sections); this hook is for setups that want nsupdate's own
# key handling or extra steps around it.
#
# Needs: nsupdate and dig (Debian: bind9-dnsutils).
#
# Settings, from the environment or from a file of VAR=value lines read
# with ". FILE": $BYOCA_HOOK_CONF if set, else this script's path with
# ".conf" appended (e.g. /usr/local/lib/byoca/nsupdate.sh.conf). byoca runs
# hooks with a minimal environment (PATH, HOME, LANG and the BYOCA_*
# variables), so under byoca the file is the way to set them; keep it
# 0600 when it names secrets.
#
#   NSUPDATE_SERVER    the primary server's address (required)
#   NSUPDATE_PORT      its port (default 53)
#   NSUPDATE_KEY_FILE  the TSIG key as nsupdate -k reads it, e.g. the
#                      output of `tsig-keygen -a hmac-sha256 NAME` (required;
#                      the secret never appears in a command line)
#   NSUPDATE_ZONE      the zone to update (default: found by asking the
#                      server for the SOA of the name and its parents)
#   NSUPDATE_TTL       TTL of the TXT record (default 60)
#   NSUPDATE_WAIT      seconds to wait until the server serves the record
#                      (default 30; 0 = do not check)
#
# From byoca (see byoca(1), "--hook"): $1 (or BYOCA_ACTION) is setup or
# cleanup; BYOCA_RECORD_NAME and BYOCA_RECORD_VALUE are the TXT record.
# setup adds exactly that record, cleanup deletes exactly that record;
# other TXT records of the name (a wildcard's and its base name's
# challenges share one name) are left alone. Exit 0 on success; otherwise
# the last line printed says why.
set -eu

conf=${BYOCA_HOOK_CONF:-$0.conf}
if [ -r "$conf" ]; then
  # shellcheck disable=SC1090
  . "$conf"
fi

die() {
  echo "nsupdate hook: $*" >&2
  exit 1
}

action=${1:-${BYOCA_ACTION:-}}
name=${BYOCA_RECORD_NAME:-}
value=${BYOCA_RECORD_VALUE:-}
server=${NSUPDATE_SERVER:-}
port=${NSUPDATE_PORT:-53}
keyfile=${NSUPDATE_KEY_FILE:-}
ttl=${NSUPDATE_TTL:-60}
wait=${NSUPDATE_WAIT:-30}

case "$action" in
setup | cleanup) ;;
*) die "unknown action '$action' (setup or cleanup)" ;;
esac
case "${BYOCA_CHALLENGE_TYPE:-dns-01}" in
dns-*) ;;
*) die "answers dns challenges only, not ${BYOCA_CHALLENGE_TYPE}" ;;
esac
# Refuse anything that could change the meaning of nsupdate's input.
case "$name" in
'' | *[!A-Za-z0-9._-]*) die "invalid record name '$name'" ;;
esac
case "$value" in
'' | *[!A-Za-z0-9_-]*) die "invalid record value" ;;
esac
case "$server" in
'' | *[!0-9A-Fa-f.:]*) die "NSUPDATE_SERVER must be an IP address" ;;
esac
case "$port$ttl$wait" in
*[!0-9]*) die "NSUPDATE_PORT, NSUPDATE_TTL and NSUPDATE_WAIT must be numbers" ;;
esac
if [ -z "$keyfile" ] || [ ! -r "$keyfile" ]; then
  die "NSUPDATE_KEY_FILE '$keyfile' is not a readable file"
fi
name=${name%.}

ask() { # ask TYPE NAME: the answer section of a non-recursive query
  dig +norecurse +noall +answer +time=3 +tries=2 -p "$port" "@$server" \
    "$2" "$1" 2>/dev/null
}

# The zone: configured, else the closest enclosing name with a SOA.
zone=${NSUPDATE_ZONE:-}
if [ -z "$zone" ]; then
  z=$name
  while [ -n "$z" ]; do
    if ask SOA "$z" | awk -v z="$z." 'tolower($1) == tolower(z) && $4 == "SOA" { f = 1 } END { exit !f }'; then
      zone=$z
      break
    fi
    case "$z" in
    *.*) z=${z#*.} ;;
    *) z= ;;
    esac
  done
  [ -n "$zone" ] || die "$server:$port serves no zone holding $name"
fi
zone=${zone%.}
case "$zone" in
*[!A-Za-z0-9._-]*) die "invalid NSUPDATE_ZONE '$zone'" ;;
esac

if [ "$action" = setup ]; then
  op="update add $name. $ttl IN TXT \"$value\""
else
  op="update delete $name. IN TXT \"$value\""
fi
out=$(printf 'server %s %s\nzone %s.\n%s\nsend\n' "$server" "$port" "$zone" "$op" |
  nsupdate -k "$keyfile" -t 10 2>&1) ||
  die "$action of $name TXT in zone $zone at $server:$port failed: $(echo "$out" | tail -n 1)"

# Until the server serves the record (setup) or no longer does (cleanup).
[ "$wait" -gt 0 ] || exit 0
i=0
while [ "$i" -lt "$wait" ]; do
  if ask TXT "$name" | grep -qF "\"$value\""; then
    [ "$action" = setup ] && exit 0
  else
    [ "$action" = cleanup ] && exit 0
  fi
  sleep 1
  i=$((i + 1))
done
die "$server:$port still $([ "$action" = setup ] && echo lacks || echo serves) $name TXT after ${wait}s"
