/* Scheduling queries over lineages: claiming due work by the next_check
 * index under a lease, counts for metrics, and expiring certificates. */
#include <stdlib.h>
#include <string.h>

#include "sqlite_int.h"

/* Appends the ids a query returns (up to max) to ids. */
static int collect(struct byoca_store *s, sqlite3_stmt *st, int64_t *ids,
                   size_t max, size_t *n, struct byoca_err *err) {
  int rc = SQLITE_DONE;
  if (st == NULL)
    return BYOCA_E_IO;
  while (*n < max && (rc = sqlite3_step(st)) == SQLITE_ROW)
    ids[(*n)++] = sqlite3_column_int64(st, 0);
  if (*n >= max)
    rc = SQLITE_DONE;
  sqlite3_finalize(st);
  return rc == SQLITE_DONE ? 0 : db_fail(s, err, "selecting due work");
}

const char store_sql_claim_deleting[] =
    "SELECT id FROM certificates WHERE state = 3 AND lease_until < ?"
    " LIMIT ?";
const char store_sql_claim_due[] =
    "SELECT id FROM certificates WHERE next_check <= ? AND state != 3"
    " AND lease_until < ? ORDER BY next_check LIMIT ?";

/* Deletions first (their next_check is 0 when marked, and a failed
 * revocation is retried when its lease runs out, whatever next_check
 * says), then the most overdue; two index-driven queries, where one with
 * "next_check <= now OR state = deleting" would scan the whole index. */
static int claim(struct byoca_store *s, int64_t now, int64_t lease_until,
                 size_t max, int64_t *ids, size_t *n, struct byoca_err *err) {
  int rc = collect(
      s, db_prep(s, err, store_sql_claim_deleting, "ii", now, (int64_t)max),
      ids, max, n, err);
  if (rc == 0 && *n < max)
    rc = collect(s,
                 db_prep(s, err, store_sql_claim_due, "iii", now, now,
                         (int64_t)(max - *n)),
                 ids, max, n, err);
  if (rc == 0)
    rc = db_exec_ids(s, err,
                     "UPDATE certificates SET lease_until = ?, claimed_by = ?"
                     " WHERE id = ?",
                     ids, sizeof(*ids), *n, "it", lease_until, s->node);
  return rc;
}

int sqlite_cert_claim_due(struct byoca_store *s, int64_t now,
                          int64_t lease_until, size_t max, int64_t *ids,
                          size_t *n, struct byoca_err *err) {
  *n = 0;
  if (max == 0)
    return 0;
  /* an idle tick reads, and leaves the write lock to others */
  int rc = db_any(s, err,
                  "SELECT 1 WHERE EXISTS (SELECT 1 FROM certificates"
                  " WHERE state = 3 AND lease_until < ?)"
                  " OR EXISTS (SELECT 1 FROM certificates WHERE"
                  " next_check <= ? AND state != 3 AND lease_until < ?)",
                  "iii", now, now, now);
  if (rc <= 0)
    return rc;
  if ((rc = db_begin(s, err)) != 0)
    return rc;
  if ((rc = claim(s, now, lease_until, max, ids, n, err)) != 0) {
    db_rollback(s);
    *n = 0;
    return rc;
  }
  if ((rc = db_commit(s, err)) != 0)
    *n = 0;
  return rc;
}

int sqlite_cert_release_all(struct byoca_store *s, struct byoca_err *err) {
  return db_exec(s, err,
                 "UPDATE certificates SET lease_until = 0, claimed_by = ''"
                 " WHERE lease_until != 0",
                 NULL);
}

int sqlite_cert_counts(struct byoca_store *s, int64_t now, int64_t counts[4],
                       int64_t *due, struct byoca_err *err) {
  memset(counts, 0, 4 * sizeof(counts[0]));
  sqlite3_stmt *st = db_prep(
      s, err, "SELECT state, count(*) FROM certificates GROUP BY state", NULL);
  int rc;
  if (st == NULL)
    return BYOCA_E_IO;
  while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
    int state = sqlite3_column_int(st, 0);
    if (state >= 0 && state < 4)
      counts[state] = sqlite3_column_int64(st, 1);
  }
  sqlite3_finalize(st);
  if (rc != SQLITE_DONE)
    return db_fail(s, err, "counting certificates");
  st = db_prep(s, err,
               "SELECT count(*) FROM certificates WHERE next_check <= ?"
               " AND state != 3",
               "i", now);
  if (st == NULL)
    return BYOCA_E_IO;
  rc = sqlite3_step(st);
  *due = rc == SQLITE_ROW ? sqlite3_column_int64(st, 0) : 0;
  sqlite3_finalize(st);
  return rc == SQLITE_ROW ? 0 : db_fail(s, err, "counting due work");
}

int sqlite_cert_expiring(struct byoca_store *s, int64_t before, int64_t *ids,
                         size_t max, size_t *n, struct byoca_err *err) {
  *n = 0;
  return collect(s,
                 db_prep(s, err,
                         "SELECT id FROM certificates WHERE state = 1"
                         " AND not_after < ? AND failures > 0"
                         " ORDER BY not_after LIMIT ?",
                         "ii", before, (int64_t)max),
                 ids, max, n, err);
}

/* ---- ARI polls (RFC 9773) ---- */

int sqlite_cert_ari_set(struct byoca_store *s, int64_t id,
                        const struct byoca_cert_row *r, struct byoca_err *err) {
  return db_exec(s, err,
                 "UPDATE certificates SET ari_start = ?, ari_end = ?,"
                 " ari_explanation = ?, ari_next = ?, ari_failures = ?,"
                 " next_check = CASE WHEN next_source IN ('lifetime', 'ari')"
                 "  THEN ? ELSE next_check END,"
                 " next_source = CASE WHEN next_source IN ('lifetime', 'ari')"
                 "  THEN ? ELSE next_source END,"
                 " updated = ?"
                 " WHERE id = ? AND state = 1 AND serial = ?",
                 "iitiiitiit", r->ari_start, r->ari_end, r->ari_explanation,
                 r->ari_next, (int64_t)r->ari_failures, r->next_check,
                 r->next_source[0] ? r->next_source : "lifetime", byoca_now(),
                 id, r->serial);
}

int sqlite_cert_ari_claim(struct byoca_store *s, int64_t now, int64_t until,
                          size_t max, int64_t *ids, size_t *n,
                          struct byoca_err *err) {
  *n = 0;
  if (max == 0)
    return 0;
  int rc = db_any(s, err,
                  "SELECT 1 FROM certificates WHERE ari_next > 0"
                  " AND ari_next <= ? AND state = 1 AND lease_until < ?"
                  " LIMIT 1",
                  "ii", now, now);
  if (rc <= 0)
    return rc;
  if ((rc = db_begin(s, err)) != 0)
    return rc;
  rc = collect(s,
               db_prep(s, err,
                       "SELECT id FROM certificates WHERE ari_next > 0"
                       " AND ari_next <= ? AND state = 1 AND lease_until < ?"
                       " ORDER BY ari_next LIMIT ?",
                       "iii", now, now, (int64_t)max),
               ids, max, n, err);
  if (rc == 0)
    rc =
        db_exec_ids(s, err, "UPDATE certificates SET ari_next = ? WHERE id = ?",
                    ids, sizeof(*ids), *n, "i", until);
  if (rc != 0) {
    db_rollback(s);
    *n = 0;
    return rc;
  }
  if ((rc = db_commit(s, err)) != 0)
    *n = 0;
  return rc;
}
