/* The SQLite backend: opening with the pragmas DESIGN.md asks for,
 * statement helpers, transactions, and its ops table. */
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "sqlite_int.h"

int db_fail(struct byoca_store *s, struct byoca_err *err, const char *what) {
  int code = sqlite3_extended_errcode(s->db);
  /* a full disk (SQLITE_FULL) is told apart: the API says so */
  int rc = byoca_err_set(
      err, (code & 0xff) == SQLITE_FULL ? BYOCA_E_NOSPACE : BYOCA_E_IO,
      BYOCA_CLASS_RETRYABLE, "store: %s: %s", what, sqlite3_errmsg(s->db));
  byoca_err_native(err, BYOCA_ORIGIN_SQLITE, code);
  return rc;
}

static int bind_args(sqlite3_stmt *st, const char *fmt, va_list ap) {
  int rc = SQLITE_OK;
  for (int i = 1; fmt != NULL && *fmt != '\0' && rc == SQLITE_OK; fmt++, i++) {
    if (*fmt == 'i') {
      rc = sqlite3_bind_int64(st, i, va_arg(ap, int64_t));
    } else if (*fmt == 't') {
      const char *t = va_arg(ap, const char *);
      rc = t == NULL ? sqlite3_bind_null(st, i)
                     : sqlite3_bind_text(st, i, t, -1, SQLITE_TRANSIENT);
    } else if (*fmt == 'b') {
      const void *b = va_arg(ap, const void *);
      size_t n = va_arg(ap, size_t);
      rc = b == NULL ? sqlite3_bind_null(st, i)
                     : sqlite3_bind_blob64(st, i, b, n, SQLITE_TRANSIENT);
    } else {
      rc = SQLITE_MISUSE;
    }
  }
  return rc;
}

static sqlite3_stmt *prep_v(struct byoca_store *s, struct byoca_err *err,
                            const char *sql, const char *fmt, va_list ap) {
  sqlite3_stmt *st = NULL;
  if (sqlite3_prepare_v2(s->db, sql, -1, &st, NULL) != SQLITE_OK) {
    db_fail(s, err, "preparing a query");
    return NULL;
  }
  if (bind_args(st, fmt, ap) != SQLITE_OK) {
    db_fail(s, err, "binding a query");
    sqlite3_finalize(st);
    return NULL;
  }
  return st;
}

sqlite3_stmt *db_prep(struct byoca_store *s, struct byoca_err *err,
                      const char *sql, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sqlite3_stmt *st = prep_v(s, err, sql, fmt, ap);
  va_end(ap);
  return st;
}

/* What a statement that could not be prepared returns. */
static int prep_failed(const struct byoca_err *err) {
  return err != NULL && err->code != 0 ? err->code : BYOCA_E_IO;
}

/* Ends a write whose last step returned rc: notes it, finalizes st. */
static int write_done(struct byoca_store *s, sqlite3_stmt *st, int rc,
                      struct byoca_err *err) {
  s->last_rc = rc == SQLITE_DONE ? SQLITE_OK : sqlite3_extended_errcode(s->db);
  int code = rc != SQLITE_DONE ? db_fail(s, err, "writing") : 0;
  sqlite3_finalize(st);
  return code;
}

int db_run(struct byoca_store *s, sqlite3_stmt *st, struct byoca_err *err) {
  int rc;
  if (st == NULL)
    return prep_failed(err);
  while ((rc = sqlite3_step(st)) == SQLITE_ROW)
    ;
  return write_done(s, st, rc, err);
}

int db_any(struct byoca_store *s, struct byoca_err *err, const char *sql,
           const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sqlite3_stmt *st = prep_v(s, err, sql, fmt, ap);
  va_end(ap);
  if (st == NULL)
    return prep_failed(err);
  int rc = sqlite3_step(st);
  sqlite3_finalize(st);
  if (rc == SQLITE_ROW)
    return 1;
  return rc == SQLITE_DONE ? 0 : db_fail(s, err, "looking for due work");
}

int db_exec(struct byoca_store *s, struct byoca_err *err, const char *sql,
            const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  sqlite3_stmt *st = prep_v(s, err, sql, fmt, ap);
  va_end(ap);
  return db_run(s, st, err);
}

int db_exec_ids(struct byoca_store *s, struct byoca_err *err, const char *sql,
                const int64_t *ids, size_t stride, size_t n, const char *fmt,
                ...) {
  if (n == 0)
    return 0;
  va_list ap;
  va_start(ap, fmt);
  sqlite3_stmt *st = prep_v(s, err, sql, fmt, ap);
  va_end(ap);
  if (st == NULL)
    return prep_failed(err);
  int last = sqlite3_bind_parameter_count(st), rc = SQLITE_DONE;
  for (size_t i = 0; i < n && rc == SQLITE_DONE; i++) {
    int64_t id;
    memcpy(&id, (const char *)ids + i * stride, sizeof(id));
    rc = sqlite3_bind_int64(st, last, id);
    if (rc == SQLITE_OK)
      while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        ;
    sqlite3_reset(st);
  }
  return write_done(s, st, rc, err);
}

int db_begin(struct byoca_store *s, struct byoca_err *err) {
  return db_exec(s, err, "BEGIN IMMEDIATE", NULL);
}

int db_commit(struct byoca_store *s, struct byoca_err *err) {
  int rc = db_exec(s, err, "COMMIT", NULL);
  if (rc != 0)
    db_rollback(s);
  return rc;
}

void db_rollback(struct byoca_store *s) {
  if (!sqlite3_get_autocommit(s->db))
    sqlite3_exec(s->db, "ROLLBACK", NULL, NULL, NULL);
}

void db_col_str(sqlite3_stmt *st, int col, char *out, size_t outlen) {
  const unsigned char *t = sqlite3_column_text(st, col);
  byoca_strlcpy(out, t != NULL ? (const char *)t : "", outlen);
}

char *db_col_dup(sqlite3_stmt *st, int col) {
  const unsigned char *t = sqlite3_column_text(st, col);
  return strdup(t != NULL ? (const char *)t : "");
}

int db_changes(struct byoca_store *s) {
  return sqlite3_changes(s->db);
}

int db_no_tenant(struct byoca_store *s, int rc, int64_t tenant,
                 struct byoca_err *err) {
  if (rc == 0 || s->last_rc != SQLITE_CONSTRAINT_FOREIGNKEY)
    return rc;
  return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                       "no tenant %lld", (long long)tenant);
}

int db_cert_tenant(struct byoca_store *s, int64_t cert_id, int64_t *tenant,
                   struct byoca_err *err) {
  sqlite3_stmt *st = db_prep(
      s, err, "SELECT tenant_id FROM certificates WHERE id = ?", "i", cert_id);
  if (st == NULL)
    return BYOCA_E_IO;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    *tenant = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return rc == SQLITE_ROW
             ? 0
             : byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                             "no certificate %lld", (long long)cert_id);
}

void db_checkpoint(struct byoca_store *s, int truncate) {
  /* never wait for readers (the loop must not stall): a checkpoint that
     meets a reader does what it can now and the rest happens later */
  sqlite3_busy_timeout(s->db, 0);
  sqlite3_exec(s->db,
               truncate ? "PRAGMA wal_checkpoint(TRUNCATE)"
                        : "PRAGMA wal_checkpoint(PASSIVE)",
               NULL, NULL, NULL);
  sqlite3_busy_timeout(s->db, 5000);
}

/* ---- opening ---- */

static const char *const pragmas = "PRAGMA busy_timeout=5000;"
                                   "PRAGMA journal_mode=WAL;"
                                   "PRAGMA foreign_keys=ON;"
                                   "PRAGMA secure_delete=ON;"
                                   "PRAGMA synchronous=FULL;";

static const char *store_path(const char *url) {
  return strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
}

/* 1 if the connection really is in WAL mode (a rollback journal would
 * leave old page images, sealed keys included, in a deleted file). */
static int is_wal(sqlite3 *db) {
  sqlite3_stmt *st = NULL;
  int wal = 0;
  if (sqlite3_prepare_v2(db, "PRAGMA journal_mode", -1, &st, NULL) ==
          SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    const unsigned char *m = sqlite3_column_text(st, 0);
    wal = m != NULL && strcmp((const char *)m, "wal") == 0;
  }
  sqlite3_finalize(st);
  return wal;
}

/* Opens the file (0600, and so its -wal and -shm, which SQLite creates
 * with the database's mode) and sets the pragmas. */
static int open_db(struct byoca_store *s, const char *path,
                   struct byoca_err *err) {
  mode_t old = umask(077);
  int rc = sqlite3_open_v2(
      path, &s->db,
      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
  /* Several processes opening a new store at once: the switch to WAL
   * needs the file to itself, and a switch that cannot happen now leaves
   * the old mode without an error (SQLite's journal_mode pragma), or
   * fails busy. Tried again for up to 5 s before it counts as the file
   * system's answer. */
  for (int tries = 0; rc == SQLITE_OK; tries++) {
    rc = sqlite3_exec(s->db, pragmas, NULL, NULL, NULL);
    int busy = rc == SQLITE_BUSY || rc == SQLITE_LOCKED ||
               (rc == SQLITE_OK && !is_wal(s->db));
    if (!busy || tries >= 50)
      break;
    rc = SQLITE_OK;
    sqlite3_sleep(100);
  }
  umask(old);
  if (rc != SQLITE_OK) {
    byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_INPUT,
                  "cannot open store %.300s: %s", path,
                  s->db != NULL ? sqlite3_errmsg(s->db) : "out of memory");
    byoca_err_native(err, BYOCA_ORIGIN_SQLITE,
                     s->db != NULL ? sqlite3_extended_errcode(s->db) : rc);
    return BYOCA_E_IO;
  }
  if (!is_wal(s->db))
    return byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_INPUT,
                         "store %.300s: the file system does not support"
                         " SQLite's WAL mode, which the store requires",
                         path);
  return 0;
}

static int sqlite_open(struct byoca_store *s, const char *url,
                       struct byoca_err *err) {
  int rc = open_db(s, store_path(url), err);
  return rc != 0 ? rc : db_migrate(s, err);
}

static void sqlite_close(struct byoca_store *s) {
  sqlite3_close(s->db);
  s->db = NULL;
}

static int sqlite_data_key(struct byoca_store *s, int64_t tenant,
                           unsigned char **wrapped, size_t *len,
                           struct byoca_err *err) {
  sqlite3_stmt *st =
      db_prep(s, err, "SELECT data_key FROM tenants WHERE id = ?", "i", tenant);
  if (st == NULL)
    return BYOCA_E_IO;
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? BYOCA_E_NOTFOUND
                             : db_fail(s, err, "reading a data key");
  }
  *len = (size_t)sqlite3_column_bytes(st, 0);
  *wrapped = malloc(*len + 1);
  if (*wrapped != NULL && *len > 0)
    memcpy(*wrapped, sqlite3_column_blob(st, 0), *len);
  sqlite3_finalize(st);
  return *wrapped != NULL
             ? 0
             : byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
}

int sec_open_col(struct byoca_store *s, sqlite3_stmt *st, int col,
                 int64_t tenant, const char *aad, struct byoca_secret *out,
                 struct byoca_err *err) {
  out->data = NULL;
  out->len = 0;
  if (sqlite3_column_type(st, col) == SQLITE_NULL)
    return 0;
  return sec_open(s, tenant, aad, sqlite3_column_blob(st, col),
                  (size_t)sqlite3_column_bytes(st, col), out, err);
}

#define SQLITE_OP_ENTRY(name, params, args) .name = sqlite_##name,
const struct store_ops store_sqlite_ops = {.name = "sqlite",
                                           .open = sqlite_open,
                                           .close = sqlite_close,
                                           .data_key = sqlite_data_key,
                                           .begin = sqlite_raw_begin,
                                           .commit = db_commit,
                                           .rollback = db_rollback,
                                           .rows = sqlite_raw_rows,
                                           .insert = sqlite_raw_insert,
                                           .ids_done = sqlite_raw_ids_done,
                                           STORE_OPS(SQLITE_OP_ENTRY)};
#undef SQLITE_OP_ENTRY
