/* PostgreSQL: tenants, created with a fresh data key and destroyed with
 * every row of theirs but the events. */
#include <stdlib.h>
#include <string.h>

#include "pg_int.h"

#define TENANT_COLS "id, name, created, deleting, profile, profile_required"

static void read_tenant(const PGresult *r, int row, struct byoca_tenant *t) {
  memset(t, 0, sizeof(*t));
  t->id = pq_int(r, row, 0);
  pq_str(r, row, 1, t->name, sizeof(t->name));
  t->created = pq_int(r, row, 2);
  t->deleting = (int)pq_int(r, row, 3);
  pq_str(r, row, 4, t->profile, sizeof(t->profile));
  t->profile_required = (int)pq_int(r, row, 5);
}

static int insert_tenant(struct byoca_store *s, const char *name, int64_t now,
                         int64_t *id, struct byoca_err *err) {
  unsigned char *wrapped = NULL;
  size_t wlen = 0;
  /* the id is needed for the wrapping AAD: insert, then set the key */
  PGresult *r = pq_query(s, err,
                         "INSERT INTO tenants (name, created, data_key)"
                         " VALUES ($1, $2, '') RETURNING id",
                         "ti", name, now);
  if (r == NULL) {
    if (pq_state_is(s, PQ_UNIQUE) &&
        strcmp(s->constraint, "tenants_name_key") == 0)
      return byoca_err_set(err, BYOCA_E_CONFLICT, BYOCA_CLASS_INPUT,
                           "a tenant named \"%s\" exists already", name);
    return BYOCA_E_IO;
  }
  *id = pq_int(r, 0, 0);
  PQclear(r);
  int rc = sec_new_data_key(s, *id, &wrapped, &wlen, err);
  if (rc == 0)
    rc = pq_exec(s, err, "UPDATE tenants SET data_key = $1 WHERE id = $2", "bi",
                 wrapped, wlen, *id);
  free(wrapped);
  return rc;
}

int pg_tenant_create(struct byoca_store *s, const char *name,
                     struct byoca_tenant *out, struct byoca_err *err) {
  if (!store_tenant_name_ok(name))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "tenant name: 1 to 64 of A-Z a-z 0-9 . _ -");
  int64_t id = 0, now = byoca_now();
  int rc = pq_begin(s, err);
  if (rc != 0)
    return rc;
  if ((rc = insert_tenant(s, name, now, &id, err)) != 0) {
    pq_rollback(s);
    return rc;
  }
  if ((rc = pq_commit(s, err)) != 0)
    return rc;
  return pg_tenant_get(s, id, out, err);
}

int pg_tenant_get(struct byoca_store *s, int64_t id, struct byoca_tenant *out,
                  struct byoca_err *err) {
  PGresult *r = pq_query(
      s, err, "SELECT " TENANT_COLS " FROM tenants WHERE id = $1", "i", id);
  if (r == NULL)
    return BYOCA_E_IO;
  int found = PQntuples(r) > 0;
  if (found)
    read_tenant(r, 0, out);
  PQclear(r);
  return found ? 0
               : byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                               "no tenant %lld", (long long)id);
}

int pg_tenant_list(struct byoca_store *s, struct byoca_tenant **out, size_t *n,
                   struct byoca_err *err) {
  *out = NULL;
  *n = 0;
  PGresult *r =
      pq_query(s, err, "SELECT " TENANT_COLS " FROM tenants ORDER BY id", NULL);
  if (r == NULL)
    return BYOCA_E_IO;
  size_t rows = (size_t)PQntuples(r);
  if (rows > 0 && (*out = calloc(rows, sizeof(**out))) == NULL) {
    PQclear(r);
    return pq_oom(err, "listing tenants");
  }
  for (; *n < rows; (*n)++)
    read_tenant(r, (int)*n, &(*out)[*n]);
  PQclear(r);
  return 0;
}

int pg_tenant_set_profile(struct byoca_store *s, int64_t id,
                          const char *profile, int required,
                          struct byoca_err *err) {
  int has = profile != NULL && *profile != '\0';
  int rc = pq_exec(s, err,
                   "UPDATE tenants SET profile = $1, profile_required = $2"
                   " WHERE id = $3",
                   "tii", has ? profile : "", (int64_t)(has && required), id);
  if (rc == 0 && s->pg_changes == 0)
    rc = byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                       "no tenant %lld", (long long)id);
  return rc;
}

int pg_tenant_set_deleting(struct byoca_store *s, int64_t id,
                           struct byoca_err *err) {
  int rc = pq_begin(s, err);
  if (rc != 0)
    return rc;
  rc =
      pq_exec(s, err, "UPDATE tenants SET deleting = 1 WHERE id = $1", "i", id);
  if (rc == 0 && s->pg_changes == 0)
    rc = byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                       "no tenant %lld", (long long)id);
  if (rc == 0)
    rc = pq_exec(s, err,
                 "UPDATE certificates SET state = 3, next_check = 0,"
                 " updated = $1 WHERE tenant_id = $2 AND state != 3",
                 "ii", byoca_now(), id);
  if (rc != 0) {
    pq_rollback(s);
    return rc;
  }
  return pq_commit(s, err);
}

int pg_tenant_destroy(struct byoca_store *s, int64_t id,
                      struct byoca_err *err) {
  int rc = pq_begin(s, err);
  if (rc != 0)
    return rc;
  /* challenge tokens have no foreign key: remove them first */
  rc = pq_exec(s, err,
               "DELETE FROM challenge_tokens WHERE cert_id IN"
               " (SELECT id FROM certificates WHERE tenant_id = $1)",
               "i", id);
  if (rc == 0)
    rc = pq_exec(s, err, "DELETE FROM tenants WHERE id = $1", "i", id);
  if (rc == 0 && s->pg_changes == 0)
    rc = byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                       "no tenant %lld", (long long)id);
  if (rc != 0) {
    pq_rollback(s);
    return rc;
  }
  return pq_commit(s, err);
}
