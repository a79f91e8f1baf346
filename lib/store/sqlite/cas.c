/* CA health shared by every tenant (D-BACKOFF): 3 consecutive CA-level
 * failures start a backoff of 5 minutes, doubling to 24 hours; one
 * success clears it. */
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

#define CA_COLS                                                                \
  "issuer, failures, backoff_until, backoff_secs, last_ok, last_failure,"      \
  " last_error"

static void read_ca(sqlite3_stmt *st, struct byoca_ca_health *h) {
  memset(h, 0, sizeof(*h));
  db_col_str(st, 0, h->issuer, sizeof(h->issuer));
  h->failures = sqlite3_column_int(st, 1);
  h->backoff_until = sqlite3_column_int64(st, 2);
  h->backoff_secs = sqlite3_column_int64(st, 3);
  h->last_ok = sqlite3_column_int64(st, 4);
  h->last_failure = sqlite3_column_int64(st, 5);
  db_col_str(st, 6, h->last_error, sizeof(h->last_error));
}

int sqlite_ca_get(struct byoca_store *s, const char *issuer,
                  struct byoca_ca_health *out, struct byoca_err *err) {
  sqlite3_stmt *st = db_prep(
      s, err, "SELECT " CA_COLS " FROM cas WHERE issuer = ?", "t", issuer);
  if (st == NULL)
    return BYOCA_E_IO;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW) {
    read_ca(st, out);
  } else {
    memset(out, 0, sizeof(*out));
    byoca_strlcpy(out->issuer, issuer, sizeof(out->issuer));
  }
  sqlite3_finalize(st);
  return rc == SQLITE_ROW || rc == SQLITE_DONE
             ? 0
             : db_fail(s, err, "reading CA health");
}

int sqlite_ca_record(struct byoca_store *s, const char *issuer, int ok,
                     const char *error, int64_t now, int *started,
                     struct byoca_err *err) {
  struct byoca_ca_health h;
  int st_flag = 0, rc = db_begin(s, err);
  if (rc != 0)
    return rc;
  if ((rc = sqlite_ca_get(s, issuer, &h, err)) == 0) {
    store_ca_next(&h, ok, error, now, &st_flag);
    rc = db_exec(s, err,
                 "INSERT OR REPLACE INTO cas (" CA_COLS ")"
                 " VALUES (?, ?, ?, ?, ?, ?, ?)",
                 "tiiiiit", issuer, (int64_t)h.failures, h.backoff_until,
                 h.backoff_secs, h.last_ok, h.last_failure, h.last_error);
  }
  if (rc != 0) {
    db_rollback(s);
    return rc;
  }
  if (started != NULL)
    *started = st_flag;
  return db_commit(s, err);
}

int sqlite_ca_list(struct byoca_store *s, struct byoca_ca_health **out,
                   size_t *n, struct byoca_err *err) {
  sqlite3_stmt *st =
      db_prep(s, err, "SELECT " CA_COLS " FROM cas ORDER BY issuer", NULL);
  size_t cap = 0;
  int rc;
  *out = NULL;
  *n = 0;
  if (st == NULL)
    return BYOCA_E_IO;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (db_grow((void **)out, &cap, *n, sizeof(**out), 8) != 0) {
      sqlite3_finalize(st);
      return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
    }
    read_ca(st, &(*out)[(*n)++]);
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : db_fail(s, err, "listing CAs");
}
