/* Files: capped whole-file reads, atomic replacement (temp file in the same
 * folder, fsync, rename, fsync of the folder) and mkdir -p. Errors name the
 * path and the system's reason, never file contents. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byoca/util.h"
#include "util_int.h"

#define PATH_LEN_MAX 4096

int util_err_errno(struct byoca_err *err, int e, const char *what,
                   const char *path) {
  char reason[128];
  if (strerror_r(e, reason, sizeof(reason)) != 0)
    byoca_strlcpy(reason, "unknown error", sizeof(reason));
  int code = e == ENOENT                  ? BYOCA_E_NOTFOUND
             : e == ENOSPC || e == EDQUOT ? BYOCA_E_NOSPACE
                                          : BYOCA_E_IO;
  enum byoca_errclass cls = BYOCA_CLASS_INPUT;
  if (e == EINTR || e == EAGAIN || e == EIO || e == ENOSPC || e == EDQUOT ||
      e == EMFILE || e == ENFILE)
    cls = BYOCA_CLASS_RETRYABLE;
  else if (e == ENOMEM)
    cls = BYOCA_CLASS_INTERNAL;
  byoca_err_set(err, code, cls, "cannot %s %.300s: %s", what, path, reason);
  byoca_err_native(err, BYOCA_ORIGIN_ERRNO, e);
  return code;
}

/* ---- reading ---- */

static int read_fd(int fd, const char *path, size_t max, struct byoca_buf *b,
                   struct byoca_err *err) {
  char chunk[16384];
  int rc = 0;
  for (;;) {
    ssize_t n = read(fd, chunk, sizeof(chunk));
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0) {
      rc = util_err_errno(err, errno, "read", path);
      break;
    }
    if (n == 0)
      break;
    if ((size_t)n > max - b->len) {
      rc = byoca_err_set(err, BYOCA_E_TOOBIG, BYOCA_CLASS_INPUT,
                         "%.300s is larger than %zu bytes", path, max);
      break;
    }
    if ((rc = byoca_buf_append(b, chunk, (size_t)n)) != 0) {
      byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL, "cannot read %.300s: %s",
                    path, byoca_errcode_str(rc));
      break;
    }
  }
  explicit_bzero(chunk, sizeof(chunk)); /* may have held key material */
  return rc;
}

int byoca_file_read(const char *path, size_t max, char **out, size_t *outlen,
                    struct byoca_err *err) {
  struct byoca_buf b;
  struct stat st;
  byoca_buf_init(&b, 0);
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return util_err_errno(err, errno, "open", path);
  int rc;
  if (fstat(fd, &st) != 0) {
    rc = util_err_errno(err, errno, "stat", path);
  } else if (S_ISDIR(st.st_mode)) {
    rc = util_err_errno(err, EISDIR, "read", path);
  } else if (S_ISREG(st.st_mode) && (uintmax_t)st.st_size > max) {
    rc = byoca_err_set(err, BYOCA_E_TOOBIG, BYOCA_CLASS_INPUT,
                       "%.300s is larger than %zu bytes", path, max);
  } else {
    rc = read_fd(fd, path, max, &b, err);
  }
  close(fd);
  size_t len = b.len;
  char *data = rc == 0 ? byoca_buf_steal(&b) : NULL;
  if (rc == 0 && data == NULL)
    rc = byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                       "cannot read %.300s: out of memory", path);
  if (rc != 0) {
    byoca_buf_free_secret(&b);
    return rc;
  }
  if (outlen != NULL)
    *outlen = len;
  *out = data;
  return 0;
}

/* ---- atomic replacement ---- */

static int write_all(int fd, const unsigned char *p, size_t len) {
  while (len > 0) {
    ssize_t n = write(fd, p, len);
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0)
      return n < 0 ? errno : EIO;
    p += n;
    len -= (size_t)n;
  }
  return 0;
}

/* Makes the rename durable; dirlen is the length of the folder part of
 * path (0: the current folder). File systems that cannot sync a folder say
 * EINVAL; that is not a failure of ours. */
static int sync_dir(const char *path, size_t dirlen, struct byoca_err *err) {
  char dir[PATH_LEN_MAX + 1];
  if (dirlen == 0)
    byoca_strlcpy(dir, ".", sizeof(dir));
  else
    byoca_strlcpy(dir, path, dirlen + 1);
  int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0)
    return 0; /* e.g. a folder we may write but not read: best effort */
  int rc = 0;
  if (fsync(fd) != 0 && errno != EINVAL && errno != EROFS)
    rc = util_err_errno(err, errno, "sync the folder of", path);
  close(fd);
  return rc;
}

/* Gives the temp file its final mode before any byte is in it. */
static int fill_temp(const char *tmp, int fd, const void *data, size_t len,
                     unsigned mode, struct byoca_err *err) {
  int e;
  if (fchmod(fd, (mode_t)(mode & 07777)) != 0)
    return util_err_errno(err, errno, "set the mode of", tmp);
  if ((e = write_all(fd, data, len)) != 0)
    return util_err_errno(err, e, "write", tmp);
  return 0;
}

static int write_temp(const char *tmp, int fd, const void *data, size_t len,
                      unsigned mode, struct byoca_err *err) {
  int rc = fill_temp(tmp, fd, data, len, mode, err);
  if (rc == 0 && fsync(fd) != 0)
    rc = util_err_errno(err, errno, "sync", tmp);
  return rc;
}

int byoca_file_write_atomic(const char *path, const void *data, size_t len,
                            unsigned mode, struct byoca_err *err) {
  size_t plen = strnlen(path, PATH_LEN_MAX + 1);
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash != NULL ? (size_t)(slash - path) + 1 : 0;
  if (plen == 0 || plen > PATH_LEN_MAX - 16 || path[plen - 1] == '/')
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "invalid file name '%.300s'", path);
  char *tmp = byoca_tmp_template(path);
  if (tmp == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "cannot write %.300s: out of memory", path);
  int rc, fd = mkstemp(tmp);
  if (fd < 0) {
    rc = util_err_errno(err, errno, "create a file next to", path);
    goto out;
  }
  (void)fcntl(fd, F_SETFD, FD_CLOEXEC);
  rc = write_temp(tmp, fd, data, len, mode, err);
  if (close(fd) != 0 && rc == 0)
    rc = util_err_errno(err, errno, "write", tmp);
  if (rc == 0 && rename(tmp, path) != 0)
    rc = util_err_errno(err, errno, "replace", path);
  if (rc != 0)
    unlink(tmp);
  else
    rc = sync_dir(path, dirlen > 1 ? dirlen - 1 : dirlen, err);
out:
  free(tmp);
  return rc;
}

/* ---- a folder of files, all or nothing ---- */

/* Writes one file of a set into the (still private) temp folder and
 * leaves it open in *fdp (-1 on failure) for write_members to sync. */
static int write_member(int dfd, const char *tmpdir,
                        const struct byoca_file_ent *f, int *fdp,
                        struct byoca_err *err) {
  char shown[PATH_LEN_MAX + 1];
  snprintf(shown, sizeof(shown), "%s/%s", tmpdir, f->name);
  *fdp = -1;
  if (f->name[0] == '\0' || f->name[0] == '.' || strchr(f->name, '/') != NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "invalid file name '%.300s'", f->name);
  int fd = openat(dfd, f->name, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC,
                  (mode_t)0600);
  if (fd < 0)
    return util_err_errno(err, errno, "create", shown);
  *fdp = fd;
  return fill_temp(shown, fd, f->data, f->len, f->mode, err);
}

/* Writes every file, then syncs them all: one pass of syncs after the
 * writes costs about half of a sync after each write (ext4, measured). */
static int write_members(int dfd, const char *tmpdir,
                         const struct byoca_file_ent *files, size_t n,
                         struct byoca_err *err) {
  int *fds = calloc(n > 0 ? n : 1, sizeof(*fds));
  if (fds == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "cannot write %.300s: out of memory", tmpdir);
  int rc = 0;
  size_t opened = 0;
  for (; rc == 0 && opened < n; opened++)
    rc = write_member(dfd, tmpdir, &files[opened], &fds[opened], err);
  for (size_t i = 0; i < opened; i++) {
    char shown[PATH_LEN_MAX + 1];
    snprintf(shown, sizeof(shown), "%s/%s", tmpdir, files[i].name);
    if (fds[i] < 0)
      continue;
    if (rc == 0 && fsync(fds[i]) != 0)
      rc = util_err_errno(err, errno, "sync", shown);
    if (close(fds[i]) != 0 && rc == 0)
      rc = util_err_errno(err, errno, "write", shown);
  }
  free(fds);
  return rc;
}

static void remove_partial(const char *tmpdir, int dfd,
                           const struct byoca_file_ent *files, size_t n) {
  for (size_t i = 0; dfd >= 0 && i < n; i++)
    if (files[i].name[0] != '\0' && strchr(files[i].name, '/') == NULL)
      (void)unlinkat(dfd, files[i].name, 0);
  (void)rmdir(tmpdir);
}

int byoca_dir_write_atomic(const char *path, unsigned mode,
                           const struct byoca_file_ent *files, size_t n,
                           struct byoca_err *err) {
  size_t plen = strnlen(path, PATH_LEN_MAX + 1);
  const char *slash = strrchr(path, '/');
  size_t dirlen = slash != NULL ? (size_t)(slash - path) + 1 : 0;
  if (plen == 0 || plen > PATH_LEN_MAX - 32 || path[plen - 1] == '/')
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "invalid folder name '%.300s'", path);
  char *tmp = byoca_tmp_template(path);
  if (tmp == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "cannot write %.300s: out of memory", path);
  int rc = 0, dfd = -1;
  if (mkdtemp(tmp) == NULL) {
    rc = util_err_errno(err, errno, "create a folder next to", path);
    goto out;
  }
  if (chmod(tmp, (mode_t)(mode & 07777)) != 0) {
    rc = util_err_errno(err, errno, "set the mode of", tmp);
    goto fail;
  }
  if ((dfd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
    rc = util_err_errno(err, errno, "open", tmp);
    goto fail;
  }
  rc = write_members(dfd, tmp, files, n, err);
  if (rc == 0 && fsync(dfd) != 0 && errno != EINVAL)
    rc = util_err_errno(err, errno, "sync", tmp);
  if (rc == 0 && rename(tmp, path) != 0)
    rc = util_err_errno(err, errno, "create", path);
  if (rc != 0)
    goto fail;
  close(dfd);
  rc = sync_dir(path, dirlen > 1 ? dirlen - 1 : dirlen, err);
  goto out;
fail:
  remove_partial(tmp, dfd, files, n);
  if (dfd >= 0)
    close(dfd);
out:
  free(tmp);
  return rc;
}

int byoca_dir_remove(const char *path) {
  int fd = open(path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0)
    return errno == ENOENT ? 0 : -1; /* a symlink is not followed */
  DIR *d = fdopendir(fd);
  if (d == NULL) {
    close(fd);
    return -1;
  }
  struct dirent *e;
  while ((e = readdir(d)) != NULL)
    if (strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0)
      (void)unlinkat(dirfd(d), e->d_name, 0); /* a subfolder stays */
  closedir(d);
  return rmdir(path) == 0 || errno == ENOENT ? 0 : -1;
}

/* ---- mkdir -p ---- */

/* Makes the new folder p's name durable: fsync of the folder holding it
 * (else a crash can lose the folder while a link made later survives). */
static int sync_parent(const char *p, struct byoca_err *err) {
  size_t n = strlen(p);
  while (n > 1 && p[n - 1] == '/')
    n--;
  while (n > 0 && p[n - 1] != '/')
    n--;
  /* n: length up to and including the last '/' before the name */
  return sync_dir(p, n > 1 ? n - 1 : n, err);
}

static int mkdir_one(const char *p, unsigned mode, struct byoca_err *err) {
  struct stat st;
  if (mkdir(p, (mode_t)(mode & 07777)) == 0)
    return sync_parent(p, err);
  int e = errno;
  if (e != EEXIST)
    return util_err_errno(err, e, "create the folder", p);
  if (stat(p, &st) != 0)
    return util_err_errno(err, errno, "create the folder", p);
  if (!S_ISDIR(st.st_mode))
    return util_err_errno(err, ENOTDIR, "create the folder", p);
  return 0;
}

int byoca_mkdir_p(const char *path, unsigned mode, struct byoca_err *err) {
  if (path == NULL || *path == '\0' ||
      strnlen(path, PATH_LEN_MAX + 1) > PATH_LEN_MAX)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "invalid folder name '%.300s'", path ? path : "");
  /* the usual cases first: the folder exists, or only its last level is
     missing; one or two calls instead of a mkdir per level */
  struct stat st;
  if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
    return 0;
  if (mkdir(path, (mode_t)(mode & 07777)) == 0)
    return sync_parent(path, err);
  char *p = byoca_strdup(path);
  if (p == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "cannot create %.300s: out of memory", path);
  int rc = 0;
  for (char *s = p + 1; rc == 0 && *s != '\0'; s++) {
    if (*s != '/' || s[-1] == '/')
      continue;
    *s = '\0';
    rc = mkdir_one(p, mode, err);
    *s = '/';
  }
  if (rc == 0)
    rc = mkdir_one(p, mode, err);
  free(p);
  return rc;
}
