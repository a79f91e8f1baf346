/* The manager's challenge solvers. http-01 goes into the store's challenge
 * table, from which any byocad node's HTTP listener answers; tls-alpn-01
 * too, as a row keyed by its validation server name, from which any
 * node's tls-alpn responder builds the certificate. The rows are written
 * on the jobs' store lane (lane.c), and this node answers its own from
 * memory too (answers.c). dns-01 and
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
  struct byoca_manager *m;     /* http-01, tls-alpn-01: for the lane */
  struct mgr_answers *answers; /* this node's answers (answers.c) */
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
  mgr_answers_unref(s->answers);
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

/* dns-01 and dns-account-01 only for a name a zone of the tenant's or
 * the provider's holds, unless the hook answers every name: a tenant's
 * zone for one domain leaves its other names to the next type (http-01). */
static int w_covers(void *ctx, const char *type, const char *identifier) {
  struct mgr_solver *s = ctx;
  (void)type;
  return !s->dns || s->inner != NULL ||
         mgr_dns_pick(s->tzones, identifier) != NULL ||
         mgr_dns_pick(s->zones, identifier) != NULL;
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

/* A challenge row written or deleted on the store lane (PostgreSQL: on
 * its thread, so that a slow store never stalls the loop; SQLite: at
 * once), the solver's callback called from the loop afterwards. */
struct chal_op {
  struct mgr_lane_op op;
  struct mgr_solver *s;
  int del; /* 0: put, 1: delete */
  byoca_solve_cb cb;
  void *arg;
  int64_t cert_id, expires; /* copied: the work sees only the op */
  char *token, *key_authz, *ident;
  int rc;
  struct byoca_err err;
};

static void chal_work(struct byoca_store *st, struct mgr_lane_op *op) {
  struct chal_op *c = (struct chal_op *)op;
  if (c->del)
    c->rc = byoca_store_challenge_delete(st, c->token, c->cert_id, &c->err);
  else
    c->rc = byoca_store_challenge_put(st, c->token, c->key_authz, c->cert_id,
                                      c->expires, &c->err);
}

/* Calls back (err, or NULL), then lets go of what the operation held. */
static void chal_end(struct chal_op *c, const struct byoca_err *err) {
  struct mgr_solver *s = c->s;
  c->cb(c->arg, err); /* may call into s again (cleanup after setup) */
  free(c->token);
  free(c->key_authz);
  free(c->ident);
  byoca_err_clear(&c->err);
  s->busy--;
  maybe_destroy(s);
}

static void chal_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct chal_op *c = (struct chal_op *)op;
  struct mgr_solver *s = c->s;
  (void)m;
  if (c->del) {
    if (c->rc != 0 && c->rc != BYOCA_E_NOTFOUND)
      byoca_log(BYOCA_LOG_WARN, "cert %lld: cannot delete an %s token: %s",
                (long long)s->cert_id, s->alpn ? "tls-alpn-01" : "http-01",
                c->err.msg);
    chal_end(c, NULL);
    return;
  }
  if (c->rc == 0 && s->alpn &&
      mgr_answers_put(s->answers, c->token, c->key_authz, s->cert_id,
                      c->expires) != 0)
    c->rc = byoca_err_set(&c->err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                          "out of memory");
  if (c->rc != 0 && !s->alpn)
    mgr_answers_del(s->answers, c->token, s->cert_id);
  if (c->rc != 0 && s->alpn)
    byoca_err_activity(&c->err, "answering tls-alpn-01 for %.255s", c->ident);
  chal_end(c, c->rc != 0 ? &c->err : NULL);
}

/* The manager was freed first: its orders were cancelled, so the
 * callback only ends them. */
static void chal_drop(struct mgr_lane_op *op) {
  struct chal_op *c = (struct chal_op *)op;
  if (c->del) {
    chal_end(c, NULL);
    return;
  }
  if (!c->s->alpn)
    mgr_answers_del(c->s->answers, c->token, c->s->cert_id);
  byoca_err_set(&c->err, BYOCA_E_CANCELLED, BYOCA_CLASS_INTERNAL,
                "byocad is shutting down");
  chal_end(c, &c->err);
}

/* Queues the store write of a challenge row (del: its deletion). */
static int chal_queue(struct mgr_solver *s, int del, const char *token,
                      const struct byoca_challenge *ch, byoca_solve_cb cb,
                      void *arg, struct byoca_err *err) {
  struct chal_op *c = calloc(1, sizeof(*c));
  if (c != NULL) {
    c->token = strdup(token);
    c->key_authz = del ? NULL : strdup(ch->key_authz);
    c->ident = strdup(ch->identifier != NULL ? ch->identifier : "");
  }
  if (c == NULL || c->token == NULL || c->ident == NULL ||
      (!del && c->key_authz == NULL)) {
    if (c != NULL) {
      free(c->token);
      free(c->key_authz);
      free(c->ident);
      free(c);
    }
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  }
  c->op.work = chal_work;
  c->op.done = chal_done;
  c->op.drop = chal_drop;
  c->s = s;
  c->del = del;
  c->cb = cb;
  c->arg = arg;
  c->cert_id = s->cert_id;
  c->expires = byoca_now() + MGR_CHALLENGE_TTL_S;
  s->busy++;
  mgr_lane_run_job(s->m, &c->op);
  return 0;
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
   * validating it would see the wrong key authorization; so the store
   * decides first, and this node answers from memory once it agreed */
  return chal_queue(s, 0, token, ch, cb, arg, err);
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
  /* the CA's tokens are random: this node answers at once, from memory,
   * and every node once the store has the row */
  if (mgr_answers_put(s->answers, ch->token, ch->key_authz, s->cert_id,
                      byoca_now() + MGR_CHALLENGE_TTL_S) != 0)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  /* the token is public (the CA fetches it by URL) */
  byoca_log(BYOCA_LOG_DEBUG, "cert %lld: http-01 token %.64s set up",
            (long long)s->cert_id, ch->token);
  int rc = chal_queue(s, 0, ch->token, ch, cb, arg, err);
  if (rc != 0)
    mgr_answers_del(s->answers, ch->token, s->cert_id);
  return rc;
}

static int w_cleanup(void *ctx, const struct byoca_challenge *ch,
                     byoca_solve_cb cb, void *arg, struct byoca_err *err) {
  struct mgr_solver *s = ctx;
  char alpn[TOKEN_MAX + 16];
  if (s->dns)
    return inner_run(s, 1, ch, cb, arg, err);
  const char *token = !s->alpn                                  ? ch->token
                      : alpn_token(ch, alpn, sizeof(alpn)) == 0 ? alpn
                                                                : NULL;
  if (token != NULL)
    mgr_answers_del(s->answers, token, s->cert_id);
  if (!s->keep && token != NULL && (s->alpn || token_ok(token)) &&
      chal_queue(s, 1, token, ch, cb, arg, NULL) == 0)
    return 0;
  cb(arg, NULL); /* kept for the next start, or not ours: nothing to do */
  return 0;
}

static void w_free(void *ctx) {
  (void)ctx; /* freed by mgr_solver_retire */
}

static const struct byoca_solver_ops wrap_ops = {
    .supports = w_supports,
    .covers = w_covers,
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
    s->m = m;
    s->answers = mgr_answers_ref(m->answers);
    s->cert_id = cert_id;
  }
  return s;
}

struct mgr_solver *mgr_solver_alpn(struct byoca_manager *m, int64_t cert_id) {
  struct mgr_solver *s = solver_new("byocad tls-alpn-01");
  if (s != NULL) {
    s->m = m;
    s->answers = mgr_answers_ref(m->answers);
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

/* The tls-alpn-01 row of j's i-th name into token; 0, or -1 when the
 * name has none (a wildcard, or no validation server name). */
static int name_token(const struct mgr_job *j, size_t i, char *token,
                      size_t len) {
  struct byoca_challenge ch = {.identifier = j->names[i],
                               .ident_type = ident_type(j->names[i])};
  if (strncmp(j->names[i], "*.", 2) == 0 || alpn_token(&ch, token, len) != 0)
    return -1;
  return 0;
}

/* Who holds the tls-alpn-01 rows of a job's names, asked on the jobs'
 * store lane. */
struct owner_op {
  struct mgr_lane_op op;
  struct mgr_job *j;
  mgr_taken_cb cb;
  int64_t cert_id, now;
  char **tokens; /* tokens[i] of j->names[i]; NULL: none */
  size_t n;
  size_t taken; /* the first name another lineage holds; n: none */
};

static void owner_work(struct byoca_store *st, struct mgr_lane_op *op) {
  struct owner_op *c = (struct owner_op *)op;
  for (c->taken = 0; c->taken < c->n; c->taken++) {
    int64_t owner = 0;
    if (c->tokens[c->taken] != NULL &&
        byoca_store_challenge_owner(st, c->tokens[c->taken], c->now, &owner,
                                    NULL) == 0 &&
        owner != c->cert_id)
      return;
  }
}

static void owner_clear(struct owner_op *c) {
  for (size_t i = 0; c->tokens != NULL && i < c->n; i++)
    free(c->tokens[i]);
  free(c->tokens);
}

static void owner_drop(struct mgr_lane_op *op) {
  struct owner_op *c = (struct owner_op *)op;
  owner_clear(c);
  mgr_job_op_done(c->j); /* ended meanwhile: the last one frees it */
}

static void owner_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct owner_op *c = (struct owner_op *)op;
  struct mgr_job *j = c->j;
  (void)m;
  owner_clear(c);
  if (mgr_job_op_done(j) || j->recording) /* stopped meanwhile */
    return;
  c->cb(j, c->taken < c->n ? j->names[c->taken] : NULL);
}

void mgr_alpn_check(struct mgr_job *j, mgr_taken_cb cb) {
  if (!mgr_alpn_ready(j->m)) {
    cb(j, NULL);
    return;
  }
  struct owner_op *c = calloc(1, sizeof(*c));
  int ok = c != NULL &&
           (c->tokens = calloc(j->nnames + 1, sizeof(*c->tokens))) != NULL;
  for (size_t i = 0; ok && i < j->nnames; i++, c->n++) {
    char token[TOKEN_MAX + 16];
    if (name_token(j, i, token, sizeof(token)) == 0)
      ok = (c->tokens[i] = strdup(token)) != NULL;
  }
  if (!ok) { /* not asked: the order's challenge rule still decides */
    if (c != NULL)
      owner_clear(c);
    free(c);
    mgr_job_log(j, BYOCA_LOG_WARN,
                "cannot ask who validates its names by tls-alpn-01: out of"
                " memory");
    cb(j, NULL);
    return;
  }
  c->op.work = owner_work;
  c->op.done = owner_done;
  c->op.drop = owner_drop;
  c->j = j;
  c->cb = cb;
  c->cert_id = j->cert_id;
  c->now = byoca_now();
  j->pending++; /* the job's memory waits for the answer */
  mgr_lane_run_job(j->m, &c->op);
}

int mgr_solvers_build(struct mgr_job *j, const char *taken,
                      struct byoca_err *err) {
  struct byoca_manager *m = j->m;
  /* every configured solver: the order's challenge rule weighs CAA
   * (mgr_order_req), so a refusal can name each reason */
  if ((j->solvers[j->nsolvers] = mgr_solver_http(m, j->cert_id)) == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  j->solver_ptrs[j->nsolvers] = mgr_solver_pub(j->solvers[j->nsolvers]);
  j->nsolvers++;
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
