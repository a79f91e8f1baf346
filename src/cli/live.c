/* The certbot-compatible live layout. Each issuance is written to
 * archive/<name>/<version>/ (privkey.pem 0600, cert.pem, chain.pem,
 * fullchain.pem) as a set: in a temp folder, each file fsynced, renamed
 * into place. Then live/<name> — a symlink to that version — is replaced
 * by rename, so readers see the old set or the new set, never a mix or a
 * partial file, and a version folder that exists is complete. A process
 * killed on the way leaves only temps, which cli_state_sweep removes at the
 * next run. The previous version is kept; older ones are removed. */
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

/* The version folder, written as a set (byoca_dir_write_atomic): it
 * exists with all four files or not at all. */
static int write_version(const char *vdir, const struct byoca_order_result *r,
                         struct byoca_err *err) {
  struct byoca_buf key;
  byoca_buf_init(&key, 0);
  int rc = byoca_key_private_pem(r->key, &key, err);
  if (rc != 0)
    return rc;
  const struct byoca_file_ent files[] = {
      {"privkey.pem", key.data, key.len, 0600},
      {"cert.pem", r->cert_pem, strlen(r->cert_pem), 0644},
      {"chain.pem", r->chain_pem, strlen(r->chain_pem), 0644},
      {"fullchain.pem", r->fullchain_pem, strlen(r->fullchain_pem), 0644},
  };
  rc = byoca_dir_write_atomic(vdir, 0700, files, sizeof(files) / sizeof(*files),
                              err);
  byoca_buf_free_secret(&key);
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

/* Keeps the live version cur and the newest KEEP_VERSIONS - 1 others
 * (names sort by time; cur stays even if a clock set back made its name
 * sort lower). */
static void prune(const char *adir, const char *cur) {
  DIR *d = opendir(adir);
  char *names[256];
  size_t n = 0;
  struct dirent *e;
  while (d != NULL && (e = readdir(d)) != NULL && n < 256)
    if (e->d_name[0] != '.' && strcmp(e->d_name, cur) != 0 &&
        (names[n] = strdup(e->d_name)) != NULL)
      n++;
  if (d != NULL)
    closedir(d);
  qsort(names, n, sizeof(char *), cmp_desc);
  for (size_t i = 0; i < n; i++) {
    if (i >= KEEP_VERSIONS - 1) {
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
  char *dst = byoca_asprintf("%s/live/%s", state, name);
  /* one link at a time per process: the pid makes the name unique */
  char *tmp = dst != NULL ? byoca_tmp_template(dst) : NULL;
  size_t tl = tmp != NULL ? strlen(tmp) : 0;
  if (tl > 6)
    memcpy(tmp + tl - 6, "link00", 6);
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
  if ((rc = byoca_mkdir_p(adir, 0700, err)) != 0)
    goto out;
  if ((rc = write_version(vdir, r, err)) != 0) {
    (void)rmdir(adir); /* nothing was made: a new lineage leaves no folder */
    goto out;
  }
  if ((rc = switch_link(state, name, ver, err)) != 0) {
    remove_tree(vdir); /* live/ still points at the previous version */
    (void)rmdir(adir); /* only if that left it empty */
    goto out;
  }
  prune(adir, ver);
out:
  free(adir);
  free(vdir);
  return rc;
}

/* Temps of the whole state folder but archive/'s lineage folders: the
 * root, live/, renewal/, accounts/<server>/ and archive/ itself. */
static int sweep_shared(const char *state) {
  int n = byoca_tmp_sweep(state, 0);
  DIR *d = opendir(state);
  if (d == NULL)
    return n;
  struct dirent *e;
  while ((e = readdir(d)) != NULL) {
    if (e->d_name[0] == '.' || (e->d_type != DT_DIR && e->d_type != DT_UNKNOWN))
      continue; /* temps (dot names) were handled above */
    char *sub = byoca_asprintf("%s/%s", state, e->d_name);
    if (sub != NULL)
      n += byoca_tmp_sweep(sub, strcmp(e->d_name, "archive") == 0 ? 0 : 2);
    free(sub);
  }
  closedir(d);
  return n;
}

void cli_state_sweep(const char *state, const struct cli_job *jobs, size_t n) {
  /* <state>/archive/<name>/<temp>, <state>/live/<temp>, accounts, ... */
  int removed = 0;
  if (jobs == NULL) {
    removed = byoca_tmp_sweep(state, 3);
  } else {
    removed = sweep_shared(state);
    for (size_t i = 0; i < n; i++) {
      char *adir = byoca_asprintf("%s/archive/%s", state, jobs[i].lin->name);
      if (adir != NULL)
        removed += byoca_tmp_sweep(adir, 0);
      free(adir);
    }
  }
  if (removed > 0)
    byoca_log(BYOCA_LOG_INFO,
              "removed %d temp file(s) a killed byoca left in %s", removed,
              state);
}
