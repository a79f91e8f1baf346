/* Copying a whole store into an empty one, between backends (byocad
 * migrate-store): every row of every table with its id, sealed values and
 * wrapped data keys byte for byte, so nothing is unsealed on the way and
 * the destination needs the same master key. The source is read in one
 * snapshot, the destination written in one transaction: all or nothing. */
#include <stdio.h>
#include <string.h>

#include "store_int.h"

struct table {
  const char *name, *cols, *types, *order;
};

/* In foreign-key order; the columns of schema version 7. */
static const struct table tables[] = {
    {"tenants",
     "id, name, created, deleting, data_key, profile, profile_required",
     "itiibti", "id"},
    {"api_tokens", "id, tenant_id, hash, label, created, revoked", "iibtii",
     "id"},
    {"cas",
     "issuer, failures, backoff_until, backoff_secs, last_ok, last_failure,"
     " last_error",
     "tiiiiit", "issuer"},
    {"accounts", "id, tenant_id, directory, issuer, url, key, jwk, created",
     "iitttbti", "id"},
    {"eab_credentials", "tenant_id, issuer, kid, hmac, created", "ittbi",
     "tenant_id, issuer"},
    {"certificates",
     "id, tenant_id, identifiers, key_type, ca, profile, state, issuer,"
     " directory, serial, not_before, not_after, fullchain, key, next_check,"
     " next_source, failures, last_attempt, last_outcome, created, updated,"
     " lease_until, revoke_on_delete, claimed_by, profile_required,"
     " issued_profile, ari_cert_id, ari_start, ari_end, ari_explanation,"
     " ari_next, ari_failures",
     "iittttitttiitbitiitiiiitittiitii", "id"},
    {"orders", "cert_id, directory, issuer, order_url, key, started", "itttbi",
     "cert_id"},
    {"challenge_tokens", "token, key_authz, cert_id, expires", "ttii", "token"},
    {"events", "id, ts, tenant_id, cert_id, type, detail", "iiiitt", "id"},
    {"nodes", "name, started, heartbeat, version, tls_alpn", "tiiti", "name"},
    {"outbox",
     "id, created, type, url, body, tries, next_try_ms, lease_until,"
     " claimed_by, last_error",
     "iitttiiitt", "id"},
    {"rfc2136_servers",
     "tenant_id, zone, server, port, key_name, algorithm, secret, created",
     "ittittbi", "tenant_id, zone"},
};
#define NTABLES (sizeof(tables) / sizeof(tables[0]))
_Static_assert(STORE_SCHEMA_VERSION == 7,
               "copy.c lists the columns of schema version 7");

struct copy {
  struct byoca_store *to;
  const struct table *t;
  int64_t rows;
};

static int count_row(void *arg, const struct store_val *v, int n,
                     struct byoca_err *err) {
  (void)err;
  *(int64_t *)arg += n > 0 ? v[0].i : 0;
  return 0;
}

static int insert_row(void *arg, const struct store_val *v, int n,
                      struct byoca_err *err) {
  struct copy *c = arg;
  c->rows++;
  return c->to->ops->insert(c->to, c->t->name, c->t->cols, v, n, err);
}

/* BYOCA_E_INVAL unless every table of s is empty. */
static int check_empty(struct byoca_store *s, struct byoca_err *err) {
  char sql[96];
  for (size_t i = 0; i < NTABLES; i++) {
    int64_t n = 0;
    snprintf(sql, sizeof(sql), "SELECT count(*) FROM %s", tables[i].name);
    int rc = s->ops->rows(s, sql, "i", count_row, &n, err);
    if (rc != 0)
      return rc;
    if (n != 0)
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                           "the destination store is not empty (%s has %lld"
                           " rows); copy only into a new store",
                           tables[i].name, (long long)n);
  }
  return 0;
}

static int copy_all(struct byoca_store *from, struct byoca_store *to,
                    struct byoca_err *err) {
  char sql[512];
  int rc = check_empty(to, err);
  for (size_t i = 0; rc == 0 && i < NTABLES; i++) {
    struct copy c = {.to = to, .t = &tables[i]};
    snprintf(sql, sizeof(sql), "SELECT %s FROM %s ORDER BY %s", tables[i].cols,
             tables[i].name, tables[i].order);
    rc = from->ops->rows(from, sql, tables[i].types, insert_row, &c, err);
    if (rc != 0)
      byoca_err_activity(err, "copying table %s (row %lld)", tables[i].name,
                         (long long)c.rows);
  }
  return rc != 0 ? rc : to->ops->ids_done(to, err);
}

int byoca_store_copy(struct byoca_store *from, struct byoca_store *to,
                     struct byoca_err *err) {
  if (from->version != STORE_SCHEMA_VERSION ||
      to->version != STORE_SCHEMA_VERSION)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "both stores must be at schema version %d",
                         STORE_SCHEMA_VERSION);
  int rc = from->ops->begin(from, 0, err);
  if (rc != 0)
    return rc;
  if ((rc = to->ops->begin(to, 1, err)) != 0) {
    from->ops->rollback(from);
    return rc;
  }
  rc = copy_all(from, to, err);
  from->ops->rollback(from); /* it only read */
  if (rc != 0) {
    to->ops->rollback(to);
    return rc;
  }
  return to->ops->commit(to, err);
}
