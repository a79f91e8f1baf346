/* Trying the candidates of a job in order (D-FALLBACK): for each CA a slot
 * under max_parallel_per_ca, its directory (override, cache or the
 * well-known URL), the tenant's account, then the order. Errors of class
 * CA or retryable move on to the next candidate and count against the
 * CA's health (D-BACKOFF); our own errors and the input's stop the job. */
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

/* ---- per-CA slots ---- */

static struct mgr_slot *slot_find(struct byoca_manager *m, const char *ca,
                                  int create) {
  for (size_t i = 0; i < m->nslots; i++)
    if (byoca_strcaseeq(m->slots[i].ca, ca))
      return &m->slots[i];
  if (!create)
    return NULL;
  struct mgr_slot *v = realloc(m->slots, (m->nslots + 1) * sizeof(*v));
  if (v == NULL)
    return NULL;
  m->slots = v;
  if ((v[m->nslots].ca = strdup(ca)) == NULL)
    return NULL;
  v[m->nslots].n = 0;
  return &m->slots[m->nslots++];
}

int mgr_slot_take(struct mgr_job *j, int force) {
  struct byoca_manager *m = j->m;
  struct mgr_slot *s = slot_find(m, j->cur_issuer, 1);
  if (s == NULL)
    return 1; /* out of memory: do not hold the job back for it */
  if (!force && s->n >= m->cfg.max_parallel_per_ca)
    return 0;
  if ((j->slot = strdup(j->cur_issuer)) == NULL)
    return 1;
  s->n++;
  return 1;
}

static void on_wake(void *arg) {
  struct mgr_job *j = arg;
  j->step = NULL;
  mgr_attempt_go(j);
}

void mgr_slots_wake(struct byoca_manager *m) {
  for (struct mgr_job *w = m->jobs; w != NULL; w = w->next) {
    if (!w->waiting_slot || w->step != NULL)
      continue;
    struct mgr_slot *s = slot_find(m, w->cur_issuer, 0);
    if (s != NULL && s->n >= m->cfg.max_parallel_per_ca)
      continue;
    w->waiting_slot = 0;
    if (!mgr_slot_take(w, 1))
      continue;
    w->step = byoca_timer_add(m->loop, 0, on_wake, w);
    if (w->step == NULL)
      w->waiting_slot = 1; /* try again on the next tick */
  }
}

void mgr_slot_release(struct mgr_job *j) {
  struct byoca_manager *m = j->m;
  j->waiting_slot = 0;
  if (j->slot == NULL)
    return;
  struct mgr_slot *s = slot_find(m, j->slot, 0);
  if (s != NULL && s->n > 0)
    s->n--;
  free(j->slot);
  j->slot = NULL;
  mgr_slots_wake(m);
}

void mgr_slots_free(struct byoca_manager *m) {
  for (size_t i = 0; i < m->nslots; i++)
    free(m->slots[i].ca);
  free(m->slots);
  m->slots = NULL;
  m->nslots = 0;
}

/* ---- the attempt ---- */

static void skip(struct mgr_job *j, const char *reason) {
  mgr_job_log(j, BYOCA_LOG_INFO, "skipping %s: %s", j->cur_issuer, reason);
  (void)!byoca_buf_appendf(&j->why, "%s: %s; ", j->cur_issuer, reason);
  mgr_attempt_next(j);
}

static void attempt_begin(struct mgr_job *j) {
  if (j->ci >= j->cands.n) {
    char *line = byoca_asprintf("no CA could issue: %s", mgr_why(&j->why));
    mgr_job_fail(j, BYOCA_CLASS_CA, line != NULL ? line : "no CA could issue",
                 j->retry_after);
    free(line);
    return;
  }
  const struct mgr_cand *c = &j->cands.v[j->ci];
  if (mgr_attempt_set_ca(j, c->issuer, c->directory, c->by_url, c->methods) !=
      0) {
    mgr_job_fail(j, BYOCA_CLASS_INTERNAL, "out of memory", 0);
    return;
  }
  if (!mgr_slot_take(j, 0)) {
    mgr_job_log(j, BYOCA_LOG_DEBUG, "waiting for a free slot at %s",
                j->cur_issuer);
    j->waiting_slot = 1;
    return;
  }
  mgr_attempt_go(j);
}

void mgr_attempt_first(struct mgr_job *j) {
  j->ci = 0;
  attempt_begin(j);
}

void mgr_attempt_next(struct mgr_job *j) {
  mgr_attempt_release(j);
  j->ci++;
  attempt_begin(j);
}

static struct byoca_acme *make_client(struct mgr_job *j,
                                      struct byoca_err *err) {
  struct byoca_manager *m = j->m;
  if (j->cur_directory != NULL)
    return byoca_acme_new(m->loop, m->http, j->cur_directory, err);
  char *cached = mgr_dircache_get(m, j->cur_issuer);
  if (cached != NULL) {
    struct byoca_acme *a = byoca_acme_new(m->loop, m->http, cached, err);
    j->cur_cached = 1;
    free(cached);
    return a;
  }
  j->cur_cached = 0;
  return byoca_acme_new_wellknown(m->loop, m->http, j->cur_issuer, err);
}

static void on_account(struct mgr_job *j, const struct byoca_err *err,
                       int skipped) {
  if (skipped) {
    skip(j, "the CA requires External Account Binding and no credentials"
            " exist for it");
    return;
  }
  if (err != NULL) {
    mgr_attempt_failed(j, err);
    return;
  }
  mgr_attempt_order(j);
}

static void on_directory(void *arg, const struct byoca_err *err) {
  struct mgr_job *j = arg;
  if (j->ended || j->recording)
    return; /* a deferred completion after the job was stopped */
  if (err != NULL) {
    mgr_attempt_failed(j, err);
    return;
  }
  if (j->cur_directory == NULL && !j->cur_cached)
    mgr_dircache_put(j->m, j->cur_issuer, byoca_acme_directory_url(j->acme),
                     byoca_acme_directory_max_age(j->acme));
  mgr_account_ensure(j, on_account);
}

/* The attempt once the store said whether another lineage validates one
 * of the names by tls-alpn-01 (taken): solvers, directory, account. */
static void attempt_solvers(struct mgr_job *j, const char *taken) {
  struct byoca_err e = {0};
  if (mgr_solvers_build(j, taken, &e) != 0) {
    mgr_attempt_failed(j, &e);
    byoca_err_clear(&e);
    return;
  }
  if (j->nsolvers == 0 || j->cur_methods == 0) {
    skip(j, "no configured solver answers a challenge type it allows");
    return;
  }
  mgr_job_log(j, BYOCA_LOG_INFO, "trying %s", j->cur_issuer);
  j->attempted = 1;
  j->attempt_ms = byoca_now_ms();
  if ((j->acme = make_client(j, &e)) == NULL ||
      byoca_acme_directory(j->acme, on_directory, j) != 0) {
    if (e.code == 0)
      byoca_err_set(&e, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                    "cannot fetch the directory of %s", j->cur_issuer);
    mgr_attempt_failed(j, &e);
    byoca_err_clear(&e);
  }
}

void mgr_attempt_go(struct mgr_job *j) {
  j->waiting_slot = 0;
  mgr_alpn_check(j, attempt_solvers);
}

static void on_order(void *arg, struct byoca_order_result *res,
                     const struct byoca_err *err) {
  struct mgr_job *j = arg;
  j->order = NULL; /* the engine frees it after this call */
  if (err != NULL) {
    mgr_attempt_failed(j, err);
    return;
  }
  mgr_job_issued(j, res);
}

void mgr_attempt_order(struct mgr_job *j) {
  struct byoca_order_req req;
  struct byoca_err e = {0};
  if (j->m->draining) { /* no new order while draining; the next start */
    mgr_job_log(j, BYOCA_LOG_INFO, "stopping before ordering: draining");
    mgr_job_end(j);
    return;
  }
  mgr_order_req(j, &req);
  j->order = byoca_order_start(j->acme, &req, on_order, j, &e);
  if (j->order == NULL) {
    if (e.code == 0)
      byoca_err_set(&e, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                    "cannot start the order");
    mgr_attempt_failed(j, &e);
    byoca_err_clear(&e);
  }
}

int mgr_err_is(const struct byoca_err *err, const char *short_type) {
  const char *t =
      err != NULL && err->problem != NULL ? err->problem->type : NULL;
  size_t tl = t != NULL ? strlen(t) : 0, sl = strlen(short_type);
  return tl >= sl && strcmp(t + tl - sl, short_type) == 0 &&
         (tl == sl || t[tl - sl - 1] == ':');
}

void mgr_attempt_failed(struct mgr_job *j, const struct byoca_err *err) {
  char line[768];
  if (mgr_err_is(err, "accountDoesNotExist") && !j->acct_retried &&
      j->acme != NULL) {
    /* the CA forgot the stored account (a reset test CA): a new one */
    j->acct_retried = 1;
    mgr_job_log(j, BYOCA_LOG_WARN,
                "%s does not know the stored account; registering anew",
                j->cur_issuer);
    mgr_account_register(j, on_account);
    return;
  }
  byoca_err_format(err, line, sizeof(line));
  mgr_job_log(j, BYOCA_LOG_WARN, "%s: %s", j->cur_issuer, line);
  if (err->retry_after > j->retry_after)
    j->retry_after = err->retry_after;
  if (err->code == BYOCA_E_PROFILE) {
    skip(j, line); /* D-PROFILE: not a CA failure, no backoff */
    return;
  }
  int move_on = err->cls == BYOCA_CLASS_CA || err->cls == BYOCA_CLASS_RETRYABLE;
  mgr_metrics_issuance(&j->m->metrics, j->cur_issuer, j->was_issued, 0);
  if (!move_on) {
    mgr_job_fail(j, err->cls, line, j->retry_after);
    return;
  }
  mgr_ca_outcome(j, 0, line);
  mgr_dircache_forget(j->m, j->cur_issuer); /* it may have moved */
  (void)!byoca_buf_appendf(&j->why, "%s: %s; ", j->cur_issuer, line);
  mgr_attempt_next(j);
}
