/* Internals of lib/store: the SQLite handle, statement helpers, schema
 * migrations and the sealing of secrets under tenant data keys. */
#ifndef BYOCA_STORE_INT_H
#define BYOCA_STORE_INT_H

#include <sqlite3.h>
#include <stddef.h>
#include <stdint.h>

#include "byoca/crypto.h"
#include "byoca/store.h"

struct byoca_store {
  sqlite3 *db;
  unsigned char master[BYOCA_MASTER_KEY_LEN];
  int version;
  int last_rc; /* extended result code of the last db_run */
};

/* Prepares sql and binds arguments described by fmt, one letter each:
 * 'i' int64_t, 't' const char * (NULL binds NULL), 'b' const void * then
 * size_t. NULL with err set on failure. */
sqlite3_stmt *db_prep(struct byoca_store *s, struct byoca_err *err,
                      const char *sql, const char *fmt, ...);
/* Steps a prepared statement to completion and finalizes it. */
int db_run(struct byoca_store *s, sqlite3_stmt *st, struct byoca_err *err);
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
/* Makes room for element n in *arr (capacity *cap, elements of size),
 * doubling from first; 0, or -1 when out of memory (*arr untouched). */
int db_grow(void **arr, size_t *cap, size_t n, size_t size, size_t first);

/* Creates or migrates the schema. */
int db_migrate(struct byoca_store *s, struct byoca_err *err);
/* The newest schema version this code knows. */
int store_schema_latest(void);

/* The queries byoca_store_cert_claim_due runs (bound: now[, now], max),
 * shared with the test that checks their query plans. */
extern const char store_sql_claim_deleting[];
extern const char store_sql_claim_due[];

/* Seals plain for tenant under its data key, bound to aad. */
int sec_seal(struct byoca_store *s, int64_t tenant, const char *aad,
             const void *plain, size_t len, unsigned char **box, size_t *boxlen,
             struct byoca_err *err);
/* Opens a box sealed by sec_seal. */
int sec_open(struct byoca_store *s, int64_t tenant, const char *aad,
             const void *box, size_t boxlen, struct byoca_secret *out,
             struct byoca_err *err);
/* A fresh data key for tenant id, wrapped by the master key. */
int sec_new_data_key(struct byoca_store *s, int64_t tenant,
                     unsigned char **wrapped, size_t *len,
                     struct byoca_err *err);
/* Reads a sealed blob column and opens it; out->data NULL if the column is
 * NULL. */
int sec_open_col(struct byoca_store *s, sqlite3_stmt *st, int col,
                 int64_t tenant, const char *aad, struct byoca_secret *out,
                 struct byoca_err *err);

#endif
