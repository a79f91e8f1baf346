/* Deploying a new certificate: the certbot-compatible files
 * <deploy_dir>/<tenant>/live/<cert-id>/{cert,chain,fullchain,privkey}.pem
 * (folders 0700, privkey.pem 0600), then the operator's deploy hook with
 * the environment byoca(1) gives its hooks. As in byoca(1), live/<cert-id>
 * is a symlink to archive/<cert-id>/<version>/, a folder written as a set
 * (byoca_dir_write_atomic) before the link is renamed over the old one:
 * a reader sees the old four files or the new four, never a mix, and a
 * crash leaves only temps (swept at the next start). The previous version
 * is kept; a deleted lineage's files go with it (mgr_deploy_remove).
 * A failed deployment is logged; the certificate stays stored. */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "mgr_int.h"

#define DEPLOY_KEEP 2 /* versions kept per lineage: the live one and one */
#define DEPLOY_FILES "cert.pem chain.pem fullchain.pem privkey.pem"

/* <deploy_dir>/<tenant>/<part>[/<cert-id>]; caller frees. */
static char *tenant_path(const struct byoca_manager *m, int64_t tenant_id,
                         const char *part, int64_t cert_id) {
  if (cert_id <= 0)
    return byoca_asprintf("%s/%lld/%s", m->cfg.deploy_dir, (long long)tenant_id,
                          part);
  return byoca_asprintf("%s/%lld/%s/%lld", m->cfg.deploy_dir,
                        (long long)tenant_id, part, (long long)cert_id);
}

static char *live_dir(const struct byoca_manager *m, int64_t tenant_id,
                      int64_t cert_id) {
  return tenant_path(m, tenant_id, "live", cert_id);
}

static void sync_folder(const char *dir) {
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    (void)fsync(fd);
    close(fd);
  }
}

/* live/<id> -> target, in one rename. A folder there (the layout of an
 * older byocad) is replaced by the link once, not atomically. */
static int switch_link(const char *ldir, const char *dst, const char *target,
                       struct byoca_err *err) {
  char *tmp = byoca_tmp_template(dst);
  size_t tl = tmp != NULL ? strlen(tmp) : 0;
  struct stat st;
  if (tmp == NULL || tl < 6) {
    free(tmp);
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
  }
  memcpy(tmp + tl - 6, "link00", 6); /* one link at a time per process */
  (void)unlink(tmp);
  int r = symlink(target, tmp);
  if (r == 0) {
    r = rename(tmp, dst);
    if (r != 0 && errno == EISDIR && lstat(dst, &st) == 0 &&
        S_ISDIR(st.st_mode) && byoca_dir_remove(dst) == 0)
      r = rename(tmp, dst);
  }
  int rc = 0;
  if (r != 0) {
    rc = byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_INTERNAL,
                       "cannot update %s: %s", dst, strerror(errno));
    (void)unlink(tmp);
  } else {
    sync_folder(ldir);
  }
  free(tmp);
  return rc;
}

static int cmp_desc(const void *a, const void *b) {
  return strcmp(*(char *const *)b, *(char *const *)a);
}

/* Keeps the live version cur and the newest DEPLOY_KEEP - 1 others in
 * adir (names sort by time; cur stays even if a clock set back made its
 * name sort lower). */
static void prune(const char *adir, const char *cur) {
  DIR *d = opendir(adir);
  char *names[64];
  size_t n = 0;
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL && n < 64)
    if (e->d_name[0] != '.' && strcmp(e->d_name, cur) != 0 &&
        (names[n] = strdup(e->d_name)) != NULL)
      n++;
  if (d != NULL)
    closedir(d);
  qsort(names, n, sizeof(char *), cmp_desc);
  for (size_t i = 0; i < n; i++) {
    char *p =
        i >= DEPLOY_KEEP - 1 ? byoca_asprintf("%s/%s", adir, names[i]) : NULL;
    if (p != NULL)
      (void)byoca_dir_remove(p);
    free(p);
    free(names[i]);
  }
}

int mgr_deploy_files(struct byoca_manager *m, int64_t tenant_id,
                     int64_t cert_id, const char *fullchain,
                     const struct byoca_secret *key_pem, const char *cert_pem,
                     const char *chain_pem, struct byoca_err *err) {
  if (m->cfg.deploy_dir == NULL)
    return 0;
  const struct byoca_file_ent files[] = {
      {"privkey.pem", key_pem->data, key_pem->len, 0600},
      {"cert.pem", cert_pem, strlen(cert_pem), 0644},
      {"chain.pem", chain_pem, strlen(chain_pem), 0644},
      {"fullchain.pem", fullchain, strlen(fullchain), 0644},
  };
  char ver[32];
  int64_t ms = byoca_now_ms();
  char *adir = tenant_path(m, tenant_id, "archive", cert_id);
  char *ldir = tenant_path(m, tenant_id, "live", 0);
  char *dst = live_dir(m, tenant_id, cert_id);
  char *vdir = NULL, *target = NULL;
  int rc = adir != NULL && ldir != NULL && dst != NULL
               ? 0
               : byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
  if (rc == 0)
    rc = byoca_mkdir_p(adir, 0700, err);
  if (rc == 0)
    rc = byoca_mkdir_p(ldir, 0700, err);
  for (int tries = 0; rc == 0 && tries < 3; tries++) {
    snprintf(ver, sizeof(ver), "%013lld", (long long)(ms + tries));
    free(vdir);
    if ((vdir = byoca_asprintf("%s/%s", adir, ver)) == NULL) {
      rc = byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
      break;
    }
    if (access(vdir, F_OK) != 0)
      break; /* a free name (a clock set back could reuse one) */
  }
  if (rc == 0)
    rc = byoca_dir_write_atomic(vdir, 0700, files, 4, err);
  if (rc == 0 && (target = byoca_asprintf("../archive/%lld/%s",
                                          (long long)cert_id, ver)) == NULL)
    rc = byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
  if (rc == 0 && (rc = switch_link(ldir, dst, target, err)) != 0)
    (void)byoca_dir_remove(vdir); /* live/ still shows the previous one */
  if (rc != 0 && adir != NULL)
    (void)rmdir(adir); /* only if empty: a first deployment leaves nothing */
  if (rc == 0)
    prune(adir, ver);
  free(adir);
  free(ldir);
  free(dst);
  free(vdir);
  free(target);
  return rc;
}

void mgr_deploy_remove(struct byoca_manager *m, int64_t tenant_id,
                       int64_t cert_id) {
  if (m->cfg.deploy_dir == NULL)
    return;
  char *dst = live_dir(m, tenant_id, cert_id);
  char *adir = tenant_path(m, tenant_id, "archive", cert_id);
  struct stat st;
  int bad = dst == NULL || adir == NULL;
  if (!bad && lstat(dst, &st) == 0)
    bad = S_ISDIR(st.st_mode) ? byoca_dir_remove(dst) != 0 : unlink(dst) != 0;
  DIR *d = adir != NULL ? opendir(adir) : NULL;
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    char *p = byoca_asprintf("%s/%s", adir, e->d_name);
    bad |= p == NULL || byoca_dir_remove(p) != 0;
    free(p);
  }
  if (d != NULL)
    closedir(d);
  if (adir != NULL && rmdir(adir) != 0 && errno != ENOENT)
    bad = 1;
  if (bad)
    byoca_log(BYOCA_LOG_ERROR,
              "cert %lld tenant %lld: cannot remove all of its deployed"
              " files (" DEPLOY_FILES ") under %s",
              (long long)cert_id, (long long)tenant_id, m->cfg.deploy_dir);
  free(dst);
  free(adir);
}

void mgr_deploy_sweep(struct byoca_manager *m) {
  /* <deploy_dir>/<tenant>/{live,archive/<id>}/<temp> */
  int n = m->cfg.deploy_dir != NULL ? byoca_tmp_sweep(m->cfg.deploy_dir, 3) : 0;
  if (n > 0)
    byoca_log(BYOCA_LOG_INFO,
              "removed %d temp file(s) a killed byocad left in %s", n,
              m->cfg.deploy_dir);
}

static int deploy_res(struct mgr_job *j, const struct byoca_order_result *res,
                      struct byoca_err *err) {
  struct byoca_buf key;
  byoca_buf_init(&key, 0);
  int rc = byoca_key_private_pem(res->key, &key, err);
  if (rc == 0) {
    struct byoca_secret s = {(unsigned char *)key.data, key.len};
    rc = mgr_deploy_files(j->m, j->tenant_id, j->cert_id, res->fullchain_pem,
                          &s, res->cert_pem,
                          res->chain_pem != NULL ? res->chain_pem : "", err);
  }
  byoca_buf_free_secret(&key);
  return rc;
}

static void on_hook(void *arg, int wstatus, const char *output) {
  struct mgr_job *j = arg;
  if (!WIFEXITED(wstatus) || WEXITSTATUS(wstatus) != 0) {
    char safe[256];
    byoca_str_sanitize(output != NULL ? output : "", safe, sizeof(safe));
    byoca_log(BYOCA_LOG_WARN,
              "cert %lld tenant %lld: the deploy hook failed (status %d): %s",
              (long long)j->cert_id, (long long)j->tenant_id,
              WIFEXITED(wstatus) ? WEXITSTATUS(wstatus)
                                 : 128 + WTERMSIG(wstatus),
              safe);
  }
  if (mgr_job_op_done(j))
    return;
  mgr_job_end(j);
}

/* The environment byoca(1) gives deploy hooks, for this lineage. */
static int hook_env(const struct mgr_job *j, char **env, size_t max) {
  const struct byoca_manager *m = j->m;
  char *dir = m->cfg.deploy_dir != NULL ? live_dir(m, j->tenant_id, j->cert_id)
                                        : byoca_strdup("");
  struct byoca_buf domains;
  size_t n = 0;
  if (dir == NULL || max < 10)
    return -1;
  byoca_buf_init(&domains, 0);
  for (size_t i = 0; i < j->nnames; i++)
    (void)!byoca_buf_appendf(&domains, "%s%s", i ? " " : "", j->names[i]);
  const char *sep = dir[0] != '\0' ? "/" : "";
  env[n++] = byoca_asprintf("RENEWED_LINEAGE=%s", dir);
  env[n++] = byoca_asprintf("RENEWED_DOMAINS=%s",
                            domains.data != NULL ? domains.data : "");
  env[n++] = byoca_asprintf("BYOCA_CERT_NAME=%lld", (long long)j->cert_id);
  env[n++] = byoca_asprintf("BYOCA_CERT_ID=%lld", (long long)j->cert_id);
  env[n++] = byoca_asprintf("BYOCA_TENANT=%lld", (long long)j->tenant_id);
  env[n++] = byoca_asprintf("BYOCA_CERT_PATH=%s%scert.pem", dir, sep);
  env[n++] = byoca_asprintf("BYOCA_KEY_PATH=%s%sprivkey.pem", dir, sep);
  env[n++] = byoca_asprintf("BYOCA_CHAIN_PATH=%s%schain.pem", dir, sep);
  env[n++] = byoca_asprintf("BYOCA_FULLCHAIN_PATH=%s%sfullchain.pem", dir, sep);
  env[n] = NULL;
  byoca_buf_free(&domains);
  free(dir);
  for (size_t i = 0; i < n; i++)
    if (env[i] == NULL)
      return -1;
  return 0;
}

static int run_hook(struct mgr_job *j, struct byoca_err *err) {
  char *env[12] = {0};
  char *argv[] = {"/bin/sh", "-c", j->m->cfg.deploy_hook, NULL};
  int rc = hook_env(j, env, sizeof(env) / sizeof(*env));
  if (rc != 0)
    rc = byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
  else
    rc = byoca_proc_run(j->m->loop, argv, env, j->m->cfg.hook_timeout_ms,
                        on_hook, j, err);
  for (size_t i = 0; i < sizeof(env) / sizeof(*env); i++)
    free(env[i]);
  return rc;
}

void mgr_deploy(struct mgr_job *j, const struct byoca_order_result *res) {
  struct byoca_err e = {0};
  if (deploy_res(j, res, &e) != 0) {
    mgr_job_log(j, BYOCA_LOG_ERROR, "cannot write the live files: %s", e.msg);
    byoca_err_clear(&e);
  }
  if (j->m->cfg.deploy_hook == NULL) {
    mgr_job_end(j);
    return;
  }
  mgr_attempt_release(j); /* the CA's slot is free while the hook runs */
  j->deploying = 1;
  j->pending++;
  if (run_hook(j, &e) != 0) {
    j->pending--;
    mgr_job_log(j, BYOCA_LOG_ERROR, "cannot run the deploy hook: %s", e.msg);
    byoca_err_clear(&e);
    mgr_job_end(j);
  }
}
