/* Which CAs to try for a lineage, in order: the pinned one (issuer name or
 * directory URL), or the domain owner's choice through CAA (lookups of
 * every identifier in parallel, then lib/caa discovery with our challenge
 * methods and the tenant's accounts for accounturi, seeded by the lineage
 * id for D-RANDOM); D-DEFAULT when nothing restricts, D-DNS-ERR fails
 * closed. CAs in backoff are dropped with the reason kept. The tenant's
 * accounts and the candidates' health are read on the jobs' store lane
 * (docs/internals/store.md); the choice goes on in the continuations on
 * the loop, the job's memory waiting for them (j->pending). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "mgr_int.h"

/* ---- the choice for a job ---- */

static unsigned our_methods(const struct mgr_job *j) {
  return mgr_methods_ours(j->m, j);
}

static int add_ca(struct mgr_job *j, const char *ca, unsigned methods) {
  const struct mgr_ca *c = mgr_cfg_ca(&j->m->cfg, ca);
  if (mgr_is_url(ca))
    return mgr_cands_add(&j->cands, ca, ca, 1, methods);
  return mgr_cands_add(&j->cands, ca, c != NULL ? c->directory : NULL, 0,
                       methods);
}

/* The candidates' CA health rows (backoff, D-BACKOFF), read on the jobs'
 * store lane; the choice goes on in its continuation on the loop. */
struct health_op {
  struct mgr_lane_op op;
  struct mgr_job *j;
  char **issuers; /* copied: the work sees only the op */
  size_t n;
  struct byoca_ca_health *h; /* h[i] of issuers[i]; unknown: zeros */
};

static void health_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct health_op *c = (struct health_op *)op;
  for (size_t i = 0; i < c->n; i++) {
    struct byoca_err e = {0};
    if (byoca_store_ca_get(s, c->issuers[i], &c->h[i], &e) != 0)
      memset(&c->h[i], 0, sizeof(c->h[i])); /* unknown health: try it */
    byoca_err_clear(&e);
  }
}

static void health_clear(struct health_op *c) {
  for (size_t i = 0; c->issuers != NULL && i < c->n; i++)
    free(c->issuers[i]);
  free(c->issuers);
  free(c->h);
}

static void health_drop(struct mgr_lane_op *op) {
  struct health_op *c = (struct health_op *)op;
  health_clear(c);
  mgr_job_op_done(c->j); /* ended meanwhile: the last one frees it */
}

/* Drops CAs in backoff; tries the rest or fails. */
static void health_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct health_op *c = (struct health_op *)op;
  struct mgr_job *j = c->j;
  (void)m;
  if (mgr_job_op_done(j) || j->recording) { /* stopped meanwhile */
    health_clear(c);
    return;
  }
  size_t before = j->cands.n;
  mgr_cands_filter(&j->cands, c->h, byoca_now(), &j->why);
  health_clear(c);
  if (j->cands.n == 0) {
    char *line = byoca_asprintf("no CA may issue now: %s", mgr_why(&j->why));
    mgr_job_fail(j, before > 0 ? BYOCA_CLASS_RETRYABLE : BYOCA_CLASS_INPUT,
                 line != NULL ? line : "no CA may issue now", 0);
    free(line);
    return;
  }
  mgr_attempt_first(j);
}

/* Reads the candidates' health on the lane; health_done goes on. */
static void choose_finish(struct mgr_job *j) {
  struct health_op *c = calloc(1, sizeof(*c));
  int ok = c != NULL &&
           (c->issuers = calloc(j->cands.n + 1, sizeof(*c->issuers))) != NULL &&
           (c->h = calloc(j->cands.n + 1, sizeof(*c->h))) != NULL;
  for (size_t i = 0; ok && i < j->cands.n; i++, c->n++)
    ok = (c->issuers[i] = strdup(j->cands.v[i].issuer)) != NULL;
  if (!ok) {
    if (c != NULL)
      health_clear(c);
    free(c);
    mgr_job_fail(j, BYOCA_CLASS_INTERNAL, "out of memory", 0);
    return;
  }
  c->op.work = health_work;
  c->op.done = health_done;
  c->op.drop = health_drop;
  c->j = j;
  j->pending++; /* the job's memory waits for the read */
  mgr_lane_run_job(j->m, &c->op);
}

/* Why no CA may issue, in the domain owner's terms. */
static void explain(const struct byoca_caa_discovery *d, struct byoca_buf *b) {
  for (size_t i = 0; i < d->nidents; i++) {
    const struct byoca_caa_ident *id = &d->idents[i];
    const struct byoca_caa_rrset *s = id->rrset;
    if (id->status == BYOCA_CAA_LOOKUP_ERROR)
      (void)!byoca_buf_appendf(b, "%s: CAA lookup failed (%s); ", id->name,
                               s != NULL ? s->error : "no answer");
    else if (id->status == BYOCA_CAA_FORBIDDEN)
      (void)!byoca_buf_appendf(
          b, "%s: the CAA records at %s forbid issuance; ", id->name,
          s != NULL && s->relevant_domain ? s->relevant_domain : "?");
    else if (id->status == BYOCA_CAA_RESTRICTED && id->nauthorized == 0)
      (void)!byoca_buf_appendf(b, "%s: no CA in its CAA records is usable; ",
                               id->name);
  }
  if (d->outcome == BYOCA_CAA_NO_COMMON_CA)
    (void)!byoca_buf_appends(b, "no CA is authorized for every name");
}

static void fail_explained(struct mgr_job *j, enum byoca_errclass cls) {
  struct byoca_buf b;
  byoca_buf_init(&b, 4096);
  (void)!byoca_buf_appends(&b, "no CA may issue: ");
  explain(&j->disc, &b);
  mgr_job_fail(j, cls, b.data != NULL ? mgr_why(&b) : "no CA may issue", 0);
  byoca_buf_free(&b);
}

static void use_default(struct mgr_job *j) {
  struct byoca_manager *m = j->m;
  if (m->cfg.ndefault_cas == 0) {
    mgr_job_fail(j, BYOCA_CLASS_INPUT,
                 "no CAA record restricts these names and no default CA is"
                 " configured (default_ca)",
                 0);
    return;
  }
  mgr_job_log(j, BYOCA_LOG_INFO,
              "no CAA record restricts the names; using the default CAs");
  for (size_t i = 0; i < m->cfg.ndefault_cas; i++)
    if (add_ca(j, m->cfg.default_cas[i], our_methods(j)) != 0) {
      mgr_job_fail(j, BYOCA_CLASS_INTERNAL, "out of memory", 0);
      return;
    }
  choose_finish(j);
}

static void discovered(struct mgr_job *j) {
  const struct byoca_caa_discovery *d = &j->disc;
  switch (d->outcome) {
  case BYOCA_CAA_USE_DEFAULT:
    use_default(j);
    return;
  case BYOCA_CAA_LOOKUP_FAILED: /* D-DNS-ERR: no fallback, retry later */
    fail_explained(j, BYOCA_CLASS_RETRYABLE);
    return;
  case BYOCA_CAA_NO_COMMON_CA:
  case BYOCA_CAA_FORBIDDEN_ALL:
    fail_explained(j, BYOCA_CLASS_INPUT);
    return;
  case BYOCA_CAA_TRY_IN_ORDER:
    break;
  }
  for (size_t i = 0; i < d->ncandidates; i++) {
    const char *iss = d->candidates[i].issuer;
    if (add_ca(j, iss, mgr_methods_allowed(d, iss, our_methods(j))) != 0) {
      mgr_job_fail(j, BYOCA_CLASS_INTERNAL, "out of memory", 0);
      return;
    }
  }
  choose_finish(j);
}

static const char *const method_names[] = {"http-01", "dns-01",
                                           "dns-account-01"};

/* The tenant's accounts (D-ACCT-UNKNOWN: CAA accounturi), read on the
 * jobs' store lane once the CAA lookups are answered; discovery runs in
 * the continuation on the loop. */
struct accts_op {
  struct mgr_lane_op op;
  struct mgr_job *j;
  int64_t tenant_id;
  struct byoca_account_row *rows; /* no keys */
  size_t n;
};

static void accts_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct accts_op *c = (struct accts_op *)op;
  struct byoca_err e = {0};
  if (byoca_store_account_list(s, c->tenant_id, &c->rows, &c->n, &e) != 0) {
    c->rows = NULL; /* none known: accounturi restricts as for a stranger */
    c->n = 0;
  }
  byoca_err_clear(&e);
}

static void accts_drop(struct mgr_lane_op *op) {
  struct accts_op *c = (struct accts_op *)op;
  free(c->rows);
  mgr_job_op_done(c->j); /* ended meanwhile: the last one frees it */
}

/* Runs discovery with the tenant's accounts. */
static void accts_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct accts_op *c = (struct accts_op *)op;
  struct mgr_job *j = c->j;
  struct byoca_caa_account *accts = NULL;
  size_t na = 0;
  struct byoca_err e = {0};
  if (mgr_job_op_done(j) || j->recording) { /* stopped meanwhile */
    free(c->rows);
    return;
  }
  accts = calloc(c->n + 1, sizeof(*accts));
  for (size_t i = 0; accts != NULL && i < c->n; i++)
    if (c->rows[i].issuer[0] != '\0' && c->rows[i].url[0] != '\0') {
      accts[na].issuer = c->rows[i].issuer;
      accts[na++].url = c->rows[i].url;
    }
  struct byoca_caa_policy policy = {
      .methods = method_names,
      .nmethods = mgr_dns01_ready(m, j) ? 3 : 1,
      .accounts = accts,
      .naccounts = na,
      .seed = mgr_seed(j->cert_id),
  };
  int rc = byoca_caa_discover((const char *const *)j->names,
                              (const struct byoca_caa_rrset *const *)j->rrsets,
                              j->nnames, &policy, &j->disc, &e);
  free(accts);
  free(c->rows);
  if (rc != 0) {
    char line[600];
    byoca_err_format(&e, line, sizeof(line));
    byoca_err_clear(&e);
    mgr_job_fail(j, BYOCA_CLASS_INTERNAL, line, 0);
    return;
  }
  j->have_disc = 1;
  discovered(j);
}

/* Every CAA answer is in: the tenant's accounts next, on the lane. */
static void discover(struct mgr_job *j) {
  struct accts_op *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    mgr_job_fail(j, BYOCA_CLASS_INTERNAL, "out of memory", 0);
    return;
  }
  c->op.work = accts_work;
  c->op.done = accts_done;
  c->op.drop = accts_drop;
  c->j = j;
  c->tenant_id = j->tenant_id;
  j->pending++; /* the job's memory waits for the read */
  mgr_lane_run_job(j->m, &c->op);
}

static void on_rrset(void *arg, struct byoca_caa_rrset *rrset,
                     const struct byoca_err *err) {
  struct mgr_caa_slot *s = arg;
  struct mgr_job *j = s->j;
  size_t i = s->i;
  s->lk = NULL; /* done: nothing to cancel */
  if (rrset == NULL && (rrset = calloc(1, sizeof(*rrset))) != NULL) {
    rrset->lookup_error = 1; /* D-DNS-ERR: could not even look */
    byoca_err_format(err, rrset->error, sizeof(rrset->error));
  }
  if (j->ended) {
    if (rrset != NULL)
      byoca_caa_rrset_clear(rrset);
    free(rrset);
    mgr_job_op_done(j);
    return;
  }
  j->rrsets[i] = rrset;
  j->pending--;
  if (--j->lookups_left == 0)
    discover(j);
}

/* CAA does not apply to IP addresses: nothing restricts them. */
static int is_ip(const char *name) {
  return strchr(name, ':') != NULL ||
         strspn(name, "0123456789.") == strlen(name);
}

static int lookup_one(struct mgr_job *j, size_t i) {
  struct byoca_manager *m = j->m;
  struct mgr_caa_slot *s = &j->caa[i];
  s->j = j;
  s->i = i;
  j->pending++;
  j->lookups_left++;
  if (m->resolver != NULL &&
      byoca_caa_lookup_start(m->resolver, j->names[i], m->cfg.require_dnssec,
                             on_rrset, s, &s->lk) == 0)
    return 0;
  j->pending--;
  j->lookups_left--;
  struct byoca_caa_rrset *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return BYOCA_E_NOMEM;
  r->lookup_error = 1;
  byoca_strlcpy(r->error, "cannot start the CAA lookup", sizeof(r->error));
  j->rrsets[i] = r;
  return 0;
}

void mgr_choose_cancel(struct mgr_job *j) {
  for (size_t i = 0; j->caa != NULL && i < j->nnames; i++) {
    if (j->caa[i].lk == NULL)
      continue;
    byoca_caa_lookup_cancel(j->caa[i].lk);
    j->caa[i].lk = NULL;
    mgr_job_log(j, BYOCA_LOG_DEBUG, "CAA lookup of %s cancelled", j->names[i]);
    j->pending--;
    j->lookups_left--;
  }
}

static void lookups_start(struct mgr_job *j) {
  j->rrsets = calloc(j->nnames, sizeof(*j->rrsets));
  j->caa = calloc(j->nnames, sizeof(*j->caa));
  if (j->rrsets == NULL || j->caa == NULL) {
    mgr_job_fail(j, BYOCA_CLASS_INTERNAL, "out of memory", 0);
    return;
  }
  j->lookups_left = 1; /* held until every lookup is started */
  for (size_t i = 0; i < j->nnames; i++) {
    int rc = is_ip(j->names[i])
                 ? ((j->rrsets[i] = calloc(1, sizeof(**j->rrsets))) != NULL
                        ? 0
                        : BYOCA_E_NOMEM)
                 : lookup_one(j, i);
    if (rc != 0) {
      j->lookups_left--;
      mgr_job_fail(j, BYOCA_CLASS_INTERNAL, "out of memory", 0);
      return;
    }
  }
  if (--j->lookups_left == 0)
    discover(j);
}

void mgr_choose_start(struct mgr_job *j) {
  const char *ca = j->row.ca;
  unsigned ours = our_methods(j);
  if (ca[0] == '\0' || strcasecmp(ca, "auto") == 0) {
    mgr_job_log(j, BYOCA_LOG_DEBUG, "reading the CAA records of %s%s",
                j->names[0], j->nnames > 1 ? " and the other names" : "");
    lookups_start(j);
    return;
  }
  if (add_ca(j, ca, ours) != 0) {
    mgr_job_fail(j, BYOCA_CLASS_INTERNAL, "out of memory", 0);
    return;
  }
  choose_finish(j);
}
