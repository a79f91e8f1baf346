/* The end of an attempt: a new certificate is stored with its next check
 * (D-ARI), audited, counted and deployed; a failure is recorded with the
 * lineage's backoff and audited, and notified once it repeats. Each
 * attempt at a CA also counts for that CA's health (D-BACKOFF).
 *
 * The store writes of an outcome run on the jobs' store lane, one
 * operation per outcome (docs/internals/store.md); the job ends (or its
 * certificate is deployed) in the operation's continuation on the loop.
 * Meanwhile the job is quiet (`recording`: no deadline, no drain stops
 * it); aborted meanwhile (the manager freed), its memory waits for the
 * operation (`pending`) and the continuation only frees. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

/* A CA's health after an attempt (ca_record, and on a backoff that
 * starts, ca_get and the ca.backoff event), done on the lane. */
struct ca_rec {
  char *issuer; /* NULL: nothing to record */
  char *error;
  char *url; /* the webhook's, copied: the worker never sees the manager */
  int ok;
  int64_t now;
  int rc;
  int started;
  struct byoca_err e;
  struct byoca_ca_health h;
  char until[32];
  int ev_rc;
  struct byoca_err ev_e;
};

static int ca_rec_init(struct ca_rec *c, const struct mgr_job *j, int ok,
                       const char *error) {
  memset(c, 0, sizeof(*c));
  if (j->cur_issuer == NULL)
    return 0;
  c->ok = ok;
  c->now = byoca_now();
  c->issuer = strdup(j->cur_issuer);
  c->error = error != NULL ? strdup(error) : NULL;
  c->url = j->m->cfg.webhook_url != NULL ? strdup(j->m->cfg.webhook_url) : NULL;
  if (c->issuer == NULL || (error != NULL && c->error == NULL) ||
      (j->m->cfg.webhook_url != NULL && c->url == NULL))
    return BYOCA_E_NOMEM;
  return 0;
}

static void ca_rec_clear(struct ca_rec *c) {
  free(c->issuer);
  free(c->error);
  free(c->url);
  byoca_err_clear(&c->e);
  byoca_err_clear(&c->ev_e);
  memset(c, 0, sizeof(*c));
}

/* On the lane: touches only c and the lane's connection. */
static void ca_rec_work(struct byoca_store *s, struct ca_rec *c) {
  if (c->issuer == NULL)
    return;
  c->rc = byoca_store_ca_record(s, c->issuer, c->ok, c->error, c->now,
                                &c->started, &c->e);
  if (c->rc != 0 || !c->started)
    return;
  struct byoca_err e = {0};
  if (byoca_store_ca_get(s, c->issuer, &c->h, &e) == 0)
    byoca_time_format_rfc3339(c->h.backoff_until, c->until, sizeof(c->until));
  byoca_err_clear(&e);
  json_t *d = json_pack("{s:s,s:i,s:s,s:s}", "issuer", c->issuer, "failures",
                        c->h.failures, "backoff_until", c->until, "error",
                        c->error != NULL ? c->error : "");
  char *text = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
  char *body = c->url != NULL ? mgr_notice_body("ca.backoff", 0, 0, d) : NULL;
  json_decref(d);
  c->ev_rc =
      byoca_store_event_notify(s, 0, 0, "ca.backoff", text, byoca_now_ms(),
                               body != NULL ? c->url : NULL, body, &c->ev_e);
  if (c->ev_rc == 0 && body == NULL) {
    free(c->url); /* nothing to send */
    c->url = NULL;
  }
  free(text);
  free(body);
}

/* On the loop: what the lane found, logged; a notification sent now. */
static void ca_rec_done(struct byoca_manager *m, struct ca_rec *c) {
  if (c->issuer == NULL)
    return;
  if (c->rc != 0) {
    byoca_log(BYOCA_LOG_WARN, "cannot record the health of %s: %s", c->issuer,
              c->e.msg);
    return;
  }
  if (!c->started)
    return;
  byoca_log(BYOCA_LOG_WARN,
            "%s failed %d times in a row; not using it until %s", c->issuer,
            c->h.failures, c->until);
  if (c->ev_rc != 0)
    byoca_log(BYOCA_LOG_WARN, "cannot record the event ca.backoff: %s",
              c->ev_e.msg);
  else if (c->url != NULL)
    mgr_notify_pump(m); /* sent now, not at the next tick */
}

/* A CA's health alone (an attempt failed, the job goes on). */
struct health_op {
  struct mgr_lane_op op;
  struct ca_rec ca;
};

static void health_work(struct byoca_store *s, struct mgr_lane_op *op) {
  ca_rec_work(s, &((struct health_op *)op)->ca);
}

static void health_drop(struct mgr_lane_op *op) {
  ca_rec_clear(&((struct health_op *)op)->ca);
}

static void health_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct health_op *c = (struct health_op *)op;
  ca_rec_done(m, &c->ca);
  ca_rec_clear(&c->ca);
}

void mgr_ca_outcome(struct mgr_job *j, int ok, const char *error) {
  if (j->cur_issuer == NULL)
    return;
  struct health_op *c = calloc(1, sizeof(*c));
  if (c == NULL || ca_rec_init(&c->ca, j, ok, error) != 0) {
    byoca_log(BYOCA_LOG_WARN, "cannot record the health of %s: out of memory",
              j->cur_issuer);
    if (c != NULL)
      ca_rec_clear(&c->ca);
    free(c);
    return;
  }
  c->op.work = health_work;
  c->op.done = health_done;
  c->op.drop = health_drop;
  mgr_lane_run_job(j->m, &c->op);
}

/* Quiets a job whose outcome goes to the store: nothing of the attempt
 * calls back meanwhile, and a drain waits for the outcome. */
static void job_quiet(struct mgr_job *j) {
  j->recording = 1;
  if (j->deadline != NULL)
    byoca_timer_cancel(j->deadline);
  if (j->step != NULL)
    byoca_timer_cancel(j->step);
  j->deadline = j->step = NULL;
}

/* A failed attempt: cert_failed and its certificate.failed event. */
struct fail_op {
  struct mgr_lane_op op;
  struct mgr_job *j;
  int64_t cert_id, tenant_id, next, now, now_ms;
  int failures;
  char line[512];
  char *text, *body, *url;
  int rc;
  struct byoca_err e;
  int ev_rc;
  struct byoca_err ev_e;
};

static void fail_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct fail_op *c = (struct fail_op *)op;
  c->rc =
      byoca_store_cert_failed(s, c->cert_id, c->line, c->next, c->now, &c->e);
  c->ev_rc = byoca_store_event_notify(
      s, c->tenant_id, c->cert_id, "certificate.failed", c->text, c->now_ms,
      c->body != NULL ? c->url : NULL, c->body, &c->ev_e);
}

static void fail_clear(struct fail_op *c) {
  free(c->text);
  free(c->body);
  free(c->url);
  byoca_err_clear(&c->e);
  byoca_err_clear(&c->ev_e);
}

static void fail_drop(struct mgr_lane_op *op) {
  struct fail_op *c = (struct fail_op *)op;
  fail_clear(c);
  mgr_job_op_done(c->j); /* aborted meanwhile: the last one frees it */
}

static void fail_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct fail_op *c = (struct fail_op *)op;
  struct mgr_job *j = c->j;
  if (mgr_job_op_done(j)) { /* aborted meanwhile */
    fail_clear(c);
    return;
  }
  if (c->rc != 0) {
    /* the lineage keeps its lease until this is recorded (retried at each
       tick): without it, it would wait for the lease to run out */
    mgr_job_log(j, BYOCA_LOG_ERROR,
                "cannot record the failure (tried again shortly): %s",
                c->e.msg);
    (void)!mgr_idset_put(&m->unrecorded, j->cert_id, c->failures);
  }
  if (c->ev_rc != 0)
    byoca_log(BYOCA_LOG_WARN, "cannot record the event certificate.failed: %s",
              c->ev_e.msg);
  else if (c->body != NULL)
    mgr_notify_pump(m); /* sent now, not at the next tick */
  fail_clear(c);
  mgr_job_end(j);
}

void mgr_job_fail(struct mgr_job *j, enum byoca_errclass cls,
                  const char *outcome, int64_t retry_after) {
  struct byoca_manager *m = j->m;
  char t[32];
  if (j->recording || j->ended)
    return;
  struct fail_op *c = calloc(1, sizeof(*c));
  int64_t now = byoca_now();
  int failures = j->row.failures + 1;
  int64_t next =
      now + mgr_sched_backoff(m->cfg.retry_base_s, failures, mgr_random());
  if (retry_after > next) /* the CA asked for more patience */
    next = retry_after < now + MGR_DAY ? retry_after : now + MGR_DAY;
  if (c == NULL) {
    mgr_job_log(j, BYOCA_LOG_ERROR, "cannot record the failure: out of memory");
    (void)!mgr_idset_put(&m->unrecorded, j->cert_id, failures);
    mgr_job_end(j);
    return;
  }
  byoca_str_sanitize(outcome, c->line, sizeof(c->line));
  byoca_time_format_rfc3339(next, t, sizeof(t));
  mgr_job_log(j, BYOCA_LOG_WARN, "failed (%s): %s; next attempt at %s",
              byoca_errclass_str(cls), c->line, t);
  c->j = j;
  c->cert_id = j->cert_id;
  c->tenant_id = j->tenant_id;
  c->next = next;
  c->now = now;
  c->now_ms = byoca_now_ms();
  c->failures = failures;
  json_t *d =
      json_pack("{s:s,s:s,s:i,s:s}", "error", c->line, "class",
                byoca_errclass_str(cls), "failures", failures, "next_check", t);
  c->text = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
  /* notified once per streak, when it reaches notify_after_failures */
  if (failures == m->cfg.notify_after_failures && m->cfg.webhook_url != NULL) {
    c->body =
        mgr_notice_body("certificate.failed", j->tenant_id, j->cert_id, d);
    c->url = strdup(m->cfg.webhook_url);
    if (c->url == NULL) {
      free(c->body);
      c->body = NULL;
    }
  }
  json_decref(d);
  job_quiet(j);
  /* nothing of the attempt is left to call back while it is recorded */
  mgr_choose_cancel(j);
  mgr_attempt_release(j);
  c->op.work = fail_work;
  c->op.done = fail_done;
  c->op.drop = fail_drop;
  j->pending++; /* the record: the job's memory waits for it */
  mgr_lane_run_job(m, &c->op);
}

static json_t *issued_detail(const struct mgr_job *j,
                             const struct byoca_cert_row *r) {
  char nb[32], na[32];
  byoca_time_format_rfc3339(r->not_before, nb, sizeof(nb));
  byoca_time_format_rfc3339(r->not_after, na, sizeof(na));
  json_t *ids = json_array();
  for (size_t i = 0; ids != NULL && i < j->nnames; i++)
    json_array_append_new(ids, json_string(j->names[i]));
  return json_pack("{s:s,s:s,s:s,s:s,s:s,s:o,s:b,s:s}", "issuer", j->cur_issuer,
                   "directory", r->directory, "serial", r->serial, "not_before",
                   nb, "not_after", na, "identifiers",
                   ids != NULL ? ids : json_array(), "resumed", j->resuming,
                   "node", byoca_store_node(j->m->store));
}

/* The row cert_issued reads. */
static void fill_row(struct mgr_job *j, const struct byoca_order_result *res,
                     struct byoca_cert_row *r) {
  const char *src = "lifetime";
  const char *dir = j->acme != NULL ? byoca_acme_directory_url(j->acme) : NULL;
  char t[32];
  memset(r, 0, sizeof(*r));
  if (!j->cur_by_url)
    byoca_strlcpy(r->issuer, j->cur_issuer, sizeof(r->issuer));
  byoca_strlcpy(r->directory, dir != NULL ? dir : j->cur_directory,
                sizeof(r->directory));
  byoca_strlcpy(r->serial, res->serial != NULL ? res->serial : "",
                sizeof(r->serial));
  r->not_before = res->not_before;
  r->not_after = res->not_after;
  if (res->profile != NULL)
    byoca_strlcpy(r->issued_profile, res->profile, sizeof(r->issued_profile));
  r->next_check = mgr_sched_next(NULL, res->not_before, res->not_after,
                                 byoca_now(), mgr_random(), &src);
  byoca_strlcpy(r->next_source, src, sizeof(r->next_source));
  mgr_ari_issued(j, res, r);
  byoca_time_format_rfc3339(res->not_after, t, sizeof(t));
  snprintf(r->last_outcome, sizeof(r->last_outcome),
           "issued by %.300s, serial %.64s, valid until %s", j->cur_issuer,
           r->serial, t);
}

/* A certificate issued: the CA's health, then cert_issued with its audit
 * event (one transaction). */
struct issued_op {
  struct mgr_lane_op op;
  struct mgr_job *j;
  struct ca_rec ca;
  int64_t cert_id;
  struct byoca_order_result *res;
  struct byoca_cert_row r;
  struct byoca_event ev;
  struct byoca_buf key; /* the certificate's private key, PEM */
  int rc;
  struct byoca_err e;
};

static void issued_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct issued_op *c = (struct issued_op *)op;
  ca_rec_work(s, &c->ca);
  struct byoca_secret k = {(unsigned char *)c->key.data, c->key.len};
  c->rc = byoca_store_cert_issued(s, c->cert_id, &c->r, c->res->fullchain_pem,
                                  &k, &c->ev, &c->e);
}

static void issued_clear(struct issued_op *c) {
  ca_rec_clear(&c->ca);
  mgr_event_done(&c->ev);
  byoca_buf_free_secret(&c->key);
  byoca_order_result_free(c->res);
  c->res = NULL;
  byoca_err_clear(&c->e);
}

static void issued_drop(struct mgr_lane_op *op) {
  struct issued_op *c = (struct issued_op *)op;
  issued_clear(c);
  mgr_job_op_done(c->j); /* aborted meanwhile: the last one frees it */
}

static void issued_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct issued_op *c = (struct issued_op *)op;
  struct mgr_job *j = c->j;
  char t[32];
  if (mgr_job_op_done(j)) { /* aborted meanwhile */
    issued_clear(c);
    return;
  }
  ca_rec_done(m, &c->ca);
  if (c->rc != 0) {
    char line[600];
    byoca_err_format(&c->e, line, sizeof(line));
    issued_clear(c);
    /* the order row stays (recording a failure would delete it, and the
     * certificate with it): when the lease runs out, the lineage is
     * claimed again and the order resumed, its certificate downloaded
     * again rather than issued twice (the store may be back by then) */
    mgr_job_log(j, BYOCA_LOG_ERROR,
                "issued, but it could not be stored (resumed when the lease"
                " runs out): %s",
                line);
    mgr_job_end(j);
    return;
  }
  byoca_time_format_rfc3339(c->r.next_check, t, sizeof(t));
  mgr_job_log(j, BYOCA_LOG_INFO, "%s; next check %s", c->r.last_outcome, t);
  struct byoca_order_result *res = c->res;
  c->res = NULL;
  issued_clear(c);
  j->recording = 0;
  mgr_deploy(j, res); /* ends the job */
  byoca_order_result_free(res);
}

/* The failures the store refused, recorded again on the periodic lane.
 * No claim runs meanwhile (claim() waits for it): a lineage without a
 * job when this was queued gets none before it is done, so cert_failed
 * (which ends the lease) never hits a lineage a new job holds. */
struct retry_op {
  struct mgr_lane_op op;
  int64_t base; /* cfg.retry_base_s */
  size_t n;
  struct retry_item {
    int64_t id;
    int failures;
    int ok;
  } v[];
};

static void retry_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct retry_op *c = (struct retry_op *)op;
  int64_t now = byoca_now();
  for (size_t i = 0; i < c->n; i++) {
    struct byoca_err e = {0};
    int64_t next =
        now + mgr_sched_backoff(c->base, c->v[i].failures, mgr_random());
    c->v[i].ok = byoca_store_cert_failed(
                     s, c->v[i].id,
                     "the outcome of the last attempt could not be stored (see"
                     " the log); trying again",
                     next, now, &e) == 0;
    byoca_err_clear(&e);
  }
}

static void retry_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct retry_op *c = (struct retry_op *)op;
  m->retrying = 0;
  for (size_t i = 0; i < c->n; i++) {
    if (!c->v[i].ok)
      continue; /* at the next tick */
    byoca_log(BYOCA_LOG_INFO,
              "cert %lld: recorded its failed attempt now that the store"
              " takes writes again",
              (long long)c->v[i].id);
    mgr_idset_del(&m->unrecorded, c->v[i].id);
  }
  if (m->claim_again) { /* a claim waited for this */
    m->claim_again = 0;
    mgr_kick(m);
  }
}

void mgr_outcome_retry(struct byoca_manager *m) {
  if (m->unrecorded.n == 0 || m->retrying || m->claiming)
    return;
  struct retry_op *c =
      calloc(1, sizeof(*c) + m->unrecorded.n * sizeof(c->v[0]));
  if (c == NULL)
    return; /* at the next tick */
  for (size_t i = m->unrecorded.n; i-- > 0;) {
    if (mgr_job_find(m, m->unrecorded.v[i]) != NULL)
      continue; /* claimed again meanwhile */
    c->v[c->n].id = m->unrecorded.v[i];
    c->v[c->n].failures = m->unrecorded.count[i];
    c->n++;
  }
  if (c->n == 0) {
    free(c);
    return;
  }
  c->base = m->cfg.retry_base_s;
  c->op.work = retry_work;
  c->op.done = retry_done;
  m->retrying = 1;
  mgr_lane_run(m, &c->op);
}

void mgr_job_issued(struct mgr_job *j, struct byoca_order_result *res) {
  struct byoca_manager *m = j->m;
  struct byoca_err e = {0};
  if (j->recording || j->ended) { /* cannot happen: the order is over */
    byoca_order_result_free(res);
    return;
  }
  mgr_metrics_duration(&m->metrics,
                       (double)(byoca_now_ms() - j->attempt_ms) / 1000.0);
  mgr_metrics_issuance(&m->metrics, j->cur_issuer, j->was_issued, 1);
  struct issued_op *c = calloc(1, sizeof(*c));
  int rc = c != NULL ? ca_rec_init(&c->ca, j, 1, NULL) : BYOCA_E_NOMEM;
  if (c != NULL)
    byoca_buf_init(&c->key, 0);
  if (rc == 0)
    rc = byoca_key_private_pem(res->key, &c->key, &e);
  if (rc != 0) {
    if (e.code == 0)
      byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    mgr_job_log(j, BYOCA_LOG_ERROR,
                "issued, but it could not be stored (resumed when the lease"
                " runs out): %s",
                e.msg);
    byoca_err_clear(&e);
    if (c != NULL) {
      ca_rec_clear(&c->ca);
      byoca_buf_free_secret(&c->key);
    }
    free(c);
    byoca_order_result_free(res);
    mgr_job_end(j);
    return;
  }
  job_quiet(j); /* issued: only storing it and the deploy are left */
  c->j = j;
  c->cert_id = j->cert_id;
  c->res = res;
  fill_row(j, res, &c->r);
  /* the audit event lands with the certificate, in one transaction */
  json_t *detail = issued_detail(j, &c->r);
  mgr_event_prepare(
      &c->ev, j->tenant_id, j->cert_id,
      j->was_issued ? "certificate.renewed" : "certificate.issued", detail);
  json_decref(detail);
  c->op.work = issued_work;
  c->op.done = issued_done;
  c->op.drop = issued_drop;
  j->pending++; /* the record: the job's memory waits for it */
  mgr_lane_run_job(m, &c->op);
}
