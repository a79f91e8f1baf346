/* PostgreSQL: certificate lineages, their current certificate and sealed
 * key. */
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

#define CERT_COLS                                                              \
  "id, tenant_id, identifiers, key_type, ca, profile, state, issuer,"          \
  " directory, serial, not_before, not_after, next_check, next_source,"        \
  " failures, last_attempt, last_outcome, created, updated, lease_until,"      \
  " fullchain, revoke_on_delete, claimed_by, profile_required,"                \
  " issued_profile, ari_cert_id, ari_start, ari_end, ari_explanation,"         \
  " ari_next, ari_failures"

static int read_cert(const PGresult *q, int i, int with_pem,
                     struct byoca_cert_row *r) {
  memset(r, 0, sizeof(*r));
  r->id = pq_int(q, i, 0);
  r->tenant_id = pq_int(q, i, 1);
  r->identifiers_json = pq_dup(q, i, 2);
  pq_str(q, i, 3, r->key_type, sizeof(r->key_type));
  pq_str(q, i, 4, r->ca, sizeof(r->ca));
  pq_str(q, i, 5, r->profile, sizeof(r->profile));
  r->state = (enum byoca_cert_state)pq_int(q, i, 6);
  pq_str(q, i, 7, r->issuer, sizeof(r->issuer));
  pq_str(q, i, 8, r->directory, sizeof(r->directory));
  pq_str(q, i, 9, r->serial, sizeof(r->serial));
  r->not_before = pq_int(q, i, 10);
  r->not_after = pq_int(q, i, 11);
  r->next_check = pq_int(q, i, 12);
  pq_str(q, i, 13, r->next_source, sizeof(r->next_source));
  r->failures = (int)pq_int(q, i, 14);
  r->last_attempt = pq_int(q, i, 15);
  pq_str(q, i, 16, r->last_outcome, sizeof(r->last_outcome));
  r->created = pq_int(q, i, 17);
  r->updated = pq_int(q, i, 18);
  r->lease_until = pq_int(q, i, 19);
  r->revoke_on_delete = (int)pq_int(q, i, 21);
  pq_str(q, i, 22, r->claimed_by, sizeof(r->claimed_by));
  r->profile_required = (int)pq_int(q, i, 23);
  pq_str(q, i, 24, r->issued_profile, sizeof(r->issued_profile));
  pq_str(q, i, 25, r->ari_cert_id, sizeof(r->ari_cert_id));
  r->ari_start = pq_int(q, i, 26);
  r->ari_end = pq_int(q, i, 27);
  pq_str(q, i, 28, r->ari_explanation, sizeof(r->ari_explanation));
  r->ari_next = pq_int(q, i, 29);
  r->ari_failures = (int)pq_int(q, i, 30);
  int pem = with_pem && !PQgetisnull(q, i, 20);
  if (pem)
    r->fullchain_pem = pq_dup(q, i, 20);
  return r->identifiers_json == NULL || (pem && r->fullchain_pem == NULL)
             ? BYOCA_E_NOMEM
             : 0;
}

int pg_cert_add(struct byoca_store *s, int64_t tenant_id,
                const struct byoca_cert_row *row, int64_t now,
                const struct byoca_event *ev, int64_t *id_out,
                struct byoca_err *err) {
  int rc = pq_begin(s, err);
  if (rc != 0)
    return rc;
  PGresult *r = pq_query(
      s, err,
      "INSERT INTO certificates (tenant_id, identifiers, key_type, ca,"
      " profile, profile_required, state, next_check, next_source, created,"
      " updated)"
      " VALUES ($1, $2, $3, $4, $5, $6, 0, $7, 'new', $8, $9) RETURNING id",
      "ittttiiii", tenant_id, row->identifiers_json, row->key_type,
      row->ca[0] ? row->ca : "auto", row->profile,
      (int64_t)(row->profile_required != 0), now, now, now);
  if (r == NULL) {
    pq_rollback(s);
    return pq_no_tenant(s, BYOCA_E_IO, tenant_id, err);
  }
  int64_t id = pq_int(r, 0, 0);
  PQclear(r);
  if (ev != NULL) {
    struct byoca_event e2 = *ev;
    e2.cert_id = id;
    rc = pg_event_put(s, &e2, err);
  }
  if (rc == 0)
    rc = pq_commit(s, err);
  else
    pq_rollback(s);
  if (rc == 0 && id_out != NULL)
    *id_out = id;
  return rc;
}

int pg_cert_get(struct byoca_store *s, int64_t tenant_id, int64_t id,
                int with_pem, struct byoca_cert_row *out,
                struct byoca_err *err) {
  PGresult *r =
      pq_query(s, err,
               "SELECT " CERT_COLS " FROM certificates"
               " WHERE id = $1 AND ($2::bigint = 0 OR tenant_id = $2)",
               "ii", id, tenant_id);
  if (r == NULL)
    return BYOCA_E_IO;
  if (PQntuples(r) == 0) {
    PQclear(r);
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no certificate %lld", (long long)id);
  }
  int rc = read_cert(r, 0, with_pem, out);
  PQclear(r);
  if (rc != 0) {
    byoca_cert_row_clear(out);
    return pq_oom(err, "reading a certificate");
  }
  return 0;
}

int pg_cert_list(struct byoca_store *s, int64_t tenant_id, int64_t after,
                 size_t limit, struct byoca_cert_row **out, size_t *n,
                 struct byoca_err *err) {
  *out = NULL;
  *n = 0;
  PGresult *r = pq_query(s, err,
                         "SELECT " CERT_COLS " FROM certificates"
                         " WHERE tenant_id = $1 AND id > $2"
                         " ORDER BY id LIMIT $3",
                         "iii", tenant_id, after, (int64_t)limit);
  if (r == NULL)
    return BYOCA_E_IO;
  size_t rows = (size_t)PQntuples(r);
  int rc = 0;
  if (limit > 0 && (*out = calloc(limit, sizeof(**out))) == NULL)
    rc = BYOCA_E_NOMEM;
  for (; rc == 0 && *n < rows && *n < limit; (*n)++)
    rc = read_cert(r, (int)*n, 0, &(*out)[*n]);
  PQclear(r);
  if (rc == 0)
    return 0;
  byoca_cert_rows_free(*out, *n);
  *out = NULL;
  *n = 0;
  return pq_oom(err, "listing certificates");
}

int pg_cert_key(struct byoca_store *s, int64_t tenant_id, int64_t id,
                struct byoca_secret *key_pem, struct byoca_err *err) {
  char aad[96];
  PGresult *r =
      pq_query(s, err,
               "SELECT tenant_id, key FROM certificates"
               " WHERE id = $1 AND ($2::bigint = 0 OR tenant_id = $2)",
               "ii", id, tenant_id);
  if (r == NULL)
    return BYOCA_E_IO;
  if (PQntuples(r) == 0 || PQgetisnull(r, 0, 1)) {
    PQclear(r);
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "certificate %lld has no key", (long long)id);
  }
  int64_t tenant = pq_int(r, 0, 0);
  store_aad_cert(tenant, id, aad, sizeof(aad));
  int rc = pq_open_col(s, r, 0, 1, tenant, aad, key_pem, err);
  PQclear(r);
  return rc;
}

static int write_issued(struct byoca_store *s, int64_t id,
                        const struct byoca_cert_row *r, const char *pem,
                        const unsigned char *box, size_t boxlen,
                        struct byoca_err *err) {
  int64_t now = byoca_now();
  int rc = pq_exec(
      s, err,
      "UPDATE certificates SET state = 1, issuer = $1, directory = $2,"
      " serial = $3, not_before = $4, not_after = $5, fullchain = $6,"
      " key = $7, next_check = $8, next_source = $9, failures = 0,"
      " last_attempt = $10, last_outcome = $11, updated = $12,"
      " lease_until = 0, claimed_by = '', issued_profile = $13,"
      " ari_cert_id = $14, ari_start = 0, ari_end = 0,"
      " ari_explanation = '', ari_next = $15, ari_failures = 0"
      " WHERE id = $16 AND state != 3",
      "tttiitbititittii", r->issuer, r->directory, r->serial, r->not_before,
      r->not_after, pem, box, boxlen, r->next_check,
      r->next_source[0] ? r->next_source : "lifetime", now, r->last_outcome,
      now, r->issued_profile, r->ari_cert_id, r->ari_next, id);
  if (rc == 0 && s->pg_changes == 0)
    rc = byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                       "certificate %lld is gone or being deleted",
                       (long long)id);
  if (rc == 0)
    rc = pq_exec(s, err, "DELETE FROM orders WHERE cert_id = $1", "i", id);
  return rc;
}

int pg_cert_issued(struct byoca_store *s, int64_t id,
                   const struct byoca_cert_row *row, const char *fullchain_pem,
                   const struct byoca_secret *key_pem,
                   const struct byoca_event *ev, struct byoca_err *err) {
  char aad[96];
  unsigned char *box = NULL;
  size_t boxlen = 0;
  int64_t tenant = 0;
  int rc = pq_begin(s, err);
  if (rc != 0)
    return rc;
  if ((rc = pq_cert_tenant(s, id, &tenant, err)) == 0) {
    store_aad_cert(tenant, id, aad, sizeof(aad));
    rc = sec_seal(s, tenant, aad, key_pem->data, key_pem->len, &box, &boxlen,
                  err);
  }
  if (rc == 0)
    rc = write_issued(s, id, row, fullchain_pem, box, boxlen, err);
  free(box);
  if (rc == 0 && ev != NULL)
    rc = pg_event_put(s, ev, err);
  if (rc != 0) {
    pq_rollback(s);
    return rc;
  }
  return pq_commit(s, err);
}

int pg_cert_failed(struct byoca_store *s, int64_t id, const char *outcome,
                   int64_t next_check, int64_t now, struct byoca_err *err) {
  int rc = pq_begin(s, err);
  if (rc != 0)
    return rc;
  rc = pq_exec(s, err,
               "UPDATE certificates SET failures = failures + 1,"
               " last_outcome = $1, last_attempt = $2, next_check = $3,"
               " next_source = 'retry', updated = $4, lease_until = 0,"
               " claimed_by = '',"
               " state = CASE WHEN state = 0 THEN 2 ELSE state END"
               " WHERE id = $5",
               "tiiii", outcome != NULL ? outcome : "", now, next_check, now,
               id);
  if (rc == 0)
    rc = pq_exec(s, err, "DELETE FROM orders WHERE cert_id = $1", "i", id);
  if (rc != 0) {
    pq_rollback(s);
    return rc;
  }
  return pq_commit(s, err);
}

int pg_cert_schedule(struct byoca_store *s, int64_t tenant_id, int64_t id,
                     int64_t next_check, const char *source,
                     struct byoca_err *err) {
  int rc = pq_exec(s, err,
                   "UPDATE certificates SET next_check = $1, next_source = $2,"
                   " updated = $3 WHERE id = $4"
                   " AND ($5::bigint = 0 OR tenant_id = $5) AND state != 3",
                   "itiii", next_check, source, byoca_now(), id, tenant_id);
  if (rc == 0 && s->pg_changes == 0)
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no certificate %lld", (long long)id);
  return rc;
}

int pg_cert_set_deleting(struct byoca_store *s, int64_t tenant_id, int64_t id,
                         int revoke, struct byoca_err *err) {
  int rc = pq_exec(s, err,
                   "UPDATE certificates SET state = 3, next_check = 0,"
                   " revoke_on_delete = $1, updated = $2"
                   " WHERE id = $3 AND ($4::bigint = 0 OR tenant_id = $4)",
                   "iiii", (int64_t)(revoke != 0), byoca_now(), id, tenant_id);
  if (rc == 0 && s->pg_changes == 0)
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no certificate %lld", (long long)id);
  return rc;
}

int pg_cert_destroy(struct byoca_store *s, int64_t id,
                    const struct byoca_event *ev, struct byoca_err *err) {
  int rc = pq_begin(s, err);
  if (rc != 0)
    return rc;
  rc = pq_exec(s, err, "DELETE FROM challenge_tokens WHERE cert_id = $1", "i",
               id);
  if (rc == 0)
    rc = pq_exec(s, err, "DELETE FROM certificates WHERE id = $1", "i", id);
  if (rc == 0 && ev != NULL)
    rc = pg_event_put(s, ev, err);
  if (rc != 0) {
    pq_rollback(s);
    return rc;
  }
  return pq_commit(s, err);
}
