/* The PostgreSQL schema: the same tables, columns and migrations as
 * sqlite/schema.c in PostgreSQL's types (BIGSERIAL ids, BIGINT times,
 * BYTEA for sealed values). Whichever node opens the store first applies
 * the pending migrations, in one transaction holding an advisory lock, so
 * concurrent starts wait for it instead of migrating twice. A store
 * written by a newer byoca is refused. */
#include <stdlib.h>

#include "pg_int.h"

/* pg_advisory_xact_lock key: "byoca" + schema, any constant will do */
#define MIGRATE_LOCK "6279063061"

static const char *const migrations[] = {
    /* 1: everything DESIGN.md lists */
    "CREATE TABLE tenants ("
    " id BIGSERIAL PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    " created BIGINT NOT NULL, deleting INTEGER NOT NULL DEFAULT 0,"
    " data_key BYTEA NOT NULL);"
    "CREATE TABLE api_tokens ("
    " id BIGSERIAL PRIMARY KEY,"
    " tenant_id BIGINT REFERENCES tenants(id) ON DELETE CASCADE,"
    " hash BYTEA NOT NULL UNIQUE, label TEXT NOT NULL DEFAULT '',"
    " created BIGINT NOT NULL);"
    "CREATE TABLE cas ("
    " issuer TEXT PRIMARY KEY, failures INTEGER NOT NULL DEFAULT 0,"
    " backoff_until BIGINT NOT NULL DEFAULT 0,"
    " backoff_secs BIGINT NOT NULL DEFAULT 0,"
    " last_ok BIGINT NOT NULL DEFAULT 0,"
    " last_failure BIGINT NOT NULL DEFAULT 0,"
    " last_error TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE accounts ("
    " id BIGSERIAL PRIMARY KEY,"
    " tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    " directory TEXT NOT NULL, issuer TEXT NOT NULL DEFAULT '',"
    " url TEXT NOT NULL, key BYTEA NOT NULL, jwk TEXT NOT NULL,"
    " created BIGINT NOT NULL, UNIQUE (tenant_id, directory));"
    "CREATE TABLE eab_credentials ("
    " tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    " issuer TEXT NOT NULL, kid TEXT NOT NULL, hmac BYTEA NOT NULL,"
    " created BIGINT NOT NULL, PRIMARY KEY (tenant_id, issuer));"
    "CREATE TABLE certificates ("
    " id BIGSERIAL PRIMARY KEY,"
    " tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    " identifiers TEXT NOT NULL, key_type TEXT NOT NULL, ca TEXT NOT NULL,"
    " profile TEXT NOT NULL DEFAULT '', state INTEGER NOT NULL,"
    " issuer TEXT NOT NULL DEFAULT '', directory TEXT NOT NULL DEFAULT '',"
    " serial TEXT NOT NULL DEFAULT '', not_before BIGINT NOT NULL DEFAULT 0,"
    " not_after BIGINT NOT NULL DEFAULT 0, fullchain TEXT, key BYTEA,"
    " next_check BIGINT NOT NULL, next_source TEXT NOT NULL DEFAULT 'new',"
    " failures INTEGER NOT NULL DEFAULT 0,"
    " last_attempt BIGINT NOT NULL DEFAULT 0,"
    " last_outcome TEXT NOT NULL DEFAULT '',"
    " created BIGINT NOT NULL, updated BIGINT NOT NULL,"
    " lease_until BIGINT NOT NULL DEFAULT 0,"
    " revoke_on_delete INTEGER NOT NULL DEFAULT 1);"
    "CREATE INDEX certificates_next_check ON certificates (next_check);"
    "CREATE INDEX certificates_tenant ON certificates (tenant_id, id);"
    "CREATE INDEX certificates_deleting ON certificates (state)"
    " WHERE state = 3;"
    "CREATE TABLE orders ("
    " cert_id BIGINT PRIMARY KEY"
    "  REFERENCES certificates(id) ON DELETE CASCADE,"
    " directory TEXT NOT NULL, issuer TEXT NOT NULL DEFAULT '',"
    " order_url TEXT NOT NULL DEFAULT '', key BYTEA,"
    " started BIGINT NOT NULL);"
    "CREATE TABLE challenge_tokens ("
    " token TEXT PRIMARY KEY, key_authz TEXT NOT NULL,"
    " cert_id BIGINT NOT NULL DEFAULT 0, expires BIGINT NOT NULL);"
    "CREATE TABLE events ("
    " id BIGSERIAL PRIMARY KEY, ts BIGINT NOT NULL,"
    " tenant_id BIGINT NOT NULL DEFAULT 0,"
    " cert_id BIGINT NOT NULL DEFAULT 0, type TEXT NOT NULL,"
    " detail TEXT NOT NULL DEFAULT '{}');"
    "CREATE INDEX events_tenant ON events (tenant_id, id);",
    /* 2: revoked tokens are kept (marked) rather than deleted */
    "ALTER TABLE api_tokens ADD COLUMN revoked BIGINT NOT NULL DEFAULT 0;",
    /* 3: the node holding a lineage's lease */
    "ALTER TABLE certificates ADD COLUMN claimed_by TEXT NOT NULL"
    " DEFAULT '';",
    /* 4: profiles (D-PROFILE) */
    "ALTER TABLE certificates ADD COLUMN profile_required INTEGER NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE certificates ADD COLUMN issued_profile TEXT NOT NULL"
    " DEFAULT '';"
    "ALTER TABLE tenants ADD COLUMN profile TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE tenants ADD COLUMN profile_required INTEGER NOT NULL"
    " DEFAULT 0;",
    /* 5: ARI (RFC 9773) */
    "ALTER TABLE certificates ADD COLUMN ari_cert_id TEXT NOT NULL"
    " DEFAULT '';"
    "ALTER TABLE certificates ADD COLUMN ari_start BIGINT NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE certificates ADD COLUMN ari_end BIGINT NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE certificates ADD COLUMN ari_explanation TEXT NOT NULL"
    " DEFAULT '';"
    "ALTER TABLE certificates ADD COLUMN ari_next BIGINT NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE certificates ADD COLUMN ari_failures INTEGER NOT NULL"
    " DEFAULT 0;"
    "CREATE INDEX certificates_ari_next ON certificates (ari_next)"
    " WHERE ari_next > 0;",
    /* 6: the nodes sharing the store (heartbeats), and the outbox of
       webhook notifications, claimed and retried by any node */
    "CREATE TABLE nodes ("
    " name TEXT PRIMARY KEY, started BIGINT NOT NULL,"
    " heartbeat BIGINT NOT NULL, version TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE outbox ("
    " id BIGSERIAL PRIMARY KEY, created BIGINT NOT NULL,"
    " type TEXT NOT NULL, url TEXT NOT NULL, body TEXT NOT NULL,"
    " tries INTEGER NOT NULL DEFAULT 0, next_try_ms BIGINT NOT NULL,"
    " lease_until BIGINT NOT NULL DEFAULT 0,"
    " claimed_by TEXT NOT NULL DEFAULT '',"
    " last_error TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX outbox_next_try ON outbox (next_try_ms);",
    /* 7: a tenant's own RFC 2136 servers per zone ('' = any name), the
       TSIG secret sealed under its data key */
    "CREATE TABLE rfc2136_servers ("
    " tenant_id BIGINT NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    " zone TEXT NOT NULL, server TEXT NOT NULL, port INTEGER NOT NULL,"
    " key_name TEXT NOT NULL, algorithm TEXT NOT NULL,"
    " secret BYTEA NOT NULL, created BIGINT NOT NULL,"
    " PRIMARY KEY (tenant_id, zone));"
    /* and which nodes run a tls-alpn-01 responder: a node without one
       still uses tls-alpn-01 while another node answers for it */
    "ALTER TABLE nodes ADD COLUMN tls_alpn INTEGER NOT NULL DEFAULT 0;",
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))
_Static_assert(NMIGRATIONS == STORE_SCHEMA_VERSION,
               "sqlite/schema.c must have the same migrations");

static int current_version(struct byoca_store *s, int *v,
                           struct byoca_err *err) {
  int rc =
      pq_exec(s, err, "SELECT pg_advisory_xact_lock(" MIGRATE_LOCK ")", NULL);
  if (rc == 0)
    rc = pq_exec(s, err,
                 "CREATE TABLE IF NOT EXISTS schema_version ("
                 " version INTEGER NOT NULL, applied BIGINT NOT NULL)",
                 NULL);
  if (rc != 0)
    return rc;
  PGresult *r = pq_query(
      s, err, "SELECT coalesce(max(version), 0) FROM schema_version", NULL);
  if (r == NULL)
    return BYOCA_E_IO;
  *v = (int)pq_int(r, 0, 0);
  PQclear(r);
  return 0;
}

/* A migration's statements go as one simple query (no parameters: it is
 * constant text); then its version is recorded. */
static int apply(struct byoca_store *s, int v, struct byoca_err *err) {
  int rc = 0;
  PGresult *r = PQexec(s->pg, migrations[v - 1]);
  if (PQresultStatus(r) != PGRES_COMMAND_OK) {
    const char *m = PQresultErrorField(r, PG_DIAG_MESSAGE_PRIMARY);
    rc = byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_INTERNAL,
                       "store (postgresql): migration %d failed: %s", v,
                       m != NULL ? m : "?");
  }
  PQclear(r);
  if (rc == 0)
    rc = pq_exec(s, err,
                 "INSERT INTO schema_version (version, applied)"
                 " VALUES ($1, extract(epoch FROM now())::bigint)",
                 "i", (int64_t)v);
  return rc;
}

static int migrate(struct byoca_store *s, int *v, struct byoca_err *err) {
  int rc = current_version(s, v, err);
  if (rc != 0)
    return rc;
  if (*v > NMIGRATIONS)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "the store has schema version %d, written by a"
                         " newer byoca; this one knows versions up to %d"
                         " (downgrade refused)",
                         *v, NMIGRATIONS);
  for (; rc == 0 && *v < NMIGRATIONS; (*v)++)
    rc = apply(s, *v + 1, err);
  return rc;
}

int pq_migrate(struct byoca_store *s, struct byoca_err *err) {
  int v = 0, rc = pq_begin(s, err);
  if (rc != 0)
    return rc;
  if ((rc = migrate(s, &v, err)) != 0) {
    pq_rollback(s);
    return rc;
  }
  if ((rc = pq_commit(s, err)) != 0)
    return rc;
  s->version = v;
  return 0;
}
