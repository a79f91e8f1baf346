/* The audit log: append-only events, read in id order. */
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

int sqlite_event_add(struct byoca_store *s, int64_t tenant_id, int64_t cert_id,
                     const char *type, const char *detail_json, int64_t now,
                     struct byoca_err *err) {
  return db_exec(s, err,
                 "INSERT INTO events (ts, tenant_id, cert_id, type, detail)"
                 " VALUES (?, ?, ?, ?, ?)",
                 "iiitt", now, tenant_id, cert_id, type,
                 detail_json != NULL ? detail_json : "{}");
}

int sqlite_event_list(struct byoca_store *s, int64_t tenant_id, int64_t after,
                      size_t limit, struct byoca_event **out, size_t *n,
                      struct byoca_err *err) {
  sqlite3_stmt *st =
      db_prep(s, err,
              "SELECT id, ts, tenant_id, cert_id, type, detail"
              " FROM events WHERE id > ?"
              " AND (? < 0 OR tenant_id = ?)"
              " ORDER BY id LIMIT ?",
              "iiii", after, tenant_id, tenant_id, (int64_t)limit);
  int rc = SQLITE_DONE;
  *out = NULL;
  *n = 0;
  if (st == NULL)
    return BYOCA_E_IO;
  if (limit > 0 && (*out = calloc(limit, sizeof(**out))) == NULL)
    rc = SQLITE_NOMEM;
  while (*out != NULL && *n < limit && (rc = sqlite3_step(st)) == SQLITE_ROW) {
    struct byoca_event *e = &(*out)[(*n)++];
    e->id = sqlite3_column_int64(st, 0);
    e->ts = sqlite3_column_int64(st, 1);
    e->tenant_id = sqlite3_column_int64(st, 2);
    e->cert_id = sqlite3_column_int64(st, 3);
    db_col_str(st, 4, e->type, sizeof(e->type));
    if ((e->detail_json = db_col_dup(st, 5)) == NULL) {
      rc = SQLITE_NOMEM;
      break;
    }
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE || rc == SQLITE_ROW)
    return 0;
  byoca_events_free(*out, *n);
  *out = NULL;
  *n = 0;
  return db_fail(s, err, "listing events");
}
