/* byoca discover: what the domain owner's CAA records say, which CAs
 * byoca would try for these names and in which order, and why. */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "byoca/caa.h"
#include "cli.h"
#include "config.h"
#include "discover_out.h"

static const char help[] =
    "usage: byoca discover NAME ... [OPTIONS]\n"
    "\n"
    "Shows, for each name, the CAA records that decide which CA may issue\n"
    "(RFC 8659), whether each one is usable and why, and then the CAs byoca\n"
    "would try for a certificate with all these names, in order, with the\n"
    "ACME directory each one serves at https://<ca>/.well-known/acme (or\n"
    "its directory in byoca.conf) and the certificate profiles it offers.\n"
    "\n"
    "  --zone FILE            answer from a zone file instead of DNS (check\n"
    "                         records before publishing them)\n"
    "  --methods LIST         challenge types we can perform\n"
    "                         (default http-01,dns-01,tls-alpn-01)\n"
    "  --account ISSUER=URL   an existing ACME account at ISSUER (for\n"
    "                         accounturi records; repeatable)\n"
    "  --exclude ISSUER       leave this CA out (repeatable)\n"
    "  --seed N               fix the order inside a group of equal CAs\n"
    "  --no-directory         do not contact the CAs\n"
    "  --require-dnssec       refuse CAA answers that are not DNSSEC-secure\n"
    "  --trust-anchor FILE    DNSSEC trust anchor for --resolver\n"
    "  --json                 the result as JSON (see byoca(1))\n"
    "\n";

#define MAX_LIST 32

struct discover_args {
  struct cli_opts o;
  const char *zone;
  const char *methods[MAX_LIST];
  size_t nmethods;
  char *methods_buf;
  struct byoca_caa_account accounts[MAX_LIST];
  size_t naccounts;
  const char *exclude[MAX_LIST];
  size_t nexclude;
  uint64_t seed;
  int has_seed, no_directory, require_dnssec;
  char **names;
  size_t nnames;
};

static int split_methods(struct discover_args *a, const char *arg) {
  free(a->methods_buf);
  a->methods_buf = strdup(arg);
  a->nmethods = 0;
  for (char *p = a->methods_buf, *t;
       p != NULL && (t = strsep(&p, ",")) != NULL;)
    if (*t != '\0' && a->nmethods < MAX_LIST)
      a->methods[a->nmethods++] = t;
  return a->nmethods > 0 ? 0 : -1;
}

static int parse_opt(struct discover_args *a, int c, char *arg) {
  char *eq;
  switch (c) {
  case 5001:
    a->zone = arg;
    return 0;
  case 5002:
    return split_methods(a, arg) == 0
               ? 0
               : cli_usage("discover", "--methods needs a list");
  case 5003:
    if ((eq = strchr(arg, '=')) == NULL || eq == arg ||
        a->naccounts == MAX_LIST)
      return cli_usage("discover", "--account takes ISSUER=URL");
    *eq = '\0';
    a->accounts[a->naccounts].issuer = arg;
    a->accounts[a->naccounts++].url = eq + 1;
    return 0;
  case 5004:
    if (a->nexclude == MAX_LIST)
      return cli_usage("discover", "too many --exclude");
    a->exclude[a->nexclude++] = arg;
    return 0;
  case 5005:
    if (byoca_parse_uint(arg, UINT64_MAX, &a->seed) != 0)
      return cli_usage("discover", "invalid --seed '%s'", arg);
    a->has_seed = 1;
    return 0;
  case 5006:
    a->no_directory = 1;
    return 0;
  case 5007:
    a->require_dnssec = 1;
    return 0;
  case 5008:
    a->o.trust_anchor = arg;
    return 0;
  default:
    return cli_usage("discover", "unknown option '%s'", arg);
  }
}

static int parse(int argc, char **argv, struct discover_args *a) {
  static const struct option longopts[] = {
      {"zone", required_argument, NULL, 5001},
      {"methods", required_argument, NULL, 5002},
      {"account", required_argument, NULL, 5003},
      {"exclude", required_argument, NULL, 5004},
      {"seed", required_argument, NULL, 5005},
      {"no-directory", no_argument, NULL, 5006},
      {"require-dnssec", no_argument, NULL, 5007},
      {"trust-anchor", required_argument, NULL, 5008},
      CLI_COMMON_LONGOPTS,
      {NULL, 0, NULL, 0}};
  int c, r;
  cli_opts_init(&a->o);
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":vqh", longopts, NULL)) != -1) {
    if ((r = cli_opts_common(&a->o, c, optarg)) != 0) {
      if (r < 0)
        return EXIT_USAGE;
      continue;
    }
    if (c == 'h') {
      fputs(help, stdout);
      fputs(cli_common_help, stdout);
      return -1;
    }
    if (c == ':')
      return cli_usage("discover", "option '%s' needs a value",
                       argv[optind - 1]);
    if (c == '?')
      return cli_usage("discover", "unknown option '%s'", argv[optind - 1]);
    if ((r = parse_opt(a, c, optarg)) != 0)
      return r;
  }
  a->names = argv + optind;
  a->nnames = (size_t)(argc - optind);
  if (a->nnames == 0)
    return cli_usage("discover", "give at least one NAME");
  for (size_t i = 0; i < a->nnames; i++) {
    struct byoca_err e = {0};
    if (byoca_acme_check_name(a->names[i], &e) != 0) {
      cli_error_err(&e);
      return EXIT_USAGE;
    }
  }
  return 0;
}

/* D-RANDOM: without --seed the order is sticky for this set of names. */
static uint64_t names_seed(char **names, size_t n) {
  uint64_t h = 1469598103934665603ULL;
  for (size_t i = 0; i < n; i++)
    for (const char *p = names[i]; *p != '\0'; p++)
      h = (h ^ (unsigned char)*p) * 1099511628211ULL;
  return h;
}

int cmd_discover(int argc, char **argv) {
  struct discover_args a = {0};
  struct dsc_run run = {0};
  struct byoca_err e = {0};
  int rc = parse(argc, argv, &a);
  struct cli_config cfg;
  if (rc != 0) {
    free(a.methods_buf);
    return rc < 0 ? EXIT_OK : rc;
  }
  if (cli_opts_finish(&a.o, &cfg, &e) != 0) {
    cli_error_err(&e);
    byoca_err_clear(&e);
    free(a.methods_buf);
    return EXIT_USAGE;
  }
  a.require_dnssec |= cfg.require_dnssec;
  struct byoca_caa_policy policy = {
      .methods = a.nmethods ? a.methods : NULL,
      .nmethods = a.nmethods,
      .accounts = a.accounts,
      .naccounts = a.naccounts,
      .exclude = a.exclude,
      .nexclude = a.nexclude,
      .seed = a.has_seed ? a.seed : names_seed(a.names, a.nnames),
  };
  run.names = (const char *const *)a.names;
  run.n = a.nnames;
  run.require_secure = a.require_dnssec;
  rc = dsc_lookup(&run, &a.o, a.zone, &e);
  if (rc == 0)
    rc = byoca_caa_discover(run.names,
                            (const struct byoca_caa_rrset *const *)run.rrsets,
                            run.n, &policy, &run.disc, &e);
  if (rc == 0 && !a.no_directory)
    dsc_directories(&run);
  if (rc == 0)
    a.o.json ? dsc_print_json(&run) : dsc_print_text(&run);
  else
    cli_error_err(&e);
  int outcome_ok = rc == 0 && (run.disc.outcome == BYOCA_CAA_TRY_IN_ORDER ||
                               run.disc.outcome == BYOCA_CAA_USE_DEFAULT);
  dsc_run_free(&run);
  byoca_err_clear(&e);
  free(a.methods_buf);
  cli_config_free(&cfg);
  return outcome_ok ? EXIT_OK : EXIT_FAILED;
}
