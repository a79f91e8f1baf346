/* PostgreSQL: EAB credentials per tenant per CA, the MAC key sealed. */
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

int pg_eab_put(struct byoca_store *s, int64_t tenant_id, const char *issuer,
               const char *kid, const struct byoca_secret *hmac,
               struct byoca_err *err) {
  char aad[400];
  unsigned char *box = NULL;
  size_t boxlen = 0;
  store_aad_eab(tenant_id, issuer, aad, sizeof(aad));
  int rc =
      sec_seal(s, tenant_id, aad, hmac->data, hmac->len, &box, &boxlen, err);
  if (rc == 0)
    rc = pq_exec(s, err,
                 "INSERT INTO eab_credentials (tenant_id, issuer, kid, hmac,"
                 " created) VALUES ($1, $2, $3, $4, $5)"
                 " ON CONFLICT (tenant_id, issuer) DO UPDATE SET"
                 " kid = excluded.kid, hmac = excluded.hmac,"
                 " created = excluded.created",
                 "ittbi", tenant_id, issuer, kid, box, boxlen, byoca_now());
  free(box);
  return pq_no_tenant(s, rc, tenant_id, err);
}

int pg_eab_get(struct byoca_store *s, int64_t tenant_id, const char *issuer,
               char *kid_out, size_t kidlen, struct byoca_secret *hmac,
               struct byoca_err *err) {
  char aad[400];
  PGresult *r = pq_query(s, err,
                         "SELECT kid, hmac FROM eab_credentials"
                         " WHERE tenant_id = $1 AND issuer = $2",
                         "it", tenant_id, issuer);
  if (r == NULL)
    return BYOCA_E_IO;
  if (PQntuples(r) == 0) {
    PQclear(r);
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no EAB credentials for %s", issuer);
  }
  pq_str(r, 0, 0, kid_out, kidlen);
  int rc = 0;
  if (hmac != NULL) {
    store_aad_eab(tenant_id, issuer, aad, sizeof(aad));
    rc = pq_open_col(s, r, 0, 1, tenant_id, aad, hmac, err);
  }
  PQclear(r);
  return rc;
}

int pg_eab_delete(struct byoca_store *s, int64_t tenant_id, const char *issuer,
                  struct byoca_err *err) {
  int rc = pq_exec(s, err,
                   "DELETE FROM eab_credentials WHERE tenant_id = $1"
                   " AND issuer = $2",
                   "it", tenant_id, issuer);
  if (rc == 0 && s->pg_changes == 0)
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no EAB credentials for %s", issuer);
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

int pg_eab_list(struct byoca_store *s, int64_t tenant_id, char ***issuers,
                char ***kids, size_t *n, struct byoca_err *err) {
  *n = 0;
  PGresult *r = pq_query(s, err,
                         "SELECT issuer, kid FROM eab_credentials"
                         " WHERE tenant_id = $1 ORDER BY issuer",
                         "i", tenant_id);
  if (r == NULL)
    return BYOCA_E_IO;
  size_t rows = (size_t)PQntuples(r), got = 0;
  char **is = calloc(rows + 1, sizeof(char *)),
       **ks = calloc(rows + 1, sizeof(char *));
  for (; is != NULL && ks != NULL && got < rows; got++)
    if ((is[got] = pq_dup(r, (int)got, 0)) == NULL ||
        (ks[got] = pq_dup(r, (int)got, 1)) == NULL) {
      got++;
      break;
    }
  PQclear(r);
  if (is == NULL || ks == NULL || (got > 0 && ks[got - 1] == NULL)) {
    free_lists(is, ks, is != NULL && ks != NULL ? got : 0);
    return pq_oom(err, "listing EAB credentials");
  }
  *issuers = is;
  *kids = ks;
  *n = rows;
  return 0;
}
