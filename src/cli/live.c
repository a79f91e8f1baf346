/* The certbot-compatible live layout. Each issuance is written to
 * archive/<name>/<version>/ (privkey.pem 0600, cert.pem, chain.pem,
 * fullchain.pem, each fsynced), then live/<name> — a symlink to that
 * version — is replaced by rename, so readers see the old set or the new
 * set, never a mix or a partial file. The previous version is kept; older
 * ones are removed. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

#define KEEP_VERSIONS 2

char *cli_live_path(const char *state, const char *name, const char *file) {
  return byoca_asprintf("%s/live/%s/%s", state, name, file);
}

static int write_version(const char *vdir, const struct byoca_order_result *r,
                         struct byoca_err *err) {
  struct byoca_buf key;
  const struct {
    const char *file;
    const char *data;
  } pub[] = {{"cert.pem", r->cert_pem},
             {"chain.pem", r->chain_pem},
             {"fullchain.pem", r->fullchain_pem}};
  int rc;
  byoca_buf_init(&key, 0);
  if ((rc = byoca_key_private_pem(r->key, &key, err)) != 0)
    return rc;
  char *p = byoca_asprintf("%s/privkey.pem", vdir);
  rc = p != NULL ? byoca_file_write_atomic(p, key.data, key.len, 0600, err)
                 : BYOCA_E_NOMEM;
  free(p);
  byoca_buf_free_secret(&key);
  for (size_t i = 0; rc == 0 && i < sizeof(pub) / sizeof(*pub); i++) {
    p = byoca_asprintf("%s/%s", vdir, pub[i].file);
    rc = p != NULL ? byoca_file_write_atomic(p, pub[i].data,
                                             strlen(pub[i].data), 0644, err)
                   : BYOCA_E_NOMEM;
    free(p);
  }
  return rc;
}

static void remove_tree(const char *dir) {
  DIR *d = opendir(dir);
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    char *p = byoca_asprintf("%s/%s", dir, e->d_name);
    if (p != NULL)
      unlink(p);
    free(p);
  }
  if (d != NULL)
    closedir(d);
  rmdir(dir);
}

static int cmp_desc(const void *a, const void *b) {
  return strcmp(*(char *const *)b, *(char *const *)a);
}

/* Keeps the newest KEEP_VERSIONS versions (names sort by time). */
static void prune(const char *adir) {
  DIR *d = opendir(adir);
  char *names[256];
  size_t n = 0;
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL && n < 256)
    if (e->d_name[0] != '.')
      names[n++] = strdup(e->d_name);
  if (d != NULL)
    closedir(d);
  qsort(names, n, sizeof(char *), cmp_desc);
  for (size_t i = 0; i < n; i++) {
    if (i >= KEEP_VERSIONS && names[i] != NULL) {
      char *p = byoca_asprintf("%s/%s", adir, names[i]);
      if (p != NULL)
        remove_tree(p);
      free(p);
    }
    free(names[i]);
  }
}

static int switch_link(const char *state, const char *name, const char *ver,
                       struct byoca_err *err) {
  char *ldir = byoca_asprintf("%s/live", state);
  char *tmp = byoca_asprintf("%s/live/.%s.new", state, name);
  char *dst = byoca_asprintf("%s/live/%s", state, name);
  char *target = byoca_asprintf("../archive/%s/%s", name, ver);
  int rc = 0;
  if (ldir == NULL || tmp == NULL || dst == NULL || target == NULL) {
    rc = byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
    goto out;
  }
  if ((rc = byoca_mkdir_p(ldir, 0755, err)) != 0)
    goto out;
  unlink(tmp);
  if (symlink(target, tmp) != 0 || rename(tmp, dst) != 0) {
    rc = byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_INPUT,
                       "cannot update %s: %s", dst, strerror(errno));
    unlink(tmp);
    goto out;
  }
  int fd = open(ldir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd >= 0) {
    fsync(fd);
    close(fd);
  }
out:
  free(ldir);
  free(tmp);
  free(dst);
  free(target);
  return rc;
}

int cli_live_write(const char *state, const char *name,
                   const struct byoca_order_result *r, struct byoca_err *err) {
  char ver[64], stamp[32];
  byoca_time_format_rfc3339(byoca_now(), stamp, sizeof(stamp));
  snprintf(ver, sizeof(ver), "%s-%.16s", stamp, r->serial);
  for (char *c = ver; *c != '\0'; c++)
    if (*c == ':')
      *c = '-';
  char *adir = byoca_asprintf("%s/archive/%s", state, name);
  char *vdir = byoca_asprintf("%s/archive/%s/%s", state, name, ver);
  int rc = BYOCA_E_NOMEM;
  if (adir == NULL || vdir == NULL) {
    byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL, "out of memory");
    goto out;
  }
  if ((rc = byoca_mkdir_p(vdir, 0700, err)) != 0)
    goto out;
  if ((rc = write_version(vdir, r, err)) != 0 ||
      (rc = switch_link(state, name, ver, err)) != 0) {
    remove_tree(vdir); /* nothing half-written stays behind */
    goto out;
  }
  prune(adir);
out:
  free(adir);
  free(vdir);
  return rc;
}
