/* The PostgreSQL backend of lib/store: parameterised statements over the
 * store's libpq connection (s->pg), transactions, the schema, and the
 * pg_<op> functions the ops table (store_ops.h) points at. Values only
 * ever travel as parameters ($1, $2, ...), never inside SQL text. */
#ifndef BYOCA_STORE_PG_INT_H
#define BYOCA_STORE_PG_INT_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "store_int.h"

#define PG_OP_PROTO(name, params, args) int pg_##name params;
STORE_OPS(PG_OP_PROTO)
#undef PG_OP_PROTO

/* SQLSTATEs the store tells apart. */
#define PQ_UNIQUE "23505"
#define PQ_FOREIGN_KEY "23503"

/* Runs sql with parameters described by fmt, one letter each: 'i'
 * int64_t, 't' const char * (NULL is SQL NULL), 'b' const void * then
 * size_t (bytea, sent in binary). Results come back as text. The result
 * (caller PQclear()s it), or NULL with err and s->sqlstate set. Sets
 * s->pg_changes. Reconnects first when the connection was lost outside a
 * transaction. */
PGresult *pq_query(struct byoca_store *s, struct byoca_err *err,
                   const char *sql, const char *fmt, ...);
/* pq_query with the parameters as libpq's arrays (formats 1 = binary). */
PGresult *pq_query_arr(struct byoca_store *s, struct byoca_err *err,
                       const char *sql, int n, const char *const *vals,
                       const int *lens, const int *fmts);
/* Sets err (and s->sqlstate) from res, or from the connection when res
 * has no message, naming what we were doing: the primary message only,
 * never DETAIL, which may quote values. BYOCA_E_IO. */
int pq_fail(struct byoca_store *s, struct byoca_err *err, const char *what,
            const PGresult *res);
/* pq_query for statements whose rows are not needed: 0 or BYOCA_E_IO. */
int pq_exec(struct byoca_store *s, struct byoca_err *err, const char *sql,
            const char *fmt, ...);
/* Transactions (READ COMMITTED): BEGIN / COMMIT / ROLLBACK. */
int pq_begin(struct byoca_store *s, struct byoca_err *err);
int pq_commit(struct byoca_store *s, struct byoca_err *err);
void pq_rollback(struct byoca_store *s);
/* 1 if the last failed statement had SQLSTATE state. */
int pq_state_is(const struct byoca_store *s, const char *state);
/* rc unchanged, unless the last statement broke a foreign key: then
 * BYOCA_E_NOTFOUND "no tenant N". */
int pq_no_tenant(struct byoca_store *s, int rc, int64_t tenant,
                 struct byoca_err *err);
/* The tenant owning certificate cert_id; BYOCA_E_NOTFOUND when none. */
int pq_cert_tenant(struct byoca_store *s, int64_t cert_id, int64_t *tenant,
                   struct byoca_err *err);

/* Column readers (text results): an integer (0 for NULL), a string copied
 * into out (truncated), a malloc'd copy ("" for NULL; NULL on oom). */
int64_t pq_int(const PGresult *r, int row, int col);
void pq_str(const PGresult *r, int row, int col, char *out, size_t outlen);
char *pq_dup(const PGresult *r, int row, int col);
/* A bytea column decoded into a malloc'd buffer: 0, 1 when the column is
 * NULL (*out NULL), -1 when out of memory. */
int pq_blob(const PGresult *r, int row, int col, unsigned char **out,
            size_t *len);
/* Decodes a sealed bytea column and opens it; out->data NULL if NULL. */
int pq_open_col(struct byoca_store *s, const PGresult *r, int row, int col,
                int64_t tenant, const char *aad, struct byoca_secret *out,
                struct byoca_err *err);
/* "{1,2,3}": ids as one bigint[] parameter (malloc'd; NULL on oom). */
char *pq_id_array(const int64_t *ids, size_t n);
/* err for "out of memory while <what>". */
int pq_oom(struct byoca_err *err, const char *what);

/* The raw-row operations of store_ops (raw.c). */
int pq_raw_begin(struct byoca_store *s, int write, struct byoca_err *err);
int pq_raw_rows(struct byoca_store *s, const char *sql, const char *types,
                store_row_cb cb, void *arg, struct byoca_err *err);
int pq_raw_insert(struct byoca_store *s, const char *table, const char *cols,
                  const struct store_val *v, int n, struct byoca_err *err);
int pq_raw_ids_done(struct byoca_store *s, struct byoca_err *err);

/* Creates or migrates the schema under an advisory lock. */
int pq_migrate(struct byoca_store *s, struct byoca_err *err);

/* Appends ev inside the caller's transaction, and its notification to
 * the outbox when ev->notify_url is set (outbox.c). */
int pg_event_put(struct byoca_store *s, const struct byoca_event *ev,
                 struct byoca_err *err);

#endif
