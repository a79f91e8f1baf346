/* At start, the deployed files are made to match the store again: a
 * byocad killed after storing a certificate but before writing its live
 * files (or while writing them) left live/<id> missing or showing the
 * previous version, and nothing else would write them before the next
 * renewal. For every issued lineage whose live/<id>/fullchain.pem is not
 * the stored chain, the four files are written again from the store (as
 * a set, like a fresh deployment; the deploy hook is not run). Deleted
 * lineages need nothing here: their files go before their row
 * (delete.c), so a crash leaves them in state deleting, done again. */
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

#define CHECK_PAGE 500
#define FULLCHAIN_MAX (1024 * 1024)

/* The leaf's PEM block and the rest of a stored fullchain (which is
 * cert_pem followed by chain_pem, as download.c builds it). */
static int split_fullchain(const char *full, char **cert, char **chain) {
  static const char end[] = "-----END CERTIFICATE-----";
  const char *e = strstr(full, end);
  if (e == NULL)
    return -1;
  e += sizeof(end) - 1;
  if (*e == '\n')
    e++;
  *cert = byoca_asprintf("%.*s", (int)(e - full), full);
  *chain = byoca_strdup(e);
  return *cert != NULL && *chain != NULL ? 0 : -1;
}

static int live_matches(const struct byoca_manager *m, int64_t tenant,
                        int64_t id, const char *fullchain) {
  char *path =
      byoca_asprintf("%s/%lld/live/%lld/fullchain.pem", m->cfg.deploy_dir,
                     (long long)tenant, (long long)id);
  char *txt = NULL;
  struct byoca_err e = {0};
  int same = path != NULL &&
             byoca_file_read(path, FULLCHAIN_MAX, &txt, NULL, &e) == 0 &&
             strcmp(txt, fullchain) == 0;
  byoca_err_clear(&e);
  free(txt);
  free(path);
  return same;
}

/* 1 when lineage id was deployed again, 0 when it was current, -1 on a
 * failure (logged). */
static int check_one(struct byoca_manager *m, int64_t tenant, int64_t id) {
  struct byoca_cert_row r;
  struct byoca_secret key = {0};
  struct byoca_err e = {0};
  char *cert = NULL, *chain = NULL;
  int rc = 0;
  memset(&r, 0, sizeof(r));
  if (byoca_store_cert_get(m->store, tenant, id, 1, &r, &e) != 0 ||
      r.state != BYOCA_CERT_ISSUED || r.fullchain_pem == NULL ||
      live_matches(m, tenant, id, r.fullchain_pem))
    goto out;
  rc = -1;
  if (split_fullchain(r.fullchain_pem, &cert, &chain) != 0) {
    byoca_err_set(&e, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                  "the stored chain has no certificate");
    goto out;
  }
  if (byoca_store_cert_key(m->store, tenant, id, &key, &e) == 0 &&
      key.data != NULL &&
      mgr_deploy_files(m, tenant, id, r.fullchain_pem, &key, cert, chain, &e) ==
          0)
    rc = 1;
out:
  if (rc < 0)
    byoca_log(BYOCA_LOG_ERROR,
              "cert %lld tenant %lld: cannot write its deployed files again:"
              " %s",
              (long long)id, (long long)tenant,
              e.code != 0 ? e.msg : "no stored key");
  byoca_err_clear(&e);
  byoca_secret_free(&key);
  byoca_cert_row_clear(&r);
  free(cert);
  free(chain);
  return rc;
}

void mgr_deploy_check(struct byoca_manager *m) {
  struct byoca_tenant *ts = NULL;
  size_t nt = 0, redone = 0;
  struct byoca_err e = {0};
  if (m->cfg.deploy_dir == NULL)
    return;
  if (byoca_store_tenant_list(m->store, &ts, &nt, &e) != 0) {
    byoca_log(BYOCA_LOG_ERROR, "cannot check the deployed files: %s", e.msg);
    byoca_err_clear(&e);
    return;
  }
  for (size_t t = 0; t < nt; t++) {
    int64_t after = 0;
    for (;;) {
      struct byoca_cert_row *rows = NULL;
      size_t n = 0;
      if (byoca_store_cert_list(m->store, ts[t].id, after, CHECK_PAGE, &rows,
                                &n, &e) != 0) {
        byoca_err_clear(&e);
        break;
      }
      for (size_t i = 0; i < n; i++) {
        after = rows[i].id;
        if (rows[i].state == BYOCA_CERT_ISSUED &&
            check_one(m, ts[t].id, rows[i].id) > 0)
          redone++;
      }
      byoca_cert_rows_free(rows, n);
      if (n < CHECK_PAGE)
        break;
    }
  }
  free(ts);
  if (redone > 0)
    byoca_log(BYOCA_LOG_INFO,
              "wrote the deployed files of %zu lineage(s) again: a killed"
              " byocad had stored their certificate but not deployed it",
              redone);
}
