/* The end of an attempt: a new certificate is stored with its next check
 * (D-ARI), audited, counted and deployed; a failure is recorded with the
 * lineage's backoff and audited, and notified once it repeats. Each
 * attempt at a CA also counts for that CA's health (D-BACKOFF). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

void mgr_ca_outcome(struct mgr_job *j, int ok, const char *error) {
  struct byoca_manager *m = j->m;
  struct byoca_err e = {0};
  int started = 0;
  if (j->cur_issuer == NULL)
    return;
  if (byoca_store_ca_record(m->store, j->cur_issuer, ok, error, byoca_now(),
                            &started, &e) != 0) {
    byoca_log(BYOCA_LOG_WARN, "cannot record the health of %s: %s",
              j->cur_issuer, e.msg);
    byoca_err_clear(&e);
    return;
  }
  if (!started)
    return;
  struct byoca_ca_health h = {0};
  char t[32] = "";
  if (byoca_store_ca_get(m->store, j->cur_issuer, &h, &e) == 0)
    byoca_time_format_rfc3339(h.backoff_until, t, sizeof(t));
  byoca_err_clear(&e);
  byoca_log(BYOCA_LOG_WARN,
            "%s failed %d times in a row; not using it until %s", j->cur_issuer,
            h.failures, t);
  mgr_event(m, 0, 0, "ca.backoff",
            json_pack("{s:s,s:i,s:s,s:s}", "issuer", j->cur_issuer, "failures",
                      h.failures, "backoff_until", t, "error",
                      error != NULL ? error : ""),
            1);
}

void mgr_job_fail(struct mgr_job *j, enum byoca_errclass cls,
                  const char *outcome, int64_t retry_after) {
  struct byoca_manager *m = j->m;
  struct byoca_err e = {0};
  char line[512], t[32];
  int64_t now = byoca_now();
  int failures = j->row.failures + 1;
  int64_t next =
      now + mgr_sched_backoff(m->cfg.retry_base_s, failures, mgr_random());
  if (retry_after > next) /* the CA asked for more patience */
    next = retry_after < now + MGR_DAY ? retry_after : now + MGR_DAY;
  byoca_str_sanitize(outcome, line, sizeof(line));
  byoca_time_format_rfc3339(next, t, sizeof(t));
  mgr_job_log(j, BYOCA_LOG_WARN, "failed (%s): %s; next attempt at %s",
              byoca_errclass_str(cls), line, t);
  if (byoca_store_cert_failed(m->store, j->cert_id, line, next, now, &e) != 0) {
    /* the lineage keeps its lease until this is recorded (retried at each
       tick): without it, it would wait for the lease to run out */
    mgr_job_log(j, BYOCA_LOG_ERROR,
                "cannot record the failure (tried again shortly): %s", e.msg);
    (void)!mgr_idset_put(&m->unrecorded, j->cert_id, failures);
  }
  byoca_err_clear(&e);
  /* notified once per streak, when it reaches notify_after_failures */
  mgr_event(m, j->tenant_id, j->cert_id, "certificate.failed",
            json_pack("{s:s,s:s,s:i,s:s}", "error", line, "class",
                      byoca_errclass_str(cls), "failures", failures,
                      "next_check", t),
            failures == m->cfg.notify_after_failures);
  mgr_job_end(j);
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

static int store_issued(struct mgr_job *j, const struct byoca_order_result *res,
                        struct byoca_cert_row *r, const struct byoca_event *ev,
                        struct byoca_err *err) {
  struct byoca_buf key;
  byoca_buf_init(&key, 0);
  int rc = byoca_key_private_pem(res->key, &key, err);
  if (rc == 0) {
    struct byoca_secret s = {(unsigned char *)key.data, key.len};
    rc = byoca_store_cert_issued(j->m->store, j->cert_id, r, res->fullchain_pem,
                                 &s, ev, err);
  }
  byoca_buf_free_secret(&key);
  return rc;
}

void mgr_outcome_retry(struct byoca_manager *m) {
  int64_t now = byoca_now();
  for (size_t i = m->unrecorded.n; i-- > 0;) {
    int64_t id = m->unrecorded.v[i];
    struct byoca_err e = {0};
    if (mgr_job_find(m, id) != NULL) /* claimed again meanwhile */
      continue;
    int64_t next =
        now + mgr_sched_backoff(m->cfg.retry_base_s, m->unrecorded.count[i],
                                mgr_random());
    if (byoca_store_cert_failed(m->store, id,
                                "the outcome of the last attempt could not be"
                                " stored (see the log); trying again",
                                next, now, &e) == 0) {
      byoca_log(BYOCA_LOG_INFO,
                "cert %lld: recorded its failed attempt now that the store"
                " takes writes again",
                (long long)id);
      mgr_idset_del(&m->unrecorded, id);
    }
    byoca_err_clear(&e);
  }
}

void mgr_job_issued(struct mgr_job *j, struct byoca_order_result *res) {
  struct byoca_manager *m = j->m;
  struct byoca_cert_row r;
  struct byoca_err e = {0};
  char t[32];
  if (j->deadline != NULL) { /* issued: only the deploy hook is left */
    byoca_timer_cancel(j->deadline);
    j->deadline = NULL;
  }
  mgr_metrics_duration(&m->metrics,
                       (double)(byoca_now_ms() - j->attempt_ms) / 1000.0);
  mgr_metrics_issuance(&m->metrics, j->cur_issuer, j->was_issued, 1);
  mgr_ca_outcome(j, 1, NULL);
  fill_row(j, res, &r);
  /* the audit event lands with the certificate, in one transaction */
  struct byoca_event ev;
  json_t *detail = issued_detail(j, &r);
  mgr_event_prepare(
      &ev, j->tenant_id, j->cert_id,
      j->was_issued ? "certificate.renewed" : "certificate.issued", detail);
  json_decref(detail);
  int src = store_issued(j, res, &r, &ev, &e);
  mgr_event_done(&ev);
  if (src != 0) {
    char line[600];
    byoca_err_format(&e, line, sizeof(line));
    byoca_err_clear(&e);
    byoca_order_result_free(res);
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
  byoca_time_format_rfc3339(r.next_check, t, sizeof(t));
  mgr_job_log(j, BYOCA_LOG_INFO, "%s; next check %s", r.last_outcome, t);
  mgr_deploy(j, res); /* ends the job */
  byoca_order_result_free(res);
}
