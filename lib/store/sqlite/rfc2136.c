/* A tenant's RFC 2136 servers per zone: the TSIG secret sealed, listed
 * only for the manager (never through the API). */
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

int sqlite_rfc2136_put(struct byoca_store *s, int64_t tenant_id,
                       const struct byoca_rfc2136_row *row,
                       const struct byoca_secret *secret,
                       struct byoca_err *err) {
  char aad[400];
  unsigned char *box = NULL;
  size_t boxlen = 0;
  store_aad_rfc2136(tenant_id, row->zone, aad, sizeof(aad));
  int rc = sec_seal(s, tenant_id, aad, secret->data, secret->len, &box, &boxlen,
                    err);
  if (rc == 0)
    rc = db_exec(s, err,
                 "INSERT OR REPLACE INTO rfc2136_servers (tenant_id, zone,"
                 " server, port, key_name, algorithm, secret, created)"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                 "ittittbi", tenant_id, row->zone, row->server,
                 (int64_t)row->port, row->key_name, row->algorithm, box, boxlen,
                 byoca_now());
  free(box);
  return db_no_tenant(s, rc, tenant_id, err);
}

static void free_secrets(struct byoca_secret *v, size_t n) {
  for (size_t i = 0; v != NULL && i < n; i++)
    byoca_secret_free(&v[i]);
  free(v);
}

int sqlite_rfc2136_list(struct byoca_store *s, int64_t tenant_id,
                        struct byoca_rfc2136_row **out,
                        struct byoca_secret **secrets, size_t *n,
                        struct byoca_err *err) {
  sqlite3_stmt *st = db_prep(s, err,
                             "SELECT zone, server, port, key_name, algorithm,"
                             " created, secret FROM rfc2136_servers"
                             " WHERE tenant_id = ? ORDER BY zone",
                             "i", tenant_id);
  struct byoca_rfc2136_row *rows = NULL;
  struct byoca_secret *sec = NULL;
  size_t cap = 0, scap = 0, got = 0;
  int rc = 0, step = SQLITE_DONE;
  *n = 0;
  if (st == NULL)
    return BYOCA_E_IO;
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
    if (db_grow((void **)&rows, &cap, got, sizeof(*rows), 4) != 0 ||
        (secrets != NULL &&
         db_grow((void **)&sec, &scap, got, sizeof(*sec), 4) != 0)) {
      rc = byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
      break;
    }
    struct byoca_rfc2136_row *r = &rows[got];
    memset(r, 0, sizeof(*r));
    db_col_str(st, 0, r->zone, sizeof(r->zone));
    db_col_str(st, 1, r->server, sizeof(r->server));
    r->port = sqlite3_column_int(st, 2);
    db_col_str(st, 3, r->key_name, sizeof(r->key_name));
    db_col_str(st, 4, r->algorithm, sizeof(r->algorithm));
    r->created = sqlite3_column_int64(st, 5);
    if (secrets != NULL) {
      char aad[400];
      memset(&sec[got], 0, sizeof(sec[got]));
      store_aad_rfc2136(tenant_id, r->zone, aad, sizeof(aad));
      rc = sec_open_col(s, st, 6, tenant_id, aad, &sec[got], err);
    }
    got++;
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = db_fail(s, err, "listing RFC 2136 servers");
  sqlite3_finalize(st);
  if (rc != 0) {
    free(rows);
    free_secrets(sec, got);
    return rc;
  }
  *out = rows;
  if (secrets != NULL)
    *secrets = sec;
  *n = got;
  return 0;
}

int sqlite_rfc2136_delete(struct byoca_store *s, int64_t tenant_id,
                          const char *zone, struct byoca_err *err) {
  int rc = db_exec(s, err,
                   "DELETE FROM rfc2136_servers WHERE tenant_id = ?"
                   " AND zone = ?",
                   "it", tenant_id, zone);
  if (rc == 0 && db_changes(s) == 0)
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no RFC 2136 server for zone '%.255s'",
                         zone[0] ? zone : "*");
  if (rc == 0)
    db_checkpoint(s, 1);
  return rc;
}
