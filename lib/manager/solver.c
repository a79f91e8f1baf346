/* The manager's challenge solvers. http-01 goes into the store's challenge
 * table, from which any byocad node's HTTP listener answers; tls-alpn-01
 * too, as a row keyed by its validation server name, from which any
 * node's tls-alpn responder builds the certificate; dns-01 and
 * dns-account-01 go by RFC 2136 to the server of the tenant's longest
 * zone holding the name (its own entries, set through the API), else of
 * the provider's longest configured zone (dns.c), else to the operator's
 * hook (lib/solve).
 * Each job gets its own solvers, wrapped so that they outlive a cancelled
 * order's late setup/cleanup calls: a retired solver is freed once nothing
 * runs through it any more. */
#include <arpa/inet.h>
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

#define TOKEN_MAX 256

struct mgr_solver {
  struct byoca_solver pub;
  struct byoca_store *store; /* http-01 */
  int64_t cert_id;
  int dns;                    /* answers dns-01 and dns-account-01 */
  int alpn;                   /* answers tls-alpn-01 (store rows) */
  struct byoca_solver *inner; /* dns-01 hook; may be NULL */
  struct mgr_dns *tzones;     /* the tenant's RFC 2136 zones; may be NULL */
  struct mgr_dns *zones;      /* dns-01 by RFC 2136; may be NULL */
  int busy;
  int retired;
  int keep; /* shutting down: leave http-01 tokens for the next start */
};

struct call {
  struct mgr_solver *s;
  byoca_solve_cb cb;
  void *arg;
};

static void maybe_destroy(struct mgr_solver *s) {
  if (!s->retired || s->busy > 0)
    return;
  byoca_solver_free(s->inner);
  mgr_dns_unref(s->tzones);
  mgr_dns_unref(s->zones);
  free(s);
}

static int w_supports(void *ctx, const char *type) {
  struct mgr_solver *s = ctx;
  if (s->dns) /* the RFC 2136 solvers and the hook answer both */
    return strcmp(type, "dns-01") == 0 || strcmp(type, "dns-account-01") == 0;
  if (s->alpn)
    return strcmp(type, "tls-alpn-01") == 0;
  return strcmp(type, "http-01") == 0;
}

static void inner_done(void *arg, const struct byoca_err *err) {
  struct call *c = arg;
  struct mgr_solver *s = c->s;
  byoca_solve_cb cb = c->cb;
  void *cbarg = c->arg;
  free(c);
  cb(cbarg, err); /* may call into s again (cleanup after setup) */
  s->busy--;
  maybe_destroy(s);
}

/* Runs setup (cleanup = 0) or cleanup through the tenant's RFC 2136 zone
 * holding the name, else the provider's, else the hook. */
static int inner_run(struct mgr_solver *s, int cleanup,
                     const struct byoca_challenge *ch, byoca_solve_cb cb,
                     void *arg, struct byoca_err *err) {
  struct byoca_solver *in = mgr_dns_pick(s->tzones, ch->identifier);
  if (in == NULL)
    in = mgr_dns_pick(s->zones, ch->identifier);
  if (in == NULL)
    in = s->inner;
  if (in == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "no [rfc2136] zone holds %.255s and no dns_hook is"
                         " set",
                         ch->identifier);
  struct call *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
  c->s = s;
  c->cb = cb;
  c->arg = arg;
  s->busy++;
  const struct byoca_solver_ops *ops = in->ops;
  int rc = cleanup ? ops->cleanup(in->ctx, ch, inner_done, c, err)
                   : ops->setup(in->ctx, ch, inner_done, c, err);
  if (rc != 0) {
    free(c);
    s->busy--;
    maybe_destroy(s);
  }
  return rc;
}

static int token_ok(const char *t) {
  return t != NULL && strlen(t) <= TOKEN_MAX && byoca_b64url_valid(t);
}

/* The store row of a tls-alpn-01 challenge: BYOCA_ALPN_TOKEN_PREFIX and
 * the validation server name. */
static int alpn_token(const struct byoca_challenge *ch, char *out,
                      size_t outlen) {
  size_t p = sizeof(BYOCA_ALPN_TOKEN_PREFIX) - 1;
  if (outlen <= p)
    return BYOCA_E_INVAL;
  memcpy(out, BYOCA_ALPN_TOKEN_PREFIX, p);
  return byoca_alpn_server_name(ch->ident_type, ch->identifier, out + p,
                                outlen - p);
}

static int alpn_setup(struct mgr_solver *s, const struct byoca_challenge *ch,
                      byoca_solve_cb cb, void *arg, struct byoca_err *err) {
  char token[TOKEN_MAX + 16];
  if (alpn_token(ch, token, sizeof(token)) != 0 || ch->key_authz == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "tls-alpn-01 cannot answer for %s identifier"
                         " '%.100s'",
                         ch->ident_type ? ch->ident_type : "an unknown",
                         ch->identifier ? ch->identifier : "");
  /* another lineage's answer for the name is never replaced: the CA
   * validating it would see the wrong key authorization */
  int rc = byoca_store_challenge_put(s->store, token, ch->key_authz, s->cert_id,
                                     byoca_now() + MGR_CHALLENGE_TTL_S, err);
  if (rc != 0) {
    byoca_err_activity(err, "answering tls-alpn-01 for %.255s", ch->identifier);
    return rc;
  }
  cb(arg, NULL);
  return 0;
}

static int w_setup(void *ctx, const struct byoca_challenge *ch,
                   byoca_solve_cb cb, void *arg, struct byoca_err *err) {
  struct mgr_solver *s = ctx;
  if (s->dns)
    return inner_run(s, 0, ch, cb, arg, err);
  if (s->alpn)
    return alpn_setup(s, ch, cb, arg, err);
  if (!token_ok(ch->token) || ch->key_authz == NULL)
    return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                         "invalid http-01 token for %s", ch->identifier);
  int rc =
      byoca_store_challenge_put(s->store, ch->token, ch->key_authz, s->cert_id,
                                byoca_now() + MGR_CHALLENGE_TTL_S, err);
  if (rc != 0)
    return rc;
  cb(arg, NULL);
  return 0;
}

static int w_cleanup(void *ctx, const struct byoca_challenge *ch,
                     byoca_solve_cb cb, void *arg, struct byoca_err *err) {
  struct mgr_solver *s = ctx;
  struct byoca_err e = {0};
  char alpn[TOKEN_MAX + 16];
  if (s->dns)
    return inner_run(s, 1, ch, cb, arg, err);
  const char *token = !s->alpn                                  ? ch->token
                      : alpn_token(ch, alpn, sizeof(alpn)) == 0 ? alpn
                                                                : NULL;
  if (!s->keep && token != NULL && (s->alpn || token_ok(token)) &&
      byoca_store_challenge_delete(s->store, token, s->cert_id, &e) != 0 &&
      e.code != BYOCA_E_NOTFOUND)
    byoca_log(BYOCA_LOG_WARN, "cert %lld: cannot delete an %s token: %s",
              (long long)s->cert_id, s->alpn ? "tls-alpn-01" : "http-01",
              e.msg);
  byoca_err_clear(&e);
  cb(arg, NULL);
  return 0;
}

static void w_free(void *ctx) {
  (void)ctx; /* freed by mgr_solver_retire */
}

static const struct byoca_solver_ops wrap_ops = {
    .supports = w_supports,
    .setup = w_setup,
    .cleanup = w_cleanup,
    .free = w_free,
};

static struct mgr_solver *solver_new(const char *name) {
  struct mgr_solver *s = calloc(1, sizeof(*s));
  if (s == NULL)
    return NULL;
  s->pub.name = name;
  s->pub.ops = &wrap_ops;
  s->pub.ctx = s;
  return s;
}

struct mgr_solver *mgr_solver_http(struct byoca_manager *m, int64_t cert_id) {
  struct mgr_solver *s = solver_new("byocad http-01");
  if (s != NULL) {
    s->store = m->store;
    s->cert_id = cert_id;
  }
  return s;
}

struct mgr_solver *mgr_solver_alpn(struct byoca_manager *m, int64_t cert_id) {
  struct mgr_solver *s = solver_new("byocad tls-alpn-01");
  if (s != NULL) {
    s->store = m->store;
    s->cert_id = cert_id;
    s->alpn = 1;
  }
  return s;
}

struct mgr_solver *mgr_solver_dns(struct byoca_manager *m,
                                  struct mgr_dns *tenant_zones,
                                  struct byoca_err *err) {
  struct mgr_solver *s = solver_new("byocad dns-01");
  if (s == NULL) {
    byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    return NULL;
  }
  s->dns = 1;
  s->zones = mgr_dns_ref(m->dns);
  s->tzones = mgr_dns_ref(tenant_zones);
  if (m->cfg.dns_hook != NULL &&
      (s->inner =
           byoca_solver_hook(m->loop, m->cfg.dns_hook, "dns-01,dns-account-01",
                             m->cfg.hook_timeout_ms, err)) == NULL) {
    mgr_dns_unref(s->zones);
    mgr_dns_unref(s->tzones);
    free(s);
    return NULL;
  }
  return s;
}

struct byoca_solver *mgr_solver_pub(struct mgr_solver *s) {
  return &s->pub;
}

void mgr_solver_keep(struct mgr_solver *s) {
  if (s != NULL)
    s->keep = 1;
}

void mgr_solver_retire(struct mgr_solver *s) {
  if (s == NULL)
    return;
  s->retired = 1;
  maybe_destroy(s);
}

/* The identifier type of a name as the order sends it. */
static const char *ident_type(const char *name) {
  unsigned char ip[16];
  return inet_pton(AF_INET, name, ip) == 1 || inet_pton(AF_INET6, name, ip) == 1
             ? "ip"
             : "dns";
}

/* The first of j's names whose tls-alpn-01 row another lineage holds
 * (its validation under way), or NULL. */
static const char *alpn_taken(struct mgr_job *j) {
  for (size_t i = 0; i < j->nnames; i++) {
    char token[TOKEN_MAX + 16];
    struct byoca_challenge ch = {.identifier = j->names[i],
                                 .ident_type = ident_type(j->names[i])};
    int64_t owner = 0;
    if (strncmp(j->names[i], "*.", 2) == 0 ||
        alpn_token(&ch, token, sizeof(token)) != 0)
      continue;
    if (byoca_store_challenge_owner(j->m->store, token, byoca_now(), &owner,
                                    NULL) == 0 &&
        owner != j->cert_id)
      return j->names[i];
  }
  return NULL;
}

int mgr_solvers_make(struct mgr_job *j, struct byoca_err *err) {
  struct byoca_manager *m = j->m;
  /* every configured solver: the order's challenge rule weighs CAA
   * (mgr_order_req), so a refusal can name each reason */
  if ((j->solvers[j->nsolvers] = mgr_solver_http(m, j->cert_id)) == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  j->solver_ptrs[j->nsolvers] = mgr_solver_pub(j->solvers[j->nsolvers]);
  j->nsolvers++;
  const char *taken = mgr_alpn_ready(m) ? alpn_taken(j) : NULL;
  if (taken != NULL) /* the rule picks the next eligible type, or waits */
    mgr_job_log(j, BYOCA_LOG_INFO,
                "not using tls-alpn-01 this time: another certificate is"
                " validating %s by it",
                taken);
  if (mgr_alpn_ready(m) && taken == NULL) {
    if ((j->solvers[j->nsolvers] = mgr_solver_alpn(m, j->cert_id)) == NULL)
      return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                           "out of memory");
    j->solver_ptrs[j->nsolvers] = mgr_solver_pub(j->solvers[j->nsolvers]);
    j->nsolvers++;
  }
  if (mgr_dns01_ready(m, j)) {
    if ((j->solvers[j->nsolvers] = mgr_solver_dns(m, j->tdns, err)) == NULL)
      return err != NULL && err->code != 0 ? err->code : BYOCA_E_INTERNAL;
    j->solver_ptrs[j->nsolvers] = mgr_solver_pub(j->solvers[j->nsolvers]);
    j->nsolvers++;
  }
  return 0;
}
