/* http-01 through an existing web server (RFC 8555 §8.3): write the key
 * authorization under <dir>/.well-known/acme-challenge/ and remove it, and
 * the folders we created, afterwards.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byoca/solve.h"
#include "byoca/util.h"
#include "solve_int.h"

struct webroot {
  char *wk;    /* <dir>/.well-known */
  char *ac;    /* <dir>/.well-known/acme-challenge */
  int made_wk; /* we created wk and have not removed it yet */
  int made_ac;
};

static int nomem(struct byoca_err *err) {
  return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                       "out of memory");
}

static int missing(const char *path) {
  struct stat st;
  return lstat(path, &st) != 0 && errno == ENOENT;
}

/* Creates the challenge folders that are missing, 0755 whatever the umask,
 * and remembers which. */
static int make_dirs(struct webroot *w, struct byoca_err *err) {
  int need_wk = missing(w->wk);
  int need_ac = need_wk || missing(w->ac);
  if (!need_ac)
    return 0;
  int rc = byoca_mkdir_p(w->ac, 0755, err);
  if (rc)
    return rc;
  if (need_wk) {
    w->made_wk = 1;
    (void)chmod(w->wk, 0755);
  }
  w->made_ac = 1;
  (void)chmod(w->ac, 0755);
  return 0;
}

/* Removes the folders we created, if empty; a folder still holding another
 * challenge stays (and is tried again at the next cleanup). */
static void remove_dirs(struct webroot *w) {
  if (w->made_ac && (rmdir(w->ac) == 0 || errno == ENOENT))
    w->made_ac = 0;
  if (!w->made_ac && w->made_wk && (rmdir(w->wk) == 0 || errno == ENOENT))
    w->made_wk = 0;
}

static int wr_supports(void *ctx, const char *type) {
  (void)ctx;
  return strcmp(type, "http-01") == 0;
}

static int wr_setup(void *ctx, const struct byoca_challenge *ch,
                    byoca_solve_cb cb, void *arg, struct byoca_err *err) {
  struct webroot *w = ctx;
  char *path = NULL;
  int rc;
  /* The token comes from the CA: refuse anything that could leave the
   * folder ("../x", "/x"). */
  if (!solve_token_valid(ch->token))
    return byoca_err_set(err, BYOCA_E_PROTO, BYOCA_CLASS_CA,
                         "http-01 token is not base64url");
  if (!ch->key_authz)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "http-01 key authorization missing");
  path = byoca_asprintf("%s/%s", w->ac, ch->token);
  if (!path)
    return nomem(err);
  rc = make_dirs(w, err);
  if (rc)
    goto out;
  rc = byoca_file_write_atomic(path, ch->key_authz, strlen(ch->key_authz), 0644,
                               err);
  if (rc) {
    remove_dirs(w);
    goto out;
  }
  (void)chmod(path, 0644); /* readable by the web server whatever the umask */
out:
  if (rc)
    byoca_err_activity(err, "writing the http-01 file for %s",
                       ch->identifier ? ch->identifier : "?");
  free(path);
  if (rc == 0)
    cb(arg, NULL);
  return rc;
}

static int wr_cleanup(void *ctx, const struct byoca_challenge *ch,
                      byoca_solve_cb cb, void *arg, struct byoca_err *err) {
  struct webroot *w = ctx;
  if (solve_token_valid(ch->token)) {
    char *path = byoca_asprintf("%s/%s", w->ac, ch->token);
    if (!path)
      return nomem(err);
    if (unlink(path) != 0 && errno != ENOENT) {
      int e = errno;
      byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_INPUT, "cannot remove %s: %s",
                    path, strerror(e));
      byoca_err_native(err, BYOCA_ORIGIN_ERRNO, e);
      free(path);
      return BYOCA_E_IO;
    }
    free(path);
  }
  remove_dirs(w);
  cb(arg, NULL);
  return 0;
}

static void wr_free(void *ctx) {
  struct webroot *w = ctx;
  if (!w)
    return;
  free(w->wk);
  free(w->ac);
  free(w);
}

static const struct byoca_solver_ops webroot_ops = {
    .supports = wr_supports,
    .setup = wr_setup,
    .cleanup = wr_cleanup,
    .free = wr_free,
};

struct byoca_solver *byoca_solver_webroot(const char *dir,
                                          struct byoca_err *err) {
  struct stat st;
  if (!dir || !*dir) {
    byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                  "webroot folder not given");
    return NULL;
  }
  if (stat(dir, &st) != 0) {
    int e = errno;
    byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT, "webroot %s: %s", dir,
                  strerror(e));
    byoca_err_native(err, BYOCA_ORIGIN_ERRNO, e);
    return NULL;
  }
  if (!S_ISDIR(st.st_mode)) {
    byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                  "webroot %s is not a folder", dir);
    return NULL;
  }
  size_t n = strlen(dir);
  while (n > 0 && dir[n - 1] == '/')
    n--; /* "/" becomes "", so paths read "/.well-known" */
  struct webroot *w = calloc(1, sizeof(*w));
  if (w) {
    w->wk = byoca_asprintf("%.*s/.well-known", (int)n, dir);
    w->ac = byoca_asprintf("%.*s/.well-known/acme-challenge", (int)n, dir);
  }
  if (!w || !w->wk || !w->ac) {
    wr_free(w);
    nomem(err);
    return NULL;
  }
  return solve_new("webroot", &webroot_ops, w, err);
}
