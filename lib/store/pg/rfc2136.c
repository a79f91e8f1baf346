/* PostgreSQL: a tenant's RFC 2136 servers per zone, the secret sealed. */
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

int pg_rfc2136_put(struct byoca_store *s, int64_t tenant_id,
                   const struct byoca_rfc2136_row *row,
                   const struct byoca_secret *secret, struct byoca_err *err) {
  char aad[400];
  unsigned char *box = NULL;
  size_t boxlen = 0;
  store_aad_rfc2136(tenant_id, row->zone, aad, sizeof(aad));
  int rc = sec_seal(s, tenant_id, aad, secret->data, secret->len, &box, &boxlen,
                    err);
  if (rc == 0)
    rc = pq_exec(s, err,
                 "INSERT INTO rfc2136_servers (tenant_id, zone, server, port,"
                 " key_name, algorithm, secret, created)"
                 " VALUES ($1, $2, $3, $4, $5, $6, $7, $8)"
                 " ON CONFLICT (tenant_id, zone) DO UPDATE SET"
                 " server = excluded.server, port = excluded.port,"
                 " key_name = excluded.key_name,"
                 " algorithm = excluded.algorithm, secret = excluded.secret,"
                 " created = excluded.created",
                 "ittittbi", tenant_id, row->zone, row->server,
                 (int64_t)row->port, row->key_name, row->algorithm, box, boxlen,
                 byoca_now());
  free(box);
  return pq_no_tenant(s, rc, tenant_id, err);
}

int pg_rfc2136_list(struct byoca_store *s, int64_t tenant_id,
                    struct byoca_rfc2136_row **out,
                    struct byoca_secret **secrets, size_t *n,
                    struct byoca_err *err) {
  *n = 0;
  PGresult *r = pq_query(s, err,
                         "SELECT zone, server, port, key_name, algorithm,"
                         " created, secret FROM rfc2136_servers"
                         " WHERE tenant_id = $1 ORDER BY zone",
                         "i", tenant_id);
  if (r == NULL)
    return BYOCA_E_IO;
  size_t rows = (size_t)PQntuples(r), got = 0;
  struct byoca_rfc2136_row *v = calloc(rows + 1, sizeof(*v));
  struct byoca_secret *sec =
      secrets != NULL ? calloc(rows + 1, sizeof(*sec)) : NULL;
  int rc = v == NULL || (secrets != NULL && sec == NULL)
               ? pq_oom(err, "listing RFC 2136 servers")
               : 0;
  for (; rc == 0 && got < rows; got++) {
    struct byoca_rfc2136_row *e = &v[got];
    int i = (int)got;
    pq_str(r, i, 0, e->zone, sizeof(e->zone));
    pq_str(r, i, 1, e->server, sizeof(e->server));
    e->port = (int)pq_int(r, i, 2);
    pq_str(r, i, 3, e->key_name, sizeof(e->key_name));
    pq_str(r, i, 4, e->algorithm, sizeof(e->algorithm));
    e->created = pq_int(r, i, 5);
    if (sec != NULL) {
      char aad[400];
      store_aad_rfc2136(tenant_id, e->zone, aad, sizeof(aad));
      rc = pq_open_col(s, r, i, 6, tenant_id, aad, &sec[got], err);
    }
  }
  PQclear(r);
  if (rc != 0) {
    for (size_t i = 0; sec != NULL && i < rows; i++)
      byoca_secret_free(&sec[i]);
    free(sec);
    free(v);
    return rc;
  }
  *out = v;
  if (secrets != NULL)
    *secrets = sec;
  *n = rows;
  return 0;
}

int pg_rfc2136_delete(struct byoca_store *s, int64_t tenant_id,
                      const char *zone, struct byoca_err *err) {
  int rc = pq_exec(s, err,
                   "DELETE FROM rfc2136_servers WHERE tenant_id = $1"
                   " AND zone = $2",
                   "it", tenant_id, zone);
  if (rc == 0 && s->pg_changes == 0)
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no RFC 2136 server for zone '%.255s'",
                         zone[0] ? zone : "*");
  return rc;
}
