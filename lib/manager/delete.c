/* Deleting lineages and tenants (D-REVOKE-ON-DELETE). A lineage in state
 * deleting has its certificate revoked (reason 5, cessationOfOperation)
 * with the tenant's account at the CA that issued it (or, without one,
 * with the certificate's own key), unless revocation was turned off or
 * nothing was issued; "already revoked" counts as done. Then its key and
 * row are destroyed and the deletion audited with the public key's
 * SHA-256. A tenant in deletion is destroyed (data key and rows) once its
 * last lineage is gone. Failed revocations are retried when the claim's
 * lease runs out, MGR_REVOKE_TRIES times, then the key is destroyed
 * anyway: keeping key material the owner asked to destroy is worse. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

#define REVOKE_REASON 5 /* cessationOfOperation (RFC 5280 §5.3.1) */
#define LIST_PAGE 500

static void delete_finish(struct mgr_job *j, int revoked, const char *why) {
  struct byoca_manager *m = j->m;
  struct byoca_err e = {0};
  struct byoca_event ev;
  int64_t tenant = j->tenant_id;
  /* the deployed key goes first: a crash after it leaves the lineage in
     deleting (done again at the next start), never deployed key files of
     a lineage that is gone */
  mgr_deploy_remove(m, tenant, j->cert_id);
  json_t *d =
      json_pack("{s:b,s:s}", "revoked", revoked, "serial", j->row.serial);
  json_object_set_new(d, "key_sha256",
                      j->key_sha256[0] != '\0' ? json_string(j->key_sha256)
                                               : json_null());
  if (why != NULL && !revoked)
    json_object_set_new(d, "reason", json_string(why));
  /* the audit event lands with the deletion, in one transaction */
  mgr_event_prepare(&ev, tenant, j->cert_id, "certificate.deleted", d);
  mgr_event_notify(m, &ev, d);
  int notify = ev.notify_url != NULL;
  int rc = byoca_store_cert_destroy(m->store, j->cert_id, &ev, &e);
  mgr_event_done(&ev);
  if (rc != 0) {
    mgr_job_log(j, BYOCA_LOG_ERROR, "cannot destroy it: %s", e.msg);
    byoca_err_clear(&e);
    json_decref(d);
    mgr_job_end(j); /* tried again when the lease runs out */
    return;
  }
  mgr_idset_del(&m->revoke_try, j->cert_id);
  mgr_job_log(j, BYOCA_LOG_INFO, "deleted (%s)",
              revoked       ? "revoked"
              : why != NULL ? why
                            : "not revoked");
  json_decref(d);
  if (notify)
    mgr_notify_pump(m); /* sent now, not at the next tick */
  mgr_job_end(j);
  m->tenant_sweep = 1;
  mgr_kick(m);
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
  mgr_event(j->m, j->tenant_id, j->cert_id, "certificate.revoked",
            json_pack("{s:s,s:s,s:i,s:b}", "serial", j->row.serial, "directory",
                      j->row.directory, "reason", REVOKE_REASON, "already",
                      err != NULL),
            1);
  delete_finish(j, 1, NULL);
}

static void on_revoke_dir(void *arg, const struct byoca_err *err) {
  struct mgr_job *j = arg;
  struct byoca_err e = {0};
  char url[1024] = "";
  if (j->ended)
    return;
  if (err != NULL) {
    revoke_failed(j, err);
    return;
  }
  /* the account that ordered it, else the certificate's own key */
  struct byoca_key *by_key = NULL;
  if (mgr_account_load(j, j->row.directory, url, sizeof(url), &e) == 0 &&
      url[0] != '\0')
    byoca_acme_set_account(j->acme, j->acct_key, url);
  else
    by_key = j->cert_key;
  byoca_err_clear(&e);
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

/* The certificate's key (for its fingerprint and, maybe, revocation). */
static void load_cert_key(struct mgr_job *j) {
  struct byoca_secret pem = {0};
  struct byoca_err e = {0};
  if (byoca_store_cert_key(j->m->store, j->tenant_id, j->cert_id, &pem, &e) ==
          0 &&
      pem.data != NULL &&
      byoca_key_load_pem((const char *)pem.data, pem.len, &j->cert_key, &e) ==
          0 &&
      byoca_key_public_sha256(j->cert_key, j->key_sha256) != 0)
    j->key_sha256[0] = '\0';
  byoca_secret_free(&pem);
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

void mgr_delete_run(struct mgr_job *j) {
  struct byoca_manager *m = j->m;
  struct byoca_err e = {0};
  byoca_cert_row_clear(&j->row);
  if (byoca_store_cert_get(m->store, 0, j->cert_id, 1, &j->row, &e) != 0) {
    mgr_job_log(j, BYOCA_LOG_WARN, "cannot load it for deletion: %s", e.msg);
    byoca_err_clear(&e);
    mgr_job_end(j);
    return;
  }
  j->revoke = j->row.revoke_on_delete;
  load_cert_key(j);
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

/* ---- tenants ---- */

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

static void tenant_finish(struct byoca_manager *m,
                          const struct byoca_tenant *t) {
  struct byoca_err e = {0};
  if (byoca_store_tenant_destroy(m->store, t->id, &e) != 0) {
    byoca_log(BYOCA_LOG_ERROR, "tenant %lld: cannot destroy it: %s",
              (long long)t->id, e.msg);
    byoca_err_clear(&e);
    return;
  }
  byoca_log(BYOCA_LOG_INFO, "tenant %lld: deleted", (long long)t->id);
  mgr_event(
      m, t->id, 0, "tenant.deleted",
      json_pack("{s:I,s:s}", "tenant", (json_int_t)t->id, "name", t->name), 0);
}

void mgr_tenant_sweep(struct byoca_manager *m) {
  struct byoca_tenant *ts = NULL;
  size_t n = 0;
  struct byoca_err e = {0};
  m->tenant_sweep = 0;
  if (byoca_store_tenant_list(m->store, &ts, &n, &e) != 0) {
    byoca_err_clear(&e);
    return;
  }
  for (size_t i = 0; i < n; i++) {
    if (!ts[i].deleting)
      continue;
    int64_t left = mgr_tenant_mark(m->store, ts[i].id);
    if (left == 0)
      tenant_finish(m, &ts[i]);
  }
  free(ts);
}
