/* The operations a store backend implements: one per public byoca_store_*
 * function that touches the database (store.h documents each), plus
 * opening, closing and reading a tenant's wrapped data key. The list is
 * written once, as STORE_OPS(X), and expanded into the ops table, each
 * backend's prototypes (sqlite_<op>, pg_<op>) and the public functions
 * that dispatch to s->ops (dispatch.c), so the three cannot drift apart. */
#ifndef BYOCA_STORE_OPS_H
#define BYOCA_STORE_OPS_H

#include <stddef.h>
#include <stdint.h>

#include "byoca/store.h"

/* X(name, (parameters), (arguments)); every op returns int. */
// clang-format off
#define STORE_OPS(X)                                                           \
  X(tenant_create,                                                             \
    (struct byoca_store *s, const char *name, struct byoca_tenant *out,        \
     struct byoca_err *err),                                                   \
    (s, name, out, err))                                                       \
  X(tenant_get,                                                                \
    (struct byoca_store *s, int64_t id, struct byoca_tenant *out,              \
     struct byoca_err *err),                                                   \
    (s, id, out, err))                                                         \
  X(tenant_list,                                                               \
    (struct byoca_store *s, struct byoca_tenant **out, size_t *n,              \
     struct byoca_err *err),                                                   \
    (s, out, n, err))                                                          \
  X(tenant_set_profile,                                                        \
    (struct byoca_store *s, int64_t id, const char *profile, int required,     \
     struct byoca_err *err),                                                   \
    (s, id, profile, required, err))                                           \
  X(tenant_set_deleting,                                                       \
    (struct byoca_store *s, int64_t id, struct byoca_err *err), (s, id, err))  \
  X(tenant_destroy,                                                            \
    (struct byoca_store *s, int64_t id, struct byoca_err *err), (s, id, err))  \
  X(token_mint,                                                                \
    (struct byoca_store *s, int64_t tenant_id, const char *label,              \
     char *token_out, size_t outlen, int64_t *id_out, struct byoca_err *err),  \
    (s, tenant_id, label, token_out, outlen, id_out, err))                     \
  X(token_check,                                                               \
    (struct byoca_store *s, const char *token, int64_t *tenant_out,            \
     struct byoca_err *err),                                                   \
    (s, token, tenant_out, err))                                               \
  X(token_revoke,                                                              \
    (struct byoca_store *s, int64_t tenant_id, int64_t id,                     \
     struct byoca_err *err),                                                   \
    (s, tenant_id, id, err))                                                   \
  X(token_list,                                                                \
    (struct byoca_store *s, int64_t tenant_id,                                 \
     struct byoca_token_info **out, size_t *n, struct byoca_err *err),         \
    (s, tenant_id, out, n, err))                                               \
  X(operator_tokens,                                                           \
    (struct byoca_store *s, int64_t *n, struct byoca_err *err), (s, n, err))   \
  X(ca_record,                                                                 \
    (struct byoca_store *s, const char *issuer, int ok, const char *error,     \
     int64_t now, int *started, struct byoca_err *err),                        \
    (s, issuer, ok, error, now, started, err))                                 \
  X(ca_get,                                                                    \
    (struct byoca_store *s, const char *issuer,                                \
     struct byoca_ca_health *out, struct byoca_err *err),                      \
    (s, issuer, out, err))                                                     \
  X(ca_list,                                                                   \
    (struct byoca_store *s, struct byoca_ca_health **out, size_t *n,           \
     struct byoca_err *err),                                                   \
    (s, out, n, err))                                                          \
  X(account_put,                                                               \
    (struct byoca_store *s, const struct byoca_account_row *row,               \
     const struct byoca_secret *key_pem, struct byoca_err *err),               \
    (s, row, key_pem, err))                                                    \
  X(account_get,                                                               \
    (struct byoca_store *s, int64_t tenant_id, const char *directory,          \
     struct byoca_account_row *out, struct byoca_secret *key_pem,              \
     struct byoca_err *err),                                                   \
    (s, tenant_id, directory, out, key_pem, err))                              \
  X(account_jwks,                                                              \
    (struct byoca_store *s, char ***jwks, size_t *n, struct byoca_err *err),   \
    (s, jwks, n, err))                                                         \
  X(account_list,                                                              \
    (struct byoca_store *s, int64_t tenant_id,                                 \
     struct byoca_account_row **out, size_t *n, struct byoca_err *err),        \
    (s, tenant_id, out, n, err))                                               \
  X(eab_put,                                                                   \
    (struct byoca_store *s, int64_t tenant_id, const char *issuer,             \
     const char *kid, const struct byoca_secret *hmac,                         \
     struct byoca_err *err),                                                   \
    (s, tenant_id, issuer, kid, hmac, err))                                    \
  X(eab_get,                                                                   \
    (struct byoca_store *s, int64_t tenant_id, const char *issuer,             \
     char *kid_out, size_t kidlen, struct byoca_secret *hmac,                  \
     struct byoca_err *err),                                                   \
    (s, tenant_id, issuer, kid_out, kidlen, hmac, err))                        \
  X(eab_delete,                                                                \
    (struct byoca_store *s, int64_t tenant_id, const char *issuer,             \
     struct byoca_err *err),                                                   \
    (s, tenant_id, issuer, err))                                               \
  X(eab_list,                                                                  \
    (struct byoca_store *s, int64_t tenant_id, char ***issuers,                \
     char ***kids, size_t *n, struct byoca_err *err),                          \
    (s, tenant_id, issuers, kids, n, err))                                     \
  X(rfc2136_put,                                                               \
    (struct byoca_store *s, int64_t tenant_id,                                 \
     const struct byoca_rfc2136_row *row,                                      \
     const struct byoca_secret *secret, struct byoca_err *err),                \
    (s, tenant_id, row, secret, err))                                          \
  X(rfc2136_list,                                                              \
    (struct byoca_store *s, int64_t tenant_id,                                 \
     struct byoca_rfc2136_row **out, struct byoca_secret **secrets, size_t *n, \
     struct byoca_err *err),                                                   \
    (s, tenant_id, out, secrets, n, err))                                      \
  X(rfc2136_delete,                                                            \
    (struct byoca_store *s, int64_t tenant_id, const char *zone,               \
     struct byoca_err *err),                                                   \
    (s, tenant_id, zone, err))                                                 \
  X(cert_add,                                                                  \
    (struct byoca_store *s, int64_t tenant_id,                                 \
     const struct byoca_cert_row *row, int64_t now,                            \
     const struct byoca_event *ev, int64_t *id_out, struct byoca_err *err),    \
    (s, tenant_id, row, now, ev, id_out, err))                                 \
  X(cert_get,                                                                  \
    (struct byoca_store *s, int64_t tenant_id, int64_t id, int with_pem,       \
     struct byoca_cert_row *out, struct byoca_err *err),                       \
    (s, tenant_id, id, with_pem, out, err))                                    \
  X(cert_list,                                                                 \
    (struct byoca_store *s, int64_t tenant_id, int64_t after, size_t limit,    \
     struct byoca_cert_row **out, size_t *n, struct byoca_err *err),           \
    (s, tenant_id, after, limit, out, n, err))                                 \
  X(cert_key,                                                                  \
    (struct byoca_store *s, int64_t tenant_id, int64_t id,                     \
     struct byoca_secret *key_pem, struct byoca_err *err),                     \
    (s, tenant_id, id, key_pem, err))                                          \
  X(cert_issued,                                                               \
    (struct byoca_store *s, int64_t id, const struct byoca_cert_row *row,      \
     const char *fullchain_pem, const struct byoca_secret *key_pem,            \
     const struct byoca_event *ev, struct byoca_err *err),                     \
    (s, id, row, fullchain_pem, key_pem, ev, err))                             \
  X(cert_failed,                                                               \
    (struct byoca_store *s, int64_t id, const char *outcome,                   \
     int64_t next_check, int64_t now, struct byoca_err *err),                  \
    (s, id, outcome, next_check, now, err))                                    \
  X(cert_ari_set,                                                              \
    (struct byoca_store *s, int64_t id, const struct byoca_cert_row *row,      \
     struct byoca_err *err),                                                   \
    (s, id, row, err))                                                         \
  X(cert_ari_claim,                                                            \
    (struct byoca_store *s, int64_t now, int64_t until, size_t max,            \
     int64_t *ids, size_t *n, struct byoca_err *err),                          \
    (s, now, until, max, ids, n, err))                                         \
  X(cert_schedule,                                                             \
    (struct byoca_store *s, int64_t tenant_id, int64_t id,                     \
     int64_t next_check, const char *source, struct byoca_err *err),           \
    (s, tenant_id, id, next_check, source, err))                               \
  X(cert_set_deleting,                                                         \
    (struct byoca_store *s, int64_t tenant_id, int64_t id, int revoke,         \
     struct byoca_err *err),                                                   \
    (s, tenant_id, id, revoke, err))                                           \
  X(cert_destroy,                                                              \
    (struct byoca_store *s, int64_t id, const struct byoca_event *ev,          \
     struct byoca_err *err),                                                   \
    (s, id, ev, err))                                                          \
  X(cert_claim_due,                                                            \
    (struct byoca_store *s, int64_t now, int64_t lease_until, size_t max,      \
     int64_t *ids, size_t *n, struct byoca_err *err),                          \
    (s, now, lease_until, max, ids, n, err))                                   \
  X(cert_release_all, (struct byoca_store *s, struct byoca_err *err),          \
    (s, err))                                                                  \
  X(cert_counts,                                                               \
    (struct byoca_store *s, int64_t now, int64_t counts[4], int64_t *due,      \
     struct byoca_err *err),                                                   \
    (s, now, counts, due, err))                                                \
  X(cert_expiring,                                                             \
    (struct byoca_store *s, int64_t before, int64_t *ids, size_t max,          \
     size_t *n, struct byoca_err *err),                                        \
    (s, before, ids, max, n, err))                                             \
  X(order_put,                                                                 \
    (struct byoca_store *s, const struct byoca_order_row *row,                 \
     const struct byoca_secret *key_pem, struct byoca_err *err),               \
    (s, row, key_pem, err))                                                    \
  X(order_get,                                                                 \
    (struct byoca_store *s, int64_t cert_id, struct byoca_order_row *out,      \
     struct byoca_secret *key_pem, struct byoca_err *err),                     \
    (s, cert_id, out, key_pem, err))                                           \
  X(order_delete,                                                              \
    (struct byoca_store *s, int64_t cert_id, struct byoca_err *err),           \
    (s, cert_id, err))                                                         \
  X(order_count,                                                               \
    (struct byoca_store *s, int64_t *n, struct byoca_err *err), (s, n, err))   \
  X(challenge_put,                                                             \
    (struct byoca_store *s, const char *token, const char *key_authz,          \
     int64_t cert_id, int64_t expires, struct byoca_err *err),                 \
    (s, token, key_authz, cert_id, expires, err))                              \
  X(challenge_get,                                                             \
    (struct byoca_store *s, const char *token, int64_t now, char *out,         \
     size_t outlen, struct byoca_err *err),                                    \
    (s, token, now, out, outlen, err))                                         \
  X(challenge_owner,                                                           \
    (struct byoca_store *s, const char *token, int64_t now, int64_t *cert_id,  \
     struct byoca_err *err),                                                   \
    (s, token, now, cert_id, err))                                             \
  X(challenge_delete,                                                          \
    (struct byoca_store *s, const char *token, int64_t cert_id,                \
     struct byoca_err *err),                                                   \
    (s, token, cert_id, err))                                                  \
  X(challenge_purge,                                                           \
    (struct byoca_store *s, int64_t now, int64_t *n, struct byoca_err *err),   \
    (s, now, n, err))                                                          \
  X(event_add,                                                                 \
    (struct byoca_store *s, int64_t tenant_id, int64_t cert_id,                \
     const char *type, const char *detail_json, int64_t now,                   \
     struct byoca_err *err),                                                   \
    (s, tenant_id, cert_id, type, detail_json, now, err))                      \
  X(event_list,                                                                \
    (struct byoca_store *s, int64_t tenant_id, int64_t after, size_t limit,    \
     struct byoca_event **out, size_t *n, struct byoca_err *err),              \
    (s, tenant_id, after, limit, out, n, err))                                 \
  X(node_beat,                                                                 \
    (struct byoca_store *s, int64_t started, const char *version,              \
     int tls_alpn, int64_t now, struct byoca_err *err),                        \
    (s, started, version, tls_alpn, now, err))                                 \
  X(node_alpn,                                                                 \
    (struct byoca_store *s, int64_t since, int *any, struct byoca_err *err),   \
    (s, since, any, err))                                                      \
  X(node_list,                                                                 \
    (struct byoca_store *s, int64_t now, struct byoca_node_row **out,          \
     size_t *n, struct byoca_err *err),                                        \
    (s, now, out, n, err))                                                     \
  X(cert_release_node, (struct byoca_store *s, struct byoca_err *err),         \
    (s, err))                                                                  \
  X(cert_lease_extend,                                                         \
    (struct byoca_store *s, const int64_t *ids, size_t n,                      \
     int64_t lease_until, size_t *kept, struct byoca_err *err),                \
    (s, ids, n, lease_until, kept, err))                                       \
  X(event_notify,                                                              \
    (struct byoca_store *s, int64_t tenant_id, int64_t cert_id,                \
     const char *type, const char *detail_json, int64_t now_ms,                \
     const char *url, const char *body, struct byoca_err *err),                \
    (s, tenant_id, cert_id, type, detail_json, now_ms, url, body, err))        \
  X(outbox_claim,                                                              \
    (struct byoca_store *s, int64_t now_ms, int64_t lease_until, size_t max,   \
     struct byoca_outbox_row **out, size_t *n, struct byoca_err *err),         \
    (s, now_ms, lease_until, max, out, n, err))                                \
  X(outbox_done,                                                               \
    (struct byoca_store *s, int64_t id, struct byoca_err *err), (s, id, err))  \
  X(outbox_retry,                                                              \
    (struct byoca_store *s, int64_t id, int64_t next_try_ms,                   \
     const char *error, struct byoca_err *err),                                \
    (s, id, next_try_ms, error, err))                                          \
  X(outbox_count,                                                              \
    (struct byoca_store *s, int64_t *n, struct byoca_err *err), (s, n, err))
// clang-format on

/* One value of a row being copied between stores (copy.c). */
struct store_val {
  char type; /* 'n' NULL, 'i' integer, 't' text, 'b' bytes */
  int64_t i;
  const char *t;
  const unsigned char *b;
  size_t n;
};
/* Called for each row rows() reads; non-zero stops the reading. */
typedef int (*store_row_cb)(void *arg, const struct store_val *v, int n,
                            struct byoca_err *err);

struct store_ops {
  const char *name; /* "sqlite", "postgresql" */
  /* Connects to what url names (the backend's own form) and brings the
   * schema to the newest version; sets s->version. */
  int (*open)(struct byoca_store *s, const char *url, struct byoca_err *err);
  /* Releases what open made; called once, also after a failed open. */
  void (*close)(struct byoca_store *s);
  /* Names the connection for the server's session list (s->app_name);
   * NULL when the backend has none. */
  int (*set_app_name)(struct byoca_store *s, struct byoca_err *err);
  /* The tenant's data key as stored (wrapped by the master key), malloc'd;
   * BYOCA_E_NOTFOUND when the tenant has none. */
  int (*data_key)(struct byoca_store *s, int64_t tenant,
                  unsigned char **wrapped, size_t *len, struct byoca_err *err);
  /* ---- raw rows, for copying a whole store (copy.c) ---- */
  /* A transaction: a consistent snapshot to read from (write 0), or one
   * that writes (write 1). */
  int (*begin)(struct byoca_store *s, int write, struct byoca_err *err);
  int (*commit)(struct byoca_store *s, struct byoca_err *err);
  void (*rollback)(struct byoca_store *s);
  /* Runs sql (constant text, no parameters) and hands each row to cb as
   * values of the types ('i', 't', 'b') types names, one per column. */
  int (*rows)(struct byoca_store *s, const char *sql, const char *types,
              store_row_cb cb, void *arg, struct byoca_err *err);
  /* Inserts one row: cols is the constant column list of table. */
  int (*insert)(struct byoca_store *s, const char *table, const char *cols,
                const struct store_val *v, int n, struct byoca_err *err);
  /* After rows were inserted with their ids: id generators continue
   * after the largest. */
  int (*ids_done)(struct byoca_store *s, struct byoca_err *err);
#define STORE_OP_FIELD(name, params, args) int(*name) params;
  STORE_OPS(STORE_OP_FIELD)
#undef STORE_OP_FIELD
};

#endif
