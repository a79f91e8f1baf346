/* PostgreSQL: in-flight orders (crash recovery; any node can resume one)
 * with the fresh key sealed, and the http-01 challenge tokens every node
 * can answer. */
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

int pg_order_put(struct byoca_store *s, const struct byoca_order_row *row,
                 const struct byoca_secret *key_pem, struct byoca_err *err) {
  char aad[96];
  unsigned char *box = NULL;
  size_t boxlen = 0;
  int64_t tenant = 0;
  int rc = pq_cert_tenant(s, row->cert_id, &tenant, err);
  if (rc == 0 && key_pem != NULL && key_pem->data != NULL) {
    store_aad_order(tenant, row->cert_id, aad, sizeof(aad));
    rc = sec_seal(s, tenant, aad, key_pem->data, key_pem->len, &box, &boxlen,
                  err);
  }
  if (rc == 0)
    rc = pq_exec(s, err,
                 "INSERT INTO orders (cert_id, directory, issuer, order_url,"
                 " key, started) VALUES ($1, $2, $3, $4, $5, $6)"
                 " ON CONFLICT (cert_id) DO UPDATE SET"
                 " directory = excluded.directory, issuer = excluded.issuer,"
                 " order_url = excluded.order_url, key = excluded.key,"
                 " started = excluded.started",
                 "itttbi", row->cert_id, row->directory, row->issuer,
                 row->order_url, box, boxlen,
                 row->started ? row->started : byoca_now());
  free(box);
  if (rc != 0 && pq_state_is(s, PQ_FOREIGN_KEY))
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no certificate %lld", (long long)row->cert_id);
  return rc;
}

int pg_order_get(struct byoca_store *s, int64_t cert_id,
                 struct byoca_order_row *out, struct byoca_secret *key_pem,
                 struct byoca_err *err) {
  char aad[96];
  PGresult *r = pq_query(s, err,
                         "SELECT o.directory, o.issuer, o.order_url,"
                         " o.started, o.key, c.tenant_id FROM orders o"
                         " JOIN certificates c ON c.id = o.cert_id"
                         " WHERE o.cert_id = $1",
                         "i", cert_id);
  if (r == NULL)
    return BYOCA_E_IO;
  if (PQntuples(r) == 0) {
    PQclear(r);
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no order in flight for %lld", (long long)cert_id);
  }
  memset(out, 0, sizeof(*out));
  out->cert_id = cert_id;
  pq_str(r, 0, 0, out->directory, sizeof(out->directory));
  pq_str(r, 0, 1, out->issuer, sizeof(out->issuer));
  pq_str(r, 0, 2, out->order_url, sizeof(out->order_url));
  out->started = pq_int(r, 0, 3);
  int rc = 0;
  if (key_pem != NULL) {
    int64_t tenant = pq_int(r, 0, 5);
    store_aad_order(tenant, cert_id, aad, sizeof(aad));
    rc = pq_open_col(s, r, 0, 4, tenant, aad, key_pem, err);
  }
  PQclear(r);
  return rc;
}

int pg_order_delete(struct byoca_store *s, int64_t cert_id,
                    struct byoca_err *err) {
  return pq_exec(s, err, "DELETE FROM orders WHERE cert_id = $1", "i", cert_id);
}

int pg_order_count(struct byoca_store *s, int64_t *n, struct byoca_err *err) {
  PGresult *r = pq_query(s, err, "SELECT count(*) FROM orders", NULL);
  if (r == NULL)
    return BYOCA_E_IO;
  *n = pq_int(r, 0, 0);
  PQclear(r);
  return 0;
}

/* ---- challenge tokens ---- */

int pg_challenge_put(struct byoca_store *s, const char *token,
                     const char *key_authz, int64_t cert_id, int64_t expires,
                     struct byoca_err *err) {
  int rc = pq_exec(s, err,
                   "INSERT INTO challenge_tokens (token, key_authz, cert_id,"
                   " expires) VALUES ($1, $2, $3, $4)"
                   " ON CONFLICT (token) DO UPDATE SET"
                   " key_authz = excluded.key_authz,"
                   " cert_id = excluded.cert_id, expires = excluded.expires"
                   " WHERE challenge_tokens.cert_id = excluded.cert_id"
                   " OR challenge_tokens.expires <= $5",
                   "ttiii", token, key_authz, cert_id, expires, byoca_now());
  if (rc == 0 && s->pg_changes == 0)
    return store_challenge_taken(s, token, err);
  return rc;
}

int pg_challenge_owner(struct byoca_store *s, const char *token, int64_t now,
                       int64_t *cert_id, struct byoca_err *err) {
  PGresult *r = pq_query(s, err,
                         "SELECT cert_id FROM challenge_tokens"
                         " WHERE token = $1 AND expires > $2",
                         "ti", token, now);
  if (r == NULL)
    return BYOCA_E_IO;
  int found = PQntuples(r) > 0;
  if (found)
    *cert_id = pq_int(r, 0, 0);
  PQclear(r);
  return found ? 0
               : byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                               "no such challenge");
}

int pg_challenge_get(struct byoca_store *s, const char *token, int64_t now,
                     char *out, size_t outlen, struct byoca_err *err) {
  PGresult *r = pq_query(s, err,
                         "SELECT key_authz FROM challenge_tokens"
                         " WHERE token = $1 AND expires > $2",
                         "ti", token, now);
  if (r == NULL)
    return BYOCA_E_IO;
  int found = PQntuples(r) > 0;
  if (found)
    pq_str(r, 0, 0, out, outlen);
  PQclear(r);
  return found ? 0
               : byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                               "no such challenge");
}

int pg_challenge_delete(struct byoca_store *s, const char *token,
                        int64_t cert_id, struct byoca_err *err) {
  return pq_exec(s, err,
                 "DELETE FROM challenge_tokens WHERE token = $1"
                 " AND cert_id = $2",
                 "ti", token, cert_id);
}

int pg_challenge_purge(struct byoca_store *s, int64_t now, int64_t *n,
                       struct byoca_err *err) {
  int rc = pq_exec(s, err, "DELETE FROM challenge_tokens WHERE expires <= $1",
                   "i", now);
  if (rc == 0 && n != NULL)
    *n = s->pg_changes;
  return rc;
}
