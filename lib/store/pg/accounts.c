/* PostgreSQL: ACME accounts (one per tenant per CA directory) with their
 * keys sealed, and the public JWKs /.well-known/acme-keys publishes. */
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

#define ACCOUNT_COLS "id, tenant_id, directory, issuer, url, created, key"

/* Replacing a row gives it a new id, as SQLite's INSERT OR REPLACE does. */
static int replace(struct byoca_store *s, const struct byoca_account_row *row,
                   const unsigned char *box, size_t boxlen, const char *jwk,
                   struct byoca_err *err) {
  int rc = pq_exec(s, err,
                   "DELETE FROM accounts WHERE tenant_id = $1"
                   " AND directory = $2",
                   "it", row->tenant_id, row->directory);
  if (rc == 0)
    rc = pq_exec(s, err,
                 "INSERT INTO accounts (tenant_id, directory, issuer, url,"
                 " key, jwk, created) VALUES ($1, $2, $3, $4, $5, $6, $7)",
                 "itttbti", row->tenant_id, row->directory, row->issuer,
                 row->url, box, boxlen, jwk,
                 row->created ? row->created : byoca_now());
  return pq_no_tenant(s, rc, row->tenant_id, err);
}

int pg_account_put(struct byoca_store *s, const struct byoca_account_row *row,
                   const struct byoca_secret *key_pem, struct byoca_err *err) {
  char aad[1200];
  char *jwk = NULL;
  unsigned char *box = NULL;
  size_t boxlen = 0;
  store_aad_account(row->tenant_id, row->directory, aad, sizeof(aad));
  int rc = store_public_jwk(key_pem, &jwk, err);
  if (rc == 0)
    rc = sec_seal(s, row->tenant_id, aad, key_pem->data, key_pem->len, &box,
                  &boxlen, err);
  if (rc == 0 && (rc = pq_begin(s, err)) == 0) {
    rc = replace(s, row, box, boxlen, jwk, err);
    if (rc == 0)
      rc = pq_commit(s, err);
    else
      pq_rollback(s);
  }
  free(box);
  free(jwk);
  return rc;
}

static void read_account(const PGresult *r, int row,
                         struct byoca_account_row *a) {
  memset(a, 0, sizeof(*a));
  a->id = pq_int(r, row, 0);
  a->tenant_id = pq_int(r, row, 1);
  pq_str(r, row, 2, a->directory, sizeof(a->directory));
  pq_str(r, row, 3, a->issuer, sizeof(a->issuer));
  pq_str(r, row, 4, a->url, sizeof(a->url));
  a->created = pq_int(r, row, 5);
}

int pg_account_get(struct byoca_store *s, int64_t tenant_id,
                   const char *directory, struct byoca_account_row *out,
                   struct byoca_secret *key_pem, struct byoca_err *err) {
  char aad[1200];
  PGresult *r = pq_query(s, err,
                         "SELECT " ACCOUNT_COLS " FROM accounts"
                         " WHERE tenant_id = $1 AND directory = $2",
                         "it", tenant_id, directory);
  if (r == NULL)
    return BYOCA_E_IO;
  if (PQntuples(r) == 0) {
    PQclear(r);
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no account at %s", directory);
  }
  read_account(r, 0, out);
  int rc = 0;
  if (key_pem != NULL) {
    store_aad_account(tenant_id, directory, aad, sizeof(aad));
    rc = pq_open_col(s, r, 0, 6, tenant_id, aad, key_pem, err);
  }
  PQclear(r);
  return rc;
}

int pg_account_list(struct byoca_store *s, int64_t tenant_id,
                    struct byoca_account_row **out, size_t *n,
                    struct byoca_err *err) {
  *out = NULL;
  *n = 0;
  PGresult *r = pq_query(s, err,
                         "SELECT " ACCOUNT_COLS " FROM accounts"
                         " WHERE tenant_id = $1 ORDER BY id",
                         "i", tenant_id);
  if (r == NULL)
    return BYOCA_E_IO;
  size_t rows = (size_t)PQntuples(r);
  if (rows > 0 && (*out = calloc(rows, sizeof(**out))) == NULL) {
    PQclear(r);
    return pq_oom(err, "listing accounts");
  }
  for (; *n < rows; (*n)++)
    read_account(r, (int)*n, &(*out)[*n]);
  PQclear(r);
  return 0;
}

int pg_account_jwks(struct byoca_store *s, char ***jwks, size_t *n,
                    struct byoca_err *err) {
  *jwks = NULL;
  *n = 0;
  PGresult *r =
      pq_query(s, err, "SELECT DISTINCT jwk FROM accounts ORDER BY jwk", NULL);
  if (r == NULL)
    return BYOCA_E_IO;
  size_t rows = (size_t)PQntuples(r);
  char **v = calloc(rows + 1, sizeof(char *));
  for (size_t i = 0; v != NULL && i < rows; i++)
    if ((v[i] = pq_dup(r, (int)i, 0)) == NULL) {
      for (size_t j = 0; j < i; j++)
        free(v[j]);
      free(v);
      v = NULL;
    }
  PQclear(r);
  if (v == NULL)
    return pq_oom(err, "listing account keys");
  *jwks = v;
  *n = rows;
  return 0;
}
