/* `byocad migrate-store FROM TO`: copies the whole store at FROM into the
 * new, empty store at TO (e.g. from SQLite to PostgreSQL), sealed values
 * as they are, under the master key of the configuration. byocad must
 * not be running on FROM meanwhile. Store URLs with a password are
 * refused here (argv is visible to every user of the machine): give the
 * password through a libpq passfile or PGPASSWORD instead. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "bd.h"

static int check_url(const char *url, int must_exist, struct byoca_err *err) {
  struct stat sb;
  if (byoca_store_url_has_password(url))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "a store URL on the command line must not hold a"
                         " password: use a passfile (passfile=... or"
                         " PGPASSFILE) or PGPASSWORD");
  if (!must_exist || byoca_store_url_is_remote(url))
    return 0;
  const char *path = strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
  if (stat(path, &sb) != 0)
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no store at %.300s", path);
  return 0;
}

static int open_one(const char *url, const struct byoca_secret *mk,
                    struct byoca_store **out, struct byoca_err *err) {
  char shown[512];
  int rc = byoca_store_open(url, mk, out, err);
  if (rc != 0) {
    byoca_store_url_display(url, shown, sizeof(shown));
    byoca_err_activity(err, "opening %.300s", shown);
  }
  return rc;
}

/* One line on what TO now holds. */
static void summary(struct byoca_store *to, const char *url) {
  struct byoca_tenant *t = NULL;
  size_t nt = 0;
  int64_t counts[4] = {0}, due = 0;
  char shown[512];
  byoca_store_url_display(url, shown, sizeof(shown));
  if (byoca_store_tenant_list(to, &t, &nt, NULL) == 0 &&
      byoca_store_cert_counts(to, byoca_now(), counts, &due, NULL) == 0)
    printf("copied into %s: %zu tenants, %lld certificates\n", shown, nt,
           (long long)(counts[0] + counts[1] + counts[2] + counts[3]));
  free(t);
}

int bd_cmd_migrate(const char *config, const char *from, const char *to) {
  struct bd_config cfg;
  struct byoca_err e = {0};
  struct byoca_secret mk = {0};
  struct byoca_store *src = NULL, *dst = NULL;
  if (bd_config_load(config, &cfg, &e) != 0) {
    bd_report(&e);
    byoca_err_clear(&e);
    return EXIT_USAGE;
  }
  bd_log_apply(&cfg);
  int rc = check_url(from, 1, &e);
  if (rc == 0)
    rc = check_url(to, 0, &e);
  if (rc == 0)
    rc = byoca_master_key_load(cfg.master_key_file, 0, &mk, &e);
  if (rc == 0)
    rc = open_one(from, &mk, &src, &e);
  if (rc == 0)
    rc = open_one(to, &mk, &dst, &e);
  if (rc == 0)
    rc = byoca_store_copy(src, dst, &e);
  if (rc == 0)
    summary(dst, to);
  else
    bd_report(&e);
  byoca_err_clear(&e);
  byoca_store_close(src);
  byoca_store_close(dst);
  byoca_secret_free(&mk);
  bd_config_free(&cfg);
  return rc == 0 ? EXIT_OK : EXIT_FAIL;
}
