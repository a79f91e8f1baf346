/* Crash safety: an order's URL and fresh certificate key are made durable
 * in the store before the order is finalized (the engine's persist hook);
 * a job that finds such a row for its lineage (a process died mid-order)
 * resumes that order with the stored key instead of ordering again. An
 * order that cannot be resumed is deleted, its key with it, and the
 * lineage orders afresh. */
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

void mgr_order_req(struct mgr_job *j, struct byoca_order_req *req) {
  /* j->row.profile: the lineage's, else its tenant's default (job.c) */
  memset(req, 0, sizeof(*req));
  req->names = (const char *const *)j->names;
  req->nnames = j->nnames;
  req->key_type = j->key_type;
  req->profile = j->row.profile[0] != '\0' ? j->row.profile : NULL;
  req->profile_required = req->profile != NULL && j->row.profile_required;
  const struct mgr_ca *c =
      req->profile == NULL && !j->cur_by_url && j->cur_issuer != NULL
          ? mgr_cfg_ca(&j->m->cfg, j->cur_issuer)
          : NULL;
  if (c != NULL && c->profile != NULL) { /* D-PROFILE: the provider's */
    req->profile = c->profile;
    req->profile_required = c->profile_required;
  }
  /* RFC 9773 §5, D-ARI: only to the CA that issued the predecessor */
  if (j->was_issued && j->acme != NULL)
    req->replaces = byoca_ari_replaces(j->row.ari_cert_id, j->row.directory,
                                       byoca_acme_directory_url(j->acme));
  req->solvers = j->solver_ptrs;
  req->nsolvers = j->nsolvers;
  /* the challenge rule (byoca_challenge_choose): the provider's order and
   * what the CAA records allow at this CA (RFC 8657) */
  if (j->m->cfg.nchall_order > 0) {
    req->challenges.order = j->m->cfg.chall_order;
    req->challenges.norder = j->m->cfg.nchall_order;
  }
  if (j->have_disc && j->cur_issuer != NULL) {
    unsigned caa = mgr_methods_allowed(&j->disc, j->cur_issuer, MGR_M_ALL);
    static const struct {
      unsigned bit;
      const char *type;
    } bits[] = {{MGR_M_HTTP01, "http-01"},
                {MGR_M_DNS01, "dns-01"},
                {MGR_M_TLSALPN01, "tls-alpn-01"},
                {MGR_M_DNSACCT01, "dns-account-01"}};
    req->challenges.caa_restricts = 1;
    req->challenges.caa_allowed = j->caa_allowed;
    req->challenges.ncaa_allowed = 0;
    for (size_t i = 0; i < sizeof(bits) / sizeof(*bits); i++)
      if (caa & bits[i].bit)
        j->caa_allowed[req->challenges.ncaa_allowed++] = bits[i].type;
  }
  req->label = j->label;
  req->max_wait_ms = j->m->cfg.order_timeout_ms;
  req->persist = mgr_persist_cb;
  req->persist_arg = j;
}

int mgr_persist_cb(void *arg, const char *order_url,
                   const struct byoca_key *key) {
  struct mgr_job *j = arg;
  struct byoca_order_row row;
  struct byoca_err e = {0};
  struct byoca_buf pem;
  if (j->ended || j->m == NULL || j->acme == NULL)
    return -1;
  memset(&row, 0, sizeof(row));
  row.cert_id = j->cert_id;
  byoca_strlcpy(row.directory, byoca_acme_directory_url(j->acme),
                sizeof(row.directory));
  if (!j->cur_by_url && j->cur_issuer != NULL)
    byoca_strlcpy(row.issuer, j->cur_issuer, sizeof(row.issuer));
  byoca_strlcpy(row.order_url, order_url, sizeof(row.order_url));
  row.started = byoca_now();
  byoca_buf_init(&pem, 0);
  int rc = key != NULL ? byoca_key_private_pem(key, &pem, &e) : 0;
  if (rc == 0) {
    struct byoca_secret s = {(unsigned char *)pem.data, pem.len};
    rc = byoca_store_order_put(j->m->store, &row, key != NULL ? &s : NULL, &e);
  }
  byoca_buf_free_secret(&pem);
  if (rc != 0) {
    mgr_job_log(j, BYOCA_LOG_ERROR, "cannot make the order durable: %s", e.msg);
    byoca_err_clear(&e);
    return -1;
  }
  return 0;
}

/* Gives up on the stored order: its row and key go, a new order starts. */
static void resume_failed(struct mgr_job *j, const struct byoca_err *err) {
  char line[768];
  struct byoca_err e = {0};
  byoca_err_format(err, line, sizeof(line));
  mgr_job_log(j, BYOCA_LOG_WARN,
              "cannot resume the order in flight (%s); ordering afresh", line);
  if (byoca_store_order_delete(j->m->store, j->cert_id, &e) != 0)
    mgr_job_log(j, BYOCA_LOG_ERROR, "cannot delete the stale order: %s", e.msg);
  byoca_err_clear(&e);
  mgr_attempt_release(j);
  byoca_key_free(j->cert_key);
  j->cert_key = NULL;
  j->resuming = 0;
  mgr_choose_start(j);
}

static void on_resumed(void *arg, struct byoca_order_result *res,
                       const struct byoca_err *err) {
  struct mgr_job *j = arg;
  j->order = NULL;
  if (err != NULL) {
    resume_failed(j, err);
    return;
  }
  mgr_job_issued(j, res);
}

static void on_resume_dir(void *arg, const struct byoca_err *err) {
  struct mgr_job *j = arg;
  struct byoca_order_req req;
  struct byoca_err e = {0};
  if (j->ended || j->recording)
    return;
  if (err != NULL) {
    resume_failed(j, err);
    return;
  }
  mgr_order_req(j, &req);
  struct byoca_key *key = j->cert_key;
  j->cert_key = NULL; /* the order owns it from here, also on failure */
  j->order =
      byoca_order_resume(j->acme, &req, j->resume_url, key, on_resumed, j, &e);
  if (j->order == NULL) {
    if (e.code == 0)
      byoca_err_set(&e, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                    "cannot resume the order");
    resume_failed(j, &e);
    byoca_err_clear(&e);
  }
}

/* Client, account, key and solvers for the stored order; 0 when ready. */
static int resume_prepare(struct mgr_job *j, const struct byoca_order_row *o,
                          struct byoca_secret *key_pem, struct byoca_err *err) {
  char url[1024] = "";
  unsigned ours = mgr_methods_ours(j->m, j);
  int by_url = o->issuer[0] == '\0';
  if (mgr_attempt_set_ca(j, by_url ? o->directory : o->issuer, o->directory,
                         by_url, ours) != 0 ||
      (j->resume_url = strdup(o->order_url)) == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
  int rc = mgr_account_load(j, o->directory, url, sizeof(url), err);
  if (rc == 0 && key_pem->data != NULL)
    rc = byoca_key_load_pem((const char *)key_pem->data, key_pem->len,
                            &j->cert_key, err);
  if (rc == 0)
    rc = mgr_solvers_make(j, err);
  if (rc == 0 && (j->acme = byoca_acme_new(j->m->loop, j->m->http, o->directory,
                                           err)) == NULL)
    rc = BYOCA_E_NOMEM;
  if (rc != 0)
    return rc;
  mgr_slot_take(j, 1);
  byoca_acme_set_account(j->acme, j->acct_key, url);
  return 0;
}

int mgr_resume_with(struct mgr_job *j, int rc, struct byoca_order_row *op,
                    struct byoca_secret *keyp, struct byoca_err *ep) {
  struct byoca_order_row o = *op;
  struct byoca_secret key = *keyp;
  struct byoca_err e = *ep;
  keyp->data = NULL;
  keyp->len = 0;
  memset(ep, 0, sizeof(*ep));
  if (rc == BYOCA_E_NOTFOUND) {
    byoca_secret_free(&key);
    byoca_err_clear(&e);
    return 0;
  }
  if (rc == 0)
    rc = resume_prepare(j, &o, &key, &e);
  byoca_secret_free(&key);
  if (rc == 0) {
    j->resuming = 1;
    j->attempt_ms = byoca_now_ms();
    mgr_job_log(j, BYOCA_LOG_INFO, "resuming the order %s at %s", o.order_url,
                j->cur_issuer);
    mgr_event(
        j->m, j->tenant_id, j->cert_id, "order.resumed",
        json_pack("{s:s,s:s}", "order", o.order_url, "directory", o.directory),
        0);
    rc = byoca_acme_directory(j->acme, on_resume_dir, j);
  }
  if (rc != 0) {
    if (e.code == 0)
      byoca_err_set(&e, rc, BYOCA_CLASS_INTERNAL, "cannot resume");
    resume_failed(j, &e); /* goes on with a new order */
    byoca_err_clear(&e);
  }
  return 1;
}
