/* Issuing a set of lineages against one CA: directory, account (created
 * and registered on first use), then every order on the one loop with at
 * most N in flight; each result is written to the live layout as it
 * arrives and its deploy hook run. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "cli.h"
#include "config.h"

struct runner {
  struct cli_rt *rt;
  const struct cli_opts *o;
  struct byoca_acme *acme;
  struct cli_account acct;
  struct byoca_secret eab;
  struct cli_job *jobs;
  size_t njobs, next, finished;
  int running, parallel;
};

static int start_directory(void *arg, byoca_acme_cb cb, void *cbarg) {
  struct runner *r = arg;
  return byoca_acme_directory(r->acme, cb, cbarg);
}

int cli_register(struct byoca_acme *acme, const struct cli_opts *o,
                 const struct byoca_secret *eab, byoca_acme_cb cb, void *arg) {
  const char *contacts[1] = {o->email};
  struct byoca_account_req req = {
      .contacts = contacts,
      .ncontacts = o->email != NULL ? 1 : 0,
      .tos_agreed = o->agree_tos,
      .eab_kid = o->eab_kid,
      .eab_hmac = eab != NULL && eab->data != NULL ? eab : NULL,
  };
  return byoca_acme_account_register(acme, &req, cb, arg);
}

static int start_register(void *arg, byoca_acme_cb cb, void *cbarg) {
  struct runner *r = arg;
  return cli_register(r->acme, r->o, &r->eab, cb, cbarg);
}

int cli_eab_load(const struct cli_opts *o, struct byoca_secret *out,
                 struct byoca_err *err) {
  struct byoca_secret raw = {0};
  if (o->eab_kid == NULL && o->eab_hmac_file == NULL)
    return 0;
  if (o->eab_kid == NULL || o->eab_hmac_file == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "--eab-kid and --eab-hmac-file go together");
  int rc = byoca_secret_read_file(o->eab_hmac_file, 4096, &raw, err);
  if (rc != 0)
    return rc;
  rc = byoca_b64any_decode((const char *)raw.data, raw.len, &out->data,
                           &out->len);
  byoca_secret_free(&raw);
  if (rc != 0 || out->len == 0)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "%s does not hold a base64 or base64url MAC key",
                         o->eab_hmac_file);
  return 0;
}

/* Directory and account, shared by every command that talks to a CA. */
static int runner_prepare(struct runner *r, struct byoca_err *err) {
  const char *server = r->o->server;
  int rc;
  /* what a killed run left where this run writes */
  cli_state_sweep(r->o->state_dir, r->jobs, r->njobs);
  if ((rc = cli_eab_load(r->o, &r->eab, err)) != 0)
    return rc;
  r->acme = byoca_acme_new(r->rt->loop, r->rt->http, server, err);
  if (r->acme == NULL)
    return BYOCA_E_NOMEM;
  byoca_log(BYOCA_LOG_INFO, "discovering directory %s", server);
  if ((rc = cli_wait(r->rt, start_directory, r, err)) != 0)
    return rc;
  if ((rc = cli_account_load(r->o->state_dir, server, 1, &r->acct, err)) != 0)
    return rc;
  if (r->acct.deactivated)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "the account %s at %s is deactivated; remove %s to"
                         " register a new one",
                         r->acct.url ? r->acct.url : "", server, r->acct.dir);
  if (r->o->issuer != NULL && r->acct.issuer == NULL)
    r->acct.issuer = strdup(r->o->issuer); /* for accounturi matching */
  byoca_acme_set_account(r->acme, r->acct.key, r->acct.url);
  if (r->acct.url == NULL) {
    const char *tos = byoca_acme_terms_of_service(r->acme);
    if (r->o->issuer != NULL && tos != NULL) /* D-TOS, recorded */
      byoca_log(BYOCA_LOG_INFO,
                "agreeing to the terms of service of %s (%s): the domain"
                " owner's CAA records chose this CA",
                r->o->issuer, tos);
    if ((rc = cli_wait(r->rt, start_register, r, err)) != 0)
      return rc;
    r->acct.url = strdup(byoca_acme_account_url(r->acme));
    if ((rc = cli_account_save(&r->acct, err)) != 0)
      return rc;
    byoca_log(BYOCA_LOG_INFO, "registered account %s", r->acct.url);
  } else {
    byoca_log(BYOCA_LOG_INFO, "using account %s", r->acct.url);
  }
  return 0;
}

static void runner_free(struct runner *r) {
  byoca_acme_free(r->acme);
  cli_account_free(&r->acct);
  byoca_secret_free(&r->eab);
}

/* ---- per job ---- */

struct job_ctx {
  struct runner *r;
  struct cli_job *job;
};

static void start_more(struct runner *r);

static void job_end(struct job_ctx *c) {
  struct runner *r = c->r;
  r->running--;
  r->finished++;
  free(c);
  start_more(r);
  if (r->finished == r->njobs)
    byoca_loop_break(r->rt->loop);
}

static void on_deployed(void *arg, int wstatus, const char *output) {
  struct job_ctx *c = arg;
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    char safe[256];
    byoca_str_sanitize(output != NULL ? output : "", safe, sizeof(safe));
    c->job->status = -1;
    snprintf(c->job->detail, sizeof(c->job->detail),
             "issued, but the deploy hook failed (status %d): %s",
             WIFEXITED(wstatus) ? WEXITSTATUS(wstatus)
                                : 128 + WTERMSIG(wstatus),
             safe);
    cli_error("%s: %s", c->job->lin->name, c->job->detail);
  }
  job_end(c);
}

static int run_deploy(struct job_ctx *c, struct byoca_err *err) {
  struct cli_lineage *l = c->job->lin;
  const char *state = c->r->o->state_dir;
  struct byoca_buf domains;
  byoca_buf_init(&domains, 0);
  for (size_t i = 0; i < l->nnames; i++)
    if (byoca_buf_appendf(&domains, "%s%s", i ? " " : "", l->names[i]) != 0)
      break;
  char *env[] = {
      byoca_asprintf("RENEWED_LINEAGE=%s/live/%s", state, l->name),
      byoca_asprintf("RENEWED_DOMAINS=%s", domains.data ? domains.data : ""),
      byoca_asprintf("BYOCA_CERT_NAME=%s", l->name),
      byoca_asprintf("BYOCA_CERT_PATH=%s/live/%s/cert.pem", state, l->name),
      byoca_asprintf("BYOCA_KEY_PATH=%s/live/%s/privkey.pem", state, l->name),
      byoca_asprintf("BYOCA_CHAIN_PATH=%s/live/%s/chain.pem", state, l->name),
      byoca_asprintf("BYOCA_FULLCHAIN_PATH=%s/live/%s/fullchain.pem", state,
                     l->name),
      NULL};
  char *argv[] = {"/bin/sh", "-c", l->deploy_hook, NULL};
  int rc =
      byoca_proc_run(c->r->rt->loop, argv, env, 600000, on_deployed, c, err);
  for (size_t i = 0; i < sizeof(env) / sizeof(*env); i++)
    free(env[i]);
  byoca_buf_free(&domains);
  return rc;
}

static void record_issued(struct job_ctx *c, struct byoca_order_result *res) {
  struct cli_lineage *l = c->job->lin;
  char na[32];
  free(l->serial);
  l->serial = byoca_strdup(res->serial);
  l->not_before = res->not_before;
  l->not_after = res->not_after;
  l->revoked = 0;
  free(l->issued_profile);
  l->issued_profile = byoca_strdup(res->profile);
  cli_renewal_issued(l, res, c->r->o->server);
  byoca_time_format_rfc3339(res->not_after, na, sizeof(na));
  char *outcome = byoca_asprintf(
      "issued by %s, serial %s, valid until %s",
      l->issuer != NULL ? l->issuer : c->r->o->server, res->serial, na);
  cli_lineage_attempt(l, outcome);
  free(outcome);
  byoca_log(BYOCA_LOG_INFO, "%s: issued: serial %s, notAfter %s", l->name,
            res->serial, na);
}

/* The lineage (with its renewal schedule) is saved, then the deploy hook
 * runs. */
static void finish_issued(struct job_ctx *c) {
  struct byoca_err e = {0};
  struct cli_job *job = c->job;
  if (cli_lineage_save(c->r->o->state_dir, job->lin, &e) != 0) {
    job->status = -1;
    byoca_err_format(&e, job->detail, sizeof(job->detail));
    cli_error("%s: %s", job->lin->name, job->detail);
    byoca_err_clear(&e);
    byoca_order_result_free(job->res);
    job->res = NULL;
    job_end(c);
    return;
  }
  job->status = 1;
  snprintf(job->detail, sizeof(job->detail), "issued");
  if (job->lin->deploy_hook != NULL && run_deploy(c, &e) == 0)
    return;
  if (e.code != 0) {
    job->status = -1;
    byoca_err_format(&e, job->detail, sizeof(job->detail));
    cli_error("%s: deploy hook: %s", job->lin->name, job->detail);
    byoca_err_clear(&e);
  }
  job_end(c);
}

/* RFC 9773 §4.3: the renewal window is asked right after issuance. */
static void on_first_window(void *arg, struct byoca_ari *res,
                            const struct byoca_err *err) {
  struct job_ctx *c = arg;
  cli_renewal_apply(c->job->lin, res, err);
  byoca_ari_free(res);
  finish_issued(c);
}

static void on_order(void *arg, struct byoca_order_result *res,
                     const struct byoca_err *err) {
  struct job_ctx *c = arg;
  struct byoca_err e = {0};
  struct cli_job *job = c->job;
  if (err != NULL) {
    job->status = -1;
    job->cls = err->cls;
    job->code = err->code;
    byoca_err_format(err, job->detail, sizeof(job->detail));
    cli_error("%s: %s", job->lin->name, job->detail);
    job_end(c);
    return;
  }
  record_issued(c, res);
  if (cli_live_write(c->r->o->state_dir, job->lin->name, res, &e) != 0) {
    job->status = -1;
    byoca_err_format(&e, job->detail, sizeof(job->detail));
    cli_error("%s: %s", job->lin->name, job->detail);
    byoca_err_clear(&e);
    byoca_order_result_free(res);
    job_end(c);
    return;
  }
  job->res = res;
  if (!byoca_acme_has(c->r->acme, "renewalInfo") || job->lin->cert_id == NULL)
    cli_renewal_no_ari(job->lin);
  else if (byoca_ari_fetch(c->r->acme, job->lin->cert_id, on_first_window, c) ==
           0)
    return;
  finish_issued(c);
}

/* D-PROFILE: the lineage's own profile, else the one byoca.conf names for
 * this CA ([ca] profile, profile_required). */
static void profile_for(const struct runner *r, const struct cli_lineage *l,
                        struct byoca_order_req *req) {
  const struct cli_config_ca *cc =
      cli_config_ca_at(r->o->cfg, r->o->issuer, r->o->server);
  req->profile = l->profile;
  req->profile_required = l->profile_required;
  if (l->profile == NULL && cc != NULL && cc->profile != NULL) {
    req->profile = cc->profile;
    req->profile_required = cc->profile_required;
  }
}

static void start_job(struct runner *r, struct cli_job *job) {
  struct byoca_err e = {0};
  struct cli_lineage *l = job->lin;
  enum byoca_keytype kt = BYOCA_KEY_EC256;
  struct job_ctx *c = calloc(1, sizeof(*c));
  if (l->key_type != NULL && byoca_keytype_parse(l->key_type, &kt) != 0)
    kt = BYOCA_KEY_EC256;
  struct byoca_order_req req = {
      .names = (const char *const *)l->names,
      .nnames = l->nnames,
      .key_type = kt,
      .preferred_chain = l->preferred_chain,
      .replaces = cli_renewal_replaces(l, r->o->server),
      .solvers = r->rt->solvers,
      .nsolvers = r->rt->nsolvers,
      .label = r->njobs > 1 ? l->name : NULL,
      .max_wait_ms = r->o->order_timeout_ms,
  };
  profile_for(r, l, &req);
  /* the challenge rule (byoca_challenge_choose): checked at parse time */
  const char *order[BYOCA_CHALLENGE_TYPES_MAX];
  size_t norder = 0;
  const char *ol = r->o->challenge_order != NULL ? r->o->challenge_order
                                                 : r->o->challenge_order_conf;
  if (ol != NULL &&
      byoca_challenge_order_parse(ol, order, &norder, NULL) == 0) {
    req.challenges.order = order;
    req.challenges.norder = norder;
  }
  req.challenges.caa_restricts = r->o->caa_restricts;
  req.challenges.caa_allowed = r->o->caa_allowed;
  req.challenges.ncaa_allowed = r->o->ncaa_allowed;
  r->running++;
  if (c == NULL) {
    byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
  } else {
    c->r = r;
    c->job = job;
    if (byoca_order_start(r->acme, &req, on_order, c, &e) != NULL)
      return;
  }
  job->status = -1;
  job->cls = e.cls;
  job->code = e.code;
  byoca_err_format(&e, job->detail, sizeof(job->detail));
  cli_error("%s: %s", l->name, job->detail);
  byoca_err_clear(&e);
  if (c != NULL) {
    job_end(c);
  } else {
    r->running--;
    r->finished++;
  }
}

static void start_more(struct runner *r) {
  while (r->running < r->parallel && r->next < r->njobs) {
    struct cli_job *job = &r->jobs[r->next++];
    if (job->status != 0) {
      r->finished++;
      continue;
    }
    start_job(r, job);
  }
}

int cli_run_jobs(struct cli_rt *rt, const struct cli_opts *o,
                 struct cli_job *jobs, size_t njobs, int parallel) {
  struct runner r = {.rt = rt,
                     .o = o,
                     .jobs = jobs,
                     .njobs = njobs,
                     .parallel = parallel > 0 ? parallel : 1};
  struct byoca_err e = {0};
  size_t ok = 0;
  if (runner_prepare(&r, &e) != 0) {
    cli_error_err(&e);
    for (size_t i = 0; i < njobs; i++)
      if (jobs[i].status == 0) {
        jobs[i].status = -1;
        jobs[i].cls = e.cls;
        jobs[i].code = e.code;
        byoca_err_format(&e, jobs[i].detail, sizeof(jobs[i].detail));
      }
    byoca_err_clear(&e);
    runner_free(&r);
    return EXIT_FAILED;
  }
  start_more(&r);
  while (r.finished < r.njobs)
    if (byoca_loop_run(rt->loop) == 1 && r.finished < r.njobs)
      break; /* nothing left to wait for: a lost callback, not a hang */
  runner_free(&r);
  for (size_t i = 0; i < njobs; i++)
    ok += jobs[i].status == 1 || jobs[i].status == 2;
  return ok == njobs ? EXIT_OK : ok == 0 ? EXIT_FAILED : EXIT_PARTIAL;
}
