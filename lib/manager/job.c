/* A job: one lineage's attempt (or its deletion) from claim to outcome.
 * It starts from a claimed id, ends exactly once (mgr_job_end: slot,
 * order, client and solvers released, the manager told), and its memory
 * lives on while operations that cannot be cancelled (CAA lookups, hook
 * processes) are still to call back. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

void mgr_job_log(const struct mgr_job *j, enum byoca_loglevel lvl,
                 const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof(msg), fmt, ap);
  va_end(ap);
  byoca_log(lvl, "cert %lld tenant %lld: %s", (long long)j->cert_id,
            (long long)j->tenant_id, msg);
}

struct mgr_job *mgr_job_find(struct byoca_manager *m, int64_t cert_id) {
  for (struct mgr_job *j = m->jobs; j != NULL; j = j->next)
    if (j->cert_id == cert_id)
      return j;
  return NULL;
}

static void job_free(struct mgr_job *j) {
  for (size_t i = 0; j->rrsets != NULL && i < j->nnames; i++) {
    if (j->rrsets[i] != NULL)
      byoca_caa_rrset_clear(j->rrsets[i]);
    free(j->rrsets[i]);
  }
  free(j->rrsets);
  free(j->caa);
  if (j->have_disc)
    byoca_caa_discovery_clear(&j->disc);
  mgr_cands_clear(&j->cands);
  mgr_names_free(j->names, j->nnames);
  byoca_cert_row_clear(&j->row);
  byoca_buf_free(&j->why);
  free(j->leaf_der);
  free(j->resume_url);
  free(j->acct_stale);
  byoca_err_clear(&j->acct_err);
  mgr_dns_unref(j->tdns);
  free(j);
}

void mgr_attempt_release(struct mgr_job *j) {
  if (j->order != NULL) {
    byoca_order_cancel(j->order);
    j->order = NULL;
  }
  mgr_account_release(j);
  byoca_acme_free(j->acme);
  j->acme = NULL;
  for (size_t i = 0; i < j->nsolvers; i++)
    mgr_solver_retire(j->solvers[i]);
  j->nsolvers = 0;
  byoca_key_free(j->acct_key);
  j->acct_key = NULL;
  byoca_secret_free(&j->eab);
  free(j->eab_kid);
  j->eab_kid = NULL;
  mgr_slot_release(j);
  free(j->cur_issuer);
  free(j->cur_directory);
  j->cur_issuer = j->cur_directory = NULL;
}

int mgr_attempt_set_ca(struct mgr_job *j, const char *issuer,
                       const char *directory, int by_url, unsigned methods) {
  mgr_attempt_release(j);
  j->cur_issuer = strdup(issuer);
  j->cur_directory = directory != NULL ? strdup(directory) : NULL;
  j->cur_by_url = by_url;
  j->cur_methods = methods;
  j->cur_cached = 0;
  j->acct_retried = 0;
  free(j->acct_stale);
  j->acct_stale = NULL;
  if (j->cur_issuer == NULL || (directory != NULL && j->cur_directory == NULL))
    return BYOCA_E_NOMEM;
  return 0;
}

#define REAP_MS 200 /* after a job ended: late deferred callbacks */

static void list_unlink(struct mgr_job **head, struct mgr_job *j) {
  if (j->prev != NULL)
    j->prev->next = j->next;
  else
    *head = j->next;
  if (j->next != NULL)
    j->next->prev = j->prev;
  j->prev = j->next = NULL;
}

static void list_push(struct mgr_job **head, struct mgr_job *j) {
  j->prev = NULL;
  j->next = *head;
  if (*head != NULL)
    (*head)->prev = j;
  *head = j;
}

/* The memory goes once the job ended and nothing can call back. */
static void job_release(struct mgr_job *j) {
  if (j->m != NULL)
    list_unlink(&j->m->zombies, j);
  job_free(j);
}

int mgr_job_op_done(struct mgr_job *j) {
  j->pending--;
  if (!j->ended)
    return 0;
  if (j->pending == 0)
    job_release(j);
  return 1;
}

static void on_reap(void *arg) {
  struct mgr_job *j = arg;
  j->reaper = NULL;
  mgr_job_op_done(j);
}

static void job_finish(struct mgr_job *j, int tell) {
  struct byoca_manager *m = j->m;
  if (j->ended)
    return;
  j->ended = 1;
  if (j->deadline != NULL)
    byoca_timer_cancel(j->deadline);
  if (j->step != NULL)
    byoca_timer_cancel(j->step);
  j->deadline = j->step = NULL;
  mgr_choose_cancel(j);
  mgr_attempt_release(j);
  byoca_key_free(j->cert_key);
  j->cert_key = NULL;
  list_unlink(&m->jobs, j);
  m->njobs--;
  list_push(&m->zombies, j);
  /* a deferred engine callback may still be queued for this turn */
  j->pending++;
  if ((j->reaper = byoca_timer_add(m->loop, REAP_MS, on_reap, j)) == NULL)
    j->pending--;
  if (j->pending == 0)
    job_release(j);
  if (tell)
    mgr_job_gone(m);
}

int mgr_job_stoppable(const struct mgr_job *j) {
  return j->kind == MGR_JOB_ISSUE && !j->ended && j->order == NULL &&
         !j->resuming && j->acct_reg == NULL && !j->deploying && !j->recording;
}

void mgr_job_end(struct mgr_job *j) {
  job_finish(j, 1);
}

void mgr_job_abort(struct mgr_job *j) {
  job_finish(j, 0);
}

void mgr_jobs_detach(struct byoca_manager *m) {
  for (struct mgr_job *j = m->jobs; j != NULL; j = j->next) {
    for (size_t i = 0; i < j->nsolvers; i++)
      mgr_solver_keep(j->solvers[i]);
    mgr_dns_close(j->tdns); /* its RFC 2136 waits end, as the provider's */
    j->tdns = NULL;
  }
  while (m->jobs != NULL)
    mgr_job_abort(m->jobs);
  while (m->zombies != NULL) {
    struct mgr_job *j = m->zombies;
    list_unlink(&m->zombies, j);
    j->m = NULL;
    if (j->reaper != NULL) {
      byoca_timer_cancel(j->reaper);
      j->reaper = NULL;
      j->pending--;
    }
    if (j->pending == 0)
      job_free(j); /* else freed by its last callback */
  }
}

static void on_deadline(void *arg) {
  struct mgr_job *j = arg;
  j->deadline = NULL;
  mgr_job_log(j, BYOCA_LOG_WARN, "gave up after %lld minutes",
              (long long)(mgr_job_deadline_ms(&j->m->cfg) / 60000));
  if (j->kind == MGR_JOB_DELETE) {
    mgr_job_end(j); /* the lease runs out and deletion is tried again */
    return;
  }
  mgr_job_fail(j, BYOCA_CLASS_RETRYABLE,
               "the attempt took too long and was stopped", 0);
}

/* The lineage as loaded (rc and e from the store); 0 and the job is
 * ready to run, 1 when its identifiers cannot be read, -1 when it cannot
 * run. */
static int job_loaded(struct mgr_job *j, int rc, const struct byoca_err *e) {
  enum byoca_keytype kt = BYOCA_KEY_EC256;
  if (rc != 0) {
    if (e->code != BYOCA_E_NOTFOUND)
      byoca_log(BYOCA_LOG_WARN, "cert %lld: cannot load it: %s",
                (long long)j->cert_id, e->msg);
    return -1;
  }
  j->tenant_id = j->row.tenant_id;
  j->was_issued = j->row.state == BYOCA_CERT_ISSUED;
  if (byoca_keytype_parse(j->row.key_type, &kt) != 0)
    kt = BYOCA_KEY_EC256;
  j->key_type = kt;
  if (mgr_names_parse(j->row.identifiers_json, &j->names, &j->nnames) != 0 &&
      j->row.state != BYOCA_CERT_DELETING) {
    mgr_job_log(j, BYOCA_LOG_ERROR, "its identifiers cannot be read");
    return 1;
  }
  return 0;
}

static struct mgr_job *job_new(struct byoca_manager *m, int64_t cert_id) {
  struct mgr_job *j = calloc(1, sizeof(*j));
  if (j == NULL)
    return NULL;
  j->m = m;
  j->cert_id = cert_id;
  j->started_ms = byoca_now_ms();
  snprintf(j->label, sizeof(j->label), "cert %lld", (long long)cert_id);
  byoca_buf_init(&j->why, 8192);
  list_push(&m->jobs, j);
  m->njobs++;
  return j;
}

/* Loading the lineage and what its start needs (the tenant's default
 * profile and RFC 2136 zones, an order in flight), on the jobs' store
 * lane. */
struct load_op {
  struct mgr_lane_op op;
  struct mgr_job *j;
  int64_t cert_id;
  int rc;
  struct byoca_err e;
  struct byoca_cert_row row;
  int dns_rc;
  struct byoca_err dns_e;
  struct byoca_rfc2136_row *zones;
  struct byoca_secret *secrets;
  size_t nzones;
  int ord_rc;
  struct byoca_err ord_e;
  struct byoca_order_row ord;
  struct byoca_secret ord_key;
};

/* The tenant's own RFC 2136 zones into j->tdns; a stored entry that
 * cannot be used fails the job naming it. */
static int tenant_dns(struct mgr_job *j, struct load_op *c) {
  struct byoca_err e = {0};
  int rc = c->dns_rc;
  if (rc == 0) {
    rc = mgr_dns_tenant_build(j->m, c->zones, c->secrets, c->nzones, &j->tdns,
                              &e);
    c->zones = NULL;
    c->secrets = NULL;
    c->nzones = 0;
  } else {
    e = c->dns_e;
    memset(&c->dns_e, 0, sizeof(c->dns_e));
  }
  if (rc == 0)
    return 0;
  char line[600];
  byoca_err_format(&e, line, sizeof(line));
  mgr_job_fail(
      j, e.cls == BYOCA_CLASS_INPUT ? BYOCA_CLASS_INPUT : BYOCA_CLASS_RETRYABLE,
      line, 0);
  byoca_err_clear(&e);
  return -1;
}

static void job_begin(struct mgr_job *j, int rc, struct load_op *c) {
  struct byoca_manager *m = j->m;
  if (rc < 0) {
    mgr_job_end(j);
    return;
  }
  j->deadline =
      byoca_timer_add(m->loop, mgr_job_deadline_ms(&m->cfg), on_deadline, j);
  if (j->row.state == BYOCA_CERT_DELETING) {
    j->kind = MGR_JOB_DELETE;
    mgr_delete_run(j);
  } else if (rc > 0) {
    mgr_job_fail(j, BYOCA_CLASS_INTERNAL, "its identifiers cannot be read", 0);
  } else if (tenant_dns(j, c) != 0) {
    return; /* failed */
  } else if (!mgr_resume_with(j, c->ord_rc, &c->ord, &c->ord_key, &c->ord_e)) {
    mgr_choose_start(j);
  }
}

static void load_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct load_op *c = (struct load_op *)op;
  c->rc = byoca_store_cert_get(s, 0, c->cert_id, 0, &c->row, &c->e);
  if (c->rc != 0 || c->row.state == BYOCA_CERT_DELETING)
    return;
  /* D-PROFILE: a lineage that names no profile takes its tenant's
   * default (read at each start, so a changed default applies to
   * renewals); kept in the job's copy of the row only */
  struct byoca_tenant t;
  if (c->row.profile[0] == '\0' &&
      byoca_store_tenant_get(s, c->row.tenant_id, &t, NULL) == 0 &&
      t.profile[0] != '\0') {
    byoca_strlcpy(c->row.profile, t.profile, sizeof(c->row.profile));
    c->row.profile_required = t.profile_required;
  }
  c->dns_rc = byoca_store_rfc2136_list(s, c->row.tenant_id, &c->zones,
                                       &c->secrets, &c->nzones, &c->dns_e);
  c->ord_rc =
      byoca_store_order_get(s, c->cert_id, &c->ord, &c->ord_key, &c->ord_e);
}

/* Frees what the load read and the job did not take. */
static void load_clear(struct load_op *c) {
  for (size_t i = 0; c->secrets != NULL && i < c->nzones; i++)
    byoca_secret_free(&c->secrets[i]);
  free(c->secrets);
  free(c->zones);
  byoca_secret_free(&c->ord_key);
  byoca_err_clear(&c->e);
  byoca_err_clear(&c->dns_e);
  byoca_err_clear(&c->ord_e);
}

static void load_drop(struct mgr_lane_op *op) {
  struct load_op *c = (struct load_op *)op;
  if (c->rc == 0)
    byoca_cert_row_clear(&c->row);
  load_clear(c);
  mgr_job_op_done(c->j); /* ended meanwhile: the last one frees it */
}

static void load_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct load_op *c = (struct load_op *)op;
  struct mgr_job *j = c->j;
  (void)m;
  if (j->ended) { /* stopped while it loaded (a drain, a deletion) */
    load_drop(op);
    return;
  }
  j->pending--;
  if (c->rc == 0)
    j->row = c->row; /* the job owns what the row points to now */
  job_begin(j, job_loaded(j, c->rc, &c->e), c);
  load_clear(c);
}

void mgr_job_start(struct byoca_manager *m, int64_t cert_id) {
  /* claimed again (its lease ran out): this attempt's outcome counts */
  mgr_idset_del(&m->unrecorded, cert_id);
  struct mgr_job *j = job_new(m, cert_id);
  struct load_op *c = j != NULL ? calloc(1, sizeof(*c)) : NULL;
  if (c == NULL) {
    byoca_log(BYOCA_LOG_ERROR, "cert %lld: out of memory", (long long)cert_id);
    if (j != NULL)
      mgr_job_end(j);
    return; /* its lease runs out; it is claimed again */
  }
  c->op.work = load_work;
  c->op.done = load_done;
  c->op.drop = load_drop;
  c->j = j;
  c->cert_id = cert_id;
  j->pending++; /* the load: the job's memory waits for it */
  mgr_lane_run_job(m, &c->op);
}
