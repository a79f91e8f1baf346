/* API tokens: 256 random bits shown once as "byoca_<base64url>", stored
 * only as SHA-256, looked up by hash and confirmed in constant time.
 * Revoked tokens stay (marked with the time) so their ids keep naming
 * one token in the audit log. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

int sqlite_token_mint(struct byoca_store *s, int64_t tenant_id,
                      const char *label, char *token_out, size_t outlen,
                      int64_t *id_out, struct byoca_err *err) {
  unsigned char hash[32];
  if (store_token_new(token_out, outlen, hash, err) != 0)
    return err != NULL && err->code != 0 ? err->code : BYOCA_E_CRYPTO;
  /* the operator's tokens have no tenant (NULL) */
  int rc = db_exec(s, err,
                   "INSERT INTO api_tokens (tenant_id, hash, label, created)"
                   " VALUES (nullif(?, 0), ?, ?, ?)",
                   "ibti", tenant_id > 0 ? tenant_id : (int64_t)0, hash,
                   sizeof(hash), label != NULL ? label : "", byoca_now());
  rc = db_no_tenant(s, rc, tenant_id, err);
  if (rc != 0) {
    explicit_bzero(token_out, outlen);
    return rc;
  }
  if (id_out != NULL)
    *id_out = sqlite3_last_insert_rowid(s->db);
  return 0;
}

int sqlite_token_check(struct byoca_store *s, const char *token,
                       int64_t *tenant_out, struct byoca_err *err) {
  unsigned char hash[32];
  if (store_token_hash(token, hash) != 0)
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "unknown or revoked token");
  sqlite3_stmt *st =
      db_prep(s, err,
              "SELECT hash, coalesce(tenant_id, 0) FROM api_tokens"
              " WHERE hash = ? AND revoked = 0",
              "b", hash, sizeof(hash));
  if (st == NULL)
    return BYOCA_E_IO;
  int step = sqlite3_step(st);
  int found = step == SQLITE_ROW &&
              sqlite3_column_bytes(st, 0) == (int)sizeof(hash) &&
              byoca_ct_equal(sqlite3_column_blob(st, 0), hash, sizeof(hash));
  if (found)
    *tenant_out = sqlite3_column_int64(st, 1);
  sqlite3_finalize(st);
  if (step != SQLITE_ROW && step != SQLITE_DONE)
    return db_fail(s, err, "checking a token");
  return found ? 0
               : byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                               "unknown or revoked token");
}

int sqlite_token_revoke(struct byoca_store *s, int64_t tenant_id, int64_t id,
                        struct byoca_err *err) {
  int rc = db_exec(s, err,
                   "UPDATE api_tokens SET revoked = max(?, 1) WHERE id = ?"
                   " AND coalesce(tenant_id, 0) = ? AND revoked = 0",
                   "iii", byoca_now(), id, tenant_id);
  if (rc == 0 && db_changes(s) == 0)
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no token %lld", (long long)id);
  return rc;
}

int sqlite_operator_tokens(struct byoca_store *s, int64_t *n,
                           struct byoca_err *err) {
  sqlite3_stmt *st = db_prep(s, err,
                             "SELECT count(*) FROM api_tokens"
                             " WHERE tenant_id IS NULL AND revoked = 0",
                             NULL);
  if (st == NULL)
    return BYOCA_E_IO;
  int rc = sqlite3_step(st);
  *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? 0 : db_fail(s, err, "counting tokens");
}

int sqlite_token_list(struct byoca_store *s, int64_t tenant_id,
                      struct byoca_token_info **out, size_t *n,
                      struct byoca_err *err) {
  sqlite3_stmt *st = db_prep(s, err,
                             "SELECT id, label, created FROM api_tokens"
                             " WHERE coalesce(tenant_id, 0) = ?"
                             " AND revoked = 0 ORDER BY id",
                             "i", tenant_id);
  struct byoca_token_info *v = NULL;
  size_t cap = 0;
  int rc = SQLITE_ERROR;
  *n = 0;
  if (st == NULL)
    return BYOCA_E_IO;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? cap * 2 : 4;
      struct byoca_token_info *a = realloc(v, cap * sizeof(*v));
      if (a == NULL) {
        rc = SQLITE_NOMEM;
        break;
      }
      v = a;
    }
    struct byoca_token_info *t = &v[(*n)++];
    memset(t, 0, sizeof(*t));
    t->id = sqlite3_column_int64(st, 0);
    db_col_str(st, 1, t->label, sizeof(t->label));
    t->created = sqlite3_column_int64(st, 2);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    free(v);
    *n = 0;
    return rc == SQLITE_NOMEM
               ? byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                               "out of memory listing tokens")
               : db_fail(s, err, "listing tokens");
  }
  *out = v;
  return 0;
}
