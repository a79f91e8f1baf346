/* byoca account show|register|deactivate|rollover: the ACME account byoca
 * keeps per server in <state>/accounts/. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"

static const char help[] =
    "usage: byoca account show|register|deactivate|rollover --server URL\n"
    "                     [OPTIONS]\n"
    "\n"
    "  show        the account's URL, status and contacts, as the CA has them\n"
    "  register    create the account (or find the one the key already has)\n"
    "  deactivate  deactivate the account at the CA; irreversible\n"
    "  rollover    replace the account key (RFC 8555 key change)\n"
    "\n";

struct acct_run {
  struct cli_opts *o;
  struct byoca_acme *acme;
  struct cli_account acct;
  struct byoca_secret eab;
  struct byoca_key *new_key;
};

static int st_dir(void *a, byoca_acme_cb cb, void *x) {
  return byoca_acme_directory(((struct acct_run *)a)->acme, cb, x);
}
static int st_fetch(void *a, byoca_acme_cb cb, void *x) {
  return byoca_acme_account_fetch(((struct acct_run *)a)->acme, cb, x);
}
static int st_deact(void *a, byoca_acme_cb cb, void *x) {
  return byoca_acme_account_deactivate(((struct acct_run *)a)->acme, cb, x);
}
static int st_roll(void *a, byoca_acme_cb cb, void *x) {
  struct acct_run *r = a;
  return byoca_acme_account_keychange(r->acme, r->new_key, cb, x);
}
static int st_register(void *a, byoca_acme_cb cb, void *x) {
  struct acct_run *r = a;
  return cli_register(r->acme, r->o, &r->eab, cb, x);
}

static int st_lookup(void *a, byoca_acme_cb cb, void *x) {
  struct byoca_account_req req = {.only_existing = 1};
  return byoca_acme_account_register(((struct acct_run *)a)->acme, &req, cb, x);
}
static int st_update(void *a, byoca_acme_cb cb, void *x) {
  struct acct_run *r = a;
  const char *contacts[1] = {r->o->email};
  return byoca_acme_account_update(r->acme, contacts, 1, cb, x);
}

/* Registers (newAccount returns the existing account for a known key);
 * a changed --email on an existing account is sent as an update. */
static int do_register(struct cli_rt *rt, struct acct_run *r,
                       struct byoca_err *err) {
  int existed = r->acct.url != NULL;
  int rc = cli_wait(rt, st_register, r, err);
  if (rc == 0 && existed && r->o->email != NULL)
    rc = cli_wait(rt, st_update, r, err);
  if (rc != 0)
    return rc;
  free(r->acct.url);
  r->acct.url = strdup(byoca_acme_account_url(r->acme));
  r->acct.deactivated = 0;
  return cli_account_save(&r->acct, err);
}

/* Rolls the key over: the new key is saved next to the old one first,
 * so a crash between the CA's answer and the rename loses nothing. */
static int rollover(struct cli_rt *rt, struct acct_run *r,
                    struct byoca_err *err) {
  struct byoca_buf pem;
  char *next = byoca_asprintf("%s/key.pem.next", r->acct.dir);
  char *cur = byoca_asprintf("%s/key.pem", r->acct.dir);
  int rc = next == NULL || cur == NULL ? BYOCA_E_NOMEM : 0;
  byoca_buf_init(&pem, 0);
  if (rc == 0)
    rc = byoca_key_generate(BYOCA_KEY_EC256, &r->new_key, err);
  if (rc == 0)
    rc = byoca_key_private_pem(r->new_key, &pem, err);
  if (rc == 0)
    rc = byoca_file_write_atomic(next, pem.data, pem.len, 0600, err);
  if (rc == 0)
    rc = cli_wait(rt, st_roll, r, err);
  if (rc == 0 && rename(next, cur) != 0)
    rc = byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_INTERNAL,
                       "the CA switched keys but %s could not replace %s;"
                       " rename it by hand",
                       next, cur);
  else if (rc != 0 && next != NULL)
    remove(next);
  byoca_buf_free_secret(&pem);
  free(next);
  free(cur);
  return rc;
}

static void print_account(const struct acct_run *r, int json) {
  const char *j = byoca_acme_account_json(r->acme);
  const char *url = byoca_acme_account_url(r->acme);
  if (json) {
    printf("{\"url\": \"%s\", \"account\": %s}\n", url ? url : "",
           j ? j : "null");
    return;
  }
  printf("account: %s\n", url ? url : "(unknown)");
  if (j != NULL)
    printf("details: %s\n", j);
}

static int run(struct cli_rt *rt, struct acct_run *r, const char *verb,
               struct byoca_err *err) {
  int create = strcmp(verb, "register") == 0;
  int rc =
      cli_account_load(r->o->state_dir, r->o->server, create, &r->acct, err);
  if (rc == 0)
    rc = cli_eab_load(r->o, &r->eab, err);
  if (rc == 0)
    rc = cli_wait(rt, st_dir, r, err);
  if (rc != 0)
    return rc;
  byoca_acme_set_account(r->acme, r->acct.key, r->acct.url);
  if (create) {
    rc = do_register(rt, r, err);
  } else if (r->acct.url == NULL && strcmp(verb, "show") == 0) {
    /* the key is here but not the URL: ask the CA (onlyReturnExisting) */
    if ((rc = cli_wait(rt, st_lookup, r, err)) == 0) {
      r->acct.url = strdup(byoca_acme_account_url(r->acme));
      rc = cli_account_save(&r->acct, err);
    }
  } else if (r->acct.url == NULL) {
    rc = byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                       "the account for %s was never registered", r->o->server);
  } else if (strcmp(verb, "show") == 0) {
    rc = cli_wait(rt, st_fetch, r, err);
  } else if (strcmp(verb, "deactivate") == 0) {
    if ((rc = cli_wait(rt, st_deact, r, err)) == 0) {
      r->acct.deactivated = 1;
      rc = cli_account_save(&r->acct, err);
    }
  } else {
    rc = rollover(rt, r, err);
  }
  return rc;
}

int cmd_account(int argc, char **argv) {
  static const struct option longopts[] = {CLI_COMMON_LONGOPTS,
                                           {NULL, 0, NULL, 0}};
  static const char *const verbs[] = {"show", "register", "deactivate",
                                      "rollover"};
  struct cli_opts o;
  struct acct_run r = {.o = &o};
  struct cli_rt rt = {0};
  struct byoca_err e = {0};
  int c, x, known = 0;
  cli_opts_init(&o);
  opterr = 0;
  while ((c = getopt_long(argc, argv, ":vqh", longopts, NULL)) != -1) {
    if ((x = cli_opts_common(&o, c, optarg)) != 0) {
      if (x < 0)
        return EXIT_USAGE;
      continue;
    }
    if (c == 'h') {
      fputs(help, stdout);
      fputs(cli_common_help, stdout);
      return EXIT_OK;
    }
    return cli_usage("account", "unknown option '%s'", argv[optind - 1]);
  }
  if (optind + 1 != argc)
    return cli_usage("account", "give one of show, register, deactivate,"
                                " rollover");
  const char *verb = argv[optind];
  for (size_t i = 0; i < sizeof(verbs) / sizeof(*verbs); i++)
    known |= strcmp(verb, verbs[i]) == 0;
  if (!known)
    return cli_usage("account", "unknown account action '%s'", verb);
  if (o.server == NULL)
    return cli_usage("account", "--server URL is required");
  struct cli_config cfg;
  if (cli_opts_ready(&o, &cfg) != 0)
    return EXIT_USAGE;
  int rc = cli_rt_init(&rt, &o, &e);
  if (rc == 0 &&
      (r.acme = byoca_acme_new(rt.loop, rt.http, o.server, &e)) == NULL)
    rc = BYOCA_E_NOMEM;
  if (rc == 0)
    rc = run(&rt, &r, verb, &e);
  if (rc != 0) {
    cli_error_err(&e);
  } else {
    if (strcmp(verb, "deactivate") == 0)
      byoca_log(BYOCA_LOG_INFO, "deactivated account %s", r.acct.url);
    else if (strcmp(verb, "rollover") == 0)
      byoca_log(BYOCA_LOG_INFO, "rolled over the key of account %s",
                r.acct.url);
    print_account(&r, o.json);
  }
  byoca_acme_free(r.acme);
  byoca_key_free(r.new_key);
  byoca_secret_free(&r.eab);
  cli_account_free(&r.acct);
  cli_rt_free(&rt);
  byoca_err_clear(&e);
  cli_config_free(&cfg);
  return rc == 0 ? EXIT_OK : EXIT_FAILED;
}
