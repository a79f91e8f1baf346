/* EAB credentials per tenant per CA: the MAC key sealed, never listed. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

int sqlite_eab_put(struct byoca_store *s, int64_t tenant_id, const char *issuer,
                   const char *kid, const struct byoca_secret *hmac,
                   struct byoca_err *err) {
  char aad[400];
  unsigned char *box = NULL;
  size_t boxlen = 0;
  store_aad_eab(tenant_id, issuer, aad, sizeof(aad));
  int rc =
      sec_seal(s, tenant_id, aad, hmac->data, hmac->len, &box, &boxlen, err);
  if (rc == 0)
    rc = db_exec(s, err,
                 "INSERT OR REPLACE INTO eab_credentials (tenant_id, issuer,"
                 " kid, hmac, created) VALUES (?, ?, ?, ?, ?)",
                 "ittbi", tenant_id, issuer, kid, box, boxlen, byoca_now());
  free(box);
  return rc;
}

int sqlite_eab_get(struct byoca_store *s, int64_t tenant_id, const char *issuer,
                   char *kid_out, size_t kidlen, struct byoca_secret *hmac,
                   struct byoca_err *err) {
  char aad[400];
  sqlite3_stmt *st = db_prep(s, err,
                             "SELECT kid, hmac FROM eab_credentials"
                             " WHERE tenant_id = ? AND issuer = ?",
                             "it", tenant_id, issuer);
  if (st == NULL)
    return BYOCA_E_IO;
  int rc = sqlite3_step(st);
  if (rc != SQLITE_ROW) {
    sqlite3_finalize(st);
    return rc == SQLITE_DONE
               ? byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                               "no EAB credentials for %s", issuer)
               : db_fail(s, err, "reading EAB credentials");
  }
  db_col_str(st, 0, kid_out, kidlen);
  rc = 0;
  if (hmac != NULL) {
    store_aad_eab(tenant_id, issuer, aad, sizeof(aad));
    rc = sec_open_col(s, st, 1, tenant_id, aad, hmac, err);
  }
  sqlite3_finalize(st);
  return rc;
}

int sqlite_eab_delete(struct byoca_store *s, int64_t tenant_id,
                      const char *issuer, struct byoca_err *err) {
  int rc = db_exec(s, err,
                   "DELETE FROM eab_credentials WHERE tenant_id = ?"
                   " AND issuer = ?",
                   "it", tenant_id, issuer);
  if (rc == 0 && db_changes(s) == 0)
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no EAB credentials for %s", issuer);
  if (rc == 0)
    db_checkpoint(s, 1);
  return rc;
}

static void free_lists(char **a, char **b, size_t n) {
  for (size_t i = 0; i < n; i++) {
    free(a[i]);
    free(b[i]);
  }
  free(a);
  free(b);
}

int sqlite_eab_list(struct byoca_store *s, int64_t tenant_id, char ***issuers,
                    char ***kids, size_t *n, struct byoca_err *err) {
  sqlite3_stmt *st = db_prep(s, err,
                             "SELECT issuer, kid FROM eab_credentials"
                             " WHERE tenant_id = ? ORDER BY issuer",
                             "i", tenant_id);
  size_t cap = 0;
  int rc = SQLITE_ERROR;
  char **is = NULL, **ks = NULL;
  *n = 0;
  if (st == NULL)
    return BYOCA_E_IO;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    if (*n == cap) {
      cap = cap ? cap * 2 : 4;
      char **a = realloc(is, cap * sizeof(char *));
      if (a != NULL)
        is = a;
      char **b = realloc(ks, cap * sizeof(char *));
      if (b != NULL)
        ks = b;
      if (a == NULL || b == NULL)
        break;
    }
    is[*n] = db_col_dup(st, 0);
    ks[*n] = db_col_dup(st, 1);
    (*n)++;
    if (is[*n - 1] == NULL || ks[*n - 1] == NULL)
      break;
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE) {
    free_lists(is, ks, *n);
    *n = 0;
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "listing EAB credentials failed");
  }
  *issuers = is;
  *kids = ks;
  return 0;
}
