/* PostgreSQL: API tokens, stored as SHA-256 only (rules.c makes them),
 * confirmed in constant time, kept (marked) when revoked. */
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

int pg_token_mint(struct byoca_store *s, int64_t tenant_id, const char *label,
                  char *token_out, size_t outlen, int64_t *id_out,
                  struct byoca_err *err) {
  unsigned char hash[32];
  if (store_token_new(token_out, outlen, hash, err) != 0)
    return err != NULL && err->code != 0 ? err->code : BYOCA_E_CRYPTO;
  /* the operator's tokens have no tenant (NULL) */
  PGresult *r =
      pq_query(s, err,
               "INSERT INTO api_tokens (tenant_id, hash, label, created)"
               " VALUES (nullif($1::bigint, 0), $2, $3, $4) RETURNING id",
               "ibti", tenant_id > 0 ? tenant_id : (int64_t)0, hash,
               sizeof(hash), label != NULL ? label : "", byoca_now());
  if (r == NULL) {
    explicit_bzero(token_out, outlen);
    return pq_no_tenant(s, BYOCA_E_IO, tenant_id, err);
  }
  if (id_out != NULL)
    *id_out = pq_int(r, 0, 0);
  PQclear(r);
  return 0;
}

int pg_token_check(struct byoca_store *s, const char *token,
                   int64_t *tenant_out, struct byoca_err *err) {
  unsigned char hash[32], *stored = NULL;
  size_t len = 0;
  if (store_token_hash(token, hash) != 0)
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "unknown or revoked token");
  PGresult *r = pq_query(s, err,
                         "SELECT hash, coalesce(tenant_id, 0) FROM api_tokens"
                         " WHERE hash = $1 AND revoked = 0",
                         "b", hash, sizeof(hash));
  if (r == NULL)
    return BYOCA_E_IO;
  int found = PQntuples(r) > 0 && pq_blob(r, 0, 0, &stored, &len) == 0 &&
              len == sizeof(hash) && byoca_ct_equal(stored, hash, len);
  if (found)
    *tenant_out = pq_int(r, 0, 1);
  free(stored);
  PQclear(r);
  return found ? 0
               : byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                               "unknown or revoked token");
}

int pg_token_revoke(struct byoca_store *s, int64_t tenant_id, int64_t id,
                    struct byoca_err *err) {
  int rc = pq_exec(s, err,
                   "UPDATE api_tokens SET revoked = greatest($1::bigint, 1)"
                   " WHERE id = $2 AND coalesce(tenant_id, 0) = $3"
                   " AND revoked = 0",
                   "iii", byoca_now(), id, tenant_id);
  if (rc == 0 && s->pg_changes == 0)
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no token %lld", (long long)id);
  return rc;
}

int pg_operator_tokens(struct byoca_store *s, int64_t *n,
                       struct byoca_err *err) {
  PGresult *r = pq_query(s, err,
                         "SELECT count(*) FROM api_tokens"
                         " WHERE tenant_id IS NULL AND revoked = 0",
                         NULL);
  if (r == NULL)
    return BYOCA_E_IO;
  *n = pq_int(r, 0, 0);
  PQclear(r);
  return 0;
}

int pg_token_list(struct byoca_store *s, int64_t tenant_id,
                  struct byoca_token_info **out, size_t *n,
                  struct byoca_err *err) {
  *n = 0;
  PGresult *r = pq_query(s, err,
                         "SELECT id, label, created FROM api_tokens"
                         " WHERE coalesce(tenant_id, 0) = $1"
                         " AND revoked = 0 ORDER BY id",
                         "i", tenant_id);
  if (r == NULL)
    return BYOCA_E_IO;
  size_t rows = (size_t)PQntuples(r);
  struct byoca_token_info *v = calloc(rows + 1, sizeof(*v));
  if (v == NULL) {
    PQclear(r);
    return pq_oom(err, "listing tokens");
  }
  for (size_t i = 0; i < rows; i++) {
    v[i].id = pq_int(r, (int)i, 0);
    pq_str(r, (int)i, 1, v[i].label, sizeof(v[i].label));
    v[i].created = pq_int(r, (int)i, 2);
  }
  PQclear(r);
  *out = v;
  *n = rows;
  return 0;
}
