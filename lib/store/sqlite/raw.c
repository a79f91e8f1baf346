/* SQLite: whole rows in and out, for copying a store (copy.c). Explicit
 * ids inserted into AUTOINCREMENT tables move SQLite's sequence along by
 * themselves, so nothing is left to do after them. */
#include <stdio.h>
#include <string.h>

#include "sqlite_int.h"

#define MAX_COLS 32

int sqlite_raw_begin(struct byoca_store *s, int write, struct byoca_err *err) {
  /* a deferred transaction reads one snapshot from its first read on */
  return db_exec(s, err, write ? "BEGIN IMMEDIATE" : "BEGIN", NULL);
}

int sqlite_raw_rows(struct byoca_store *s, const char *sql, const char *types,
                    store_row_cb cb, void *arg, struct byoca_err *err) {
  struct store_val v[MAX_COLS];
  sqlite3_stmt *st = db_prep(s, err, sql, NULL);
  if (st == NULL)
    return BYOCA_E_IO;
  int n = sqlite3_column_count(st), rc = 0, step;
  if (n > MAX_COLS || (size_t)n != strlen(types)) {
    sqlite3_finalize(st);
    return byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                         "store: %d columns, %zu types", n, strlen(types));
  }
  while (rc == 0 && (step = sqlite3_step(st)) == SQLITE_ROW) {
    for (int i = 0; i < n; i++) {
      memset(&v[i], 0, sizeof(v[i]));
      v[i].type = sqlite3_column_type(st, i) == SQLITE_NULL ? 'n' : types[i];
      if (v[i].type == 'i') {
        v[i].i = sqlite3_column_int64(st, i);
      } else if (v[i].type == 't') {
        v[i].t = (const char *)sqlite3_column_text(st, i);
      } else if (v[i].type == 'b') {
        v[i].b = sqlite3_column_blob(st, i);
        v[i].n = (size_t)sqlite3_column_bytes(st, i);
      }
    }
    rc = cb(arg, v, n, err);
  }
  if (rc == 0 && step != SQLITE_DONE)
    rc = db_fail(s, err, "reading rows");
  sqlite3_finalize(st);
  return rc;
}

int sqlite_raw_insert(struct byoca_store *s, const char *table,
                      const char *cols, const struct store_val *v, int n,
                      struct byoca_err *err) {
  char sql[1024];
  size_t len = (size_t)snprintf(sql, sizeof(sql),
                                "INSERT INTO %s (%s) VALUES (", table, cols);
  for (int i = 0; i < n && len < sizeof(sql); i++)
    len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s?", i ? ", " : "");
  if (len + 2 >= sizeof(sql))
    return byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                         "store: insert too long");
  snprintf(sql + len, sizeof(sql) - len, ")");
  sqlite3_stmt *st = db_prep(s, err, sql, NULL);
  int rc = st == NULL ? SQLITE_ERROR : SQLITE_OK;
  for (int i = 0; rc == SQLITE_OK && i < n; i++) {
    if (v[i].type == 'i')
      rc = sqlite3_bind_int64(st, i + 1, v[i].i);
    else if (v[i].type == 't')
      rc = sqlite3_bind_text(st, i + 1, v[i].t, -1, SQLITE_TRANSIENT);
    else if (v[i].type == 'b')
      rc = sqlite3_bind_blob64(st, i + 1,
                               v[i].b != NULL ? (const void *)v[i].b : "",
                               v[i].n, SQLITE_TRANSIENT);
    else
      rc = sqlite3_bind_null(st, i + 1);
  }
  if (st != NULL && rc != SQLITE_OK) {
    sqlite3_finalize(st);
    return db_fail(s, err, "binding a row");
  }
  return st == NULL ? BYOCA_E_IO : db_run(s, st, err);
}

int sqlite_raw_ids_done(struct byoca_store *s, struct byoca_err *err) {
  (void)s;
  (void)err;
  return 0;
}
