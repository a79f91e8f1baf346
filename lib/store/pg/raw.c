/* PostgreSQL: whole rows in and out, for copying a store (copy.c). Rows
 * are streamed (single-row mode), so a large table is never held in
 * memory at once; values still travel only as parameters. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

#define MAX_COLS 32

int pq_raw_begin(struct byoca_store *s, int write, struct byoca_err *err) {
  int rc = pq_exec(s, err,
                   write ? "BEGIN"
                         : "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY",
                   NULL);
  s->pg_in_txn = rc == 0;
  return rc;
}

/* Hands one row of r to cb; bytea values are decoded for the call. */
static int one_row(const PGresult *r, const char *types, store_row_cb cb,
                   void *arg, struct byoca_err *err) {
  struct store_val v[MAX_COLS];
  unsigned char *blobs[MAX_COLS] = {0};
  int n = PQnfields(r), rc = 0;
  if (n > MAX_COLS || (size_t)n != strlen(types))
    return byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                         "store: %d columns, %zu types", n, strlen(types));
  for (int i = 0; rc == 0 && i < n; i++) {
    memset(&v[i], 0, sizeof(v[i]));
    v[i].type = PQgetisnull(r, 0, i) ? 'n' : types[i];
    if (v[i].type == 'i')
      v[i].i = pq_int(r, 0, i);
    else if (v[i].type == 't')
      v[i].t = PQgetvalue(r, 0, i);
    else if (v[i].type == 'b' && pq_blob(r, 0, i, &blobs[i], &v[i].n) < 0)
      rc = pq_oom(err, "reading a row");
    v[i].b = blobs[i];
  }
  if (rc == 0)
    rc = cb(arg, v, n, err);
  for (int i = 0; i < n; i++)
    free(blobs[i]);
  return rc;
}

int pq_raw_rows(struct byoca_store *s, const char *sql, const char *types,
                store_row_cb cb, void *arg, struct byoca_err *err) {
  if (!PQsendQuery(s->pg, sql) || !PQsetSingleRowMode(s->pg))
    return pq_fail(s, err, "reading rows", NULL);
  int rc = 0;
  PGresult *r;
  while ((r = PQgetResult(s->pg)) != NULL) {
    ExecStatusType st = PQresultStatus(r);
    if (rc == 0 && st == PGRES_SINGLE_TUPLE)
      rc = one_row(r, types, cb, arg, err);
    else if (rc == 0 && st != PGRES_TUPLES_OK)
      rc = pq_fail(s, err, "reading rows", r);
    PQclear(r); /* after a failure: drain the rest */
  }
  return rc;
}

int pq_raw_insert(struct byoca_store *s, const char *table, const char *cols,
                  const struct store_val *v, int n, struct byoca_err *err) {
  char sql[1024], ints[MAX_COLS][24];
  const char *vals[MAX_COLS];
  int lens[MAX_COLS], fmts[MAX_COLS];
  size_t len = (size_t)snprintf(sql, sizeof(sql),
                                "INSERT INTO %s (%s) VALUES (", table, cols);
  if (n > MAX_COLS)
    return byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                         "store: too many columns");
  for (int i = 0; i < n && len < sizeof(sql); i++) {
    len += (size_t)snprintf(sql + len, sizeof(sql) - len, "%s$%d",
                            i ? ", " : "", i + 1);
    lens[i] = 0;
    fmts[i] = 0;
    vals[i] = NULL;
    if (v[i].type == 'i') {
      snprintf(ints[i], sizeof(ints[i]), "%lld", (long long)v[i].i);
      vals[i] = ints[i];
    } else if (v[i].type == 't') {
      vals[i] = v[i].t;
    } else if (v[i].type == 'b') {
      vals[i] = v[i].b != NULL ? (const char *)v[i].b : "";
      lens[i] = (int)v[i].n;
      fmts[i] = 1;
    }
  }
  if (len + 2 >= sizeof(sql))
    return byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                         "store: insert too long");
  snprintf(sql + len, sizeof(sql) - len, ")");
  PGresult *r = pq_query_arr(s, err, sql, n, vals, lens, fmts);
  PQclear(r);
  return r != NULL ? 0 : BYOCA_E_IO;
}

int pq_raw_ids_done(struct byoca_store *s, struct byoca_err *err) {
  static const char *const serial[] = {"tenants",      "api_tokens", "accounts",
                                       "certificates", "events",     "outbox"};
  char sql[256];
  int rc = 0;
  for (size_t i = 0; rc == 0 && i < sizeof(serial) / sizeof(serial[0]); i++) {
    snprintf(sql, sizeof(sql),
             "SELECT setval(pg_get_serial_sequence('%s', 'id'),"
             " coalesce(max(id), 0) + 1, false) FROM %s",
             serial[i], serial[i]);
    rc = pq_exec(s, err, sql, NULL);
  }
  return rc;
}
