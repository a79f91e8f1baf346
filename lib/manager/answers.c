/* This node's challenge answers: the http-01 tokens and tls-alpn-01 rows
 * its own jobs set up, kept in memory besides the store's challenge
 * table, so that the responders answer them without a store round trip
 * (a stalled PostgreSQL must not keep the CA from validating what this
 * node is waiting for). Other nodes' answers still come from the store.
 *
 * The set is counted by reference: the manager holds one reference and
 * each http-01 / tls-alpn-01 solver one, so a solver's late cleanup after
 * the manager was freed still finds it. Used on the loop only. */
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

struct mgr_answer {
  char *token; /* the http-01 token, or BYOCA_ALPN_TOKEN_PREFIX + name */
  char *key_authz;
  int64_t cert_id;
  int64_t expires;
};

struct mgr_answers {
  int refs;
  struct mgr_answer *v;
  size_t n, cap;
};

struct mgr_answers *mgr_answers_new(void) {
  struct mgr_answers *a = calloc(1, sizeof(*a));
  if (a != NULL)
    a->refs = 1;
  return a;
}

struct mgr_answers *mgr_answers_ref(struct mgr_answers *a) {
  if (a != NULL)
    a->refs++;
  return a;
}

static void answer_free(struct mgr_answer *x) {
  free(x->token);
  free(x->key_authz); /* public: the CA fetches it over plain HTTP */
}

void mgr_answers_unref(struct mgr_answers *a) {
  if (a == NULL || --a->refs > 0)
    return;
  for (size_t i = 0; i < a->n; i++)
    answer_free(&a->v[i]);
  free(a->v);
  free(a);
}

static void remove_at(struct mgr_answers *a, size_t i) {
  answer_free(&a->v[i]);
  a->v[i] = a->v[--a->n];
}

static struct mgr_answer *find(struct mgr_answers *a, const char *token) {
  for (size_t i = 0; a != NULL && i < a->n; i++)
    if (strcmp(a->v[i].token, token) == 0)
      return &a->v[i];
  return NULL;
}

int mgr_answers_put(struct mgr_answers *a, const char *token,
                    const char *key_authz, int64_t cert_id, int64_t expires) {
  int64_t now = byoca_now();
  if (a == NULL)
    return BYOCA_E_INVAL;
  for (size_t i = 0; i < a->n;) /* what was never cleaned up */
    if (a->v[i].expires <= now)
      remove_at(a, i);
    else
      i++;
  /* the caller decides who owns a tls-alpn-01 row: the store did */
  struct mgr_answer *x = find(a, token);
  char *t = strdup(token), *k = strdup(key_authz);
  if (t == NULL || k == NULL) {
    free(t);
    free(k);
    return BYOCA_E_NOMEM;
  }
  if (x == NULL) {
    if (a->n == a->cap) {
      size_t cap = a->cap != 0 ? 2 * a->cap : 16;
      struct mgr_answer *v = realloc(a->v, cap * sizeof(*v));
      if (v == NULL) {
        free(t);
        free(k);
        return BYOCA_E_NOMEM;
      }
      a->v = v;
      a->cap = cap;
    }
    x = &a->v[a->n++];
  } else {
    answer_free(x);
  }
  x->token = t;
  x->key_authz = k;
  x->cert_id = cert_id;
  x->expires = expires;
  return 0;
}

void mgr_answers_del(struct mgr_answers *a, const char *token,
                     int64_t cert_id) {
  struct mgr_answer *x = find(a, token);
  if (x != NULL && x->cert_id == cert_id)
    remove_at(a, (size_t)(x - a->v));
}

int byoca_manager_challenge_get(struct byoca_manager *m, const char *token,
                                char *out, size_t outlen) {
  struct mgr_answer *x = m != NULL ? find(m->answers, token) : NULL;
  if (x == NULL || x->expires <= byoca_now())
    return BYOCA_E_NOTFOUND;
  size_t n = strlen(x->key_authz);
  if (n >= outlen)
    return BYOCA_E_INVAL;
  memcpy(out, x->key_authz, n + 1);
  return 0;
}

/* Another node's answer, read on the jobs' store lane. */
struct lookup_op {
  struct mgr_lane_op op;
  byoca_challenge_cb cb;
  void *arg;
  char token[MGR_TOKEN_MAX + 1];
  int rc;
  struct byoca_err e;
  char authz[MGR_KEYAUTHZ_MAX];
};

static void lookup_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct lookup_op *c = (struct lookup_op *)op;
  c->rc = byoca_store_challenge_get(s, c->token, byoca_now(), c->authz,
                                    sizeof(c->authz), &c->e);
}

static void lookup_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct lookup_op *c = (struct lookup_op *)op;
  m->lookups--;
  if (c->rc != 0 && c->rc != BYOCA_E_NOTFOUND)
    byoca_log(BYOCA_LOG_WARN, "reading the challenge %.64s: %s", c->token,
              c->e.msg);
  byoca_err_clear(&c->e);
  c->cb(c->arg, c->rc, c->rc == 0 ? c->authz : NULL);
}

static void lookup_drop(struct mgr_lane_op *op) {
  struct lookup_op *c = (struct lookup_op *)op;
  byoca_err_clear(&c->e);
  c->cb(c->arg, BYOCA_E_CANCELLED, NULL);
}

int byoca_manager_challenge_lookup(struct byoca_manager *m, const char *token,
                                   byoca_challenge_cb cb, void *arg) {
  size_t n = token != NULL ? strlen(token) : 0;
  if (m == NULL || !mgr_lane_job_async(m) || n == 0 || n > MGR_TOKEN_MAX)
    return BYOCA_E_INVAL;
  if (m->lookups >= MGR_LOOKUPS_MAX) {
    byoca_log(BYOCA_LOG_WARN,
              "refusing to read the challenge %.64s: %d reads of other"
              " nodes' challenges already wait for the store",
              token, MGR_LOOKUPS_MAX);
    return BYOCA_E_TOOBIG;
  }
  struct lookup_op *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return BYOCA_E_NOMEM;
  c->op.work = lookup_work;
  c->op.done = lookup_done;
  c->op.drop = lookup_drop;
  c->cb = cb;
  c->arg = arg;
  memcpy(c->token, token, n + 1);
  m->lookups++;
  mgr_lane_run_job(m, &c->op);
  return 0;
}

int byoca_manager_store_async(const struct byoca_manager *m) {
  return m != NULL && mgr_lane_job_async(m);
}
