/* Secrets (EAB HMAC keys, passphrases) read from files into memory that is
 * allocated once at its final size and wiped on free, so no copy of the
 * secret is left in freed memory. Errors never quote the contents. */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "byoca/util.h"
#include "util_int.h"

static int is_space(unsigned char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\v' ||
         c == '\f';
}

/* Reads exactly size bytes; a file that is shorter or longer than its
 * fstat size (it changed under us, or is not what it claims) is refused. */
static int read_exact(int fd, const char *path, unsigned char *d, size_t size,
                      struct byoca_err *err) {
  size_t got = 0;
  unsigned char extra;
  for (;;) {
    int more = got == size;
    ssize_t n = read(fd, more ? &extra : d + got, more ? 1 : size - got);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0)
      return util_err_errno(err, errno, "read", path);
    if (n == 0 && !more)
      break;
    if (more) {
      explicit_bzero(&extra, sizeof(extra));
      if (n == 0)
        return 0;
      break;
    }
    got += (size_t)n;
  }
  return byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_INPUT,
                       "cannot read %.300s: it changed while being read", path);
}

/* Checks what fd is and allocates its size plus a NUL. */
static int check_and_alloc(int fd, const char *path, size_t max,
                           unsigned char **d, size_t *size,
                           struct byoca_err *err) {
  struct stat st;
  if (fstat(fd, &st) != 0)
    return util_err_errno(err, errno, "stat", path);
  if (!S_ISREG(st.st_mode))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "%.300s is not a regular file", path);
  if ((uintmax_t)st.st_size > max)
    return byoca_err_set(err, BYOCA_E_TOOBIG, BYOCA_CLASS_INPUT,
                         "%.300s is larger than %zu bytes", path, max);
  *size = (size_t)st.st_size;
  if ((*d = calloc(1, *size + 1)) == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "cannot read %.300s: out of memory", path);
  return 0;
}

int byoca_secret_read_file(const char *path, size_t max,
                           struct byoca_secret *out, struct byoca_err *err) {
  unsigned char *d = NULL;
  size_t size = 0;
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0)
    return util_err_errno(err, errno, "open", path);
  int rc = check_and_alloc(fd, path, max, &d, &size, err);
  if (rc == 0)
    rc = read_exact(fd, path, d, size, err);
  close(fd);
  if (rc != 0)
    goto out;
  while (size > 0 && is_space(d[size - 1]))
    d[--size] = '\0';
  if (size == 0) {
    rc = byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT, "%.300s is empty",
                       path);
    goto out;
  }
  out->data = d;
  out->len = size;
  d = NULL;
out:
  if (d != NULL) {
    explicit_bzero(d, size + 1);
    free(d);
  }
  return rc;
}

void byoca_secret_free(struct byoca_secret *s) {
  if (s == NULL)
    return;
  if (s->data != NULL) {
    /* Bytes past len were zeroed when trailing whitespace was stripped. */
    explicit_bzero(s->data, s->len);
    free(s->data);
  }
  s->data = NULL;
  s->len = 0;
}
