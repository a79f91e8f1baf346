/* byoca revoke: revokes a lineage's current certificate, signed by the
 * account key or by the certificate's own key (RFC 8555 §7.6). */
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"

static const char help[] =
    "usage: byoca revoke NAME [--reason REASON] [--by-cert-key] [OPTIONS]\n"
    "\n"
    "Revokes the current certificate of NAME at the CA that issued it.\n"
    "  --reason R       unspecified, keyCompromise, affiliationChanged,\n"
    "                   superseded, cessationOfOperation (or the number)\n"
    "  --by-cert-key    sign the request with the certificate's own key\n"
    "                   instead of the account key\n"
    "\n";

struct revoke_run {
  struct byoca_acme *acme;
  char *pem;
  size_t len;
  int reason;
  struct byoca_key *cert_key;
};

static int start_dir(void *arg, byoca_acme_cb cb, void *cbarg) {
  struct revoke_run *r = arg;
  return byoca_acme_directory(r->acme, cb, cbarg);
}

static int start_revoke(void *arg, byoca_acme_cb cb, void *cbarg) {
  struct revoke_run *r = arg;
  return byoca_acme_revoke(r->acme, r->pem, r->len, r->reason, r->cert_key, cb,
                           cbarg);
}

static int do_revoke(struct cli_opts *o, struct cli_lineage *l, int reason,
                     int by_cert_key, struct byoca_err *err) {
  struct revoke_run r = {.reason = reason};
  struct cli_account acct = {0};
  struct cli_rt rt = {0};
  char *cert = cli_live_path(o->state_dir, l->name, "cert.pem");
  char *key = cli_live_path(o->state_dir, l->name, "privkey.pem");
  int rc = byoca_file_read(cert, 1 << 20, &r.pem, &r.len, err);
  if (rc == 0 && by_cert_key)
    rc = byoca_key_load_file(key, &r.cert_key, err);
  if (rc == 0)
    rc = cli_rt_init(&rt, o, err);
  if (rc == 0 &&
      (r.acme = byoca_acme_new(rt.loop, rt.http, o->server, err)) == NULL)
    rc = BYOCA_E_NOMEM;
  if (rc == 0)
    rc = cli_wait(&rt, start_dir, &r, err);
  if (rc == 0 && !by_cert_key) {
    rc = cli_account_load(o->state_dir, o->server, 0, &acct, err);
    if (rc == 0)
      byoca_acme_set_account(r.acme, acct.key, acct.url);
  }
  if (rc == 0)
    rc = cli_wait(&rt, start_revoke, &r, err);
  byoca_acme_free(r.acme);
  cli_account_free(&acct);
  cli_rt_free(&rt);
  byoca_key_free(r.cert_key);
  free(r.pem);
  free(cert);
  free(key);
  return rc;
}

int cmd_revoke(int argc, char **argv) {
  static const struct option longopts[] = {
      {"reason", required_argument, NULL, 4001},
      {"by-cert-key", no_argument, NULL, 4002},
      CLI_COMMON_LONGOPTS,
      {NULL, 0, NULL, 0}};
  struct cli_opts o;
  struct cli_lineage l = {0};
  struct byoca_err e = {0};
  int c, r, reason = -1, by_cert_key = 0;
  cli_opts_init(&o);
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":vqh", longopts, NULL)) != -1) {
    if ((r = cli_opts_common(&o, c, optarg)) != 0) {
      if (r < 0)
        return EXIT_USAGE;
      continue;
    }
    switch (c) {
    case 4001:
      if ((reason = byoca_revocation_reason_parse(optarg)) < 0)
        return cli_usage("revoke", "unknown revocation reason '%s'", optarg);
      break;
    case 4002:
      by_cert_key = 1;
      break;
    case 'h':
      fputs(help, stdout);
      fputs(cli_common_help, stdout);
      return 0;
    case ':':
      return cli_usage("revoke", "option '%s' needs a value", argv[optind - 1]);
    default:
      return cli_usage("revoke", "unknown option '%s'", argv[optind - 1]);
    }
  }
  if (optind + 1 != argc)
    return cli_usage("revoke", "give exactly one certificate NAME");
  struct cli_config cfg;
  if (cli_opts_ready(&o, &cfg) != 0)
    return EXIT_USAGE;
  if (cli_lineage_load(o.state_dir, argv[optind], &l, &e) != 0) {
    cli_error_err(&e);
    byoca_err_clear(&e);
    cli_config_free(&cfg);
    return EXIT_FAILED;
  }
  if (o.server == NULL)
    o.server = l.server;
  if (o.ca_bundle == NULL)
    o.ca_bundle = l.ca_bundle;
  byoca_log(BYOCA_LOG_INFO, "revoking %s (serial %s) at %s", l.name,
            l.serial ? l.serial : "?", o.server);
  int rc = do_revoke(&o, &l, reason, by_cert_key, &e);
  if (rc == 0) {
    l.revoked = 1;
    rc = cli_lineage_save(o.state_dir, &l, &e);
  }
  if (rc != 0) {
    cli_error_err(&e);
  } else {
    byoca_log(BYOCA_LOG_INFO, "revoked %s (serial %s)", l.name,
              l.serial ? l.serial : "?");
    if (o.json)
      printf(
          "{\"name\": \"%s\", \"serial\": \"%s\", \"status\": \"revoked\"}\n",
          l.name, l.serial ? l.serial : "");
  }
  byoca_err_clear(&e);
  cli_lineage_free(&l);
  cli_config_free(&cfg);
  return rc == 0 ? EXIT_OK : EXIT_FAILED;
}
