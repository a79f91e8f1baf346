/* Deleting lineages and tenants (D-REVOKE-ON-DELETE). A lineage in state
 * deleting has its certificate revoked (reason 5, cessationOfOperation)
 * with the tenant's account at the CA that issued it (or, without one,
 * with the certificate's own key), unless revocation was turned off or
 * nothing was issued; "already revoked" counts as done. Then its key and
 * row are destroyed and the deletion audited with the public key's
 * SHA-256. A tenant in deletion is destroyed (data key and rows) once its
 * last lineage is gone. Failed revocations are retried when the claim's
 * lease runs out, MGR_REVOKE_TRIES times, then the key is destroyed
 * anyway: keeping key material the owner asked to destroy is worse.
 *
 * A deletion's store steps (the lineage with its key, then its
 * destruction) run on the jobs' store lane with the job pending
 * (j->pending) meanwhile; the tenant sweep runs whole on the periodic
 * lane, one at a time. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

#define REVOKE_REASON 5 /* cessationOfOperation (RFC 5280 §5.3.1) */
#define LIST_PAGE 500

/* The lineage's deletion in the store (cert_destroy with its audit
 * event, one transaction), on the jobs' lane. */
struct destroy_op {
  struct mgr_lane_op op;
  struct mgr_job *j;
  int64_t cert_id;
  int revoked;
  char why[600]; /* "" when none */
  char *url;     /* the webhook's, copied for the lane */
  struct byoca_event ev;
  int rc;
  struct byoca_err e;
};

static void destroy_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct destroy_op *c = (struct destroy_op *)op;
  c->rc = byoca_store_cert_destroy(s, c->cert_id, &c->ev, &c->e);
}

static void destroy_clear(struct destroy_op *c) {
  mgr_event_done(&c->ev);
  free(c->url);
  byoca_err_clear(&c->e);
}

static void destroy_drop(struct mgr_lane_op *op) {
  struct destroy_op *c = (struct destroy_op *)op;
  destroy_clear(c);
  mgr_job_op_done(c->j); /* ended meanwhile: the last one frees it */
}

static void destroy_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct destroy_op *c = (struct destroy_op *)op;
  struct mgr_job *j = c->j;
  int notify = c->url != NULL;
  if (mgr_job_op_done(j)) { /* ended meanwhile (its deadline) */
    destroy_clear(c);
    return;
  }
  if (c->rc != 0) {
    mgr_job_log(j, BYOCA_LOG_ERROR, "cannot destroy it: %s", c->e.msg);
    destroy_clear(c);
    mgr_job_end(j); /* tried again when the lease runs out */
    return;
  }
  mgr_idset_del(&m->revoke_try, j->cert_id);
  mgr_job_log(j, BYOCA_LOG_INFO, "deleted (%s)",
              c->revoked  ? "revoked"
              : c->why[0] ? c->why
                          : "not revoked");
  destroy_clear(c);
  if (notify)
    mgr_notify_pump(m); /* sent now, not at the next tick */
  mgr_job_end(j);
  m->tenant_sweep = 1;
  mgr_kick(m);
}

static void delete_finish(struct mgr_job *j, int revoked, const char *why) {
  struct byoca_manager *m = j->m;
  int64_t tenant = j->tenant_id;
  /* the deployed key goes first: a crash after it leaves the lineage in
     deleting (done again at the next start), never deployed key files of
     a lineage that is gone */
  mgr_deploy_remove(m, tenant, j->cert_id);
  struct destroy_op *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    mgr_job_log(j, BYOCA_LOG_ERROR, "cannot destroy it: out of memory");
    mgr_job_end(j); /* tried again when the lease runs out */
    return;
  }
  json_t *d =
      json_pack("{s:b,s:s}", "revoked", revoked, "serial", j->row.serial);
  json_object_set_new(d, "key_sha256",
                      j->key_sha256[0] != '\0' ? json_string(j->key_sha256)
                                               : json_null());
  if (why != NULL && !revoked)
    json_object_set_new(d, "reason", json_string(why));
  /* the audit event lands with the deletion, in one transaction */
  mgr_event_prepare(&c->ev, tenant, j->cert_id, "certificate.deleted", d);
  mgr_event_notify(m, &c->ev, d);
  json_decref(d);
  if (c->ev.notify_url != NULL) { /* the lane's own copy (reconfigure) */
    c->url = strdup(c->ev.notify_url);
    c->ev.notify_url = c->url;
    if (c->url == NULL) {
      free(c->ev.notify_body);
      c->ev.notify_body = NULL;
    }
  }
  c->j = j;
  c->cert_id = j->cert_id;
  c->revoked = revoked;
  if (why != NULL)
    byoca_strlcpy(c->why, why, sizeof(c->why));
  c->op.work = destroy_work;
  c->op.done = destroy_done;
  c->op.drop = destroy_drop;
  j->pending++; /* the destroy: the job's memory waits for it */
  mgr_lane_run_job(m, &c->op);
}

static void revoke_failed(struct mgr_job *j, const struct byoca_err *err) {
  char line[768];
  int tries = 0;
  byoca_err_format(err, line, sizeof(line));
  mgr_idset_has(&j->m->revoke_try, j->cert_id, &tries);
  tries++;
  int give_up = err->cls == BYOCA_CLASS_INPUT ||
                err->cls == BYOCA_CLASS_INTERNAL || tries >= MGR_REVOKE_TRIES;
  mgr_job_log(j, BYOCA_LOG_WARN, "revocation failed (try %d): %s%s", tries,
              line, give_up ? "; destroying the key anyway" : "");
  if (give_up) {
    char why[600];
    snprintf(why, sizeof(why), "revocation failed: %.500s", line);
    delete_finish(j, 0, why);
    return;
  }
  (void)!mgr_idset_put(&j->m->revoke_try, j->cert_id, tries);
  mgr_job_end(j); /* claimed again when the lease runs out */
}

static void on_revoked(void *arg, const struct byoca_err *err) {
  struct mgr_job *j = arg;
  if (j->ended)
    return;
  if (err != NULL && !mgr_err_is(err, "alreadyRevoked")) {
    revoke_failed(j, err);
    return;
  }
  /* on the jobs' lane: recorded before the deletion queued next */
  mgr_event_queue(j->m, 1, j->tenant_id, j->cert_id, "certificate.revoked",
                  json_pack("{s:s,s:s,s:i,s:b}", "serial", j->row.serial,
                            "directory", j->row.directory, "reason",
                            REVOKE_REASON, "already", err != NULL),
                  1);
  delete_finish(j, 1, NULL);
}

/* The account that ordered it (read on the jobs' lane), else the
 * certificate's own key, signs the revocation. */
static void revoke_signed(struct mgr_job *j, const char *url,
                          const struct byoca_err *err) {
  struct byoca_err e = {0};
  struct byoca_key *by_key = NULL;
  if (err == NULL && url != NULL && url[0] != '\0')
    byoca_acme_set_account(j->acme, j->acct_key, url);
  else
    by_key = j->cert_key;
  if (by_key == NULL && j->acct_key == NULL) {
    delete_finish(j, 0, "no account and no key to sign the revocation");
    return;
  }
  if (byoca_acme_revoke(j->acme, j->leaf_der, j->leaf_len, REVOKE_REASON,
                        by_key, on_revoked, j) != 0) {
    byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                  "cannot start the revocation");
    revoke_failed(j, &e);
    byoca_err_clear(&e);
  }
}

static void on_revoke_dir(void *arg, const struct byoca_err *err) {
  struct mgr_job *j = arg;
  if (j->ended)
    return;
  if (err != NULL) {
    revoke_failed(j, err);
    return;
  }
  mgr_account_fetch(j, j->row.directory, revoke_signed);
}

/* The certificate's key (for its fingerprint and, maybe, revocation),
 * from the PEM the load read (wiped and freed here). */
static void load_cert_key(struct mgr_job *j, int rc, struct byoca_secret *pem) {
  struct byoca_err e = {0};
  if (rc == 0 && pem->data != NULL &&
      byoca_key_load_pem((const char *)pem->data, pem->len, &j->cert_key, &e) ==
          0 &&
      byoca_key_public_sha256(j->cert_key, j->key_sha256) != 0)
    j->key_sha256[0] = '\0';
  byoca_secret_free(pem);
  byoca_err_clear(&e);
}

static int leaf_of(struct mgr_job *j) {
  struct byoca_chain ch;
  struct byoca_err e = {0};
  const char *pem = j->row.fullchain_pem;
  if (pem == NULL || byoca_chain_parse(pem, strlen(pem), 0, &ch, &e) != 0) {
    byoca_err_clear(&e);
    return -1;
  }
  int rc = byoca_cert_der(ch.certs[0], &j->leaf_der, &j->leaf_len);
  byoca_chain_free(&ch);
  return rc;
}

/* Why the certificate is not revoked, or NULL to revoke it. */
static const char *no_revoke_reason(struct mgr_job *j) {
  if (!j->revoke)
    return "revocation not requested";
  if (j->row.fullchain_pem == NULL || j->row.serial[0] == '\0')
    return "nothing was issued";
  if (j->row.not_after != 0 && j->row.not_after <= byoca_now())
    return "the certificate has expired";
  if (j->row.directory[0] == '\0')
    return "the issuing CA is unknown (imported)";
  if (leaf_of(j) != 0)
    return "the stored certificate cannot be read";
  return NULL;
}

/* Revokes, or goes straight to the destruction. */
static void delete_go(struct mgr_job *j) {
  struct byoca_manager *m = j->m;
  struct byoca_err e = {0};
  j->revoke = j->row.revoke_on_delete;
  const char *why = no_revoke_reason(j);
  if (why != NULL) {
    delete_finish(j, 0, why);
    return;
  }
  mgr_job_log(j, BYOCA_LOG_INFO, "revoking serial %s before deletion",
              j->row.serial);
  j->acme = byoca_acme_new(m->loop, m->http, j->row.directory, &e);
  if (j->acme == NULL || byoca_acme_directory(j->acme, on_revoke_dir, j) != 0) {
    if (e.code == 0)
      byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_RETRYABLE,
                    "cannot start the revocation");
    revoke_failed(j, &e);
    byoca_err_clear(&e);
  }
}

/* The lineage with its chain and the certificate's key, read on the
 * jobs' lane for the deletion. */
struct dload_op {
  struct mgr_lane_op op;
  struct mgr_job *j;
  int64_t cert_id;
  int rc;
  struct byoca_err e;
  struct byoca_cert_row row;
  int key_rc;
  struct byoca_secret key; /* PEM, unsealed: wiped when freed */
};

static void dload_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct dload_op *c = (struct dload_op *)op;
  struct byoca_err e = {0};
  c->rc = byoca_store_cert_get(s, 0, c->cert_id, 1, &c->row, &c->e);
  if (c->rc == 0)
    c->key_rc =
        byoca_store_cert_key(s, c->row.tenant_id, c->cert_id, &c->key, &e);
  byoca_err_clear(&e);
}

static void dload_clear(struct dload_op *c) {
  byoca_cert_row_clear(&c->row);
  byoca_secret_free(&c->key);
  byoca_err_clear(&c->e);
}

static void dload_drop(struct mgr_lane_op *op) {
  struct dload_op *c = (struct dload_op *)op;
  dload_clear(c);
  mgr_job_op_done(c->j); /* ended meanwhile: the last one frees it */
}

static void dload_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct dload_op *c = (struct dload_op *)op;
  struct mgr_job *j = c->j;
  (void)m;
  if (mgr_job_op_done(j)) { /* ended meanwhile (its deadline) */
    dload_clear(c);
    return;
  }
  if (c->rc != 0) {
    mgr_job_log(j, BYOCA_LOG_WARN, "cannot load it for deletion: %s", c->e.msg);
    dload_clear(c);
    mgr_job_end(j);
    return;
  }
  byoca_cert_row_clear(&j->row);
  j->row = c->row; /* the job owns what the row points to now */
  memset(&c->row, 0, sizeof(c->row));
  load_cert_key(j, c->key_rc, &c->key);
  dload_clear(c);
  delete_go(j);
}

void mgr_delete_run(struct mgr_job *j) {
  struct dload_op *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    mgr_job_log(j, BYOCA_LOG_WARN,
                "cannot load it for deletion: out of"
                " memory");
    mgr_job_end(j); /* tried again when the lease runs out */
    return;
  }
  c->op.work = dload_work;
  c->op.done = dload_done;
  c->op.drop = dload_drop;
  c->j = j;
  c->cert_id = j->cert_id;
  j->pending++; /* the load: the job's memory waits for it */
  mgr_lane_run_job(j->m, &c->op);
}

/* ---- tenants ---- */

/* A page loop: on the lane (the sweep, an API deletion). */
int64_t mgr_tenant_mark(struct byoca_store *s, int64_t tenant) {
  int64_t after = 0, total = 0;
  for (;;) {
    struct byoca_cert_row *rows = NULL;
    size_t n = 0;
    struct byoca_err e = {0};
    if (byoca_store_cert_list(s, tenant, after, LIST_PAGE, &rows, &n, &e) !=
        0) {
      byoca_err_clear(&e);
      return -1;
    }
    for (size_t i = 0; i < n; i++) {
      if (rows[i].state != BYOCA_CERT_DELETING &&
          byoca_store_cert_set_deleting(s, tenant, rows[i].id, 1, &e) != 0)
        byoca_err_clear(&e);
      after = rows[i].id;
    }
    total += (int64_t)n;
    byoca_cert_rows_free(rows, n);
    if (n < LIST_PAGE)
      return total;
  }
}

/* A tenant whose last lineage is gone, destroyed by the sweep. */
struct swept {
  int64_t id;
  int rc;
  struct byoca_err e;
  struct mgr_event_rec ev; /* tenant.deleted */
};

/* The sweep, on the periodic lane: every tenant in deletion has its
 * lineages marked, and is destroyed once it has none left. */
struct sweep_op {
  struct mgr_lane_op op;
  struct swept *v;
  size_t n;
};

static void sweep_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct sweep_op *c = (struct sweep_op *)op;
  struct byoca_tenant *ts = NULL;
  size_t n = 0;
  struct byoca_err e = {0};
  if (byoca_store_tenant_list(s, &ts, &n, &e) != 0) {
    byoca_err_clear(&e);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (!ts[i].deleting || mgr_tenant_mark(s, ts[i].id) != 0)
      continue;
    if (c->v == NULL && (c->v = calloc(n, sizeof(*c->v))) == NULL)
      break; /* out of memory: the next sweep */
    struct swept *t = &c->v[c->n++];
    t->id = ts[i].id;
    t->rc = byoca_store_tenant_destroy(s, t->id, &t->e);
    if (t->rc != 0)
      continue;
    json_t *d =
        json_pack("{s:I,s:s}", "tenant", (json_int_t)t->id, "name", ts[i].name);
    (void)mgr_event_rec_fill(&t->ev, NULL, t->id, 0, "tenant.deleted", d);
    json_decref(d);
    mgr_event_rec_work(s, &t->ev);
  }
  free(ts);
}

static void sweep_drop(struct mgr_lane_op *op) {
  struct sweep_op *c = (struct sweep_op *)op;
  for (size_t i = 0; i < c->n; i++) {
    byoca_err_clear(&c->v[i].e);
    mgr_event_rec_clear(&c->v[i].ev);
  }
  free(c->v);
}

static void sweep_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct sweep_op *c = (struct sweep_op *)op;
  m->sweeping = 0;
  for (size_t i = 0; i < c->n; i++) {
    struct swept *t = &c->v[i];
    if (t->rc != 0) {
      byoca_log(BYOCA_LOG_ERROR, "tenant %lld: cannot destroy it: %s",
                (long long)t->id, t->e.msg);
      continue;
    }
    byoca_log(BYOCA_LOG_INFO, "tenant %lld: deleted", (long long)t->id);
    mgr_event_rec_done(m, &t->ev);
  }
  sweep_drop(op);
  if (m->sweep_again) { /* asked for again meanwhile */
    m->sweep_again = 0;
    m->tenant_sweep = 1;
    mgr_kick(m);
  }
}

void mgr_tenant_sweep(struct byoca_manager *m) {
  m->tenant_sweep = 0;
  if (m->sweeping) {
    m->sweep_again = 1; /* once this one is done */
    return;
  }
  struct sweep_op *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return;
  c->op.work = sweep_work;
  c->op.done = sweep_done;
  c->op.drop = sweep_drop;
  m->sweeping = 1;
  mgr_lane_run(m, &c->op);
}
