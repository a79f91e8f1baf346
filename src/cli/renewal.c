/* When a lineage is renewed: the issuing CA's advice through ARI (RFC 9773)
 * when its directory has renewalInfo, else the lifetime rule of D-ARI --
 * never an assumed 90 days. The schedule is kept in the lineage
 * (renewal/<name>.json): the chosen instant, its source, the window it came
 * from, the CA's explanationURL, when to ask again and how many asks
 * failed in a row (§4.3.3: failures back off across runs). */
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"

#define ARI_TRIES 3 /* per run, for temporary errors: 1 s then 2 s apart */
#define MAX_CERT_FILE (1024 * 1024)

static uint64_t draw(void) {
  uint64_t r = 0;
  if (byoca_random(&r, sizeof(r)) != 0)
    r = (uint64_t)byoca_now_ms();
  return r;
}

static void set_str(char **dst, const char *v) {
  free(*dst);
  *dst = byoca_strdup(v);
}

int64_t cli_renewal_due(const struct cli_lineage *l) {
  return l->sched.at != 0 ? l->sched.at
                          : cli_due_time(l->not_before, l->not_after);
}

const char *cli_renewal_source(const struct cli_lineage *l) {
  return l->sched.at != 0 && l->sched.source != NULL ? l->sched.source
                                                     : "lifetime";
}

const char *cli_renewal_replaces(const struct cli_lineage *l,
                                 const char *server) {
  return byoca_ari_replaces(l->cert_id, l->cert_server, server);
}

void cli_renewal_inherit(struct cli_lineage *l, const struct cli_lineage *old) {
  set_str(&l->cert_id, old->cert_id);
  set_str(&l->cert_server, old->cert_server);
}

void cli_renewal_issued(struct cli_lineage *l,
                        const struct byoca_order_result *res,
                        const char *server) {
  char *id = NULL;
  struct byoca_err e = {0};
  if (res->cert_id != NULL)
    id = byoca_strdup(res->cert_id);
  else if (byoca_ari_cert_id_pem(res->cert_pem, strlen(res->cert_pem), &id,
                                 &e) != 0) {
    byoca_log(BYOCA_LOG_DEBUG, "%s: %s", l->name, e.msg);
    byoca_err_clear(&e);
  }
  free(l->cert_id);
  l->cert_id = id;
  set_str(&l->cert_server, server);
  set_str(&l->ari_explanation, NULL);
  byoca_renewal_init(&l->sched, res->not_before, res->not_after, byoca_now());
}

void cli_renewal_no_ari(struct cli_lineage *l) {
  int64_t now = byoca_now(), next = now + BYOCA_ARI_LONG_TERM;
  char at[32];
  if (l->sched.at == 0)
    byoca_renewal_init(&l->sched, l->not_before, l->not_after, now);
  l->sched.next_check = next < l->not_after ? next : 0;
  byoca_time_format_rfc3339(l->sched.at, at, sizeof(at));
  byoca_log(BYOCA_LOG_DEBUG,
            "%s: the CA offers no renewal information;"
            " renewing at %s (%s)",
            l->name, at, l->sched.source);
}

static void log_window(const struct cli_lineage *l, const struct byoca_ari *ari,
                       int warn) {
  char s[32], e[32], at[32], why[300] = "";
  byoca_time_format_rfc3339(ari->start, s, sizeof(s));
  byoca_time_format_rfc3339(ari->end, e, sizeof(e));
  byoca_time_format_rfc3339(l->sched.at, at, sizeof(at));
  if (ari->explanation_url != NULL) {
    char safe[256];
    byoca_str_sanitize(ari->explanation_url, safe, sizeof(safe));
    snprintf(why, sizeof(why), " (the CA explains: %s)", safe);
  }
  byoca_log(warn ? BYOCA_LOG_WARN : BYOCA_LOG_INFO,
            "%s: %srenewal window %s to %s: renewing at %s%s", l->name,
            warn ? "the CA moved the renewal earlier: " : "", s, e, at, why);
}

void cli_renewal_apply(struct cli_lineage *l, const struct byoca_ari *ari,
                       const struct byoca_err *err) {
  int64_t now = byoca_now();
  int was_ari = l->sched.at != 0 && l->sched.source != NULL &&
                strcmp(l->sched.source, "ari") == 0;
  int earlier = byoca_renewal_update(&l->sched, l->not_before, l->not_after,
                                     ari, err, now, draw());
  if (ari != NULL) {
    set_str(&l->ari_explanation, ari->explanation_url);
    /* worth a warning: a window that moved, or one that says "now" */
    log_window(l, ari, byoca_renewal_moved(earlier, was_ari, &l->sched, now));
    return;
  }
  char line[600], at[32];
  byoca_err_format(err, line, sizeof(line));
  byoca_time_format_rfc3339(l->sched.at, at, sizeof(at));
  byoca_log(BYOCA_LOG_WARN,
            "%s: no renewal window from the CA (%s); renewing at %s (%s)",
            l->name, line, at, l->sched.source);
}

/* ---- asking the CAs ---- */

struct ari_group {
  struct cli_rt rt;
  struct byoca_acme *acme;
  size_t pending;
};

struct ari_ask {
  struct ari_group *g;
  struct cli_lineage *l;
  int tries;
};

static void ask(struct ari_ask *q);

static void ask_done(struct ari_ask *q, const struct byoca_ari *res,
                     const struct byoca_err *err) {
  cli_renewal_apply(q->l, res, err);
  if (--q->g->pending == 0)
    byoca_loop_break(q->g->rt.loop);
}

static void ask_again(void *arg) {
  ask(arg);
}

static void on_answer(void *arg, struct byoca_ari *res,
                      const struct byoca_err *err) {
  struct ari_ask *q = arg;
  if (err != NULL && err->cls == BYOCA_CLASS_RETRYABLE &&
      ++q->tries < ARI_TRIES) {
    int64_t ms = 1000LL << (q->tries - 1);
    byoca_log(BYOCA_LOG_DEBUG, "%s: %s; asking again in %lld ms", q->l->name,
              err->msg, (long long)ms);
    if (byoca_timer_add(q->g->rt.loop, ms, ask_again, q) != NULL)
      return;
  }
  ask_done(q, res, err);
  byoca_ari_free(res);
}

static void ask(struct ari_ask *q) {
  if (byoca_ari_fetch(q->g->acme, q->l->cert_id, on_answer, q) == 0)
    return;
  struct byoca_err e = {0};
  byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
  ask_done(q, NULL, &e);
}

static int start_dir(void *arg, byoca_acme_cb cb, void *cbarg) {
  return byoca_acme_directory(arg, cb, cbarg);
}

/* Operator-given directories are trusted (as --server is); one found
 * through CAA goes through the address policy, unless the configuration
 * names it. */
static int trusted(const struct cli_config *cfg, const struct cli_lineage *l) {
  const struct cli_config_ca *cc = NULL;
  if (!l->ca_auto)
    return 1;
  if (cfg != NULL && l->issuer != NULL)
    cc = cli_config_ca(cfg, l->issuer);
  if (cc != NULL && cc->directory != NULL &&
      strcmp(cc->directory, l->cert_server) == 0)
    return 1;
  return cfg != NULL && cfg->default_ca != NULL &&
         strcmp(cfg->default_ca, l->cert_server) == 0;
}

/* The directory of the group's CA, then every lineage's renewalInfo at
 * once on its loop. */
static void ask_group(struct ari_group *g, const struct cli_opts *o,
                      struct cli_lineage **ls, size_t n) {
  struct byoca_err e = {0};
  struct ari_ask *qs = calloc(n, sizeof(*qs));
  const char *server = ls[0]->cert_server;
  if (qs == NULL || cli_rt_init(&g->rt, o, &e) != 0 ||
      (g->acme = byoca_acme_new(g->rt.loop, g->rt.http, server, &e)) == NULL ||
      cli_wait(&g->rt, start_dir, g->acme, &e) != 0) {
    if (e.code == 0)
      byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    for (size_t i = 0; i < n; i++)
      cli_renewal_apply(ls[i], NULL, &e);
  } else if (!byoca_acme_has(g->acme, "renewalInfo")) {
    for (size_t i = 0; i < n; i++)
      cli_renewal_no_ari(ls[i]);
  } else {
    g->pending = n;
    for (size_t i = 0; i < n; i++) {
      qs[i] = (struct ari_ask){.g = g, .l = ls[i]};
      ask(&qs[i]);
    }
    while (g->pending > 0)
      if (byoca_loop_run(g->rt.loop) == 1 && g->pending > 0)
        break; /* nothing left to wait for: a lost callback, not a hang */
  }
  byoca_err_clear(&e);
  byoca_acme_free(g->acme);
  cli_rt_free(&g->rt);
  free(qs);
}

static void check_group(const struct cli_opts *base,
                        const struct cli_config *cfg, struct cli_lineage **ls,
                        size_t n) {
  struct ari_group g = {0};
  struct cli_opts o = *base;
  struct byoca_err e = {0};
  o.server = trusted(cfg, ls[0]) ? ls[0]->cert_server : NULL;
  if (o.ca_bundle == NULL)
    o.ca_bundle = ls[0]->ca_bundle;
  byoca_log(BYOCA_LOG_DEBUG,
            "asking %s for the renewal windows of %zu"
            " certificate(s)",
            ls[0]->cert_server, n);
  ask_group(&g, &o, ls, n);
  for (size_t i = 0; i < n; i++)
    if (cli_lineage_save(base->state_dir, ls[i], &e) != 0) {
      cli_error_err(&e);
      byoca_err_clear(&e);
    }
}

/* A lineage from before the schedule was kept: its CertID from the live
 * certificate, its CA the one it names. */
static void ensure_cert_id(const char *state, struct cli_lineage *l) {
  char *path, *pem = NULL;
  size_t len = 0;
  if (l->cert_id != NULL)
    return;
  path = cli_live_path(state, l->name, "cert.pem");
  if (path != NULL &&
      byoca_file_read(path, MAX_CERT_FILE, &pem, &len, NULL) == 0 &&
      byoca_ari_cert_id_pem(pem, len, &l->cert_id, NULL) == 0 &&
      l->cert_server == NULL)
    l->cert_server = byoca_strdup(l->server);
  free(path);
  free(pem);
}

/* §4.3: asked when the next check has come, never after expiry. */
static int needs_check(const char *state, struct cli_lineage *l, int64_t now) {
  if (l->serial == NULL || l->revoked || now >= l->not_after)
    return 0;
  if (l->sched.at == 0)
    byoca_renewal_init(&l->sched, l->not_before, l->not_after, now);
  if (l->sched.next_check == 0 || now < l->sched.next_check)
    return 0;
  ensure_cert_id(state, l);
  return l->cert_id != NULL && l->cert_server != NULL;
}

void cli_renewal_check(const struct cli_opts *o, const struct cli_config *cfg,
                       struct cli_lineage *lins, size_t n) {
  int64_t now = byoca_now();
  char *want = calloc(n + 1, 1);
  struct cli_lineage **grp = calloc(n + 1, sizeof(*grp));
  for (size_t i = 0; want != NULL && grp != NULL && i < n; i++)
    want[i] = (char)needs_check(o->state_dir, &lins[i], now);
  for (size_t i = 0; want != NULL && grp != NULL && i < n; i++) {
    size_t k = 0;
    if (!want[i])
      continue;
    for (size_t j = i; j < n; j++)
      if (want[j] && strcmp(lins[j].cert_server, lins[i].cert_server) == 0) {
        grp[k++] = &lins[j];
        want[j] = 0;
      }
    check_group(o, cfg, grp, k);
  }
  free(want);
  free(grp);
}
