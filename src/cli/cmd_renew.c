/* byoca renew: renews the certificates that are due -- when the issuing
 * CA's renewal window (ARI, RFC 9773) says, else at 2/3 of their lifetime
 * (1/2 under 10 days) -- or those named with --force. */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "auto.h"
#include "config.h"
#include "cli.h"

static const char help[] =
    "usage: byoca renew [NAME ...|--all] [--force] [OPTIONS]\n"
    "\n"
    "Renews every certificate that is due (or the ones named), with the\n"
    "settings it was issued with. Options given here override them.\n"
    "A certificate is due when its CA's renewal window says so (ARI), or\n"
    "else when 2/3 of its lifetime have passed (1/2 under 10 days).\n"
    "  --all        every certificate (the default when no NAME is given)\n"
    "  --force      renew even if not due\n"
    "  --parallel N orders in flight at once (8)\n"
    "\n";

struct renew_args {
  struct cli_opts o;
  struct cli_config *cfg;
  int force, parallel;
  char **names;
  size_t nnames;
};

static int parse(int argc, char **argv, struct renew_args *a) {
  static const struct option longopts[] = {
      {"all", no_argument, NULL, 3001},
      {"force", no_argument, NULL, 3002},
      {"parallel", required_argument, NULL, 3003},
      CLI_COMMON_LONGOPTS,
      {NULL, 0, NULL, 0}};
  uint64_t v;
  int c, r;
  cli_opts_init(&a->o);
  a->parallel = 8;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":vqh", longopts, NULL)) != -1) {
    if ((r = cli_opts_common(&a->o, c, optarg)) != 0) {
      if (r < 0)
        return EXIT_USAGE;
      continue;
    }
    switch (c) {
    case 3001:
      break;
    case 3002:
      a->force = 1;
      break;
    case 3003:
      if (byoca_parse_uint(optarg, 10000, &v) != 0 || v == 0)
        return cli_usage("renew", "invalid --parallel '%s'", optarg);
      a->parallel = (int)v;
      break;
    case 'h':
      fputs(help, stdout);
      fputs(cli_common_help, stdout);
      return -1;
    case ':':
      return cli_usage("renew", "option '%s' needs a value", argv[optind - 1]);
    default:
      return cli_usage("renew", "unknown option '%s'", argv[optind - 1]);
    }
  }
  a->names = argv + optind;
  a->nnames = (size_t)(argc - optind);
  return 0;
}

/* Options for one server's group: what was stored, unless overridden. */
static void group_opts(const struct renew_args *a, const struct cli_lineage *l,
                       struct cli_opts *o) {
  *o = a->o;
  o->server = l->server;
  if (o->challenge_order == NULL)
    o->challenge_order = l->challenge_order;
  if (o->ca_bundle == NULL)
    o->ca_bundle = l->ca_bundle;
  if (o->webroot == NULL && o->http_port == 0 && o->hook == NULL &&
      o->tls_alpn == NULL) {
    o->webroot = l->webroot;
    o->http_addr = l->http_addr;
    o->http_port = l->http_port;
    o->hook = l->hook;
    o->hook_types = l->hook_types;
    o->tls_alpn = l->tls_alpn;
  }
}

static int run_group(const struct renew_args *a, struct cli_job *jobs,
                     size_t n) {
  struct cli_opts o;
  struct cli_rt rt;
  struct byoca_err e = {0};
  int rc;
  group_opts(a, jobs[0].lin, &o);
  if (cli_rt_init(&rt, &o, &e) != 0 || cli_rt_solvers(&rt, &o, &e) != 0) {
    cli_error_err(&e);
    byoca_err_clear(&e);
    for (size_t i = 0; i < n; i++)
      if (jobs[i].status == 0)
        jobs[i].status = -1;
    rc = EXIT_FAILED;
  } else {
    rc = cli_run_jobs(&rt, &o, jobs, n, a->parallel);
  }
  cli_rt_free(&rt);
  return rc;
}

/* A lineage whose CA the CAA records choose is rediscovered at every
 * renewal: the owner may have changed their choice. */
static void renew_auto(const struct renew_args *a, struct cli_job *job) {
  struct cli_opts o;
  struct cli_rt rt;
  struct cli_auto ao = {.cfg = a->cfg,
                        .default_server = a->cfg->default_ca,
                        .require_dnssec = a->cfg->require_dnssec};
  struct byoca_err e = {0};
  group_opts(a, job->lin, &o);
  o.server = NULL;
  if (cli_rt_init(&rt, &o, &e) != 0 || cli_rt_solvers(&rt, &o, &e) != 0) {
    cli_error_err(&e);
    byoca_err_clear(&e);
    job->status = -1;
  } else {
    cli_auto_issue(&rt, &o, &ao, job);
  }
  cli_rt_free(&rt);
}

static int mark_due(const struct renew_args *a, struct cli_job *j, int named) {
  struct cli_lineage *l = j->lin;
  int64_t due = cli_renewal_due(l);
  char d[32];
  if (l->revoked && !named) {
    j->status = 2;
    snprintf(j->detail, sizeof(j->detail), "revoked; not renewed");
  } else if (!a->force && l->serial != NULL && byoca_now() < due) {
    j->status = 2;
    byoca_time_format_rfc3339(due, d, sizeof(d));
    snprintf(j->detail, sizeof(j->detail), "not due until %s (%s)", d,
             cli_renewal_source(l));
  }
  if (j->status == 2)
    byoca_log(BYOCA_LOG_INFO, "%s: %s", l->name, j->detail);
  return j->status == 0;
}

/* One run per server, in the order the lineages come: the lineages of a
 * server share its directory, account and connections. */
static void run_by_server(const struct renew_args *a, struct cli_job *jobs,
                          size_t n) {
  for (size_t i = 0; i < n; i++) {
    if (jobs[i].status != 0 || jobs[i].lin->server == NULL)
      continue;
    size_t k = 0;
    struct cli_job *group = calloc(n, sizeof(*group));
    size_t *idx = calloc(n, sizeof(*idx));
    if (idx == NULL) {
      free(group);
      group = NULL;
    }
    for (size_t j = i; group != NULL && j < n; j++)
      if (jobs[j].status == 0 &&
          strcmp(jobs[j].lin->server, jobs[i].lin->server) == 0) {
        idx[k] = j;
        group[k++] = jobs[j];
      }
    if (group != NULL)
      run_group(a, group, k);
    for (size_t j = 0; group != NULL && j < k; j++) {
      jobs[idx[j]] = group[j];
      if (jobs[idx[j]].status == 0)
        jobs[idx[j]].status = -1;
    }
    free(group);
    free(idx);
  }
}

int cmd_renew(int argc, char **argv) {
  struct renew_args a = {0};
  struct byoca_err e = {0};
  char **all = NULL;
  size_t nall = 0, n = 0;
  int rc = parse(argc, argv, &a), worst = EXIT_OK, any_ok = 0, any_bad = 0;
  struct cli_config cfg;
  if (rc != 0)
    return rc < 0 ? EXIT_OK : rc;
  if (cli_opts_finish(&a.o, &cfg, &e) != 0) {
    cli_error_err(&e);
    byoca_err_clear(&e);
    return EXIT_USAGE;
  }
  a.cfg = &cfg;
  if (a.nnames == 0) /* the cron job: every lineage's leftovers too */
    cli_state_sweep(a.o.state_dir, NULL, 0);
  if (a.nnames == 0 && cli_lineage_list(a.o.state_dir, &all, &nall, &e) != 0) {
    cli_error_err(&e);
    cli_config_free(&cfg);
    return EXIT_FAILED;
  }
  char **names = a.nnames > 0 ? a.names : all;
  size_t count = a.nnames > 0 ? a.nnames : nall;
  struct cli_lineage *lins = calloc(count + 1, sizeof(*lins));
  struct cli_job *jobs = calloc(count + 1, sizeof(*jobs));
  for (size_t i = 0; lins != NULL && jobs != NULL && i < count; i++) {
    if (cli_lineage_load(a.o.state_dir, names[i], &lins[n], &e) != 0) {
      cli_error_err(&e);
      byoca_err_clear(&e);
      worst = EXIT_FAILED;
      continue;
    }
    jobs[n].lin = &lins[n];
    n++;
  }
  if (!a.force && lins != NULL)
    cli_renewal_check(&a.o, &cfg, lins, n);
  for (size_t i = 0; i < n; i++)
    mark_due(&a, &jobs[i], a.nnames > 0);
  for (size_t i = 0; i < n; i++)
    if (jobs[i].status == 0 && jobs[i].lin->ca_auto)
      renew_auto(&a, &jobs[i]);
  run_by_server(&a, jobs, n);
  for (size_t i = 0; i < n; i++) {
    any_ok |= jobs[i].status == 1;
    any_bad |= jobs[i].status == -1;
    if (jobs[i].status == -1) /* for byoca list */
      cli_lineage_failed(a.o.state_dir, jobs[i].lin->name, jobs[i].detail);
  }
  if (n > 0)
    cli_print_jobs(&a.o, jobs, n);
  else if (a.o.json)
    puts("{\"results\": [], \"issued\": 0, \"failed\": 0, \"skipped\": 0}");
  for (size_t i = 0; i < n; i++) {
    byoca_order_result_free(jobs[i].res);
    json_decref(jobs[i].attempts);
    cli_lineage_free(&lins[i]);
  }
  free(jobs);
  free(lins);
  byoca_strv_free(all, nall);
  cli_config_free(&cfg);
  if (any_bad)
    return any_ok ? EXIT_PARTIAL : EXIT_FAILED;
  return worst;
}
