/* PostgreSQL: the outbox of webhook notifications. An event that
 * notifies is inserted with its notification in one transaction; any
 * node claims due rows (FOR UPDATE SKIP LOCKED, then a lease), posts
 * them, and deletes the row or records the failed try and when to try
 * again, so each notification is sent by one node and survives restarts. */
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

static int outbox_add(struct byoca_store *s, const char *type, const char *url,
                      const char *body, int64_t now_ms, struct byoca_err *err) {
  return pq_exec(s, err,
                 "INSERT INTO outbox (created, type, url, body, next_try_ms)"
                 " VALUES ($1, $2, $3, $4, $5)",
                 "ittti", now_ms / 1000, type, url, body != NULL ? body : "{}",
                 now_ms);
}

int pg_event_put(struct byoca_store *s, const struct byoca_event *ev,
                 struct byoca_err *err) {
  int rc = pg_event_add(s, ev->tenant_id, ev->cert_id, ev->type,
                        ev->detail_json, ev->ts, err);
  if (rc == 0 && ev->notify_url != NULL)
    rc = outbox_add(s, ev->type, ev->notify_url, ev->notify_body,
                    byoca_now_ms(), err);
  return rc;
}

int pg_event_notify(struct byoca_store *s, int64_t tenant_id, int64_t cert_id,
                    const char *type, const char *detail_json, int64_t now_ms,
                    const char *url, const char *body, struct byoca_err *err) {
  int rc = pq_begin(s, err);
  if (rc != 0)
    return rc;
  rc = pg_event_add(s, tenant_id, cert_id, type, detail_json, now_ms / 1000,
                    err);
  if (rc == 0 && url != NULL)
    rc = outbox_add(s, type, url, body, now_ms, err);
  if (rc != 0) {
    pq_rollback(s);
    return rc;
  }
  return pq_commit(s, err);
}

/* Reads the claimed rows of r into *out. */
static int read_rows(const PGresult *r, struct byoca_outbox_row **out,
                     size_t *n, struct byoca_err *err) {
  size_t rows = (size_t)PQntuples(r);
  if (rows > 0 && (*out = calloc(rows, sizeof(**out))) == NULL)
    return pq_oom(err, "claiming notifications");
  for (; *n < rows; (*n)++) {
    struct byoca_outbox_row *o = &(*out)[*n];
    int i = (int)*n;
    o->id = pq_int(r, i, 0);
    pq_str(r, i, 1, o->type, sizeof(o->type));
    o->url = pq_dup(r, i, 2);
    o->body = pq_dup(r, i, 3);
    o->tries = (int)pq_int(r, i, 4);
    if (o->url == NULL || o->body == NULL) {
      (*n)++;
      return pq_oom(err, "claiming notifications");
    }
  }
  return 0;
}

static int claim(struct byoca_store *s, int64_t now_ms, int64_t lease_until,
                 size_t max, struct byoca_outbox_row **out, size_t *n,
                 struct byoca_err *err) {
  PGresult *r = pq_query(s, err,
                         "SELECT id, type, url, body, tries FROM outbox"
                         " WHERE next_try_ms <= $1 AND lease_until < $2"
                         " ORDER BY next_try_ms, id LIMIT $3"
                         " FOR UPDATE SKIP LOCKED",
                         "iii", now_ms, now_ms / 1000, (int64_t)max);
  if (r == NULL)
    return BYOCA_E_IO;
  int rc = read_rows(r, out, n, err);
  PQclear(r);
  if (rc != 0 || *n == 0)
    return rc;
  int64_t *ids = malloc(*n * sizeof(*ids));
  if (ids == NULL)
    return pq_oom(err, "claiming notifications");
  for (size_t i = 0; i < *n; i++)
    ids[i] = (*out)[i].id;
  char *arr = pq_id_array(ids, *n);
  free(ids);
  if (arr == NULL)
    return pq_oom(err, "claiming notifications");
  rc = pq_exec(s, err,
               "UPDATE outbox SET lease_until = $1, claimed_by = $2"
               " WHERE id = ANY ($3::bigint[])",
               "itt", lease_until, s->node, arr);
  free(arr);
  return rc;
}

int pg_outbox_claim(struct byoca_store *s, int64_t now_ms, int64_t lease_until,
                    size_t max, struct byoca_outbox_row **out, size_t *n,
                    struct byoca_err *err) {
  *out = NULL;
  *n = 0;
  if (max == 0)
    return 0;
  int rc = pq_begin(s, err);
  if (rc == 0 && (rc = claim(s, now_ms, lease_until, max, out, n, err)) != 0)
    pq_rollback(s);
  else if (rc == 0)
    rc = pq_commit(s, err);
  if (rc != 0) {
    byoca_outbox_rows_free(*out, *n);
    *out = NULL;
    *n = 0;
  }
  return rc;
}

int pg_outbox_done(struct byoca_store *s, int64_t id, struct byoca_err *err) {
  return pq_exec(s, err, "DELETE FROM outbox WHERE id = $1", "i", id);
}

int pg_outbox_retry(struct byoca_store *s, int64_t id, int64_t next_try_ms,
                    const char *error, struct byoca_err *err) {
  return pq_exec(s, err,
                 "UPDATE outbox SET tries = tries + 1, next_try_ms = $2,"
                 " last_error = $3, lease_until = 0, claimed_by = ''"
                 " WHERE id = $1",
                 "iit", id, next_try_ms, error != NULL ? error : "");
}

int pg_outbox_count(struct byoca_store *s, int64_t *n, struct byoca_err *err) {
  PGresult *r = pq_query(s, err, "SELECT count(*) FROM outbox", NULL);
  if (r == NULL)
    return BYOCA_E_IO;
  *n = pq_int(r, 0, 0);
  PQclear(r);
  return 0;
}
