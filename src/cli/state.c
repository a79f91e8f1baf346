/* The state directory: accounts/<server>/ (key.pem 0600, account.json),
 * renewal/<name>.json (what a lineage asks for and what it holds), and the
 * certbot-compatible live/<name>/ files (live.c). */
#include <ctype.h>
#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define ACCOUNT_KEY "key.pem"
#define ACCOUNT_JSON "account.json"
#define MAX_STATE_FILE (1024 * 1024)

/* accounts/<host>[_<port>]-<8 hex of sha256(url)> */
static char *account_dir(const char *state, const char *server) {
  unsigned char h[32];
  char *scheme = NULL, *host = NULL, id[160];
  int port = 0;
  if (byoca_url_split(server, &scheme, &host, &port) != 0 ||
      byoca_sha256(server, strlen(server), h) != 0) {
    free(scheme);
    free(host);
    return NULL;
  }
  size_t n = 0;
  for (const char *p = host; *p != '\0' && n < 100; p++)
    id[n++] = isalnum((unsigned char)*p) || *p == '.' || *p == '-' ? *p : '_';
  id[n] = '\0';
  char *dir = byoca_asprintf("%s/accounts/%s%s%.0d-%02x%02x%02x%02x", state, id,
                             port ? "_" : "", port, h[0], h[1], h[2], h[3]);
  free(scheme);
  free(host);
  return dir;
}

static int read_json(const char *path, json_t **out, struct byoca_err *err) {
  char *text = NULL;
  size_t len = 0;
  int rc = byoca_file_read(path, MAX_STATE_FILE, &text, &len, err);
  if (rc != 0)
    return rc;
  json_error_t je;
  *out = json_loadb(text, len, 0, &je);
  free(text);
  if (!json_is_object(*out)) {
    json_decref(*out);
    return byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_INPUT,
                         "%s is damaged: %s (line %d)", path, je.text, je.line);
  }
  return 0;
}

static int write_json(const char *path, json_t *j, unsigned mode,
                      struct byoca_err *err) {
  char *text = json_dumps(j, JSON_INDENT(2) | JSON_SORT_KEYS);
  if (text == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  size_t len = strlen(text);
  text[len] = '\0';
  char *withnl = byoca_asprintf("%s\n", text);
  free(text);
  if (withnl == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  int rc = byoca_file_write_atomic(path, withnl, strlen(withnl), mode, err);
  free(withnl);
  return rc;
}

/* ---- accounts ---- */

static int account_new_key(struct cli_account *a, struct byoca_err *err) {
  struct byoca_buf pem;
  char *path = byoca_asprintf("%s/%s", a->dir, ACCOUNT_KEY);
  int rc = BYOCA_E_NOMEM;
  byoca_buf_init(&pem, 0);
  if (path == NULL)
    return byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL, "out of memory");
  if ((rc = byoca_mkdir_p(a->dir, 0700, err)) == 0 &&
      (rc = byoca_key_generate(BYOCA_KEY_EC256, &a->key, err)) == 0 &&
      (rc = byoca_key_private_pem(a->key, &pem, err)) == 0)
    rc = byoca_file_write_atomic(path, pem.data, pem.len, 0600, err);
  byoca_buf_free_secret(&pem);
  free(path);
  return rc;
}

int cli_account_load(const char *state, const char *server, int create,
                     struct cli_account *out, struct byoca_err *err) {
  json_t *j = NULL;
  memset(out, 0, sizeof(*out));
  if ((out->dir = account_dir(state, server)) == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "invalid server URL '%.200s'", server);
  char *key = byoca_asprintf("%s/%s", out->dir, ACCOUNT_KEY);
  char *meta = byoca_asprintf("%s/%s", out->dir, ACCOUNT_JSON);
  int rc = BYOCA_E_NOMEM;
  if (key == NULL || meta == NULL)
    goto out;
  if (access(key, F_OK) != 0) {
    if (!create) {
      rc = byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "no account for %.200s in %s; register one with"
                         " 'byoca account register'",
                         server, state);
      goto out;
    }
    rc = account_new_key(out, err);
    goto out;
  }
  if ((rc = byoca_key_load_file(key, &out->key, err)) != 0)
    goto out;
  if (access(meta, F_OK) == 0) {
    if ((rc = read_json(meta, &j, err)) != 0)
      goto out;
    out->url = byoca_strdup(json_string_value(json_object_get(j, "url")));
    out->deactivated = json_is_true(json_object_get(j, "deactivated"));
    out->issuer = byoca_strdup(json_string_value(json_object_get(j, "issuer")));
  }
  rc = 0;
out:
  if (rc == BYOCA_E_NOMEM && err != NULL && err->code == 0)
    byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL, "out of memory");
  json_decref(j);
  free(key);
  free(meta);
  if (rc != 0)
    cli_account_free(out);
  return rc;
}

int cli_account_save(const struct cli_account *a, struct byoca_err *err) {
  char *path = byoca_asprintf("%s/%s", a->dir, ACCOUNT_JSON);
  json_t *j = json_pack("{s:s?,s:s?,s:b}", "url", a->url, "issuer", a->issuer,
                        "deactivated", a->deactivated);
  int rc = path != NULL && j != NULL
               ? write_json(path, j, 0600, err)
               : byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                               "out of memory");
  json_decref(j);
  free(path);
  return rc;
}

void cli_account_free(struct cli_account *a) {
  byoca_key_free(a->key);
  free(a->dir);
  free(a->url);
  free(a->issuer);
  memset(a, 0, sizeof(*a));
}

/* ---- lineages ---- */

int cli_name_check(const char *name, struct byoca_err *err) {
  size_t n = strlen(name);
  int ok = n > 0 && n <= 200 && name[0] != '.' && name[0] != '-';
  for (size_t i = 0; ok && i < n; i++)
    ok = isalnum((unsigned char)name[i]) || strchr(".-_", name[i]) != NULL;
  if (ok && strstr(name, "..") != NULL)
    ok = 0;
  if (ok)
    return 0;
  char safe[64];
  byoca_str_sanitize(name, safe, sizeof(safe));
  return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                       "invalid certificate name \"%s\": use letters, digits,"
                       " '.', '-' and '_'",
                       safe);
}

static char *lineage_path(const char *state, const char *name) {
  return byoca_asprintf("%s/renewal/%s.json", state, name);
}

static char *jstr(const json_t *o, const char *k) {
  return byoca_strdup(json_string_value(json_object_get(o, k)));
}

static void set_opt_str(json_t *j, const char *k, const char *v) {
  if (v != NULL)
    json_object_set_new(j, k, json_string(v));
}

static int64_t jint(const json_t *o, const char *k) {
  return json_integer_value(json_object_get(o, k));
}

/* The renewal schedule (renewal.c); source is one of two static strings. */
static void schedule_load(struct cli_lineage *l, const json_t *j) {
  const char *src = json_string_value(json_object_get(j, "renew_source"));
  l->cert_id = jstr(j, "cert_id");
  l->cert_server = jstr(j, "cert_server");
  l->ari_explanation = jstr(j, "ari_explanation_url");
  l->sched.at = jint(j, "renew_at");
  l->sched.source = src != NULL && strcmp(src, "ari") == 0 ? "ari" : "lifetime";
  l->sched.ari_start = jint(j, "ari_window_start");
  l->sched.ari_end = jint(j, "ari_window_end");
  l->sched.next_check = jint(j, "ari_next_check");
  l->sched.failures = (int)jint(j, "ari_failures");
}

static void schedule_save(const struct cli_lineage *l, json_t *j) {
  set_opt_str(j, "cert_id", l->cert_id);
  set_opt_str(j, "cert_server", l->cert_server);
  set_opt_str(j, "ari_explanation_url", l->ari_explanation);
  if (l->sched.at == 0)
    return;
  json_object_set_new(j, "renew_at", json_integer(l->sched.at));
  set_opt_str(j, "renew_source", l->sched.source);
  json_object_set_new(j, "ari_window_start", json_integer(l->sched.ari_start));
  json_object_set_new(j, "ari_window_end", json_integer(l->sched.ari_end));
  json_object_set_new(j, "ari_next_check", json_integer(l->sched.next_check));
  json_object_set_new(j, "ari_failures", json_integer(l->sched.failures));
}

int cli_lineage_load(const char *state, const char *name, struct cli_lineage *l,
                     struct byoca_err *err) {
  json_t *j = NULL;
  memset(l, 0, sizeof(*l));
  if (cli_name_check(name, err) != 0)
    return BYOCA_E_INVAL;
  char *path = lineage_path(state, name);
  if (path == NULL)
    return BYOCA_E_NOMEM;
  if (access(path, F_OK) != 0) {
    int rc = byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                           "no certificate named \"%s\" in %s", name, state);
    free(path);
    return rc;
  }
  int rc = read_json(path, &j, err);
  free(path);
  if (rc != 0)
    return rc;
  l->name = strdup(name);
  json_t *names = json_object_get(j, "names");
  size_t n = json_array_size(names);
  l->names = calloc(n + 1, sizeof(char *));
  for (size_t i = 0; l->names != NULL && i < n; i++)
    if ((l->names[l->nnames] =
             byoca_strdup(json_string_value(json_array_get(names, i)))) != NULL)
      l->nnames++;
  l->server = jstr(j, "server");
  l->key_type = jstr(j, "key_type");
  l->preferred_chain = jstr(j, "preferred_chain");
  l->profile = jstr(j, "profile");
  l->profile_required = json_is_true(json_object_get(j, "profile_required"));
  l->issued_profile = jstr(j, "issued_profile");
  l->webroot = jstr(j, "webroot");
  l->http_addr = jstr(j, "http_addr");
  l->http_port = (int)json_integer_value(json_object_get(j, "http_port"));
  l->hook = jstr(j, "hook");
  l->hook_types = jstr(j, "hook_types");
  l->tls_alpn = jstr(j, "tls_alpn");
  l->challenge_order = jstr(j, "challenge_order");
  l->deploy_hook = jstr(j, "deploy_hook");
  l->ca_bundle = jstr(j, "ca_bundle");
  l->serial = jstr(j, "serial");
  l->not_before = json_integer_value(json_object_get(j, "not_before"));
  l->not_after = json_integer_value(json_object_get(j, "not_after"));
  l->revoked = json_is_true(json_object_get(j, "revoked"));
  l->ca_auto = json_is_true(json_object_get(j, "ca_auto"));
  l->issuer = jstr(j, "issuer");
  l->last_attempt = json_integer_value(json_object_get(j, "last_attempt"));
  l->last_outcome = jstr(j, "last_outcome");
  schedule_load(l, j);
  json_decref(j);
  if (l->nnames == 0 || l->server == NULL) {
    cli_lineage_free(l);
    return byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_INPUT,
                         "renewal/%s.json lacks names or server", name);
  }
  return 0;
}

int cli_lineage_save(const char *state, const struct cli_lineage *l,
                     struct byoca_err *err) {
  json_t *j = json_object(), *names = json_array();
  for (size_t i = 0; i < l->nnames; i++)
    json_array_append_new(names, json_string(l->names[i]));
  json_object_set_new(j, "names", names);
  set_opt_str(j, "server", l->server);
  set_opt_str(j, "key_type", l->key_type);
  set_opt_str(j, "preferred_chain", l->preferred_chain);
  set_opt_str(j, "profile", l->profile);
  if (l->profile_required)
    json_object_set_new(j, "profile_required", json_true());
  set_opt_str(j, "issued_profile", l->issued_profile);
  set_opt_str(j, "webroot", l->webroot);
  set_opt_str(j, "http_addr", l->http_addr);
  if (l->http_port != 0)
    json_object_set_new(j, "http_port", json_integer(l->http_port));
  set_opt_str(j, "hook", l->hook);
  set_opt_str(j, "hook_types", l->hook_types);
  set_opt_str(j, "tls_alpn", l->tls_alpn);
  set_opt_str(j, "challenge_order", l->challenge_order);
  set_opt_str(j, "deploy_hook", l->deploy_hook);
  set_opt_str(j, "ca_bundle", l->ca_bundle);
  set_opt_str(j, "serial", l->serial);
  json_object_set_new(j, "not_before", json_integer(l->not_before));
  json_object_set_new(j, "not_after", json_integer(l->not_after));
  json_object_set_new(j, "revoked", json_boolean(l->revoked));
  json_object_set_new(j, "ca_auto", json_boolean(l->ca_auto));
  set_opt_str(j, "issuer", l->issuer);
  if (l->last_attempt != 0)
    json_object_set_new(j, "last_attempt", json_integer(l->last_attempt));
  set_opt_str(j, "last_outcome", l->last_outcome);
  schedule_save(l, j);
  char *dir = byoca_asprintf("%s/renewal", state);
  char *path = lineage_path(state, l->name);
  int rc = dir == NULL || path == NULL
               ? byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                               "out of memory")
               : byoca_mkdir_p(dir, 0700, err);
  if (rc == 0)
    rc = write_json(path, j, 0600, err);
  json_decref(j);
  free(dir);
  free(path);
  return rc;
}

void cli_lineage_free(struct cli_lineage *l) {
  if (l == NULL)
    return;
  free(l->name);
  for (size_t i = 0; i < l->nnames; i++)
    free(l->names[i]);
  free(l->names);
  free(l->server);
  free(l->key_type);
  free(l->preferred_chain);
  free(l->profile);
  free(l->issued_profile);
  free(l->webroot);
  free(l->http_addr);
  free(l->hook);
  free(l->hook_types);
  free(l->tls_alpn);
  free(l->challenge_order);
  free(l->deploy_hook);
  free(l->ca_bundle);
  free(l->serial);
  free(l->issuer);
  free(l->cert_id);
  free(l->cert_server);
  free(l->ari_explanation);
  free(l->last_outcome);
  memset(l, 0, sizeof(*l));
}

static int cmp_str(const void *a, const void *b) {
  return strcmp(*(char *const *)a, *(char *const *)b);
}

int cli_lineage_list(const char *state, char ***out, size_t *n,
                     struct byoca_err *err) {
  char *dir = byoca_asprintf("%s/renewal", state);
  DIR *d = dir != NULL ? opendir(dir) : NULL;
  size_t cap = 0;
  *out = NULL;
  *n = 0;
  free(dir);
  if (d == NULL)
    return 0; /* no lineages yet */
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    size_t len = strlen(e->d_name);
    if (len < 6 || strcmp(e->d_name + len - 5, ".json") != 0 ||
        e->d_name[0] == '.')
      continue;
    if (*n == cap) {
      cap = cap ? cap * 2 : 16;
      char **nv = realloc(*out, cap * sizeof(char *));
      if (nv == NULL) {
        closedir(d);
        byoca_strv_free(*out, *n);
        *out = NULL;
        *n = 0;
        return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                             "out of memory");
      }
      *out = nv;
    }
    (*out)[(*n)++] = strndup(e->d_name, len - 5);
  }
  closedir(d);
  if (*n > 0)
    qsort(*out, *n, sizeof(char *), cmp_str);
  return 0;
}

int64_t cli_due_time(int64_t not_before, int64_t not_after) {
  return byoca_renewal_due_lifetime(not_before, not_after);
}

json_t *cli_state_json_load(const char *state, const char *file) {
  char *p = byoca_asprintf("%s/%s", state, file);
  json_t *j = p != NULL ? json_load_file(p, 0, NULL) : NULL;
  free(p);
  if (!json_is_object(j)) {
    json_decref(j);
    j = json_object();
  }
  return j;
}

int cli_state_json_save(const char *state, const char *file, json_t *j,
                        struct byoca_err *err) {
  char *p = byoca_asprintf("%s/%s", state, file);
  int rc = p == NULL ? byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                                     "out of memory")
                     : byoca_mkdir_p(state, 0700, err);
  if (rc == 0)
    rc = write_json(p, j, 0600, err);
  free(p);
  return rc;
}

void cli_lineage_attempt(struct cli_lineage *l, const char *outcome) {
  l->last_attempt = byoca_now();
  free(l->last_outcome);
  l->last_outcome = byoca_strdup(outcome);
}

void cli_lineage_failed(const char *state, const char *name,
                        const char *outcome) {
  struct cli_lineage l;
  struct byoca_err e = {0};
  if (cli_lineage_load(state, name, &l, &e) != 0) {
    byoca_err_clear(&e);
    return;
  }
  if (l.serial != NULL) {
    cli_lineage_attempt(&l, outcome);
    if (cli_lineage_save(state, &l, &e) != 0) {
      cli_error_err(&e);
      byoca_err_clear(&e);
    }
  }
  cli_lineage_free(&l);
}
