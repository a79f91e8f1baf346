/* The SQLite backend of lib/store: statement helpers over the store's
 * connection (s->db), transactions, the schema, and the sqlite_<op>
 * functions the ops table (store_ops.h) points at. */
#ifndef BYOCA_STORE_SQLITE_INT_H
#define BYOCA_STORE_SQLITE_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "store_int.h"

#define SQLITE_OP_PROTO(name, params, args) int sqlite_##name params;
STORE_OPS(SQLITE_OP_PROTO)
#undef SQLITE_OP_PROTO

/* Prepares sql and binds arguments described by fmt, one letter each:
 * 'i' int64_t, 't' const char * (NULL binds NULL), 'b' const void * then
 * size_t. NULL with err set on failure. */
sqlite3_stmt *db_prep(struct byoca_store *s, struct byoca_err *err,
                      const char *sql, const char *fmt, ...);
/* Steps a prepared statement to completion and finalizes it. */
int db_run(struct byoca_store *s, sqlite3_stmt *st, struct byoca_err *err);
/* 1 if sql selects a row, 0 if none, a BYOCA_E_* code (< 0) on failure:
 * a read, for a claim to look before it takes the write lock. */
int db_any(struct byoca_store *s, struct byoca_err *err, const char *sql,
           const char *fmt, ...);
/* Runs sql (prepared once) for each of the n ids at ids, stride bytes
 * apart: the arguments of fmt bind its first parameters, the id its last.
 * Stops at the first failure. */
int db_exec_ids(struct byoca_store *s, struct byoca_err *err, const char *sql,
                const int64_t *ids, size_t stride, size_t n, const char *fmt,
                ...);
/* db_prep + db_run. */
int db_exec(struct byoca_store *s, struct byoca_err *err, const char *sql,
            const char *fmt, ...);
/* Sets err from the connection's last error, naming what we were doing. */
int db_fail(struct byoca_store *s, struct byoca_err *err, const char *what);
/* Transactions: BEGIN IMMEDIATE / COMMIT / ROLLBACK. */
int db_begin(struct byoca_store *s, struct byoca_err *err);
int db_commit(struct byoca_store *s, struct byoca_err *err);
void db_rollback(struct byoca_store *s);
/* Copies a text column into out (NUL-terminated, truncated). */
void db_col_str(sqlite3_stmt *st, int col, char *out, size_t outlen);
/* A text column as a malloc'd string ("" for NULL); NULL on oom. */
char *db_col_dup(sqlite3_stmt *st, int col);
/* Changes made by the last statement. */
int db_changes(struct byoca_store *s);
/* rc unchanged, unless the last statement broke a foreign key to tenants:
 * then BYOCA_E_NOTFOUND "no tenant N". */
int db_no_tenant(struct byoca_store *s, int rc, int64_t tenant,
                 struct byoca_err *err);
/* Copies the WAL into the database without waiting for readers; with
 * truncate also empties the WAL when no reader holds it (so destroyed rows
 * leave no old page images behind). */
void db_checkpoint(struct byoca_store *s, int truncate);
/* The tenant owning certificate cert_id; BYOCA_E_NOTFOUND when none. */
int db_cert_tenant(struct byoca_store *s, int64_t cert_id, int64_t *tenant,
                   struct byoca_err *err);
/* Reads a sealed blob column and opens it; out->data NULL if the column is
 * NULL. */
int sec_open_col(struct byoca_store *s, sqlite3_stmt *st, int col,
                 int64_t tenant, const char *aad, struct byoca_secret *out,
                 struct byoca_err *err);

/* The raw-row operations of store_ops (raw.c). */
int sqlite_raw_begin(struct byoca_store *s, int write, struct byoca_err *err);
int sqlite_raw_rows(struct byoca_store *s, const char *sql, const char *types,
                    store_row_cb cb, void *arg, struct byoca_err *err);
int sqlite_raw_insert(struct byoca_store *s, const char *table,
                      const char *cols, const struct store_val *v, int n,
                      struct byoca_err *err);
int sqlite_raw_ids_done(struct byoca_store *s, struct byoca_err *err);

/* Creates or migrates the schema. */
int db_migrate(struct byoca_store *s, struct byoca_err *err);

/* The queries sqlite_cert_claim_due runs (bound: now[, now], max), shared
 * with the test that checks their query plans. */
extern const char store_sql_claim_deleting[];
extern const char store_sql_claim_due[];

/* Appends ev inside the caller's transaction, and its notification to
 * the outbox when ev->notify_url is set (outbox.c). */
int sqlite_event_put(struct byoca_store *s, const struct byoca_event *ev,
                     struct byoca_err *err);

#endif
