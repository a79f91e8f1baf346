/* The manager object and its scheduler. Every tick (and on a kick) it
 * claims due lineages from the store, as many as max_parallel leaves room
 * for, and starts a job for each; jobs queue per CA under
 * max_parallel_per_ca; every minute it finishes deleted tenants and
 * purges expired challenge tokens. Draining stops the claiming and reports when
 * the last job ended; freeing cancels what still runs and leaves its store rows
 * for the next start to resume. */
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

#define SWEEP_S 60

int byoca_manager_new(const struct byoca_manager_opts *opts,
                      struct byoca_manager **out, struct byoca_err *err) {
  if (opts == NULL || opts->loop == NULL || opts->store == NULL ||
      opts->http == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "the manager needs a loop, a store and an HTTP"
                         " client");
  struct byoca_manager *m = calloc(1, sizeof(*m));
  if (m == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  int rc = mgr_cfg_copy(&m->cfg, opts, err);
  if (rc != 0) {
    free(m);
    return rc;
  }
  m->loop = opts->loop;
  m->store = opts->store;
  m->http = opts->http;
  m->resolver = opts->resolver;
  if ((m->answers = mgr_answers_new()) == NULL) {
    mgr_cfg_free(&m->cfg);
    free(m);
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  }
  if ((rc = mgr_dns_build(m, opts, &m->dns, err)) != 0) {
    mgr_answers_unref(m->answers);
    mgr_cfg_free(&m->cfg);
    free(m);
    return rc;
  }
  mgr_trust_operator_urls(m);
  *out = m;
  return 0;
}

static void on_tick(void *arg);

static void arm_tick(struct byoca_manager *m) {
  if (m->tick_timer == NULL && !m->draining)
    m->tick_timer = byoca_timer_add(m->loop, m->cfg.tick_ms, on_tick, m);
}

/* A claim of due lineages, for the slots free when it was queued. One
 * claim runs at a time and jobs only end meanwhile, except those an API
 * call starts (a deletion, a renewal now): then a few more than
 * max_parallel may run for a while, as every claimed lineage is started
 * rather than left leased. */
struct claim_op {
  struct mgr_lane_op op;
  int64_t lease_s;
  size_t room, n;
  int rc;
  struct byoca_err e;
  int64_t ids[MGR_MAX_CLAIM];
};

static void claim_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct claim_op *c = (struct claim_op *)op;
  /* the time it runs, not when it was queued: the lease is full length */
  int64_t now = byoca_now();
  c->rc = byoca_store_cert_claim_due(s, now, now + c->lease_s, c->room, c->ids,
                                     &c->n, &c->e);
}

static void claim_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct claim_op *c = (struct claim_op *)op;
  m->claiming = 0;
  if (c->rc != 0) {
    byoca_log(BYOCA_LOG_ERROR, "cannot claim due certificates: %s", c->e.msg);
    byoca_err_clear(&c->e);
    return;
  }
  m->claim_full = c->n == c->room;
  /* draining: the leases are handed back when the process stops */
  for (size_t i = 0; i < c->n && !m->draining; i++)
    if (mgr_job_find(m, c->ids[i]) == NULL) /* a lease ran out meanwhile */
      mgr_job_start(m, c->ids[i]);
  if (m->claim_again) { /* slots freed while the store was asked */
    m->claim_again = 0;
    mgr_kick(m);
  }
}

/* Claims due lineages for the free slots and starts their jobs. */
static void claim(struct byoca_manager *m) {
  size_t room =
      m->cfg.max_parallel > m->njobs ? m->cfg.max_parallel - m->njobs : 0;
  if (m->deploy_checking) /* it kicks when it is done */
    return;
  if (m->claiming || m->retrying) { /* retrying: outcome.c */
    m->claim_again = 1;
    return;
  }
  if (room > MGR_MAX_CLAIM)
    room = MGR_MAX_CLAIM;
  m->claim_full = 0;
  if (room == 0) {
    m->claim_full = 1;
    return;
  }
  struct claim_op *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return;
  c->op.work = claim_work;
  c->op.done = claim_done;
  c->lease_s = m->cfg.lease_s;
  c->room = room;
  m->claiming = 1;
  mgr_lane_run(m, &c->op);
}

/* Deletes the http-01 tokens that expired (a job killed before its
 * cleanup, a node that died): the responder never answers them, and the
 * table stays as small as the validations in flight. */
struct purge_op {
  struct mgr_lane_op op;
  int64_t n;
  int rc;
  struct byoca_err e;
};

static void purge_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct purge_op *p = (struct purge_op *)op;
  p->rc = byoca_store_challenge_purge(s, byoca_now(), &p->n, &p->e);
}

static void purge_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct purge_op *p = (struct purge_op *)op;
  m->purging = 0;
  if (p->rc != 0)
    byoca_log(BYOCA_LOG_WARN, "cannot purge expired challenge tokens: %s",
              p->e.msg);
  else if (p->n > 0)
    byoca_log(BYOCA_LOG_INFO, "purged %lld expired challenge tokens",
              (long long)p->n);
  byoca_err_clear(&p->e);
}

static void purge_challenges(struct byoca_manager *m) {
  struct purge_op *p;
  if (m->purging || (p = calloc(1, sizeof(*p))) == NULL)
    return;
  p->op.work = purge_work;
  p->op.done = purge_done;
  m->purging = 1;
  mgr_lane_run(m, &p->op);
}

static void work(struct byoca_manager *m) {
  if (m->draining || !m->started)
    return;
  int64_t now = byoca_now();
  if (m->tenant_sweep || now >= m->next_sweep) {
    m->next_sweep = now + SWEEP_S;
    mgr_tenant_sweep(m);
    purge_challenges(m);
  }
  mgr_slots_wake(m); /* limits may have grown (reconfigure) */
  mgr_outcome_retry(m);
  claim(m);
  mgr_ari_poll(m);
  mgr_notify_pump(m);
  mgr_expiry_check(m);
}

static void on_tick(void *arg) {
  struct byoca_manager *m = arg;
  m->tick_timer = NULL;
  work(m);
  arm_tick(m);
}

static void on_kick(void *arg) {
  struct byoca_manager *m = arg;
  m->kick_timer = NULL;
  work(m);
}

void mgr_kick(struct byoca_manager *m) {
  if (m->kick_timer == NULL && m->started && !m->draining)
    m->kick_timer = byoca_timer_add(m->loop, 0, on_kick, m);
}

void byoca_manager_kick(struct byoca_manager *m) {
  if (m != NULL)
    mgr_kick(m);
}

int byoca_manager_start(struct byoca_manager *m, struct byoca_err *err) {
  if (m->started)
    return 0;
  /* this node's leases from a previous process are void; its in-flight
   * orders are resumed when their lineages are claimed again */
  int rc = mgr_node_start(m, err);
  if (rc != 0)
    return rc;
  m->started = 1;
  m->tenant_sweep = 1;
  mgr_deploy_sweep(m);
  mgr_deploy_check(m);
  byoca_log(BYOCA_LOG_INFO,
            "manager started on %s: %zu orders in parallel, %zu per CA",
            m->cfg.node_id, m->cfg.max_parallel, m->cfg.max_parallel_per_ca);
  mgr_kick(m);
  arm_tick(m);
  return 0;
}

int byoca_manager_reconfigure(struct byoca_manager *m,
                              const struct byoca_manager_opts *opts,
                              struct byoca_err *err) {
  struct mgr_cfg cfg;
  struct mgr_dns *dns = NULL;
  int rc = mgr_cfg_copy(&cfg, opts, err);
  if (rc != 0)
    return rc;
  if ((rc = mgr_dns_build(m, opts, &dns, err)) != 0) {
    mgr_cfg_free(&cfg);
    return rc;
  }
  mgr_dns_unref(m->dns); /* jobs keep the set they started with */
  m->dns = dns;
  int64_t old_tick = m->cfg.tick_ms;
  mgr_cfg_free(&m->cfg);
  m->cfg = cfg;
  mgr_trust_operator_urls(m);
  if (old_tick != m->cfg.tick_ms && m->tick_timer != NULL) {
    byoca_timer_cancel(m->tick_timer);
    m->tick_timer = NULL;
    if (m->started)
      arm_tick(m);
  }
  byoca_log(BYOCA_LOG_INFO, "manager reconfigured");
  mgr_kick(m);
  return 0;
}

static void on_drained(void *arg) {
  struct byoca_manager *m = arg;
  void (*done)(void *) = m->drain_done;
  m->drain_timer = NULL;
  m->drain_done = NULL;
  if (done != NULL)
    done(m->drain_arg); /* may free m */
}

static void drain_check(struct byoca_manager *m) {
  if (m->draining && m->njobs == 0 && m->drain_done != NULL &&
      m->drain_timer == NULL)
    m->drain_timer = byoca_timer_add(m->loop, 0, on_drained, m);
}

void mgr_job_gone(struct byoca_manager *m) {
  drain_check(m);
  if (m->claim_full || m->claiming)
    mgr_kick(m);
}

void byoca_manager_drain(struct byoca_manager *m, void (*done)(void *arg),
                         void *arg) {
  m->draining = 1;
  m->drain_done = done;
  m->drain_arg = arg;
  if (m->tick_timer != NULL)
    byoca_timer_cancel(m->tick_timer);
  if (m->kick_timer != NULL)
    byoca_timer_cancel(m->kick_timer);
  m->tick_timer = m->kick_timer = NULL;
  /* jobs queued for a CA slot, and issuances that placed no order yet
   * (CAA lookups, directory, waiting for an account), stop now: the next
   * start begins them afresh. What a restart could not take over runs on
   * until drain_timeout: orders in flight (resumed otherwise), account
   * registrations (the CA would keep an account we lose), deletions and
   * deploy hooks. */
  for (struct mgr_job *j = m->jobs, *next; j != NULL; j = next) {
    next = j->next;
    if ((j->waiting_slot && j->step == NULL) || mgr_job_stoppable(j))
      mgr_job_abort(j);
  }
  byoca_log(BYOCA_LOG_INFO, "manager draining: %zu in flight", m->njobs);
  drain_check(m);
}

size_t byoca_manager_in_flight(const struct byoca_manager *m) {
  return m != NULL ? m->njobs : 0;
}

void byoca_manager_free(struct byoca_manager *m) {
  if (m == NULL)
    return;
  if (m->tick_timer != NULL)
    byoca_timer_cancel(m->tick_timer);
  if (m->kick_timer != NULL)
    byoca_timer_cancel(m->kick_timer);
  if (m->drain_timer != NULL)
    byoca_timer_cancel(m->drain_timer);
  if (m->beat_timer != NULL)
    byoca_timer_cancel(m->beat_timer);
  m->draining = 1;
  /* orders cancelled (their store rows stay) before the lane closes:
   * a challenge's store write dropped with the lane then only ends its
   * cancelled order */
  mgr_jobs_detach(m);
  mgr_lane_close(m); /* an operation still running ends on its own */
  mgr_ari_free_all(m);
  mgr_notify_free_all(m);
  mgr_slots_free(m);
  mgr_dircache_free(m);
  mgr_idset_free(&m->revoke_try);
  mgr_idset_free(&m->unrecorded);
  mgr_idset_free(&m->warned);
  mgr_metrics_free(&m->metrics);
  mgr_cfg_free(&m->cfg);
  mgr_dns_close(m->dns); /* RFC 2136 waits end: byoca_rfc2136_in_flight */
  mgr_answers_unref(m->answers);
  free(m);
}
