/* In-flight orders (crash recovery) with the fresh key sealed, and the
 * http-01 challenge tokens every node can answer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

int sqlite_order_put(struct byoca_store *s, const struct byoca_order_row *row,
                     const struct byoca_secret *key_pem,
                     struct byoca_err *err) {
  char aad[96];
  unsigned char *box = NULL;
  size_t boxlen = 0;
  int64_t tenant = 0;
  int rc = db_cert_tenant(s, row->cert_id, &tenant, err);
  if (rc == 0 && key_pem != NULL && key_pem->data != NULL) {
    store_aad_order(tenant, row->cert_id, aad, sizeof(aad));
    rc = sec_seal(s, tenant, aad, key_pem->data, key_pem->len, &box, &boxlen,
                  err);
  }
  if (rc == 0)
    rc = db_exec(s, err,
                 "INSERT OR REPLACE INTO orders (cert_id, directory, issuer,"
                 " order_url, key, started) VALUES (?, ?, ?, ?, ?, ?)",
                 "itttbi", row->cert_id, row->directory, row->issuer,
                 row->order_url, box, boxlen,
                 row->started ? row->started : byoca_now());
  free(box);
  return rc;
}

int sqlite_order_get(struct byoca_store *s, int64_t cert_id,
                     struct byoca_order_row *out, struct byoca_secret *key_pem,
                     struct byoca_err *err) {
  char aad[96];
  sqlite3_stmt *st = db_prep(s, err,
                             "SELECT o.directory, o.issuer, o.order_url,"
                             " o.started, o.key, c.tenant_id FROM orders o"
                             " JOIN certificates c ON c.id = o.cert_id"
                             " WHERE o.cert_id = ?",
                             "i", cert_id);
  if (st == NULL)
    return BYOCA_E_IO;
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(st);
    return rc == SQLITE_DONE
               ? byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                               "no order in flight for %lld",
                               (long long)cert_id)
               : db_fail(s, err, "reading an order");
  }
  memset(out, 0, sizeof(*out));
  out->cert_id = cert_id;
  db_col_str(st, 0, out->directory, sizeof(out->directory));
  db_col_str(st, 1, out->issuer, sizeof(out->issuer));
  db_col_str(st, 2, out->order_url, sizeof(out->order_url));
  out->started = sqlite3_column_int64(st, 3);
  rc = 0;
  if (key_pem != NULL) {
    int64_t tenant = sqlite3_column_int64(st, 5);
    store_aad_order(tenant, cert_id, aad, sizeof(aad));
    rc = sec_open_col(s, st, 4, tenant, aad, key_pem, err);
  }
  sqlite3_finalize(st);
  return rc;
}

int sqlite_order_delete(struct byoca_store *s, int64_t cert_id,
                        struct byoca_err *err) {
  return db_exec(s, err, "DELETE FROM orders WHERE cert_id = ?", "i", cert_id);
}

int sqlite_order_count(struct byoca_store *s, int64_t *n,
                       struct byoca_err *err) {
  sqlite3_stmt *st = db_prep(s, err, "SELECT count(*) FROM orders", NULL);
  if (st == NULL)
    return BYOCA_E_IO;
  int rc = sqlite3_step(st);
  *n = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? 0 : db_fail(s, err, "counting orders");
}

/* ---- challenge tokens ---- */

int sqlite_challenge_put(struct byoca_store *s, const char *token,
                         const char *key_authz, int64_t cert_id,
                         int64_t expires, struct byoca_err *err) {
  int rc = db_exec(s, err,
                   "INSERT INTO challenge_tokens (token, key_authz, cert_id,"
                   " expires) VALUES (?, ?, ?, ?)"
                   " ON CONFLICT (token) DO UPDATE SET"
                   " key_authz = excluded.key_authz,"
                   " cert_id = excluded.cert_id, expires = excluded.expires"
                   " WHERE challenge_tokens.cert_id = excluded.cert_id"
                   " OR challenge_tokens.expires <= ?",
                   "ttiii", token, key_authz, cert_id, expires, byoca_now());
  if (rc == 0 && db_changes(s) == 0)
    return store_challenge_taken(s, token, err);
  return rc;
}

int sqlite_challenge_owner(struct byoca_store *s, const char *token,
                           int64_t now, int64_t *cert_id,
                           struct byoca_err *err) {
  sqlite3_stmt *st = db_prep(s, err,
                             "SELECT cert_id FROM challenge_tokens"
                             " WHERE token = ? AND expires > ?",
                             "ti", token, now);
  if (st == NULL)
    return BYOCA_E_IO;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    *cert_id = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  if (rc == SQLITE_ROW)
    return 0;
  return rc == SQLITE_DONE
             ? byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                             "no such challenge")
             : db_fail(s, err, "reading a challenge");
}

int sqlite_challenge_get(struct byoca_store *s, const char *token, int64_t now,
                         char *out, size_t outlen, struct byoca_err *err) {
  sqlite3_stmt *st = db_prep(s, err,
                             "SELECT key_authz FROM challenge_tokens"
                             " WHERE token = ? AND expires > ?",
                             "ti", token, now);
  if (st == NULL)
    return BYOCA_E_IO;
  int rc = sqlite3_step(st);
  if (rc == SQLITE_ROW)
    db_col_str(st, 0, out, outlen);
  sqlite3_finalize(st);
  if (rc == SQLITE_ROW)
    return 0;
  return rc == SQLITE_DONE
             ? byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                             "no such challenge")
             : db_fail(s, err, "reading a challenge");
}

int sqlite_challenge_delete(struct byoca_store *s, const char *token,
                            int64_t cert_id, struct byoca_err *err) {
  return db_exec(s, err,
                 "DELETE FROM challenge_tokens WHERE token = ? AND cert_id = ?",
                 "ti", token, cert_id);
}

int sqlite_challenge_purge(struct byoca_store *s, int64_t now, int64_t *n,
                           struct byoca_err *err) {
  int rc = db_exec(s, err, "DELETE FROM challenge_tokens WHERE expires <= ?",
                   "i", now);
  if (rc == 0 && n != NULL)
    *n = db_changes(s);
  return rc;
}
