/* --ca auto, second half: the candidates in the owner's order. A CA is
 * left when it fails for a reason another CA may not share (D-FALLBACK:
 * connection errors, 5xx, externalAccountRequired, unauthorized, caa,
 * rejectedIdentifier, ...); our own errors stop the attempt. */
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "auto.h"
#include "config.h"

/* 1 if every restricting identifier has a usable record for issuer whose
 * validationmethods (if any) include type (RFC 8657). */
static int method_allowed(const struct byoca_caa_discovery *d,
                          const char *issuer, const char *type) {
  for (size_t i = 0; i < d->nidents; i++) {
    const struct byoca_caa_ident *id = &d->idents[i];
    int ok = id->status != BYOCA_CAA_RESTRICTED;
    for (size_t v = 0; !ok && v < id->nverdicts; v++) {
      const struct byoca_caa_verdict *vd = &id->verdicts[v];
      if (!vd->usable || vd->parsed.issuer == NULL ||
          !byoca_strcaseeq(vd->parsed.issuer, issuer))
        continue;
      const char *vm =
          byoca_caa_value_param(&vd->parsed, "validationmethods", NULL);
      if (vm == NULL) {
        ok = 1;
        break;
      }
      size_t tl = strlen(type);
      for (const char *p = vm; *p != '\0';) {
        const char *c = strchr(p, ',');
        size_t n = c != NULL ? (size_t)(c - p) : strlen(p);
        ok |= n == tl && strncmp(p, type, n) == 0;
        p += n + (c != NULL);
      }
    }
    if (!ok)
      return 0;
  }
  return 1;
}

/* What the CAA records allow at issuer (RFC 8657), for the challenge
 * rule of the order; 1 if some configured solver answers an allowed
 * type. */
static int caa_policy(const struct cli_rt *rt,
                      const struct byoca_caa_discovery *d, const char *issuer,
                      struct cli_opts *o) {
  const char *const *known = byoca_challenge_default();
  int any = 0;
  o->caa_restricts = 1;
  o->ncaa_allowed = 0;
  for (size_t t = 0; known[t] != NULL; t++) {
    if (!method_allowed(d, issuer, known[t]))
      continue;
    o->caa_allowed[o->ncaa_allowed++] = known[t];
    for (size_t s = 0; s < rt->nsolvers; s++)
      any |= byoca_solver_supports(rt->solvers[s], known[t]);
  }
  return any;
}

struct dir_find {
  struct byoca_acme *acme;
};

static int start_dir(void *arg, byoca_acme_cb cb, void *cbarg) {
  return byoca_acme_directory(((struct dir_find *)arg)->acme, cb, cbarg);
}

/* The directory of issuer: the known table, else the well-known URL. */
static char *find_directory(struct cli_rt *rt, const struct cli_auto *ao,
                            const char *state, const char *issuer,
                            struct byoca_err *err) {
  const struct cli_config_ca *cc = cli_config_ca(ao->cfg, issuer);
  if (cc != NULL && cc->directory != NULL) {
    /* the operator's override: trusted as given, like --server */
    if (byoca_http_trust_url(rt->http, cc->directory) != 0) {
      byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                    "invalid directory for %s in the configuration", issuer);
      return NULL;
    }
    return strdup(cc->directory);
  }
  const char *known = cli_known_directory(issuer);
  if (known != NULL)
    return strdup(known);
  char *url = cli_dircache_get(state, issuer);
  if (url != NULL) {
    byoca_log(BYOCA_LOG_DEBUG, "directory of %s from the cache: %s", issuer,
              url);
    return url;
  }
  struct dir_find f = {
      .acme = byoca_acme_new_wellknown(rt->loop, rt->http, issuer, err)};
  if (f.acme != NULL && cli_wait(rt, start_dir, &f, err) == 0) {
    url = strdup(byoca_acme_directory_url(f.acme));
    if (url != NULL)
      cli_dircache_put(state, issuer, url,
                       byoca_acme_directory_max_age(f.acme));
  }
  byoca_acme_free(f.acme);
  return url;
}

static void eab_for(const struct cli_auto *ao, const char *issuer,
                    struct cli_opts *o) {
  const struct cli_config_ca *cc = cli_config_ca(ao->cfg, issuer);
  if (cc != NULL && cc->eab_kid != NULL && cc->eab_hmac_file != NULL) {
    o->eab_kid = cc->eab_kid;
    o->eab_hmac_file = cc->eab_hmac_file;
  }
  for (size_t i = 0; i < ao->neab; i++)
    if (byoca_strcaseeq(ao->eab[i].issuer, issuer)) {
      o->eab_kid = ao->eab[i].kid;
      o->eab_hmac_file = ao->eab[i].hmac_file;
    }
}

/* Records one CA's fate for --json ("issued", "failed", "skipped"). */
static void attempt(struct cli_job *job, const char *issuer,
                    const char *outcome, const char *reason) {
  char safe[600];
  if (job->attempts == NULL && (job->attempts = json_array()) == NULL)
    return;
  byoca_str_sanitize(reason != NULL ? reason : "", safe, sizeof(safe));
  json_array_append_new(job->attempts,
                        json_pack("{s:s,s:s,s:s}", "issuer", issuer, "outcome",
                                  outcome, "reason", safe));
}

/* One candidate: 1 issued, 0 try the next, -1 stop. */
static int try_one(struct cli_rt *rt, const struct cli_opts *o,
                   const struct cli_auto *ao, struct cli_auto_plan *plan,
                   struct cli_job *job, const struct byoca_caa_candidate *c,
                   struct byoca_buf *why) {
  struct byoca_err e = {0};
  struct cli_opts o2 = *o;
  struct cli_lineage *lin = job->lin;
  int64_t until = cli_backoff_until(o->state_dir, c->issuer);
  if (until > 0) {
    char t[32];
    byoca_time_format_rfc3339(until, t, sizeof(t));
    byoca_log(BYOCA_LOG_WARN,
              "%s: skipping %s: backing off after repeated"
              " failures until %s",
              lin->name, c->issuer, t);
    (void)!byoca_buf_appendf(why, "%s: backing off until %s; ", c->issuer, t);
    attempt(job, c->issuer, "skipped", "backing off after repeated failures");
    return 0;
  }
  byoca_log(BYOCA_LOG_INFO, "%s: trying %s (group %d, score %lld)", lin->name,
            c->issuer, c->group, (long long)c->score);
  if (!caa_policy(rt, &plan->disc, c->issuer, &o2)) {
    byoca_log(BYOCA_LOG_WARN,
              "%s: skipping %s: no configured solver answers"
              " a challenge type its CAA records allow",
              lin->name, c->issuer);
    (void)!byoca_buf_appendf(why, "%s: no allowed challenge type; ", c->issuer);
    attempt(job, c->issuer, "skipped",
            "no configured solver answers a challenge type its records allow");
    return 0;
  }
  char *dir = find_directory(rt, ao, o->state_dir, c->issuer, &e);
  if (dir == NULL) {
    char line[600];
    byoca_err_format(&e, line, sizeof(line));
    byoca_log(BYOCA_LOG_WARN, "%s: skipping %s: %s", lin->name, c->issuer,
              line);
    (void)!byoca_buf_appendf(why, "%s: %s; ", c->issuer, line);
    attempt(job, c->issuer, "failed", line);
    byoca_err_clear(&e);
    cli_backoff_record(o->state_dir, c->issuer, 0);
    return 0;
  }
  o2.server = dir;
  o2.issuer = c->issuer;
  o2.agree_tos = 1; /* D-TOS: the owner's CAA record chose this CA */
  o2.eab_kid = o2.eab_hmac_file = NULL;
  eab_for(ao, c->issuer, &o2);
  free(lin->server);
  lin->server = strdup(dir);
  free(lin->issuer);
  lin->issuer = strdup(c->issuer);
  lin->ca_auto = 1;
  job->status = 0;
  cli_run_jobs(rt, &o2, job, 1, 1);
  free(dir);
  if (job->status != 1 && job->code == BYOCA_E_PROFILE) {
    /* D-PROFILE: the CA lacks the required profile; a skip, not a CA
       failure (no backoff) */
    byoca_log(BYOCA_LOG_WARN, "%s: skipping %s: %s", lin->name, c->issuer,
              job->detail);
    (void)!byoca_buf_appendf(why, "%s: %s; ", c->issuer, job->detail);
    attempt(job, c->issuer, "skipped", job->detail);
    return 0;
  }
  int ca_fault =
      job->cls == BYOCA_CLASS_CA || job->cls == BYOCA_CLASS_RETRYABLE;
  if (job->status == 1 || ca_fault)
    cli_backoff_record(o->state_dir, c->issuer, job->status == 1);
  attempt(job, c->issuer, job->status == 1 ? "issued" : "failed",
          job->status == 1 ? lin->server : job->detail);
  if (job->status == 1)
    return 1;
  (void)!byoca_buf_appendf(why, "%s: %s; ", c->issuer, job->detail);
  if (ca_fault) {
    cli_dircache_forget(o->state_dir, c->issuer); /* it may have moved */
    byoca_log(BYOCA_LOG_WARN, "%s: %s failed; trying the next CA", lin->name,
              c->issuer);
    return 0;
  }
  return -1;
}

/* Why no CA may be tried, in the owner's terms. */
static void explain(const struct cli_auto_plan *p, struct byoca_buf *b) {
  const struct byoca_caa_discovery *d = &p->disc;
  for (size_t i = 0; i < d->nidents; i++) {
    const struct byoca_caa_ident *id = &d->idents[i];
    const struct byoca_caa_rrset *s = id->rrset;
    if (id->status == BYOCA_CAA_LOOKUP_ERROR)
      (void)!byoca_buf_appendf(b, "%s: CAA lookup failed (%s); ", id->name,
                               s != NULL ? s->error : "?");
    else if (id->status == BYOCA_CAA_FORBIDDEN)
      (void)!byoca_buf_appendf(
          b, "%s: the CAA records at %s forbid issuance; ", id->name,
          s && s->relevant_domain ? s->relevant_domain : "?");
    else if (id->status == BYOCA_CAA_RESTRICTED && id->nauthorized == 0)
      (void)!byoca_buf_appendf(b, "%s: no CA in its CAA records is usable; ",
                               id->name);
  }
  if (d->outcome == BYOCA_CAA_NO_COMMON_CA)
    (void)!byoca_buf_appends(b, "no CA is authorized for every name");
}

static int fail_job(struct cli_job *job, enum byoca_errclass cls,
                    const char *what, const char *why) {
  char safe[sizeof(job->detail)];
  job->status = -1;
  job->cls = cls;
  if (snprintf(job->detail, sizeof(job->detail), "%s%s", what,
               why ? why : "") >= (int)sizeof(job->detail))
    job->detail[sizeof(job->detail) - 2] = '~'; /* mark the cut */
  byoca_str_sanitize(job->detail, safe, sizeof(safe));
  cli_error("%s: %s", job->lin->name, safe);
  return EXIT_FAILED;
}

static int use_default(struct cli_rt *rt, const struct cli_opts *o,
                       const struct cli_auto *ao, struct cli_job *job) {
  struct cli_opts o2 = *o;
  if (ao->default_server == NULL)
    return fail_job(job, BYOCA_CLASS_INPUT,
                    "no CAA record restricts these names, so any CA may"
                    " issue: give --server URL or --default-ca URL",
                    NULL);
  byoca_log(BYOCA_LOG_INFO,
            "%s: no CAA record restricts the names; using"
            " the default CA %s",
            job->lin->name, ao->default_server);
  o2.server = ao->default_server;
  free(job->lin->server);
  job->lin->server = strdup(ao->default_server);
  job->lin->ca_auto = 1;
  return cli_run_jobs(rt, &o2, job, 1, 1);
}

int cli_auto_issue(struct cli_rt *rt, const struct cli_opts *o,
                   const struct cli_auto *ao, struct cli_job *job) {
  struct cli_auto_plan plan;
  struct byoca_err e = {0};
  struct byoca_buf why;
  int rc = EXIT_FAILED, r = 0;
  byoca_buf_init(&why, 4096);
  if (cli_auto_discover(rt, o, ao, job->lin, &plan, &e) != 0) {
    char line[600];
    byoca_err_format(&e, line, sizeof(line));
    rc = fail_job(job, BYOCA_CLASS_RETRYABLE, "CA discovery failed: ", line);
  } else if (plan.disc.outcome == BYOCA_CAA_USE_DEFAULT) {
    rc = use_default(rt, o, ao, job);
  } else if (plan.disc.outcome != BYOCA_CAA_TRY_IN_ORDER) {
    explain(&plan, &why);
    rc = fail_job(job,
                  plan.disc.outcome == BYOCA_CAA_LOOKUP_FAILED
                      ? BYOCA_CLASS_RETRYABLE
                      : BYOCA_CLASS_INPUT,
                  "no CA may issue: ", why.data);
  } else {
    for (size_t i = 0; r == 0 && i < plan.disc.ncandidates; i++)
      r = try_one(rt, o, ao, &plan, job, &plan.disc.candidates[i], &why);
    if (r == 1)
      rc = EXIT_OK;
    else if (r == 0)
      rc = fail_job(job, BYOCA_CLASS_CA, "no CA could issue: ", why.data);
  }
  byoca_buf_free(&why);
  byoca_err_clear(&e);
  cli_auto_plan_free(&plan);
  return rc;
}
