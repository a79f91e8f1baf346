#!/usr/bin/env bash
# with_pg.sh PROGRAM [ARGS...]: runs PROGRAM (a store unit test) against a
# throwaway PostgreSQL cluster (pg.sh): BYOCA_TEST_STORE_URL names the
# server, on which the test makes and drops a database per case. Exit 77
# (skipped) when PostgreSQL is not installed, except under CI, where that
# fails; a cluster that does not start always fails.
set -euo pipefail
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=lib.sh
. "$here/lib.sh"
# shellcheck source=pg.sh
. "$here/pg.sh"
env_pg_available || env_pg_missing
env_init "pg-$(basename "$1")"
env_start_postgres
export BYOCA_TEST_STORE_URL=$PG_URL
"$@"
