/* Any challenge type through an operator's hook program (typically dns-01
 * through a DNS provider's API): run it as "PATH setup|cleanup" with the
 * challenge in its environment, on the loop, and turn its exit status into
 * the solver's result.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "byoca/solve.h"
#include "byoca/util.h"
#include "solve_int.h"

#define TYPES_MAX 16
#define LINE_SHOWN 200 /* bytes of the hook's last line put in errors */

struct hook {
  struct byoca_loop *loop;
  char *path;
  char *types[TYPES_MAX];
  size_t ntypes;
  int64_t timeout_ms;
};

/* One running hook; owns copies of what the result message names, so the
 * solver may be freed while it runs. */
struct call {
  byoca_solve_cb cb;
  void *arg;
  char *path;
  char *ident;
  const char *action; /* static string */
};

static int nomem(struct byoca_err *err) {
  return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                       "out of memory");
}

static void call_free(struct call *c) {
  if (!c)
    return;
  free(c->path);
  free(c->ident);
  free(c);
}

/* The last non-empty line of out, sanitised into line. */
static void last_line(const char *out, char *line, size_t len) {
  size_t n = strlen(out);
  while (n > 0 && strchr(" \t\r\n", out[n - 1]))
    n--;
  size_t start = n;
  while (start > 0 && out[start - 1] != '\n')
    start--;
  char raw[LINE_SHOWN + 1];
  size_t take = n - start < LINE_SHOWN ? n - start : LINE_SHOWN;
  memcpy(raw, out + start, take);
  raw[take] = '\0';
  if (take == 0)
    byoca_strlcpy(raw, "(no output)", sizeof(raw));
  byoca_str_sanitize(raw, line, len);
}

static void hook_done(void *arg, int wstatus, const char *output) {
  struct call *c = arg;
  struct byoca_err e = {0};
  char line[LINE_SHOWN + 1];
  byoca_solve_cb cb = c->cb;
  void *cbarg = c->arg;
  if (WIFEXITED(wstatus) && WEXITSTATUS(wstatus) == 0) {
    call_free(c);
    cb(cbarg, NULL);
    return;
  }
  last_line(output, line, sizeof(line));
  if (WIFSIGNALED(wstatus))
    byoca_err_set(&e, BYOCA_E_HOOK, BYOCA_CLASS_INPUT,
                  "hook %s %s for %s killed by signal %d (timeout?): %s",
                  c->path, c->action, c->ident, WTERMSIG(wstatus), line);
  else
    byoca_err_set(&e, BYOCA_E_HOOK, BYOCA_CLASS_INPUT,
                  "hook %s %s for %s failed (exit %d): %s", c->path, c->action,
                  c->ident, WIFEXITED(wstatus) ? WEXITSTATUS(wstatus) : -1,
                  line);
  call_free(c);
  cb(cbarg, &e);
  byoca_err_clear(&e);
}

static const char *or_empty(const char *s) {
  return s ? s : "";
}

/* Fills env (11 slots) with allocated "K=V" strings; NULL-terminated. */
static int make_env(const struct byoca_challenge *ch, const char *action,
                    char **env) {
  size_t n = 0;
  env[n++] = byoca_asprintf("BYOCA_ACTION=%s", action);
  env[n++] = byoca_asprintf("BYOCA_CHALLENGE_TYPE=%s", or_empty(ch->type));
  env[n++] = byoca_asprintf("BYOCA_IDENTIFIER=%s", or_empty(ch->identifier));
  env[n++] =
      byoca_asprintf("BYOCA_IDENTIFIER_TYPE=%s", or_empty(ch->ident_type));
  env[n++] = byoca_asprintf("BYOCA_WILDCARD=%d", ch->wildcard ? 1 : 0);
  env[n++] = byoca_asprintf("BYOCA_RECORD_NAME=%s", or_empty(ch->record_name));
  env[n++] = byoca_asprintf("BYOCA_RECORD_VALUE=%s", or_empty(ch->dns_value));
  env[n++] = byoca_asprintf("BYOCA_TOKEN=%s", or_empty(ch->token));
  env[n++] =
      byoca_asprintf("BYOCA_KEY_AUTHORIZATION=%s", or_empty(ch->key_authz));
  env[n++] =
      byoca_asprintf("BYOCA_ACCOUNT_LABEL=%s", or_empty(ch->account_label));
  env[n] = NULL;
  for (size_t i = 0; i < n; i++)
    if (!env[i])
      return BYOCA_E_NOMEM;
  return 0;
}

static int run(struct hook *h, const struct byoca_challenge *ch,
               const char *action, byoca_solve_cb cb, void *arg,
               struct byoca_err *err) {
  char *env[11] = {0};
  char act[16];
  char *argv[] = {h->path, act, NULL};
  int rc = BYOCA_E_NOMEM;
  struct call *c = calloc(1, sizeof(*c));
  if (!c || make_env(ch, action, env) != 0)
    goto oom;
  c->cb = cb;
  c->arg = arg;
  c->action = action;
  c->path = byoca_strdup(h->path);
  c->ident = byoca_strdup(ch->identifier ? ch->identifier : "?");
  if (!c->path || !c->ident)
    goto oom;
  byoca_strlcpy(act, action, sizeof(act));
  rc = byoca_proc_run(h->loop, argv, env, h->timeout_ms, hook_done, c, err);
  if (rc == 0)
    c = NULL; /* hook_done owns it now */
  goto out;
oom:
  nomem(err);
out:
  if (rc)
    byoca_err_activity(err, "running hook %s %s for %s", h->path, action,
                       ch->identifier ? ch->identifier : "?");
  for (size_t i = 0; i < 10; i++)
    free(env[i]);
  call_free(c);
  return rc;
}

static int hk_supports(void *ctx, const char *type) {
  struct hook *h = ctx;
  for (size_t i = 0; i < h->ntypes; i++)
    if (strcmp(h->types[i], type) == 0)
      return 1;
  return 0;
}

static int hk_setup(void *ctx, const struct byoca_challenge *ch,
                    byoca_solve_cb cb, void *arg, struct byoca_err *err) {
  return run(ctx, ch, "setup", cb, arg, err);
}

static int hk_cleanup(void *ctx, const struct byoca_challenge *ch,
                      byoca_solve_cb cb, void *arg, struct byoca_err *err) {
  return run(ctx, ch, "cleanup", cb, arg, err);
}

static void hk_free(void *ctx) {
  struct hook *h = ctx;
  if (!h)
    return;
  free(h->path);
  for (size_t i = 0; i < h->ntypes; i++)
    free(h->types[i]);
  free(h);
}

static const struct byoca_solver_ops hook_ops = {
    .supports = hk_supports,
    .setup = hk_setup,
    .cleanup = hk_cleanup,
    .free = hk_free,
};

/* Splits "dns-01, http-01" into h->types. */
static int parse_types(struct hook *h, const char *types,
                       struct byoca_err *err) {
  const char *p = types;
  while (*p) {
    size_t n = strcspn(p, ",");
    const char *s = p, *e = p + n;
    p = *e ? e + 1 : e;
    while (s < e && (*s == ' ' || *s == '\t'))
      s++;
    while (e > s && (e[-1] == ' ' || e[-1] == '\t'))
      e--;
    if (s == e)
      continue;
    if (h->ntypes == TYPES_MAX)
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                           "too many hook challenge types");
    h->types[h->ntypes] = byoca_asprintf("%.*s", (int)(e - s), s);
    if (!h->types[h->ntypes])
      return nomem(err);
    h->ntypes++;
  }
  if (h->ntypes == 0)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "no challenge type given for the hook");
  return 0;
}

/* The hook must be an executable regular file, checked now rather than at
 * the first challenge. */
static int check_path(const char *path, struct byoca_err *err) {
  struct stat st;
  if (!path || !*path)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "hook path not given");
  if (stat(path, &st) != 0) {
    int e = errno;
    byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT, "hook %s: %s", path,
                  strerror(e));
    byoca_err_native(err, BYOCA_ORIGIN_ERRNO, e);
    return BYOCA_E_INVAL;
  }
  if (!S_ISREG(st.st_mode))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "hook %s is not a regular file", path);
  if (access(path, X_OK) != 0)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "hook %s is not executable", path);
  return 0;
}

struct byoca_solver *byoca_solver_hook(struct byoca_loop *loop,
                                       const char *path, const char *types,
                                       int64_t timeout_ms,
                                       struct byoca_err *err) {
  if (!loop || timeout_ms < 0) {
    byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                  "invalid hook timeout");
    return NULL;
  }
  if (check_path(path, err) != 0)
    return NULL;
  struct hook *h = calloc(1, sizeof(*h));
  if (!h) {
    nomem(err);
    return NULL;
  }
  h->loop = loop;
  h->timeout_ms = timeout_ms;
  h->path = byoca_strdup(path);
  if (!h->path) {
    nomem(err);
    hk_free(h);
    return NULL;
  }
  if (parse_types(h, types ? types : "dns-01,dns-account-01", err) != 0) {
    hk_free(h);
    return NULL;
  }
  return solve_new("hook", &hook_ops, h, err);
}
