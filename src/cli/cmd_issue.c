/* byoca issue: obtain a certificate for one set of names, or one per line
 * of a batch file, all driven by the one engine. */
#include <getopt.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "auto.h"
#include "config.h"
#include "cli.h"

#define MAX_BATCH 100000
#define MAX_BATCH_FILE (64 * 1024 * 1024)

static const char help[] =
    "usage: byoca issue -d NAME [-d NAME ...] [--server URL] [OPTIONS]\n"
    "       byoca issue --batch FILE [--parallel N] [--server URL] [OPTIONS]\n"
    "\n"
    "Obtains a certificate and writes <state>/live/<name>/{cert.pem,\n"
    "chain.pem,fullchain.pem,privkey.pem}. A certificate that is not yet due\n"
    "for renewal is left alone unless --force is given.\n"
    "\n"
    "Certificate:\n"
    "  -d, --domain NAME      a DNS name, *.wildcard or IP address\n"
    "                         (repeatable; the first names the certificate)\n"
    "  --cert-name NAME       name of the lineage (default: first -d)\n"
    "  --key-type TYPE        ec256 (default), ec384, rsa2048, rsa3072,\n"
    "                         rsa4096, ed25519\n"
    "  --preferred-chain CN   use the alternate chain whose top issuer is CN\n"
    "  --profile NAME         ask the CA for this certificate profile when\n"
    "                         it offers it (else order without one)\n"
    "  --require-profile      the profile is required: a CA that does not\n"
    "                         offer it is skipped (--ca auto) or fails\n"
    "  --deploy-hook CMD      shell command run after each issuance\n"
    "  --force                issue even if the certificate is not yet due\n"
    "  --batch FILE           one certificate per line: names separated by\n"
    "                         spaces, '#' starts a comment\n"
    "  --parallel N           orders in flight at once with --batch (8)\n"
    "\n"
    "CA choice (without --server, the names' CAA records choose, --ca auto):\n"
    "  --eab ISSUER=KID:FILE  EAB credentials for the CA ISSUER (repeatable)\n"
    "  --exclude-ca ISSUER    never use this CA (repeatable)\n"
    "  --default-ca URL       directory to use when no CAA record restricts\n"
    "  --require-dnssec       refuse CAA answers that are not DNSSEC-secure\n"
    "  --trust-anchor FILE    DNSSEC trust anchor for --resolver\n"
    "\n";

struct issue_args {
  struct cli_opts o;
  const char *names[CLI_MAX_NAMES];
  size_t nnames;
  const char *cert_name;
  const char *key_type;
  const char *preferred_chain;
  const char *profile;
  int require_profile;
  const char *deploy_hook;
  const char *batch;
  int parallel;
  int force;
  struct cli_auto ao;
};

static int auto_opt(struct issue_args *a, int c, char *arg) {
  char *eq, *colon;
  switch (c) {
  case 2010:
    if (strcmp(arg, "auto") != 0)
      return cli_usage("issue", "--ca takes 'auto' (or give --server URL)");
    return 0;
  case 2011:
    eq = strchr(arg, '=');
    colon = eq != NULL ? strchr(eq, ':') : NULL;
    if (eq == NULL || colon == NULL || eq == arg || colon == eq + 1 ||
        colon[1] == '\0' || a->ao.neab == CLI_MAX_EAB)
      return cli_usage("issue", "--eab takes ISSUER=KID:HMAC_FILE");
    *eq = *colon = '\0';
    a->ao.eab[a->ao.neab++] =
        (struct cli_eab){.issuer = arg, .kid = eq + 1, .hmac_file = colon + 1};
    return 0;
  case 2012:
    if (a->ao.nexclude == 16)
      return cli_usage("issue", "too many --exclude-ca");
    a->ao.exclude[a->ao.nexclude++] = arg;
    return 0;
  case 2013:
    a->ao.default_server = arg;
    return 0;
  case 2014:
    a->ao.require_dnssec = 1;
    return 0;
  case 2015:
    a->o.trust_anchor = arg;
    return 0;
  default:
    return -1;
  }
}

/* The certificate options: 0 taken, EXIT_USAGE bad value, -1 not one. */
static int cert_opt(struct issue_args *a, int c, char *arg) {
  enum byoca_keytype kt;
  uint64_t v;
  switch (c) {
  case 'd':
    if (a->nnames == CLI_MAX_NAMES)
      return cli_usage("issue", "too many names (at most %d)", CLI_MAX_NAMES);
    a->names[a->nnames++] = arg;
    return 0;
  case 2001:
    a->cert_name = arg;
    return 0;
  case 2002:
    if (byoca_keytype_parse(arg, &kt) != 0)
      return cli_usage("issue", "unknown key type '%s'", arg);
    a->key_type = arg;
    return 0;
  case 2003:
    a->preferred_chain = arg;
    return 0;
  case 2004:
    if (!byoca_profile_name_valid(arg))
      return cli_usage("issue",
                       "'%s' is not a profile name (1-%d of A-Z a-z 0-9 . _ -)",
                       arg, BYOCA_PROFILE_NAME_MAX);
    a->profile = arg;
    return 0;
  case 2009:
    a->require_profile = 1;
    return 0;
  case 2005:
    a->deploy_hook = arg;
    return 0;
  case 2006:
    a->batch = arg;
    return 0;
  case 2007:
    if (byoca_parse_uint(arg, 10000, &v) != 0 || v == 0)
      return cli_usage("issue", "invalid --parallel '%s'", arg);
    a->parallel = (int)v;
    return 0;
  case 2008:
    a->force = 1;
    return 0;
  default:
    return -1;
  }
}

static int parse(int argc, char **argv, struct issue_args *a) {
  static const struct option longopts[] = {
      {"domain", required_argument, NULL, 'd'},
      {"cert-name", required_argument, NULL, 2001},
      {"key-type", required_argument, NULL, 2002},
      {"preferred-chain", required_argument, NULL, 2003},
      {"profile", required_argument, NULL, 2004},
      {"deploy-hook", required_argument, NULL, 2005},
      {"batch", required_argument, NULL, 2006},
      {"parallel", required_argument, NULL, 2007},
      {"force", no_argument, NULL, 2008},
      {"require-profile", no_argument, NULL, 2009},
      {"ca", required_argument, NULL, 2010},
      {"eab", required_argument, NULL, 2011},
      {"exclude-ca", required_argument, NULL, 2012},
      {"default-ca", required_argument, NULL, 2013},
      {"require-dnssec", no_argument, NULL, 2014},
      {"trust-anchor", required_argument, NULL, 2015},
      CLI_COMMON_LONGOPTS,
      {NULL, 0, NULL, 0}};
  int c, r;
  cli_opts_init(&a->o);
  a->parallel = 8;
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":d:vqh", longopts, NULL)) != -1) {
    if ((r = cli_opts_common(&a->o, c, optarg)) != 0) {
      if (r < 0)
        return EXIT_USAGE;
      continue;
    }
    r = cert_opt(a, c, optarg);
    if (r < 0)
      r = auto_opt(a, c, optarg);
    if (r > 0)
      return r;
    if (r == 0)
      continue;
    switch (c) {
    case 'h':
      fputs(help, stdout);
      fputs(cli_common_help, stdout);
      return -1;
    case ':':
      return cli_usage("issue", "option '%s' needs a value", argv[optind - 1]);
    default:
      return cli_usage("issue", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind < argc)
    return cli_usage("issue", "unexpected argument '%s'", argv[optind]);
  if (a->o.server != NULL && a->ao.neab > 0)
    return cli_usage("issue", "--eab is for CAs found through CAA; with"
                              " --server use --eab-kid and --eab-hmac-file");
  if (a->require_profile && a->profile == NULL)
    return cli_usage("issue", "--require-profile needs --profile NAME");
  if (a->batch == NULL && a->nnames == 0)
    return cli_usage("issue", "no names: give -d NAME or --batch FILE");
  if (a->batch != NULL && (a->nnames > 0 || a->cert_name != NULL))
    return cli_usage("issue", "--batch does not go with -d or --cert-name");
  return 0;
}

/* Fills a lineage from the command line. */
static int lineage_from(struct issue_args *a, struct cli_lineage *l,
                        const char *name, char **names, size_t nnames,
                        struct byoca_err *err) {
  memset(l, 0, sizeof(*l));
  for (size_t i = 0; i < nnames; i++)
    if (byoca_acme_check_name(names[i], err) != 0)
      return BYOCA_E_INVAL;
  if (strncmp(name, "*.", 2) == 0)
    name += 2;
  if (cli_name_check(name, err) != 0)
    return BYOCA_E_INVAL;
  l->name = strdup(name);
  l->names = names;
  l->nnames = nnames;
  l->server = byoca_strdup(a->o.server); /* NULL: chosen by CAA */
  l->ca_auto = a->o.server == NULL;
  l->key_type = byoca_strdup(a->key_type != NULL ? a->key_type : "ec256");
  l->preferred_chain = byoca_strdup(a->preferred_chain);
  l->profile = byoca_strdup(a->profile);
  l->profile_required = a->require_profile;
  l->webroot = byoca_strdup(a->o.webroot);
  l->http_addr = byoca_strdup(a->o.http_addr);
  l->http_port = a->o.http_port;
  l->hook = byoca_strdup(a->o.hook);
  l->hook_types = byoca_strdup(a->o.hook_types);
  l->tls_alpn = byoca_strdup(a->o.tls_alpn);
  l->challenge_order = byoca_strdup(a->o.challenge_order);
  l->deploy_hook = byoca_strdup(a->deploy_hook);
  l->ca_bundle = byoca_strdup(a->o.ca_bundle);
  return 0;
}

static int same_names(const struct cli_lineage *a,
                      const struct cli_lineage *b) {
  if (a->nnames != b->nnames)
    return 0;
  for (size_t i = 0; i < a->nnames; i++) {
    int found = 0;
    for (size_t j = 0; j < b->nnames && !found; j++)
      found = byoca_strcaseeq(a->names[i], b->names[j]);
    if (!found)
      return 0;
  }
  return 1;
}

/* 1 (and a message) if an existing lineage with the same names is not
 * due yet (its CA's renewal window is asked first); a re-issue of it
 * names the certificate it replaces (RFC 9773). */
static int not_due(const struct issue_args *a, struct cli_lineage *want,
                   struct cli_job *job) {
  struct cli_lineage old;
  int skip = 0;
  if (cli_lineage_load(a->o.state_dir, want->name, &old, NULL) != 0)
    return 0;
  if (old.revoked || old.serial == NULL || !same_names(&old, want)) {
    cli_lineage_free(&old);
    return 0;
  }
  if (!a->force)
    cli_renewal_check(&a->o, a->ao.cfg, &old, 1);
  cli_renewal_inherit(want, &old);
  int64_t due = cli_renewal_due(&old);
  if (!a->force && byoca_now() < due) {
    char d[32], x[32];
    byoca_time_format_rfc3339(due, d, sizeof(d));
    byoca_time_format_rfc3339(old.not_after, x, sizeof(x));
    snprintf(job->detail, sizeof(job->detail),
             "not yet due for renewal (due %s, expires %s); use --force to"
             " renew now",
             d, x);
    byoca_log(BYOCA_LOG_INFO, "%s: %s", want->name, job->detail);
    skip = 1;
  }
  cli_lineage_free(&old);
  return skip;
}

static char **split_names(char *line, size_t *n) {
  char **v = calloc(CLI_MAX_NAMES + 1, sizeof(char *));
  char *save = NULL;
  *n = 0;
  if (v == NULL)
    return NULL;
  for (char *t = strtok_r(line, " \t\r", &save); t != NULL;
       t = strtok_r(NULL, " \t\r", &save)) {
    if (*n == CLI_MAX_NAMES) {
      byoca_strv_free(v, *n);
      *n = (size_t)-1;
      return NULL;
    }
    v[(*n)++] = strdup(t);
  }
  return v;
}

/* One lineage per non-empty line; names are checked up front so a typo
 * on line 900 is reported before anything is ordered. */
static int read_batch(struct issue_args *a, struct cli_lineage **out,
                      size_t *nout, struct byoca_err *err) {
  char *text = NULL;
  size_t len = 0, lineno = 0, n = 0;
  int rc = byoca_file_read(a->batch, MAX_BATCH_FILE, &text, &len, err);
  if (rc != 0)
    return rc;
  struct cli_lineage *l = calloc(MAX_BATCH, sizeof(*l));
  if (l == NULL) {
    free(text);
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
  }
  for (char *p = text; p != NULL && rc == 0; lineno++) {
    char *line = strsep(&p, "\n");
    char *hash = strchr(line, '#');
    if (hash != NULL)
      *hash = '\0';
    size_t nn = 0;
    char **names = split_names(line, &nn);
    if (names == NULL && nn == (size_t)-1) {
      rc = byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "%s:%zu: more than %d names", a->batch, lineno + 1,
                         CLI_MAX_NAMES);
    } else if (names != NULL && nn == 0) {
      free(names);
    } else if (names == NULL || n == MAX_BATCH) {
      byoca_strv_free(names, nn);
      rc =
          byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                        "%s: too many lines (at most %d)", a->batch, MAX_BATCH);
    } else if ((rc = lineage_from(a, &l[n], names[0], names, nn, err)) != 0) {
      byoca_strv_free(names, nn);
      byoca_err_activity(err, "%s line %zu", a->batch, lineno + 1);
    } else {
      n++;
    }
  }
  free(text);
  if (rc == 0 && n == 0)
    rc = byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                       "%s holds no names", a->batch);
  if (rc != 0) {
    for (size_t i = 0; i < n; i++)
      cli_lineage_free(&l[i]);
    free(l);
    return rc;
  }
  *out = l;
  *nout = n;
  return 0;
}

/* The lineage of -d NAME ... [--cert-name]. */
static int one_lineage(struct issue_args *a, struct cli_lineage **out,
                       size_t *n, struct byoca_err *err) {
  char **names = calloc(a->nnames + 1, sizeof(char *));
  struct cli_lineage *l = calloc(1, sizeof(*l));
  int rc = BYOCA_E_NOMEM;
  for (size_t i = 0; names != NULL && i < a->nnames; i++)
    names[i] = strdup(a->names[i]);
  if (names != NULL && l != NULL)
    rc = lineage_from(a, l, a->cert_name ? a->cert_name : a->names[0], names,
                      a->nnames, err);
  else
    byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL, "out of memory");
  if (rc != 0) {
    if (l == NULL || l->names == NULL)
      byoca_strv_free(names, a->nnames);
    cli_lineage_free(l);
    free(l);
    return rc;
  }
  *out = l;
  *n = 1;
  return 0;
}

int cmd_issue(int argc, char **argv) {
  struct issue_args a = {0};
  struct cli_lineage *lins = NULL;
  struct cli_job *jobs = NULL;
  struct cli_rt rt = {0};
  struct byoca_err e = {0};
  size_t n = 0;
  struct cli_config cfg;
  int rc = parse(argc, argv, &a);
  if (rc != 0)
    return rc < 0 ? EXIT_OK : rc;
  if (cli_opts_finish(&a.o, &cfg, &e) != 0) {
    cli_error_err(&e);
    byoca_err_clear(&e);
    return EXIT_USAGE;
  }
  a.ao.cfg = &cfg;
  if (a.ao.default_server == NULL)
    a.ao.default_server = cfg.default_ca;
  a.ao.require_dnssec |= cfg.require_dnssec;
  rc = a.batch != NULL ? read_batch(&a, &lins, &n, &e)
                       : one_lineage(&a, &lins, &n, &e);
  if (rc != 0) {
    cli_error_err(&e);
    rc = e.cls == BYOCA_CLASS_INPUT ? EXIT_USAGE : EXIT_FAILED;
    goto out;
  }
  jobs = calloc(n, sizeof(*jobs));
  for (size_t i = 0; jobs != NULL && i < n; i++) {
    jobs[i].lin = &lins[i];
    if (not_due(&a, &lins[i], &jobs[i]))
      jobs[i].status = 2;
  }
  if (jobs == NULL || cli_rt_init(&rt, &a.o, &e) != 0 ||
      cli_rt_solvers(&rt, &a.o, &e) != 0) {
    if (e.code != 0)
      cli_error_err(&e);
    rc = EXIT_FAILED;
    goto out;
  }
  if (a.ao.default_server != NULL &&
      byoca_http_trust_url(rt.http, a.ao.default_server) != 0) {
    rc = cli_usage("issue", "invalid --default-ca URL");
    goto out;
  }
  if (a.o.server != NULL) {
    rc = cli_run_jobs(&rt, &a.o, jobs, n, a.parallel);
  } else {
    size_t ok = 0;
    for (size_t i = 0; i < n; i++)
      if (jobs[i].status == 0)
        cli_auto_issue(&rt, &a.o, &a.ao, &jobs[i]);
    for (size_t i = 0; i < n; i++)
      ok += jobs[i].status == 1 || jobs[i].status == 2;
    rc = ok == n ? EXIT_OK : ok == 0 ? EXIT_FAILED : EXIT_PARTIAL;
  }
  cli_print_jobs(&a.o, jobs, n);
out:
  for (size_t i = 0; jobs != NULL && i < n; i++) {
    byoca_order_result_free(jobs[i].res);
    json_decref(jobs[i].attempts);
  }
  free(jobs);
  for (size_t i = 0; lins != NULL && i < n; i++)
    cli_lineage_free(&lins[i]);
  free(lins);
  cli_rt_free(&rt);
  byoca_err_clear(&e);
  cli_config_free(&cfg);
  return rc;
}
