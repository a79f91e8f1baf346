/* At start, the deployed files are made to match the store again: a
 * byocad killed after storing a certificate but before writing its live
 * files (or while writing them) left live/<id> missing or showing the
 * previous version, and nothing else would write them before the next
 * renewal. For every issued lineage whose live/<id>/fullchain.pem is not
 * the stored chain, the four files are written again from the store (as
 * a set, like a fresh deployment; the deploy hook is not run). Deleted
 * lineages need nothing here: their files go before their row
 * (delete.c), so a crash leaves them in state deleting, done again.
 * The store is read on the periodic lane, CHECK_BATCH lineages to write
 * at a time (the files are written on the loop); no claim runs until the
 * check is done. */
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

#define CHECK_BATCH 64 /* lineages written again per operation at most */

static int live_matches(const char *deploy_dir, int64_t tenant, int64_t id,
                        const char *fullchain) {
  char *path = byoca_asprintf("%s/%lld/live/%lld/fullchain.pem", deploy_dir,
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

/* A lineage whose live files are not its stored chain: what writing them
 * again needs, read on the lane. */
struct stale {
  int64_t tenant, id;
  struct byoca_cert_row r; /* with its chain */
  struct byoca_secret key; /* PEM, unsealed: wiped when freed */
  int rc;                  /* reading the key: not 0, e says why */
  struct byoca_err e;
};

/* A part of the check, on the periodic lane: the issued lineages from
 * the cursor (tenant, after) on, until CHECK_BATCH of them need their
 * files written again (on the loop); then the next part from there. */
struct check_op {
  struct mgr_lane_op op;
  char *deploy_dir; /* copied: the lane never sees the manager */
  int64_t tenant, after;
  int more; /* stopped at CHECK_BATCH: the cursor says where */
  int rc;   /* the tenants could not be listed */
  struct byoca_err e;
  size_t redone; /* by the parts before */
  size_t n;
  struct stale v[CHECK_BATCH];
};

/* 1 when lineage id's files must be written again (read into c). */
static int check_one(struct check_op *c, struct byoca_store *s, int64_t tenant,
                     int64_t id) {
  struct stale *t = &c->v[c->n];
  struct byoca_err e = {0};
  memset(t, 0, sizeof(*t));
  if (byoca_store_cert_get(s, tenant, id, 1, &t->r, &e) != 0 ||
      t->r.state != BYOCA_CERT_ISSUED || t->r.fullchain_pem == NULL ||
      live_matches(c->deploy_dir, tenant, id, t->r.fullchain_pem)) {
    byoca_err_clear(&e);
    byoca_cert_row_clear(&t->r);
    return 0;
  }
  t->tenant = tenant;
  t->id = id;
  t->rc = byoca_store_cert_key(s, tenant, id, &t->key, &t->e);
  c->n++;
  return 1;
}

static void check_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct check_op *c = (struct check_op *)op;
  struct byoca_tenant *ts = NULL;
  size_t nt = 0;
  if ((c->rc = byoca_store_tenant_list(s, &ts, &nt, &c->e)) != 0)
    return;
  for (size_t t = 0; t < nt && !c->more; t++) {
    if (ts[t].id < c->tenant)
      continue; /* checked by a part before */
    int64_t after = ts[t].id == c->tenant ? c->after : 0;
    for (;;) {
      struct byoca_cert_row *rows = NULL;
      size_t n = 0;
      struct byoca_err e = {0};
      if (byoca_store_cert_list(s, ts[t].id, after, CHECK_PAGE, &rows, &n,
                                &e) != 0) {
        byoca_err_clear(&e);
        break;
      }
      size_t i = 0;
      for (; i < n && c->n < CHECK_BATCH; i++) {
        after = rows[i].id;
        if (rows[i].state == BYOCA_CERT_ISSUED)
          check_one(c, s, ts[t].id, rows[i].id);
      }
      byoca_cert_rows_free(rows, n);
      if (c->n == CHECK_BATCH && (i < n || n == CHECK_PAGE || t + 1 < nt)) {
        c->more = 1; /* the next part goes on from here */
        c->tenant = ts[t].id;
        c->after = after;
        break;
      }
      if (n < CHECK_PAGE)
        break;
    }
  }
  free(ts);
}

static void check_drop(struct mgr_lane_op *op) {
  struct check_op *c = (struct check_op *)op;
  for (size_t i = 0; i < c->n; i++) {
    byoca_cert_row_clear(&c->v[i].r);
    byoca_secret_free(&c->v[i].key);
    byoca_err_clear(&c->v[i].e);
  }
  byoca_err_clear(&c->e);
  free(c->deploy_dir);
}

/* Writes the files of t again from what the lane read; 1 when done, -1
 * on a failure (logged). */
static int redeploy(struct byoca_manager *m, struct stale *t) {
  struct byoca_err e = {0};
  char *cert = NULL, *chain = NULL;
  int rc = -1;
  if (split_fullchain(t->r.fullchain_pem, &cert, &chain) != 0)
    byoca_err_set(&e, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                  "the stored chain has no certificate");
  else if (t->rc != 0)
    byoca_err_copy(&e, &t->e);
  else if (t->key.data != NULL &&
           mgr_deploy_files(m, t->tenant, t->id, t->r.fullchain_pem, &t->key,
                            cert, chain, &e) == 0)
    rc = 1;
  if (rc < 0)
    byoca_log(BYOCA_LOG_ERROR,
              "cert %lld tenant %lld: cannot write its deployed files again:"
              " %s",
              (long long)t->id, (long long)t->tenant,
              e.code != 0 ? e.msg : "no stored key");
  byoca_err_clear(&e);
  free(cert);
  free(chain);
  return rc;
}

static void check_next(struct byoca_manager *m, int64_t tenant, int64_t after,
                       size_t redone);

static void check_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct check_op *c = (struct check_op *)op;
  size_t redone = c->redone;
  if (c->rc != 0)
    byoca_log(BYOCA_LOG_ERROR, "cannot check the deployed files: %s", c->e.msg);
  for (size_t i = 0; i < c->n; i++)
    if (redeploy(m, &c->v[i]) > 0)
      redone++;
  int more = c->more;
  int64_t tenant = c->tenant, after = c->after;
  check_drop(op);
  if (more) {
    check_next(m, tenant, after, redone);
    return;
  }
  m->deploy_checking = 0;
  mgr_kick(m); /* the claims held back meanwhile */
  if (redone > 0)
    byoca_log(BYOCA_LOG_INFO,
              "wrote the deployed files of %zu lineage(s) again: a killed"
              " byocad had stored their certificate but not deployed it",
              redone);
}

static void check_next(struct byoca_manager *m, int64_t tenant, int64_t after,
                       size_t redone) {
  struct check_op *c = calloc(1, sizeof(*c));
  if (c == NULL || (c->deploy_dir = strdup(m->cfg.deploy_dir)) == NULL) {
    free(c);
    byoca_log(BYOCA_LOG_ERROR,
              "cannot check the deployed files: out of memory");
    m->deploy_checking = 0;
    mgr_kick(m);
    return;
  }
  c->tenant = tenant;
  c->after = after;
  c->redone = redone;
  c->op.work = check_work;
  c->op.done = check_done;
  c->op.drop = check_drop;
  mgr_lane_run(m, &c->op);
}

void mgr_deploy_check(struct byoca_manager *m) {
  if (m->cfg.deploy_dir == NULL)
    return;
  /* no claims meanwhile: a job deploying a newer certificate before the
   * check writes what it read would be overwritten with the older one */
  m->deploy_checking = 1;
  check_next(m, 0, 0, 0);
}
