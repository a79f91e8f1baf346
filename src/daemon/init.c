/* `byocad init` and `byocad token`: the state folder, the master key, the
 * store, and operator tokens. A token is shown exactly once: on stdout, or
 * written (mode 0600) to --token-file and then not printed at all. Tokens
 * are never read from the command line. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "bd.h"

#define TOKEN_BUF 128

void bd_report(const struct byoca_err *err) {
  char line[1536];
  if (err->msg[0] == '\0') {
    byoca_log(BYOCA_LOG_ERROR, "failed: %s", byoca_errcode_str(err->code));
    return;
  }
  byoca_err_format(err, line, sizeof(line));
  byoca_log(BYOCA_LOG_ERROR, "%s", line);
}

/* The folder holding path (a file), made 0700 when missing. */
static int parent_dir(const char *path, struct byoca_err *err) {
  char dir[4096];
  const char *slash = strrchr(path, '/');
  if (slash == NULL || slash == path)
    return 0;
  snprintf(dir, sizeof(dir), "%.*s", (int)(slash - path), path);
  return byoca_mkdir_p(dir, 0700, err);
}

static const char *store_file(const char *url) {
  return strncmp(url, "sqlite:", 7) == 0 ? url + 7 : url;
}

int bd_store_open(const struct bd_config *cfg, int create,
                  struct byoca_store **out, struct byoca_err *err) {
  struct byoca_secret mk = {0};
  int rc = 0;
  if (create && ((rc = byoca_mkdir_p(cfg->state_dir, 0700, err)) != 0 ||
                 (rc = parent_dir(cfg->master_key_file, err)) != 0 ||
                 (!byoca_store_url_is_remote(cfg->store) &&
                  (rc = parent_dir(store_file(cfg->store), err)) != 0)))
    return rc;
  rc = byoca_master_key_load(cfg->master_key_file, create, &mk, err);
  if (rc == BYOCA_E_NOTFOUND && !create)
    return byoca_err_set(err, rc, BYOCA_CLASS_INPUT,
                         "no master key at %.300s: run 'byocad init' first",
                         cfg->master_key_file);
  if (rc != 0)
    return rc;
  rc = byoca_store_open(cfg->store, &mk, out, err);
  byoca_secret_free(&mk);
  return rc;
}

/* Shows the token once: into file (0600) or on stdout. */
static int deliver(const char *token, const char *file, struct byoca_err *err) {
  if (file == NULL) {
    if (printf("%s\n", token) < 0 || fflush(stdout) != 0)
      return byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_INTERNAL,
                           "cannot write the token on stdout");
    return 0;
  }
  char line[TOKEN_BUF + 2];
  int n = snprintf(line, sizeof(line), "%s\n", token);
  int rc = byoca_file_write_atomic(file, line, (size_t)n, 0600, err);
  explicit_bzero(line, sizeof(line));
  return rc;
}

/* Mints an operator token and delivers it; revokes it again when it
 * cannot be delivered. */
static int mint_operator(struct byoca_store *s, const char *label,
                         const char *file, struct byoca_err *err) {
  char tok[TOKEN_BUF];
  int64_t id = 0;
  int rc = byoca_store_token_mint(s, 0, label, tok, sizeof(tok), &id, err);
  if (rc != 0)
    return rc;
  rc = deliver(tok, file, err);
  explicit_bzero(tok, sizeof(tok));
  struct byoca_err e = {0};
  if (rc != 0) {
    if (byoca_store_token_revoke(s, 0, id, &e) != 0)
      byoca_err_clear(&e);
    return rc;
  }
  char detail[160];
  snprintf(detail, sizeof(detail), "{\"token_id\":%lld,\"label\":\"%s\"}",
           (long long)id, label);
  if (byoca_store_event_add(s, 0, 0, "token.created", detail, byoca_now(),
                            &e) != 0)
    byoca_err_clear(&e);
  byoca_log(BYOCA_LOG_INFO, "operator token %lld minted%s%.300s", (long long)id,
            file != NULL ? " into " : "", file != NULL ? file : "");
  return 0;
}

static int load(const char *config, struct bd_config *cfg) {
  struct byoca_err e = {0};
  if (bd_config_load(config, cfg, &e) != 0) {
    bd_report(&e);
    byoca_err_clear(&e);
    return -1;
  }
  bd_log_apply(cfg);
  return 0;
}

static int init_tokens(struct byoca_store *s, const char *file,
                       struct byoca_err *err) {
  int64_t n = 0;
  int rc = byoca_store_operator_tokens(s, &n, err);
  if (rc != 0 || n == 0)
    return rc != 0 ? rc : mint_operator(s, "byocad init", file, err);
  byoca_log(BYOCA_LOG_INFO, "an operator token exists already; 'byocad"
                            " token' mints another");
  return 0;
}

int bd_cmd_init(const char *config, const char *token_file) {
  struct bd_config cfg;
  struct byoca_store *s = NULL;
  struct byoca_err e = {0};
  if (load(config, &cfg) != 0)
    return EXIT_USAGE;
  int rc = bd_store_open(&cfg, 1, &s, &e);
  if (rc == 0)
    rc = init_tokens(s, token_file, &e);
  char shown[512];
  byoca_store_url_display(cfg.store, shown, sizeof(shown));
  if (rc == 0)
    byoca_log(BYOCA_LOG_INFO, "byocad initialised: state %.300s, store %.300s",
              cfg.state_dir, shown);
  else
    bd_report(&e);
  byoca_err_clear(&e);
  byoca_store_close(s);
  bd_config_free(&cfg);
  return rc == 0 ? EXIT_OK : EXIT_FAIL;
}

int bd_cmd_token(const char *config, const char *token_file) {
  struct bd_config cfg;
  struct byoca_store *s = NULL;
  struct byoca_err e = {0};
  if (load(config, &cfg) != 0)
    return EXIT_USAGE;
  int rc = bd_store_open(&cfg, 0, &s, &e);
  if (rc == 0)
    rc = mint_operator(s, "byocad token", token_file, &e);
  if (rc != 0)
    bd_report(&e);
  byoca_err_clear(&e);
  byoca_store_close(s);
  bd_config_free(&cfg);
  return rc == 0 ? EXIT_OK : EXIT_FAIL;
}
