/* The store's schema: ordered migrations, the pending ones applied in one
 * transaction (which also reads the version, so two processes opening a
 * new store do not both migrate it) and recorded in schema_version. A
 * store written by a newer byoca is refused rather than misread. */
#include <stdlib.h>

#include "sqlite_int.h"

static const char *const migrations[] = {
    /* 1: everything DESIGN.md lists */
    "CREATE TABLE tenants ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, name TEXT NOT NULL UNIQUE,"
    " created INTEGER NOT NULL, deleting INTEGER NOT NULL DEFAULT 0,"
    " data_key BLOB NOT NULL);"
    "CREATE TABLE api_tokens ("
    " id INTEGER PRIMARY KEY,"
    " tenant_id INTEGER REFERENCES tenants(id) ON DELETE CASCADE,"
    " hash BLOB NOT NULL UNIQUE, label TEXT NOT NULL DEFAULT '',"
    " created INTEGER NOT NULL);"
    "CREATE TABLE cas ("
    " issuer TEXT PRIMARY KEY, failures INTEGER NOT NULL DEFAULT 0,"
    " backoff_until INTEGER NOT NULL DEFAULT 0,"
    " backoff_secs INTEGER NOT NULL DEFAULT 0,"
    " last_ok INTEGER NOT NULL DEFAULT 0,"
    " last_failure INTEGER NOT NULL DEFAULT 0,"
    " last_error TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE accounts ("
    " id INTEGER PRIMARY KEY,"
    " tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    " directory TEXT NOT NULL, issuer TEXT NOT NULL DEFAULT '',"
    " url TEXT NOT NULL, key BLOB NOT NULL, jwk TEXT NOT NULL,"
    " created INTEGER NOT NULL, UNIQUE (tenant_id, directory));"
    "CREATE TABLE eab_credentials ("
    " tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    " issuer TEXT NOT NULL, kid TEXT NOT NULL, hmac BLOB NOT NULL,"
    " created INTEGER NOT NULL, PRIMARY KEY (tenant_id, issuer));"
    "CREATE TABLE certificates ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT,"
    " tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    " identifiers TEXT NOT NULL, key_type TEXT NOT NULL, ca TEXT NOT NULL,"
    " profile TEXT NOT NULL DEFAULT '', state INTEGER NOT NULL,"
    " issuer TEXT NOT NULL DEFAULT '', directory TEXT NOT NULL DEFAULT '',"
    " serial TEXT NOT NULL DEFAULT '', not_before INTEGER NOT NULL DEFAULT 0,"
    " not_after INTEGER NOT NULL DEFAULT 0, fullchain TEXT, key BLOB,"
    " next_check INTEGER NOT NULL, next_source TEXT NOT NULL DEFAULT 'new',"
    " failures INTEGER NOT NULL DEFAULT 0,"
    " last_attempt INTEGER NOT NULL DEFAULT 0,"
    " last_outcome TEXT NOT NULL DEFAULT '',"
    " created INTEGER NOT NULL, updated INTEGER NOT NULL,"
    " lease_until INTEGER NOT NULL DEFAULT 0,"
    " revoke_on_delete INTEGER NOT NULL DEFAULT 1);"
    "CREATE INDEX certificates_next_check ON certificates (next_check);"
    "CREATE INDEX certificates_tenant ON certificates (tenant_id, id);"
    "CREATE INDEX certificates_deleting ON certificates (state)"
    " WHERE state = 3;"
    "CREATE TABLE orders ("
    " cert_id INTEGER PRIMARY KEY"
    "  REFERENCES certificates(id) ON DELETE CASCADE,"
    " directory TEXT NOT NULL, issuer TEXT NOT NULL DEFAULT '',"
    " order_url TEXT NOT NULL DEFAULT '', key BLOB,"
    " started INTEGER NOT NULL);"
    "CREATE TABLE challenge_tokens ("
    " token TEXT PRIMARY KEY, key_authz TEXT NOT NULL,"
    " cert_id INTEGER NOT NULL DEFAULT 0, expires INTEGER NOT NULL);"
    "CREATE TABLE events ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, ts INTEGER NOT NULL,"
    " tenant_id INTEGER NOT NULL DEFAULT 0,"
    " cert_id INTEGER NOT NULL DEFAULT 0, type TEXT NOT NULL,"
    " detail TEXT NOT NULL DEFAULT '{}');"
    "CREATE INDEX events_tenant ON events (tenant_id, id);",
    /* 2: revoked tokens are kept (marked) rather than deleted */
    "ALTER TABLE api_tokens ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;",
    /* 3: the node holding a lineage's lease (several nodes share a
       PostgreSQL store; the same column here keeps both schemas one) */
    "ALTER TABLE certificates ADD COLUMN claimed_by TEXT NOT NULL"
    " DEFAULT '';",
    /* 4: profiles (D-PROFILE): whether the profile is required, the one
       the CA echoed for the current certificate, and a tenant's default */
    "ALTER TABLE certificates ADD COLUMN profile_required INTEGER NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE certificates ADD COLUMN issued_profile TEXT NOT NULL"
    " DEFAULT '';"
    "ALTER TABLE tenants ADD COLUMN profile TEXT NOT NULL DEFAULT '';"
    "ALTER TABLE tenants ADD COLUMN profile_required INTEGER NOT NULL"
    " DEFAULT 0;",
    /* 5: ARI (RFC 9773): the current certificate's CertID, the CA's
       suggested window and explanationURL, and when to poll again */
    "ALTER TABLE certificates ADD COLUMN ari_cert_id TEXT NOT NULL"
    " DEFAULT '';"
    "ALTER TABLE certificates ADD COLUMN ari_start INTEGER NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE certificates ADD COLUMN ari_end INTEGER NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE certificates ADD COLUMN ari_explanation TEXT NOT NULL"
    " DEFAULT '';"
    "ALTER TABLE certificates ADD COLUMN ari_next INTEGER NOT NULL"
    " DEFAULT 0;"
    "ALTER TABLE certificates ADD COLUMN ari_failures INTEGER NOT NULL"
    " DEFAULT 0;"
    "CREATE INDEX certificates_ari_next ON certificates (ari_next)"
    " WHERE ari_next > 0;",
    /* 6: the nodes sharing the store (heartbeats), and the outbox of
       webhook notifications: a notification survives a restart and is
       sent by one node */
    "CREATE TABLE nodes ("
    " name TEXT PRIMARY KEY, started INTEGER NOT NULL,"
    " heartbeat INTEGER NOT NULL, version TEXT NOT NULL DEFAULT '');"
    "CREATE TABLE outbox ("
    " id INTEGER PRIMARY KEY AUTOINCREMENT, created INTEGER NOT NULL,"
    " type TEXT NOT NULL, url TEXT NOT NULL, body TEXT NOT NULL,"
    " tries INTEGER NOT NULL DEFAULT 0, next_try_ms INTEGER NOT NULL,"
    " lease_until INTEGER NOT NULL DEFAULT 0,"
    " claimed_by TEXT NOT NULL DEFAULT '',"
    " last_error TEXT NOT NULL DEFAULT '');"
    "CREATE INDEX outbox_next_try ON outbox (next_try_ms);",
    /* 7: a tenant's own RFC 2136 servers per zone ('' = any name), the
       TSIG secret sealed under its data key */
    "CREATE TABLE rfc2136_servers ("
    " tenant_id INTEGER NOT NULL REFERENCES tenants(id) ON DELETE CASCADE,"
    " zone TEXT NOT NULL, server TEXT NOT NULL, port INTEGER NOT NULL,"
    " key_name TEXT NOT NULL, algorithm TEXT NOT NULL,"
    " secret BLOB NOT NULL, created INTEGER NOT NULL,"
    " PRIMARY KEY (tenant_id, zone));"
    /* and which nodes run a tls-alpn-01 responder: a node without one
       still uses tls-alpn-01 while another node answers for it */
    "ALTER TABLE nodes ADD COLUMN tls_alpn INTEGER NOT NULL DEFAULT 0;",
};
#define NMIGRATIONS ((int)(sizeof(migrations) / sizeof(migrations[0])))
_Static_assert(NMIGRATIONS == STORE_SCHEMA_VERSION,
               "pg/schema.c must have the same migrations");

static int current_version(struct byoca_store *s, int *v,
                           struct byoca_err *err) {
  int rc = db_exec(s, err,
                   "CREATE TABLE IF NOT EXISTS schema_version ("
                   " version INTEGER NOT NULL, applied INTEGER NOT NULL)",
                   NULL);
  if (rc != 0)
    return rc;
  sqlite3_stmt *st = db_prep(
      s, err, "SELECT coalesce(max(version), 0) FROM schema_version", NULL);
  if (st == NULL)
    return BYOCA_E_IO;
  *v = sqlite3_step(st) == SQLITE_ROW ? sqlite3_column_int(st, 0) : -1;
  sqlite3_finalize(st);
  return *v < 0 ? db_fail(s, err, "reading the schema version") : 0;
}

static int apply(struct byoca_store *s, int v, struct byoca_err *err) {
  char *msg = NULL;
  if (sqlite3_exec(s->db, migrations[v - 1], NULL, NULL, &msg) != SQLITE_OK) {
    byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_INTERNAL,
                  "store: migration %d failed: %s", v, msg ? msg : "?");
    byoca_err_native(err, BYOCA_ORIGIN_SQLITE, sqlite3_extended_errcode(s->db));
    sqlite3_free(msg);
    return BYOCA_E_IO;
  }
  return db_exec(s, err,
                 "INSERT INTO schema_version (version, applied)"
                 " VALUES (?, strftime('%s','now'))",
                 "i", (int64_t)v);
}

/* Brings the schema from *v to the newest version. */
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

int db_migrate(struct byoca_store *s, struct byoca_err *err) {
  int v = 0, rc = db_begin(s, err);
  if (rc != 0)
    return rc;
  if ((rc = migrate(s, &v, err)) != 0) {
    db_rollback(s);
    return rc;
  }
  if ((rc = db_commit(s, err)) != 0)
    return rc;
  s->version = v;
  return 0;
}
