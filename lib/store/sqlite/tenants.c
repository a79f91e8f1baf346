/* Tenants: creation with a fresh data key, lookup, and destruction by
 * deleting the data key with every row of the tenant (crypto-shredding);
 * events stay, they hold no secrets. */
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

static void read_tenant(sqlite3_stmt *st, struct byoca_tenant *t) {
  memset(t, 0, sizeof(*t));
  t->id = sqlite3_column_int64(st, 0);
  db_col_str(st, 1, t->name, sizeof(t->name));
  t->created = sqlite3_column_int64(st, 2);
  t->deleting = sqlite3_column_int(st, 3);
  db_col_str(st, 4, t->profile, sizeof(t->profile));
  t->profile_required = sqlite3_column_int(st, 5);
}

#define TENANT_COLS "id, name, created, deleting, profile, profile_required"

static int insert_tenant(struct byoca_store *s, const char *name, int64_t now,
                         int64_t *id, struct byoca_err *err) {
  unsigned char *wrapped = NULL;
  size_t wlen = 0;
  /* the id is needed for the wrapping AAD: insert, then set the key */
  int rc = db_exec(s, err,
                   "INSERT INTO tenants (name, created, data_key)"
                   " VALUES (?, ?, x'')",
                   "ti", name, now);
  if (rc != 0) {
    if (s->last_rc == SQLITE_CONSTRAINT_UNIQUE)
      return byoca_err_set(err, BYOCA_E_CONFLICT, BYOCA_CLASS_INPUT,
                           "a tenant named \"%s\" exists already", name);
    return rc;
  }
  *id = sqlite3_last_insert_rowid(s->db);
  rc = sec_new_data_key(s, *id, &wrapped, &wlen, err);
  if (rc == 0)
    rc = db_exec(s, err, "UPDATE tenants SET data_key = ? WHERE id = ?", "bi",
                 wrapped, wlen, *id);
  free(wrapped);
  return rc;
}

int sqlite_tenant_create(struct byoca_store *s, const char *name,
                         struct byoca_tenant *out, struct byoca_err *err) {
  if (!store_tenant_name_ok(name))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "tenant name: 1 to 64 of A-Z a-z 0-9 . _ -");
  int64_t id = 0, now = byoca_now();
  int rc = db_begin(s, err);
  if (rc != 0)
    return rc;
  if ((rc = insert_tenant(s, name, now, &id, err)) != 0) {
    db_rollback(s);
    return rc;
  }
  if ((rc = db_commit(s, err)) != 0)
    return rc;
  return sqlite_tenant_get(s, id, out, err);
}

int sqlite_tenant_get(struct byoca_store *s, int64_t id,
                      struct byoca_tenant *out, struct byoca_err *err) {
  sqlite3_stmt *st = db_prep(
      s, err, "SELECT " TENANT_COLS " FROM tenants WHERE id = ?", "i", id);
  if (st == NULL)
    return BYOCA_E_IO;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    read_tenant(st, out);
  sqlite3_finalize(st);
  if (rc == SQLITE_ROW)
    return 0;
  if (rc == SQLITE_DONE)
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no tenant %lld", (long long)id);
  return db_fail(s, err, "reading a tenant");
}

int sqlite_tenant_list(struct byoca_store *s, struct byoca_tenant **out,
                       size_t *n, struct byoca_err *err) {
  sqlite3_stmt *st =
      db_prep(s, err, "SELECT " TENANT_COLS " FROM tenants ORDER BY id", NULL);
  size_t cap = 0;
  *out = NULL;
  *n = 0;
  if (st == NULL)
    return BYOCA_E_IO;
  int rc;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (db_grow((void **)out, &cap, *n, sizeof(**out), 16) != 0) {
      sqlite3_finalize(st);
      return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
    }
    read_tenant(st, &(*out)[(*n)++]);
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : db_fail(s, err, "listing tenants");
}

int sqlite_tenant_set_profile(struct byoca_store *s, int64_t id,
                              const char *profile, int required,
                              struct byoca_err *err) {
  int has = profile != NULL && *profile != '\0';
  int rc = db_exec(s, err,
                   "UPDATE tenants SET profile = ?, profile_required = ?"
                   " WHERE id = ?",
                   "tii", has ? profile : "", (int64_t)(has && required), id);
  if (rc == 0 && db_changes(s) == 0)
    rc = byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                       "no tenant %lld", (long long)id);
  return rc;
}

int sqlite_tenant_set_deleting(struct byoca_store *s, int64_t id,
                               struct byoca_err *err) {
  int rc = db_begin(s, err);
  if (rc != 0)
    return rc;
  rc = db_exec(s, err, "UPDATE tenants SET deleting = 1 WHERE id = ?", "i", id);
  if (rc == 0 && db_changes(s) == 0)
    rc = byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                       "no tenant %lld", (long long)id);
  if (rc == 0)
    rc = db_exec(s, err,
                 "UPDATE certificates SET state = 3, next_check = 0,"
                 " updated = ? WHERE tenant_id = ? AND state != 3",
                 "ii", byoca_now(), id);
  if (rc != 0) {
    db_rollback(s);
    return rc;
  }
  return db_commit(s, err);
}

int sqlite_tenant_destroy(struct byoca_store *s, int64_t id,
                          struct byoca_err *err) {
  int rc = db_begin(s, err);
  if (rc != 0)
    return rc;
  /* challenge tokens have no foreign key: remove them first */
  rc = db_exec(s, err,
               "DELETE FROM challenge_tokens WHERE cert_id IN"
               " (SELECT id FROM certificates WHERE tenant_id = ?)",
               "i", id);
  if (rc == 0)
    rc = db_exec(s, err, "DELETE FROM tenants WHERE id = ?", "i", id);
  if (rc == 0 && db_changes(s) == 0)
    rc = byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                       "no tenant %lld", (long long)id);
  if (rc != 0) {
    db_rollback(s);
    return rc;
  }
  if ((rc = db_commit(s, err)) == 0)
    db_checkpoint(s, 1);
  return rc;
}
