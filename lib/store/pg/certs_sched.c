/* PostgreSQL: claiming due work under a lease, shared by several nodes
 * without a leader. Each claim locks the rows it picks with FOR UPDATE
 * SKIP LOCKED, so a row another node is claiming at the same moment is
 * passed over rather than waited for or claimed twice; the lease
 * (lease_until, claimed_by) then keeps it claimed after the transaction.
 * A node that dies loses its leases when they run out. Also counts for
 * metrics and expiring certificates. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

/* Appends the ids of r's first column to ids (up to max). */
static void collect(const PGresult *r, int64_t *ids, size_t max, size_t *n) {
  for (int i = 0; i < PQntuples(r) && *n < max; i++)
    ids[(*n)++] = pq_int(r, i, 0);
}

static int select_ids(struct byoca_store *s, const char *sql, int64_t now,
                      size_t room, int64_t *ids, size_t max, size_t *n,
                      struct byoca_err *err) {
  PGresult *r = pq_query(s, err, sql, "ii", now, (int64_t)room);
  if (r == NULL)
    return BYOCA_E_IO;
  collect(r, ids, max, n);
  PQclear(r);
  return 0;
}

/* "{1,2,3}": the ids as one array parameter (numbers, no SQL). */
char *pq_id_array(const int64_t *ids, size_t n) {
  size_t cap = 2 + n * 21;
  char *a = malloc(cap);
  size_t len = 0;
  if (a == NULL)
    return NULL;
  a[len++] = '{';
  for (size_t i = 0; i < n; i++)
    len += (size_t)snprintf(a + len, cap - len, "%s%lld", i ? "," : "",
                            (long long)ids[i]);
  snprintf(a + len, cap - len, "}");
  return a;
}

/* Deletions first (a failed revocation is retried when its lease runs
 * out, whatever next_check says), then the most overdue. */
static int claim(struct byoca_store *s, int64_t now, int64_t lease_until,
                 size_t max, int64_t *ids, size_t *n, struct byoca_err *err) {
  int rc = select_ids(s,
                      "SELECT id FROM certificates WHERE state = 3"
                      " AND lease_until < $1 ORDER BY id LIMIT $2"
                      " FOR UPDATE SKIP LOCKED",
                      now, max, ids, max, n, err);
  if (rc == 0 && *n < max)
    rc = select_ids(s,
                    "SELECT id FROM certificates WHERE next_check <= $1"
                    " AND state != 3 AND lease_until < $1"
                    " ORDER BY next_check, id LIMIT $2"
                    " FOR UPDATE SKIP LOCKED",
                    now, max - *n, ids, max, n, err);
  if (rc != 0 || *n == 0)
    return rc;
  char *arr = pq_id_array(ids, *n);
  if (arr == NULL)
    return pq_oom(err, "claiming due work");
  rc = pq_exec(s, err,
               "UPDATE certificates SET lease_until = $1, claimed_by = $2"
               " WHERE id = ANY ($3::bigint[])",
               "itt", lease_until, s->node, arr);
  free(arr);
  return rc;
}

int pg_cert_claim_due(struct byoca_store *s, int64_t now, int64_t lease_until,
                      size_t max, int64_t *ids, size_t *n,
                      struct byoca_err *err) {
  *n = 0;
  if (max == 0)
    return 0;
  int rc = pq_begin(s, err);
  if (rc != 0)
    return rc;
  if ((rc = claim(s, now, lease_until, max, ids, n, err)) != 0) {
    pq_rollback(s);
    *n = 0;
    return rc;
  }
  if ((rc = pq_commit(s, err)) != 0)
    *n = 0;
  return rc;
}

int pg_cert_release_all(struct byoca_store *s, struct byoca_err *err) {
  return pq_exec(s, err,
                 "UPDATE certificates SET lease_until = 0, claimed_by = ''"
                 " WHERE lease_until != 0",
                 NULL);
}

int pg_cert_counts(struct byoca_store *s, int64_t now, int64_t counts[4],
                   int64_t *due, struct byoca_err *err) {
  memset(counts, 0, 4 * sizeof(counts[0]));
  PGresult *r = pq_query(
      s, err, "SELECT state, count(*) FROM certificates GROUP BY state", NULL);
  if (r == NULL)
    return BYOCA_E_IO;
  for (int i = 0; i < PQntuples(r); i++) {
    int64_t state = pq_int(r, i, 0);
    if (state >= 0 && state < 4)
      counts[state] = pq_int(r, i, 1);
  }
  PQclear(r);
  r = pq_query(s, err,
               "SELECT count(*) FROM certificates WHERE next_check <= $1"
               " AND state != 3",
               "i", now);
  if (r == NULL)
    return BYOCA_E_IO;
  *due = pq_int(r, 0, 0);
  PQclear(r);
  return 0;
}

int pg_cert_expiring(struct byoca_store *s, int64_t before, int64_t *ids,
                     size_t max, size_t *n, struct byoca_err *err) {
  *n = 0;
  PGresult *r = pq_query(s, err,
                         "SELECT id FROM certificates WHERE state = 1"
                         " AND not_after < $1 AND failures > 0"
                         " ORDER BY not_after LIMIT $2",
                         "ii", before, (int64_t)max);
  if (r == NULL)
    return BYOCA_E_IO;
  collect(r, ids, max, n);
  PQclear(r);
  return 0;
}

/* ---- ARI polls (RFC 9773) ---- */

int pg_cert_ari_set(struct byoca_store *s, int64_t id,
                    const struct byoca_cert_row *r, struct byoca_err *err) {
  return pq_exec(s, err,
                 "UPDATE certificates SET ari_start = $1, ari_end = $2,"
                 " ari_explanation = $3, ari_next = $4, ari_failures = $5,"
                 " next_check = CASE WHEN next_source IN ('lifetime', 'ari')"
                 "  THEN $6 ELSE next_check END,"
                 " next_source = CASE WHEN next_source IN ('lifetime', 'ari')"
                 "  THEN $7 ELSE next_source END,"
                 " updated = $8"
                 " WHERE id = $9 AND state = 1 AND serial = $10",
                 "iitiiitiit", r->ari_start, r->ari_end, r->ari_explanation,
                 r->ari_next, (int64_t)r->ari_failures, r->next_check,
                 r->next_source[0] ? r->next_source : "lifetime", byoca_now(),
                 id, r->serial);
}

int pg_cert_ari_claim(struct byoca_store *s, int64_t now, int64_t until,
                      size_t max, int64_t *ids, size_t *n,
                      struct byoca_err *err) {
  *n = 0;
  if (max == 0)
    return 0;
  int rc = pq_begin(s, err);
  if (rc != 0)
    return rc;
  rc = select_ids(s,
                  "SELECT id FROM certificates WHERE ari_next > 0"
                  " AND ari_next <= $1 AND state = 1 AND lease_until < $1"
                  " ORDER BY ari_next, id LIMIT $2 FOR UPDATE SKIP LOCKED",
                  now, max, ids, max, n, err);
  if (rc == 0 && *n > 0) {
    char *arr = pq_id_array(ids, *n);
    rc = arr == NULL ? pq_oom(err, "claiming renewalInfo polls")
                     : pq_exec(s, err,
                               "UPDATE certificates SET ari_next = $1"
                               " WHERE id = ANY ($2::bigint[])",
                               "it", until, arr);
    free(arr);
  }
  if (rc != 0) {
    pq_rollback(s);
    *n = 0;
    return rc;
  }
  if ((rc = pq_commit(s, err)) != 0)
    *n = 0;
  return rc;
}
