/* Deploying a new certificate: the certbot-compatible files
 * <deploy_dir>/<tenant>/live/<cert-id>/{cert,chain,fullchain,privkey}.pem
 * (folders 0700, privkey.pem 0600, each file written atomically), then the
 * operator's deploy hook with the environment byoca(1) gives its hooks.
 * A failed deployment is logged; the certificate stays stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "mgr_int.h"

static char *live_dir(const struct byoca_manager *m, int64_t tenant_id,
                      int64_t cert_id) {
  return byoca_asprintf("%s/%lld/live/%lld", m->cfg.deploy_dir,
                        (long long)tenant_id, (long long)cert_id);
}

static int write_one(const char *dir, const char *file, const void *data,
                     size_t len, unsigned mode, struct byoca_err *err) {
  char *p = byoca_asprintf("%s/%s", dir, file);
  if (p == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
  int rc = byoca_file_write_atomic(p, data, len, mode, err);
  free(p);
  return rc;
}

int mgr_deploy_files(struct byoca_manager *m, int64_t tenant_id,
                     int64_t cert_id, const char *fullchain,
                     const struct byoca_secret *key_pem, const char *cert_pem,
                     const char *chain_pem, struct byoca_err *err) {
  if (m->cfg.deploy_dir == NULL)
    return 0;
  char *dir = live_dir(m, tenant_id, cert_id);
  if (dir == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
  int rc = byoca_mkdir_p(dir, 0700, err);
  /* the key first: a reader never finds a new certificate with an old key
   * for longer than the next two renames */
  if (rc == 0)
    rc = write_one(dir, "privkey.pem", key_pem->data, key_pem->len, 0600, err);
  if (rc == 0)
    rc = write_one(dir, "cert.pem", cert_pem, strlen(cert_pem), 0644, err);
  if (rc == 0)
    rc = write_one(dir, "chain.pem", chain_pem, strlen(chain_pem), 0644, err);
  if (rc == 0)
    rc = write_one(dir, "fullchain.pem", fullchain, strlen(fullchain), 0644,
                   err);
  free(dir);
  return rc;
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
  j->pending++;
  if (run_hook(j, &e) != 0) {
    j->pending--;
    mgr_job_log(j, BYOCA_LOG_ERROR, "cannot run the deploy hook: %s", e.msg);
    byoca_err_clear(&e);
    mgr_job_end(j);
  }
}
