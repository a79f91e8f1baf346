/* The tenant's ACME account at a CA (one per tenant per directory, D-KEYS):
 * from the store, or created on first use with a fresh EC P-256 key,
 * termsOfServiceAgreed (D-TOS, audited with the terms URL) and External
 * Account Binding from the tenant's credentials, else the provider's
 * ([ca] eab_kid/eab_hmac_file). A CA that requires EAB we do not have is
 * skipped (D-EAB).
 *
 * The store's part runs on the jobs' store lane (docs/internals/store.md):
 * reading the account (and, when a registration may follow, the EAB
 * credentials) in one operation, storing a new one with its ca.tos_agreed
 * event in another; the job goes on in their continuations on the loop.
 * The store seals and opens the key (as before); the key is parsed or
 * made, and its PEM written, on the loop; every plaintext PEM or MAC key
 * an operation carries is cleansed when it is done. */
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

#define EAB_FILE_MAX 4096

/* The stored account's key (pem, cleansed here) into j, its URL into
 * url_out. */
static int account_take(struct mgr_job *j, const struct byoca_account_row *row,
                        struct byoca_secret *pem, char *url_out, size_t urllen,
                        struct byoca_err *err) {
  byoca_key_free(j->acct_key);
  j->acct_key = NULL;
  int rc =
      byoca_key_load_pem((const char *)pem->data, pem->len, &j->acct_key, err);
  byoca_secret_free(pem);
  if (rc == 0)
    byoca_strlcpy(url_out, row->url, urllen);
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

/* EAB for (tenant, CA): the tenant's own (rc, kid and raw as the lane
 * read them; raw taken over), then the provider's. */
static int eab_load(struct mgr_job *j, int rc, const char *kid,
                    struct byoca_secret *raw) {
  byoca_secret_free(&j->eab);
  free(j->eab_kid);
  j->eab_kid = NULL;
  if (rc == 0 && raw->data != NULL && kid[0] != '\0') {
    if ((j->eab_kid = strdup(kid)) == NULL) {
      byoca_secret_free(raw);
      return 0;
    }
    return eab_take(j, raw);
  }
  byoca_secret_free(raw);
  return eab_provider(j);
}

/* A new account stored, with its ca.tos_agreed event, on the lane. */
struct save_op {
  struct mgr_lane_op op;
  struct mgr_job *j;
  struct byoca_account_row row;
  struct byoca_buf pem; /* the new key, PEM: cleansed when done */
  int tos_event;        /* D-TOS: a ca.tos_agreed event */
  char *tos;            /* its detail (NULL when out of memory) */
  int64_t tenant_id, cert_id, now_ms;
  int rc; /* already failed (the PEM) when not 0 before the work */
  struct byoca_err e;
  int ev_rc;
  struct byoca_err ev_e;
};

static void save_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct save_op *c = (struct save_op *)op;
  if (c->tos_event) /* D-TOS: recorded in the audit log */
    c->ev_rc =
        byoca_store_event_notify(s, c->tenant_id, c->cert_id, "ca.tos_agreed",
                                 c->tos, c->now_ms, NULL, NULL, &c->ev_e);
  if (c->rc != 0)
    return;
  struct byoca_secret k = {(unsigned char *)c->pem.data, c->pem.len};
  c->rc = byoca_store_account_put(s, &c->row, &k, &c->e);
}

static void save_clear(struct save_op *c) {
  byoca_buf_free_secret(&c->pem);
  free(c->tos);
  byoca_err_clear(&c->e);
  byoca_err_clear(&c->ev_e);
}

static void save_drop(struct mgr_lane_op *op) {
  struct save_op *c = (struct save_op *)op;
  save_clear(c);
  mgr_job_op_done(c->j); /* ended meanwhile: the last one frees it */
}

static void reg_done(struct mgr_job *j, const struct byoca_err *err);

/* The new account stored (or not): the jobs waiting for it read the
 * store, and j goes on. */
static void save_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct save_op *c = (struct save_op *)op;
  struct mgr_job *j = c->j;
  (void)m;
  /* stopped meanwhile: its registration entry went with its attempt */
  if (mgr_job_op_done(j) || j->recording) {
    save_clear(c);
    return;
  }
  if (c->tos_event && c->ev_rc != 0)
    byoca_log(BYOCA_LOG_WARN, "cannot record the event ca.tos_agreed: %s",
              c->ev_e.msg);
  reg_done(j, c->rc != 0 ? &c->e : NULL); /* the waiting jobs read the store */
  if (c->rc != 0) {
    byoca_err_activity(&c->e, "storing the new account at %.200s",
                       j->cur_issuer);
    j->acct_cb(j, &c->e, 0);
  } else {
    j->acct_cb(j, NULL, 0);
  }
  save_clear(c);
}

/* Queues the store write of the account just registered at j->acme (the
 * key's PEM made here, on the loop) and, with tos, its ca.tos_agreed
 * event; save_done goes on. */
static void save_account(struct mgr_job *j, const char *tos) {
  struct save_op *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    struct byoca_err e = {0};
    byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    reg_done(j, &e);
    byoca_err_activity(&e, "storing the new account at %.200s", j->cur_issuer);
    j->acct_cb(j, &e, 0);
    byoca_err_clear(&e);
    return;
  }
  c->row.tenant_id = j->tenant_id;
  byoca_strlcpy(c->row.directory, byoca_acme_directory_url(j->acme),
                sizeof(c->row.directory));
  if (!j->cur_by_url)
    byoca_strlcpy(c->row.issuer, j->cur_issuer, sizeof(c->row.issuer));
  byoca_strlcpy(c->row.url, byoca_acme_account_url(j->acme),
                sizeof(c->row.url));
  c->row.created = byoca_now();
  byoca_buf_init(&c->pem, 0);
  c->rc = byoca_key_private_pem(j->acct_key, &c->pem, &c->e);
  if (tos != NULL) {
    json_t *d =
        json_pack("{s:s,s:s,s:s,s:s}", "issuer", j->cur_issuer, "directory",
                  byoca_acme_directory_url(j->acme), "terms_of_service", tos,
                  "account", byoca_acme_account_url(j->acme));
    c->tos_event = 1;
    c->tos = d != NULL ? json_dumps(d, JSON_COMPACT) : NULL;
    json_decref(d);
  }
  c->tenant_id = j->tenant_id;
  c->cert_id = j->cert_id;
  c->now_ms = byoca_now_ms();
  c->j = j;
  c->op.work = save_work;
  c->op.done = save_done;
  c->op.drop = save_drop;
  j->pending++; /* the job's memory waits for the write */
  mgr_lane_run_job(j->m, &c->op);
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
  if (j->ended || j->recording)
    return; /* a deferred completion after the job was stopped */
  if (err != NULL) {
    reg_done(j, err);
    j->acct_cb(j, err, 0);
    return;
  }
  mgr_job_log(j, BYOCA_LOG_INFO, "registered account %s at %s",
              byoca_acme_account_url(j->acme), j->cur_issuer);
  save_account(j, byoca_acme_terms_of_service(j->acme));
}

/* A new account at j->acme, with the EAB credentials the lane read (or
 * the provider's). */
static void register_new(struct mgr_job *j, int eab_rc, const char *kid,
                         struct byoca_secret *hmac) {
  struct byoca_err e = {0};
  const char *email = j->m->cfg.contact_email;
  int have_eab = eab_load(j, eab_rc, kid, hmac);
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

/* 1 if another job of j's tenant registers at dir: j waits for it
 * (reg_done wakes it). */
static int reg_wait(struct mgr_job *j, const char *dir) {
  if (reg_find(j->m, j->tenant_id, dir) == NULL)
    return 0;
  j->acct_waiting = 1;
  mgr_job_log(j, BYOCA_LOG_DEBUG,
              "waiting for the tenant's account at %s being registered",
              j->cur_issuer);
  return 1;
}

/* The stored account at (tenant, directory), read on the lane, and the
 * tenant's EAB credentials for the CA when a registration may follow. */
struct get_op {
  struct mgr_lane_op op;
  struct mgr_job *j;
  int64_t tenant_id;
  char *directory, *issuer;
  char *stale;        /* the account URL the CA does not know; may be NULL */
  mgr_fetch_cb fetch; /* mgr_account_fetch: read only, no registration */
  int rc;
  struct byoca_err e;
  struct byoca_account_row row;
  struct byoca_secret pem; /* the account key: cleansed when done */
  int eab_rc;
  char kid[256];
  struct byoca_secret hmac; /* the EAB MAC key: cleansed when done */
};

/* 1 if the stored account is the one to use. */
static int get_usable(const struct get_op *c) {
  return c->rc == 0 && c->row.url[0] != '\0' &&
         (c->stale == NULL || strcmp(c->row.url, c->stale) != 0);
}

static void get_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct get_op *c = (struct get_op *)op;
  c->rc = byoca_store_account_get(s, c->tenant_id, c->directory, &c->row,
                                  &c->pem, &c->e);
  if (c->fetch != NULL || get_usable(c) ||
      (c->rc != 0 && c->rc != BYOCA_E_NOTFOUND))
    return;
  struct byoca_err e = {0}; /* none stored: the provider's are tried */
  c->eab_rc = byoca_store_eab_get(s, c->tenant_id, c->issuer, c->kid,
                                  sizeof(c->kid), &c->hmac, &e);
  byoca_err_clear(&e);
}

static void get_clear(struct get_op *c) {
  free(c->directory);
  free(c->issuer);
  free(c->stale);
  byoca_err_clear(&c->e);
  byoca_secret_free(&c->pem);
  byoca_secret_free(&c->hmac);
}

static void get_drop(struct mgr_lane_op *op) {
  struct get_op *c = (struct get_op *)op;
  get_clear(c);
  mgr_job_op_done(c->j); /* ended meanwhile: the last one frees it */
}

/* The stored account if it can be used; otherwise a new registration,
 * or a wait for the one another job of this tenant began meanwhile. */
static void get_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct get_op *c = (struct get_op *)op;
  struct mgr_job *j = c->j;
  char url[1024] = "";
  (void)m;
  if (mgr_job_op_done(j) || j->recording) { /* stopped meanwhile */
    get_clear(c);
    return;
  }
  int usable = get_usable(c);
  int rc = c->rc;
  if (rc == 0) /* the key parsed on the loop, as it always was */
    rc = account_take(j, &c->row, &c->pem, url, sizeof(url), &c->e);
  if (c->fetch != NULL) {
    if (rc != 0 && c->e.code == 0)
      byoca_err_set(&c->e, rc, BYOCA_CLASS_INTERNAL,
                    "no account stored at %.200s", c->directory);
    c->fetch(j, rc == 0 ? url : NULL, rc == 0 ? NULL : &c->e);
    get_clear(c);
    return;
  }
  if (rc == 0 && usable) {
    byoca_acme_set_account(j->acme, j->acct_key, url);
    get_clear(c);
    j->acct_cb(j, NULL, 0);
    return;
  }
  if (rc != 0 && rc != BYOCA_E_NOTFOUND) {
    byoca_err_activity(&c->e, "loading the account at %.200s", j->cur_issuer);
    j->acct_cb(j, &c->e, 0);
    get_clear(c);
    return;
  }
  if (!reg_wait(j, c->directory))
    register_new(j, c->eab_rc, c->kid, &c->hmac);
  get_clear(c);
}

/* The stored account unless it is the one the CA said it does not know
 * (acct_stale); otherwise a new registration, or a wait for the one
 * another job of this tenant is making at this CA. */
void mgr_account_ensure(struct mgr_job *j, mgr_account_cb cb) {
  const char *dir = byoca_acme_directory_url(j->acme);
  j->acct_cb = cb;
  if (reg_wait(j, dir))
    return;
  struct get_op *c = calloc(1, sizeof(*c));
  if (c != NULL) {
    c->directory = strdup(dir);
    c->issuer = strdup(j->cur_issuer);
    c->stale = j->acct_stale != NULL ? strdup(j->acct_stale) : NULL;
  }
  if (c == NULL || c->directory == NULL || c->issuer == NULL ||
      (j->acct_stale != NULL && c->stale == NULL)) {
    struct byoca_err e = {0};
    if (c != NULL)
      get_clear(c);
    free(c);
    byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    cb(j, &e, 0);
    byoca_err_clear(&e);
    return;
  }
  c->tenant_id = j->tenant_id;
  c->j = j;
  c->op.work = get_work;
  c->op.done = get_done;
  c->op.drop = get_drop;
  j->pending++; /* the job's memory waits for the read */
  mgr_lane_run_job(j->m, &c->op);
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

void mgr_account_fetch(struct mgr_job *j, const char *directory,
                       mgr_fetch_cb cb) {
  struct get_op *c = calloc(1, sizeof(*c));
  if (c == NULL || (c->directory = strdup(directory)) == NULL) {
    struct byoca_err e = {0};
    free(c);
    byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    cb(j, NULL, &e);
    byoca_err_clear(&e);
    return;
  }
  c->tenant_id = j->tenant_id;
  c->j = j;
  c->fetch = cb;
  c->op.work = get_work;
  c->op.done = get_done;
  c->op.drop = get_drop;
  j->pending++; /* the job's memory waits for the read */
  mgr_lane_run_job(j->m, &c->op);
}
