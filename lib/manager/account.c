/* The tenant's ACME account at a CA (one per tenant per directory, D-KEYS):
 * from the store, or created on first use with a fresh EC P-256 key,
 * termsOfServiceAgreed (D-TOS, audited with the terms URL) and External
 * Account Binding from the tenant's credentials, else the provider's
 * ([ca] eab_kid/eab_hmac_file). A CA that requires EAB we do not have is
 * skipped (D-EAB). */
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

#define EAB_FILE_MAX 4096

int mgr_account_load(struct mgr_job *j, const char *directory, char *url_out,
                     size_t urllen, struct byoca_err *err) {
  struct byoca_account_row row;
  struct byoca_secret pem = {0};
  memset(&row, 0, sizeof(row));
  int rc = byoca_store_account_get(j->m->store, j->tenant_id, directory, &row,
                                   &pem, err);
  if (rc != 0)
    return rc;
  byoca_key_free(j->acct_key);
  j->acct_key = NULL;
  rc = byoca_key_load_pem((const char *)pem.data, pem.len, &j->acct_key, err);
  byoca_secret_free(&pem);
  if (rc == 0)
    byoca_strlcpy(url_out, row.url, urllen);
  return rc;
}

/* 1 if every byte is of the base64 or base64url alphabet. */
static int looks_base64(const unsigned char *p, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (strchr("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
               "0123456789+/-_=",
               p[i]) == NULL ||
        p[i] == '\0')
      return 0;
  return n > 0;
}

/* The MAC key as bytes: stores may keep the decoded key or the base64url
 * text the API received; both are accepted. */
static int eab_take(struct mgr_job *j, struct byoca_secret *raw) {
  unsigned char *dec = NULL;
  size_t dlen = 0;
  if (looks_base64(raw->data, raw->len) &&
      byoca_b64any_decode((const char *)raw->data, raw->len, &dec, &dlen) ==
          0 &&
      dlen > 0) {
    byoca_secret_free(raw);
    j->eab.data = dec;
    j->eab.len = dlen;
    return 1;
  }
  free(dec);
  j->eab = *raw;
  memset(raw, 0, sizeof(*raw));
  return 1;
}

static const struct mgr_ca *provider_ca(const struct mgr_job *j) {
  const struct mgr_cfg *cfg = &j->m->cfg;
  if (!j->cur_by_url)
    return mgr_cfg_ca(cfg, j->cur_issuer);
  for (size_t i = 0; i < cfg->ncas; i++)
    if (cfg->cas[i].directory != NULL &&
        strcmp(cfg->cas[i].directory, j->cur_issuer) == 0)
      return &cfg->cas[i];
  return NULL;
}

/* The provider's credentials for the current CA: 1 found, 0 none. */
static int eab_provider(struct mgr_job *j) {
  const struct mgr_ca *c = provider_ca(j);
  struct byoca_secret raw = {0};
  struct byoca_err e = {0};
  if (c == NULL || c->eab_kid == NULL || c->eab_hmac_file == NULL)
    return 0;
  if (byoca_secret_read_file(c->eab_hmac_file, EAB_FILE_MAX, &raw, &e) != 0) {
    mgr_job_log(j, BYOCA_LOG_WARN, "EAB key of %s: %s", j->cur_issuer, e.msg);
    byoca_err_clear(&e);
    return 0;
  }
  if ((j->eab_kid = strdup(c->eab_kid)) == NULL) {
    byoca_secret_free(&raw);
    return 0;
  }
  return eab_take(j, &raw);
}

/* EAB for (tenant, CA): the tenant's own first, then the provider's. */
static int eab_load(struct mgr_job *j) {
  char kid[256] = "";
  byoca_secret_free(&j->eab);
  free(j->eab_kid);
  j->eab_kid = NULL;
  struct byoca_secret raw = {0};
  struct byoca_err e = {0};
  if (byoca_store_eab_get(j->m->store, j->tenant_id, j->cur_issuer, kid,
                          sizeof(kid), &raw, &e) == 0 &&
      raw.data != NULL && kid[0] != '\0') {
    if ((j->eab_kid = strdup(kid)) == NULL) {
      byoca_secret_free(&raw);
      return 0;
    }
    return eab_take(j, &raw);
  }
  byoca_secret_free(&raw);
  byoca_err_clear(&e);
  return eab_provider(j);
}

static int save_account(struct mgr_job *j, struct byoca_err *err) {
  struct byoca_account_row row;
  struct byoca_buf pem;
  memset(&row, 0, sizeof(row));
  row.tenant_id = j->tenant_id;
  byoca_strlcpy(row.directory, byoca_acme_directory_url(j->acme),
                sizeof(row.directory));
  if (!j->cur_by_url)
    byoca_strlcpy(row.issuer, j->cur_issuer, sizeof(row.issuer));
  byoca_strlcpy(row.url, byoca_acme_account_url(j->acme), sizeof(row.url));
  row.created = byoca_now();
  byoca_buf_init(&pem, 0);
  int rc = byoca_key_private_pem(j->acct_key, &pem, err);
  if (rc == 0) {
    struct byoca_secret s = {(unsigned char *)pem.data, pem.len};
    rc = byoca_store_account_put(j->m->store, &row, &s, err);
  }
  byoca_buf_free_secret(&pem);
  return rc;
}

/* ---- one registration at a time per (tenant, directory) ---- */

static struct mgr_acct_reg *reg_find(struct byoca_manager *m, int64_t tenant,
                                     const char *dir) {
  for (struct mgr_acct_reg *r = m->acct_regs; r != NULL; r = r->next)
    if (r->tenant_id == tenant && strcmp(r->directory, dir) == 0)
      return r;
  return NULL;
}

static void on_wake(void *arg) {
  struct mgr_job *j = arg;
  j->acct_wake = NULL;
  if (j->ended || j->recording)
    return;
  if (j->acct_err.code != 0) { /* the registration it waited for failed */
    struct byoca_err e = j->acct_err;
    memset(&j->acct_err, 0, sizeof(j->acct_err));
    j->acct_cb(j, &e, 0);
    byoca_err_clear(&e);
    return;
  }
  mgr_account_ensure(j, j->acct_cb);
}

/* Drops j's registration entry; every job waiting for it looks again, or
 * with err (the registration failed) fails the same way: a CA that cannot
 * register one account is not asked again by each waiting job in turn. */
static void reg_done(struct mgr_job *j, const struct byoca_err *err) {
  struct byoca_manager *m = j->m;
  struct mgr_acct_reg *r = j->acct_reg;
  if (r == NULL || m == NULL)
    return;
  j->acct_reg = NULL;
  for (struct mgr_acct_reg **pp = &m->acct_regs; *pp != NULL; pp = &(*pp)->next)
    if (*pp == r) {
      *pp = r->next;
      break;
    }
  for (struct mgr_job *w = m->jobs, *next; w != NULL; w = next) {
    next = w->next; /* a failing w may end and leave the list */
    if (!w->acct_waiting || w->acct_wake != NULL || w->acme == NULL ||
        w->tenant_id != r->tenant_id ||
        strcmp(byoca_acme_directory_url(w->acme), r->directory) != 0)
      continue;
    w->acct_waiting = 0;
    byoca_err_clear(&w->acct_err);
    if (err != NULL && byoca_err_copy(&w->acct_err, err) != 0)
      byoca_err_set(&w->acct_err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                    "out of memory");
    w->acct_wake = byoca_timer_add(m->loop, 0, on_wake, w);
    if (w->acct_wake == NULL) {
      struct byoca_err e = {0};
      byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
      w->acct_cb(w, &e, 0);
      byoca_err_clear(&e);
    }
  }
  free(r->directory);
  free(r);
}

void mgr_account_release(struct mgr_job *j) {
  if (j->acct_wake != NULL)
    byoca_timer_cancel(j->acct_wake);
  j->acct_wake = NULL;
  j->acct_waiting = 0;
  byoca_err_clear(&j->acct_err);
  reg_done(j, NULL);
}

/* Makes j the one job registering (tenant, directory); 0, or
 * BYOCA_E_NOMEM. */
static int reg_begin(struct mgr_job *j, const char *dir) {
  struct mgr_acct_reg *r = calloc(1, sizeof(*r));
  if (r == NULL || (r->directory = strdup(dir)) == NULL) {
    free(r);
    return BYOCA_E_NOMEM;
  }
  r->tenant_id = j->tenant_id;
  r->next = j->m->acct_regs;
  j->m->acct_regs = r;
  j->acct_reg = r;
  return 0;
}

static void on_registered(void *arg, const struct byoca_err *err) {
  struct mgr_job *j = arg;
  struct byoca_err e = {0};
  if (j->ended || j->recording)
    return; /* a deferred completion after the job was stopped */
  if (err != NULL) {
    reg_done(j, err);
    j->acct_cb(j, err, 0);
    return;
  }
  const char *tos = byoca_acme_terms_of_service(j->acme);
  mgr_job_log(j, BYOCA_LOG_INFO, "registered account %s at %s",
              byoca_acme_account_url(j->acme), j->cur_issuer);
  if (tos != NULL) /* D-TOS: recorded in the audit log */
    mgr_event(j->m, j->tenant_id, j->cert_id, "ca.tos_agreed",
              json_pack("{s:s,s:s,s:s,s:s}", "issuer", j->cur_issuer,
                        "directory", byoca_acme_directory_url(j->acme),
                        "terms_of_service", tos, "account",
                        byoca_acme_account_url(j->acme)),
              0);
  int rc = save_account(j, &e);
  reg_done(j, rc != 0 ? &e : NULL); /* the waiting jobs read the store */
  if (rc != 0) {
    byoca_err_activity(&e, "storing the new account at %.200s", j->cur_issuer);
    j->acct_cb(j, &e, 0);
    byoca_err_clear(&e);
    return;
  }
  j->acct_cb(j, NULL, 0);
}

static void register_new(struct mgr_job *j) {
  struct byoca_err e = {0};
  const char *email = j->m->cfg.contact_email;
  int have_eab = eab_load(j);
  if (mgr_eab_skip(byoca_acme_eab_required(j->acme), 0, have_eab)) {
    j->acct_cb(j, NULL, 1);
    return;
  }
  byoca_key_free(j->acct_key); /* the client is given the new one below */
  j->acct_key = NULL;
  if (byoca_key_generate(BYOCA_KEY_EC256, &j->acct_key, &e) != 0) {
    j->acct_cb(j, &e, 0);
    byoca_err_clear(&e);
    return;
  }
  if (reg_begin(j, byoca_acme_directory_url(j->acme)) != 0) {
    byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    j->acct_cb(j, &e, 0);
    byoca_err_clear(&e);
    return;
  }
  byoca_acme_set_account(j->acme, j->acct_key, NULL);
  struct byoca_account_req req = {
      .contacts = &email,
      .ncontacts = email != NULL ? 1 : 0,
      .tos_agreed = 1,
      .eab_kid = have_eab ? j->eab_kid : NULL,
      .eab_hmac = have_eab ? &j->eab : NULL,
  };
  if (byoca_acme_account_register(j->acme, &req, on_registered, j) != 0) {
    reg_done(j, NULL);
    byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                  "cannot start the account registration");
    j->acct_cb(j, &e, 0);
    byoca_err_clear(&e);
  }
}

/* The stored account unless it is the one the CA said it does not know
 * (acct_stale); otherwise a new registration, or a wait for the one
 * another job of this tenant is making at this CA. */
void mgr_account_ensure(struct mgr_job *j, mgr_account_cb cb) {
  struct byoca_err e = {0};
  char url[1024] = "";
  const char *dir = byoca_acme_directory_url(j->acme);
  j->acct_cb = cb;
  if (reg_find(j->m, j->tenant_id, dir) != NULL) {
    j->acct_waiting = 1; /* reg_done wakes it */
    mgr_job_log(j, BYOCA_LOG_DEBUG,
                "waiting for the tenant's account at %s being registered",
                j->cur_issuer);
    return;
  }
  int rc = mgr_account_load(j, dir, url, sizeof(url), &e);
  if (rc == 0 && url[0] != '\0' &&
      (j->acct_stale == NULL || strcmp(url, j->acct_stale) != 0)) {
    byoca_acme_set_account(j->acme, j->acct_key, url);
    cb(j, NULL, 0);
    return;
  }
  if (rc != 0 && rc != BYOCA_E_NOTFOUND) {
    byoca_err_activity(&e, "loading the account at %.200s", j->cur_issuer);
    cb(j, &e, 0);
    byoca_err_clear(&e);
    return;
  }
  byoca_err_clear(&e);
  register_new(j);
}

void mgr_account_register(struct mgr_job *j, mgr_account_cb cb) {
  const char *url = byoca_acme_account_url(j->acme);
  free(j->acct_stale);
  j->acct_stale = url != NULL ? strdup(url) : NULL;
  if (url != NULL && j->acct_stale == NULL) {
    struct byoca_err e = {0};
    byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    cb(j, &e, 0);
    byoca_err_clear(&e);
    return;
  }
  mgr_account_ensure(j, cb);
}
