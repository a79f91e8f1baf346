/* ACME accounts (one per tenant per CA directory) with their keys sealed,
 * and the public JWKs /.well-known/acme-keys publishes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

int sqlite_account_put(struct byoca_store *s,
                       const struct byoca_account_row *row,
                       const struct byoca_secret *key_pem,
                       struct byoca_err *err) {
  char aad[1200];
  char *jwk = NULL;
  unsigned char *box = NULL;
  size_t boxlen = 0;
  store_aad_account(row->tenant_id, row->directory, aad, sizeof(aad));
  int rc = store_public_jwk(key_pem, &jwk, err);
  if (rc == 0)
    rc = sec_seal(s, row->tenant_id, aad, key_pem->data, key_pem->len, &box,
                  &boxlen, err);
  if (rc == 0)
    rc = db_exec(
        s, err,
        "INSERT OR REPLACE INTO accounts (tenant_id, directory,"
        " issuer, url, key, jwk, created) VALUES (?, ?, ?, ?, ?, ?, ?)",
        "itttbti", row->tenant_id, row->directory, row->issuer, row->url, box,
        boxlen, jwk, row->created ? row->created : byoca_now());
  free(box);
  free(jwk);
  return rc;
}

static void read_account(sqlite3_stmt *st, struct byoca_account_row *a) {
  memset(a, 0, sizeof(*a));
  a->id = sqlite3_column_int64(st, 0);
  a->tenant_id = sqlite3_column_int64(st, 1);
  db_col_str(st, 2, a->directory, sizeof(a->directory));
  db_col_str(st, 3, a->issuer, sizeof(a->issuer));
  db_col_str(st, 4, a->url, sizeof(a->url));
  a->created = sqlite3_column_int64(st, 5);
}

#define ACCOUNT_COLS "id, tenant_id, directory, issuer, url, created, key"

int sqlite_account_get(struct byoca_store *s, int64_t tenant_id,
                       const char *directory, struct byoca_account_row *out,
                       struct byoca_secret *key_pem, struct byoca_err *err) {
  char aad[1200];
  sqlite3_stmt *st = db_prep(s, err,
                             "SELECT " ACCOUNT_COLS " FROM accounts"
                             " WHERE tenant_id = ? AND directory = ?",
                             "it", tenant_id, directory);
  if (st == NULL)
    return BYOCA_E_IO;
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(st);
    return rc == SQLITE_DONE
               ? byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                               "no account at %s", directory)
               : db_fail(s, err, "reading an account");
  }
  read_account(st, out);
  rc = 0;
  if (key_pem != NULL) {
    store_aad_account(tenant_id, directory, aad, sizeof(aad));
    rc = sec_open_col(s, st, 6, tenant_id, aad, key_pem, err);
  }
  sqlite3_finalize(st);
  return rc;
}

int sqlite_account_list(struct byoca_store *s, int64_t tenant_id,
                        struct byoca_account_row **out, size_t *n,
                        struct byoca_err *err) {
  sqlite3_stmt *st = db_prep(s, err,
                             "SELECT " ACCOUNT_COLS " FROM accounts"
                             " WHERE tenant_id = ? ORDER BY id",
                             "i", tenant_id);
  size_t cap = 0;
  int rc;
  *out = NULL;
  *n = 0;
  if (st == NULL)
    return BYOCA_E_IO;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (db_grow((void **)out, &cap, *n, sizeof(**out), 4) != 0) {
      sqlite3_finalize(st);
      return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
    }
    read_account(st, &(*out)[(*n)++]);
  }
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : db_fail(s, err, "listing accounts");
}

int sqlite_account_jwks(struct byoca_store *s, char ***jwks, size_t *n,
                        struct byoca_err *err) {
  sqlite3_stmt *st =
      db_prep(s, err, "SELECT DISTINCT jwk FROM accounts ORDER BY jwk", NULL);
  size_t cap = 0;
  int rc;
  *jwks = NULL;
  *n = 0;
  if (st == NULL)
    return BYOCA_E_IO;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n + 1 >= cap) {
      cap = cap ? cap * 2 : 8;
      char **v = realloc(*jwks, cap * sizeof(char *));
      if (v == NULL)
        break;
      *jwks = v;
    }
    if (((*jwks)[*n] = db_col_dup(st, 0)) == NULL)
      break;
    (*jwks)[++*n] = NULL;
  }
  sqlite3_finalize(st);
  if (rc == SQLITE_DONE)
    return 0;
  for (size_t i = 0; i < *n; i++)
    free((*jwks)[i]);
  free(*jwks);
  *jwks = NULL;
  *n = 0;
  return rc == SQLITE_ROW
             ? byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom")
             : db_fail(s, err, "listing account keys");
}
