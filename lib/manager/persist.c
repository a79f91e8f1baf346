/* Crash safety: an order's URL and fresh certificate key are made durable
 * in the store before the order is finalized (the engine's persist hook);
 * a job that finds such a row for its lineage (a process died mid-order)
 * resumes that order with the stored key instead of ordering again. An
 * order that cannot be resumed is deleted, its key with it, and the
 * lineage orders afresh.
 *
 * Both store writes run on the jobs' store lane (lane.c): the order row
 * while the engine waits (its persist hook in callback form), the
 * deletion of a stale one before the job chooses afresh. The job's
 * memory waits for them (`pending`); a job stopped meanwhile only lets
 * its cancelled order go. */
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
  req->persist_start = mgr_persist_cb;
  req->persist_arg = j;
}

/* The order row (with the certificate key's PEM before finalize), made
 * on the loop and written on the jobs' lane; the order goes on from the
 * continuation. */
struct put_op {
  struct mgr_lane_op op;
  struct mgr_job *j;
  struct byoca_order *o; /* waits for byoca_order_persist_done */
  struct byoca_order_row row;
  struct byoca_buf pem; /* the key, cleansed after; empty: none yet */
  int has_key;
  int rc;
  struct byoca_err e;
};

static void put_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct put_op *c = (struct put_op *)op;
  struct byoca_secret key = {(unsigned char *)c->pem.data, c->pem.len};
  c->rc = byoca_store_order_put(s, &c->row, c->has_key ? &key : NULL, &c->e);
}

static void put_clear(struct put_op *c) {
  byoca_buf_free_secret(&c->pem);
  byoca_err_clear(&c->e);
}

/* The manager was freed first: the job was aborted and its order
 * cancelled, so the completion only frees the order. */
static void put_drop(struct mgr_lane_op *op) {
  struct put_op *c = (struct put_op *)op;
  struct byoca_order *o = c->o;
  put_clear(c);
  mgr_job_op_done(c->j);
  byoca_order_persist_done(o, BYOCA_E_CANCELLED);
}

static void put_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct put_op *c = (struct put_op *)op;
  struct byoca_order *o = c->o;
  int rc = c->rc;
  (void)m;
  /* stopped meanwhile (its order cancelled): nothing to tell */
  if (!mgr_job_op_done(c->j) && rc != 0)
    mgr_job_log(c->j, BYOCA_LOG_ERROR, "cannot make the order durable: %s",
                c->e.msg);
  put_clear(c);
  byoca_order_persist_done(o, rc); /* a failure fails the order */
}

int mgr_persist_cb(void *arg, struct byoca_order *o, const char *order_url,
                   const struct byoca_key *key) {
  struct mgr_job *j = arg;
  struct byoca_err e = {0};
  if (j->ended || j->m == NULL || j->acme == NULL)
    return -1;
  struct put_op *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    mgr_job_log(j, BYOCA_LOG_ERROR,
                "cannot make the order durable: out of memory");
    return -1;
  }
  c->row.cert_id = j->cert_id;
  byoca_strlcpy(c->row.directory, byoca_acme_directory_url(j->acme),
                sizeof(c->row.directory));
  if (!j->cur_by_url && j->cur_issuer != NULL)
    byoca_strlcpy(c->row.issuer, j->cur_issuer, sizeof(c->row.issuer));
  byoca_strlcpy(c->row.order_url, order_url, sizeof(c->row.order_url));
  c->row.started = byoca_now();
  byoca_buf_init(&c->pem, 0);
  c->has_key = key != NULL;
  if (key != NULL && byoca_key_private_pem(key, &c->pem, &e) != 0) {
    mgr_job_log(j, BYOCA_LOG_ERROR, "cannot make the order durable: %s", e.msg);
    byoca_err_clear(&e);
    put_clear(c);
    free(c);
    return -1;
  }
  c->op.work = put_work;
  c->op.done = put_done;
  c->op.drop = put_drop;
  c->j = j;
  c->o = o;
  j->pending++; /* the write: the job's memory waits for it */
  mgr_lane_run_job(j->m, &c->op);
  return 0;
}

/* Orders afresh once the stale order is gone. */
static void order_afresh(struct mgr_job *j) {
  mgr_attempt_release(j);
  byoca_key_free(j->cert_key);
  j->cert_key = NULL;
  j->resuming = 0;
  mgr_choose_start(j);
}

/* Deleting the stale order (row and key), on the jobs' lane. */
struct stale_op {
  struct mgr_lane_op op;
  struct mgr_job *j;
  int64_t cert_id;
  int rc;
  struct byoca_err e;
};

static void stale_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct stale_op *c = (struct stale_op *)op;
  c->rc = byoca_store_order_delete(s, c->cert_id, &c->e);
}

static void stale_drop(struct mgr_lane_op *op) {
  struct stale_op *c = (struct stale_op *)op;
  byoca_err_clear(&c->e);
  mgr_job_op_done(c->j); /* aborted meanwhile: the last one frees it */
}

static void stale_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct stale_op *c = (struct stale_op *)op;
  struct mgr_job *j = c->j;
  (void)m;
  if (mgr_job_op_done(j)) { /* stopped meanwhile */
    byoca_err_clear(&c->e);
    return;
  }
  if (c->rc != 0)
    mgr_job_log(j, BYOCA_LOG_ERROR, "cannot delete the stale order: %s",
                c->e.msg);
  byoca_err_clear(&c->e);
  if (!j->recording) /* else its deadline failed it meanwhile */
    order_afresh(j);
}

/* Gives up on the stored order: its row and key go, a new order starts. */
static void resume_failed(struct mgr_job *j, const struct byoca_err *err) {
  char line[768];
  byoca_err_format(err, line, sizeof(line));
  mgr_job_log(j, BYOCA_LOG_WARN,
              "cannot resume the order in flight (%s); ordering afresh", line);
  struct stale_op *c = calloc(1, sizeof(*c));
  if (c == NULL) { /* the new order's row replaces it */
    mgr_job_log(j, BYOCA_LOG_ERROR,
                "cannot delete the stale order: out of memory");
    order_afresh(j);
    return;
  }
  c->op.work = stale_work;
  c->op.done = stale_done;
  c->op.drop = stale_drop;
  c->j = j;
  c->cert_id = j->cert_id;
  j->pending++; /* the deletion: the job's memory waits for it */
  mgr_lane_run_job(j->m, &c->op);
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

/* Resuming is under way: the directory, then the stored order. */
static void resume_go(struct mgr_job *j) {
  const char *dir = byoca_acme_directory_url(j->acme);
  j->resuming = 1;
  j->attempt_ms = byoca_now_ms();
  mgr_job_log(j, BYOCA_LOG_INFO, "resuming the order %s at %s", j->resume_url,
              j->cur_issuer);
  mgr_event_queue(
      j->m, 1, j->tenant_id, j->cert_id, "order.resumed",
      json_pack("{s:s,s:s}", "order", j->resume_url, "directory", dir), 0);
  if (byoca_acme_directory(j->acme, on_resume_dir, j) != 0) {
    struct byoca_err e = {0};
    byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "cannot resume");
    resume_failed(j, &e); /* goes on with a new order */
    byoca_err_clear(&e);
  }
}

/* Who validates the names by tls-alpn-01 is known: the solvers. */
static void resume_solvers(struct mgr_job *j, const char *taken) {
  struct byoca_err e = {0};
  if (mgr_solvers_build(j, taken, &e) != 0) {
    resume_failed(j, &e);
    byoca_err_clear(&e);
    return;
  }
  resume_go(j);
}

/* The account the order was placed with, read on the jobs' lane. */
static void resume_account(struct mgr_job *j, const char *url,
                           const struct byoca_err *err) {
  if (err != NULL) {
    resume_failed(j, err);
    return;
  }
  byoca_acme_set_account(j->acme, j->acct_key, url);
  mgr_alpn_check(j, resume_solvers);
}

/* Client, CA slot and certificate key for the stored order (no store
 * call); 0 when the account can be read. */
static int resume_prepare(struct mgr_job *j, const struct byoca_order_row *o,
                          struct byoca_secret *key_pem, struct byoca_err *err) {
  unsigned ours = mgr_methods_ours(j->m, j);
  int by_url = o->issuer[0] == '\0';
  if (mgr_attempt_set_ca(j, by_url ? o->directory : o->issuer, o->directory,
                         by_url, ours) != 0 ||
      (j->resume_url = strdup(o->order_url)) == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
  int rc = 0;
  if (key_pem->data != NULL)
    rc = byoca_key_load_pem((const char *)key_pem->data, key_pem->len,
                            &j->cert_key, err);
  if (rc == 0 && (j->acme = byoca_acme_new(j->m->loop, j->m->http, o->directory,
                                           err)) == NULL)
    rc = BYOCA_E_NOMEM;
  if (rc != 0)
    return rc;
  mgr_slot_take(j, 1);
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
  if (rc == 0) { /* the account, then the solvers, on the jobs' lane */
    byoca_err_clear(&e);
    mgr_account_fetch(j, o.directory, resume_account);
    return 1;
  }
  if (e.code == 0)
    byoca_err_set(&e, rc, BYOCA_CLASS_INTERNAL, "cannot resume");
  resume_failed(j, &e); /* goes on with a new order */
  byoca_err_clear(&e);
  return 1;
}
