# shellcheck shell=bash
# A throwaway PostgreSQL cluster for the tests: initdb into the test's
# work dir, the server on a loopback port of the test's block
# (PORT_SPARE_LAST - 4: ari.sh and knot take the ports above) and on a
# unix socket in that dir, trust authentication for the superuser
# "byoca", fsync off (nothing here must survive a crash). Stopped with
# the other servers at exit. Source after lib.sh; call env_start_postgres
# after env_init.
#
# PostgreSQL refuses to run as root: as root the cluster belongs to, and
# the server runs as, "nobody" (setpriv, no login shell needed), and the
# work dir is opened to it for traversal (711).
#
# Debian keeps the server's programs in /usr/lib/postgresql/<major>/bin,
# outside PATH; the newest major installed is used (PG_BINDIR overrides).

# env_pg_bindir: prints the folder holding initdb and postgres, or fails.
env_pg_bindir() {
  local d
  if [ -n "${PG_BINDIR:-}" ]; then
    d=$PG_BINDIR
  else
    d=$(find /usr/lib/postgresql -mindepth 2 -maxdepth 2 -name bin \
      2>/dev/null | sort -V | tail -n 1)
    [ -n "$d" ] || d=$(dirname "$(command -v initdb 2>/dev/null || echo /x/x)")
  fi
  [ -x "$d/initdb" ] && [ -x "$d/postgres" ] && echo "$d"
}

# env_pg_available: true when the server programs are installed.
env_pg_available() {
  env_pg_bindir >/dev/null
}

# env_pg_missing: what to do when they are not: exit 77 (skipped) on a
# developer's machine, fail under CI (CI set), where they must be there.
env_pg_missing() {
  if [ -n "${CI:-}" ]; then
    env__log "ERROR: PostgreSQL server programs not found (CI must install postgresql: scripts/install-deps.sh)"
    exit 1
  fi
  env__log "PostgreSQL server programs not found; skipping"
  exit 77
}

# env_start_postgres: starts the cluster and waits until it accepts
# connections. Exports PG_URL (libpq URI of database "postgres" as the
# superuser, over the unix socket), PG_HOST (the socket dir), PORT_PG.
env_start_postgres() {
  local bin dir run=()
  bin=$(env_pg_bindir) || env_pg_missing
  dir=$ENV_DIR/pg
  mkdir -p "$dir/data" "$dir/sock" || return 1
  if [ "$(id -u)" -eq 0 ]; then
    chmod 711 "$ENV_DIR" || return 1
    chown -R nobody:nogroup "$dir" || return 1
    run=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
  fi
  chmod 700 "$dir/data"
  if ! "${run[@]}" "$bin/initdb" -D "$dir/data" -U byoca --auth=trust \
    -E UTF8 --no-locale -N >"$ENV_DIR/initdb.log" 2>&1; then
    cat "$ENV_DIR/initdb.log" >&2
    env__die "initdb failed"
    return 1
  fi
  export PORT_PG=$((PORT_SPARE_LAST - 4)) PG_HOST=$dir/sock
  env__pg_spawn || return 1
  export PG_URL="postgresql://byoca@/postgres?host=$PG_HOST&port=$PORT_PG"
}

# env__pg_spawn: runs the server of $ENV_DIR/pg and waits until it
# accepts connections.
env__pg_spawn() {
  local bin dir=$ENV_DIR/pg run=()
  bin=$(env_pg_bindir) || return 1
  [ "$(id -u)" -ne 0 ] || run=(setpriv --reuid=nobody --regid=nogroup --clear-groups --)
  env_spawn postgres "${run[@]}" "$bin/postgres" -D "$dir/data" \
    -p "$PORT_PG" -k "$PG_HOST" -c listen_addresses=127.0.0.1 \
    -c fsync=off -c synchronous_commit=off -c full_page_writes=off \
    -c max_connections=200 -c log_min_messages=warning || return 1
  env__wait postgres "$ENV_LAST_PID" 30 \
    "$bin/pg_isready" -q -h "$PG_HOST" -p "$PORT_PG" -U byoca || {
    env__die "PostgreSQL did not start"
    return 1
  }
}

# env_pg_restart [SECONDS]: stops the server (fast shutdown: every client
# connection is cut), keeps it down SECONDS (default 0), starts it again.
env_pg_restart() {
  local pid i
  pid=$(env_pid postgres)
  if [ -n "$pid" ]; then
    kill -INT "$pid" 2>/dev/null || true # fast shutdown, as pg_ctl -m fast
    for ((i = 0; i < 300; i++)); do
      env__alive "$pid" || break
      sleep 0.1
    done
    wait "$pid" 2>/dev/null || true
    awk '$1 != "postgres"' "$ENV_DIR/servers" >"$ENV_DIR/servers.new"
    mv "$ENV_DIR/servers.new" "$ENV_DIR/servers"
  fi
  sleep "${1:-0}"
  env__pg_spawn
}

# env_pg_createdb NAME: a fresh database; prints its libpq URI.
env_pg_createdb() {
  local bin
  bin=$(env_pg_bindir) || return 1
  "$bin/createdb" -h "$PG_HOST" -p "$PORT_PG" -U byoca "$1" || return 1
  echo "postgresql://byoca@/$1?host=$PG_HOST&port=$PORT_PG"
}
