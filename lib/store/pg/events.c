/* PostgreSQL: the audit log, append-only, read in id order. */
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

int pg_event_add(struct byoca_store *s, int64_t tenant_id, int64_t cert_id,
                 const char *type, const char *detail_json, int64_t now,
                 struct byoca_err *err) {
  return pq_exec(s, err,
                 "INSERT INTO events (ts, tenant_id, cert_id, type, detail)"
                 " VALUES ($1, $2, $3, $4, $5)",
                 "iiitt", now, tenant_id, cert_id, type,
                 detail_json != NULL ? detail_json : "{}");
}

int pg_event_list(struct byoca_store *s, int64_t tenant_id, int64_t after,
                  size_t limit, struct byoca_event **out, size_t *n,
                  struct byoca_err *err) {
  *out = NULL;
  *n = 0;
  PGresult *r = pq_query(s, err,
                         "SELECT id, ts, tenant_id, cert_id, type, detail"
                         " FROM events WHERE id > $1"
                         " AND ($2::bigint < 0 OR tenant_id = $2)"
                         " ORDER BY id LIMIT $3",
                         "iii", after, tenant_id, (int64_t)limit);
  if (r == NULL)
    return BYOCA_E_IO;
  size_t rows = (size_t)PQntuples(r);
  int oom = limit > 0 && (*out = calloc(limit, sizeof(**out))) == NULL;
  for (; !oom && *n < rows && *n < limit; (*n)++) {
    struct byoca_event *e = &(*out)[*n];
    e->id = pq_int(r, (int)*n, 0);
    e->ts = pq_int(r, (int)*n, 1);
    e->tenant_id = pq_int(r, (int)*n, 2);
    e->cert_id = pq_int(r, (int)*n, 3);
    pq_str(r, (int)*n, 4, e->type, sizeof(e->type));
    oom = (e->detail_json = pq_dup(r, (int)*n, 5)) == NULL;
  }
  PQclear(r);
  if (!oom)
    return 0;
  byoca_events_free(*out, *n);
  *out = NULL;
  *n = 0;
  return pq_oom(err, "listing events");
}
