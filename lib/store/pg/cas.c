/* PostgreSQL: CA health shared by every tenant and every node; the rule
 * (D-BACKOFF) is rules.c's, applied under a row lock so two nodes
 * recording at once both count. */
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

#define CA_COLS                                                                \
  "issuer, failures, backoff_until, backoff_secs, last_ok, last_failure,"      \
  " last_error"

static void read_ca(const PGresult *r, int row, struct byoca_ca_health *h) {
  memset(h, 0, sizeof(*h));
  pq_str(r, row, 0, h->issuer, sizeof(h->issuer));
  h->failures = (int)pq_int(r, row, 1);
  h->backoff_until = pq_int(r, row, 2);
  h->backoff_secs = pq_int(r, row, 3);
  h->last_ok = pq_int(r, row, 4);
  h->last_failure = pq_int(r, row, 5);
  pq_str(r, row, 6, h->last_error, sizeof(h->last_error));
}

static int get_ca(struct byoca_store *s, const char *issuer, int lock,
                  struct byoca_ca_health *out, struct byoca_err *err) {
  PGresult *r = pq_query(s, err,
                         lock ? "SELECT " CA_COLS " FROM cas WHERE issuer = $1"
                                " FOR UPDATE"
                              : "SELECT " CA_COLS " FROM cas WHERE issuer = $1",
                         "t", issuer);
  if (r == NULL)
    return BYOCA_E_IO;
  if (PQntuples(r) > 0) {
    read_ca(r, 0, out);
  } else {
    memset(out, 0, sizeof(*out));
    byoca_strlcpy(out->issuer, issuer, sizeof(out->issuer));
  }
  PQclear(r);
  return 0;
}

int pg_ca_get(struct byoca_store *s, const char *issuer,
              struct byoca_ca_health *out, struct byoca_err *err) {
  return get_ca(s, issuer, 0, out, err);
}

static int record(struct byoca_store *s, const char *issuer, int ok,
                  const char *error, int64_t now, int *started,
                  struct byoca_err *err) {
  struct byoca_ca_health h;
  /* the row must exist for FOR UPDATE to lock it */
  int rc = pq_exec(s, err,
                   "INSERT INTO cas (issuer) VALUES ($1)"
                   " ON CONFLICT (issuer) DO NOTHING",
                   "t", issuer);
  if (rc == 0)
    rc = get_ca(s, issuer, 1, &h, err);
  if (rc != 0)
    return rc;
  store_ca_next(&h, ok, error, now, started);
  return pq_exec(s, err,
                 "UPDATE cas SET failures = $2, backoff_until = $3,"
                 " backoff_secs = $4, last_ok = $5, last_failure = $6,"
                 " last_error = $7 WHERE issuer = $1",
                 "tiiiiit", issuer, (int64_t)h.failures, h.backoff_until,
                 h.backoff_secs, h.last_ok, h.last_failure, h.last_error);
}

int pg_ca_record(struct byoca_store *s, const char *issuer, int ok,
                 const char *error, int64_t now, int *started,
                 struct byoca_err *err) {
  int st_flag = 0, rc = pq_begin(s, err);
  if (rc != 0)
    return rc;
  if ((rc = record(s, issuer, ok, error, now, &st_flag, err)) != 0) {
    pq_rollback(s);
    return rc;
  }
  if (started != NULL)
    *started = st_flag;
  return pq_commit(s, err);
}

int pg_ca_list(struct byoca_store *s, struct byoca_ca_health **out, size_t *n,
               struct byoca_err *err) {
  *out = NULL;
  *n = 0;
  PGresult *r =
      pq_query(s, err, "SELECT " CA_COLS " FROM cas ORDER BY issuer", NULL);
  if (r == NULL)
    return BYOCA_E_IO;
  size_t rows = (size_t)PQntuples(r);
  if (rows > 0 && (*out = calloc(rows, sizeof(**out))) == NULL) {
    PQclear(r);
    return pq_oom(err, "listing CAs");
  }
  for (; *n < rows; (*n)++)
    read_ca(r, (int)*n, &(*out)[*n]);
  PQclear(r);
  return 0;
}
