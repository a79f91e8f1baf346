/* PostgreSQL: the nodes sharing the store. Each byocad beats (upserts its
 * row) periodically; the list counts the leases each holds. A node's
 * leases are its own: at start-up it clears those of its name only, and
 * while a long order runs it moves them forward. */
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

int pg_node_beat(struct byoca_store *s, int64_t started, const char *version,
                 int tls_alpn, int64_t now, struct byoca_err *err) {
  return pq_exec(s, err,
                 "INSERT INTO nodes (name, started, heartbeat, version,"
                 " tls_alpn) VALUES ($1, $2, $3, $4, $5)"
                 " ON CONFLICT (name) DO UPDATE SET started = $2,"
                 " heartbeat = $3, version = $4, tls_alpn = $5",
                 "tiiti", s->node, started, now, version != NULL ? version : "",
                 (int64_t)(tls_alpn != 0));
}

int pg_node_alpn(struct byoca_store *s, int64_t since, int *any,
                 struct byoca_err *err) {
  PGresult *r = pq_query(s, err,
                         "SELECT count(*) FROM nodes WHERE tls_alpn = 1"
                         " AND heartbeat >= $1",
                         "i", since);
  if (r == NULL)
    return BYOCA_E_IO;
  *any = PQntuples(r) > 0 && pq_int(r, 0, 0) > 0;
  PQclear(r);
  return 0;
}

int pg_node_list(struct byoca_store *s, int64_t now,
                 struct byoca_node_row **out, size_t *n,
                 struct byoca_err *err) {
  *out = NULL;
  *n = 0;
  PGresult *r = pq_query(
      s, err,
      "SELECT n.name, n.started, n.heartbeat, n.version,"
      " (SELECT count(*) FROM certificates c WHERE c.claimed_by = n.name"
      "  AND c.lease_until >= $1), n.tls_alpn"
      " FROM nodes n ORDER BY n.name",
      "i", now);
  if (r == NULL)
    return BYOCA_E_IO;
  size_t rows = (size_t)PQntuples(r);
  if (rows > 0 && (*out = calloc(rows, sizeof(**out))) == NULL) {
    PQclear(r);
    return pq_oom(err, "listing nodes");
  }
  for (; *n < rows; (*n)++) {
    struct byoca_node_row *o = &(*out)[*n];
    int i = (int)*n;
    pq_str(r, i, 0, o->name, sizeof(o->name));
    o->started = pq_int(r, i, 1);
    o->heartbeat = pq_int(r, i, 2);
    pq_str(r, i, 3, o->version, sizeof(o->version));
    o->leases = pq_int(r, i, 4);
    o->tls_alpn = pq_int(r, i, 5) != 0;
  }
  PQclear(r);
  return 0;
}

int pg_cert_release_node(struct byoca_store *s, struct byoca_err *err) {
  int rc = pq_exec(s, err,
                   "UPDATE certificates SET lease_until = 0, claimed_by = ''"
                   " WHERE claimed_by = $1 AND lease_until != 0",
                   "t", s->node);
  if (rc == 0)
    rc = pq_exec(s, err,
                 "UPDATE outbox SET lease_until = 0, claimed_by = ''"
                 " WHERE claimed_by = $1",
                 "t", s->node);
  return rc;
}

int pg_cert_lease_extend(struct byoca_store *s, const int64_t *ids, size_t n,
                         int64_t lease_until, size_t *kept,
                         struct byoca_err *err) {
  *kept = 0;
  if (n == 0)
    return 0;
  char *arr = pq_id_array(ids, n);
  if (arr == NULL)
    return pq_oom(err, "extending leases");
  int rc = pq_exec(s, err,
                   "UPDATE certificates SET lease_until = $1"
                   " WHERE id = ANY ($2::bigint[]) AND claimed_by = $3",
                   "itt", lease_until, arr, s->node);
  free(arr);
  if (rc == 0)
    *kept = (size_t)s->pg_changes;
  return rc;
}
