/* Secrets at rest: the master key file, per-tenant data keys wrapped by
 * it, and sealing values under a tenant's data key with AAD naming the row
 * they belong to (so sealed values cannot be swapped between rows). */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store_int.h"

#define MASTER_FILE_MAX 256

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* Exactly 32 bytes are the raw key (whitespace bytes included); anything
 * else must be 64 hex digits, with trailing whitespace allowed. */
static int decode_master(const unsigned char *d, size_t n, unsigned char *out) {
  if (n == BYOCA_MASTER_KEY_LEN) {
    memcpy(out, d, BYOCA_MASTER_KEY_LEN);
    return 0;
  }
  while (n > 0 && (d[n - 1] == '\n' || d[n - 1] == '\r' || d[n - 1] == ' ' ||
                   d[n - 1] == '\t'))
    n--;
  if (n != 2 * BYOCA_MASTER_KEY_LEN)
    return -1;
  for (size_t i = 0; i < BYOCA_MASTER_KEY_LEN; i++) {
    int hi = hexval(d[2 * i]), lo = hexval(d[2 * i + 1]);
    if (hi < 0 || lo < 0)
      return -1;
    out[i] = (unsigned char)(hi << 4 | lo);
  }
  return 0;
}

static int create_master(const char *path, struct byoca_err *err) {
  unsigned char key[BYOCA_MASTER_KEY_LEN];
  char hex[2 * BYOCA_MASTER_KEY_LEN + 2];
  if (byoca_random(key, sizeof(key)) != 0)
    return byoca_err_set(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                         "no randomness for the master key");
  for (size_t i = 0; i < sizeof(key); i++)
    snprintf(hex + 2 * i, 3, "%02x", key[i]);
  hex[2 * sizeof(key)] = '\n';
  int rc = byoca_file_write_atomic(path, hex, sizeof(hex) - 1, 0600, err);
  explicit_bzero(key, sizeof(key));
  explicit_bzero(hex, sizeof(hex));
  return rc;
}

/* Checks what fd is (a small regular file that only its owner can use). */
static int check_master(int fd, const char *path, struct byoca_err *err) {
  struct stat sb;
  if (fstat(fd, &sb) != 0)
    return byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_INPUT,
                         "master key file %.300s: %s", path, strerror(errno));
  if (!S_ISREG(sb.st_mode))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "master key file %.300s is not a regular file", path);
  if ((sb.st_mode & 077) != 0)
    return byoca_err_set(err, BYOCA_E_POLICY, BYOCA_CLASS_INPUT,
                         "master key file %.300s has mode %03o; it must not"
                         " be readable by group or others (chmod 600)",
                         path, (unsigned)(sb.st_mode & 0777));
  if (sb.st_size > MASTER_FILE_MAX)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "master key file %.300s must hold 32 bytes or 64"
                         " hex digits",
                         path);
  return 0;
}

/* Reads the file through one descriptor, so what was checked is what is
 * read. BYOCA_E_NOTFOUND (no message) when it does not exist. */
static int read_master(const char *path, unsigned char *buf, size_t *len,
                       struct byoca_err *err) {
  int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY);
  if (fd < 0 && errno == ENOENT)
    return BYOCA_E_NOTFOUND;
  if (fd < 0)
    return byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_INPUT,
                         "cannot open master key file %.300s: %s", path,
                         strerror(errno));
  int rc = check_master(fd, path, err);
  ssize_t n = 1;
  *len = 0;
  while (rc == 0 && n > 0 && *len <= MASTER_FILE_MAX) {
    n = read(fd, buf + *len, MASTER_FILE_MAX + 1 - *len);
    if (n < 0 && errno == EINTR)
      n = 1;
    else if (n < 0)
      rc = byoca_err_set(err, BYOCA_E_IO, BYOCA_CLASS_INPUT,
                         "cannot read master key file %.300s: %s", path,
                         strerror(errno));
    else
      *len += (size_t)n;
  }
  close(fd);
  return rc;
}

int byoca_master_key_load(const char *path, int create,
                          struct byoca_secret *out, struct byoca_err *err) {
  unsigned char buf[MASTER_FILE_MAX + 1];
  size_t len = 0;
  out->data = NULL;
  out->len = 0;
  int rc = read_master(path, buf, &len, err);
  if (rc == BYOCA_E_NOTFOUND && !create)
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "master key file %.300s does not exist (byocad init"
                         " creates it)",
                         path);
  if (rc == BYOCA_E_NOTFOUND && (rc = create_master(path, err)) == 0)
    rc = read_master(path, buf, &len, err);
  if (rc == 0 && (out->data = calloc(1, BYOCA_MASTER_KEY_LEN + 1)) == NULL)
    rc = byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "oom");
  if (rc == 0 && decode_master(buf, len, out->data) != 0) {
    byoca_secret_free(out);
    rc = byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                       "master key file %.300s must hold 32 bytes or 64 hex"
                       " digits",
                       path);
  }
  explicit_bzero(buf, sizeof(buf));
  if (rc == 0)
    out->len = BYOCA_MASTER_KEY_LEN;
  return rc == BYOCA_E_NOTFOUND
             ? byoca_err_set(err, rc, BYOCA_CLASS_INPUT,
                             "master key file %.300s vanished", path)
             : rc;
}

/* ---- tenant data keys ---- */

static void wrap_aad(int64_t tenant, char *aad, size_t n) {
  snprintf(aad, n, "byoca:tenant-key:%lld", (long long)tenant);
}

int sec_new_data_key(struct byoca_store *s, int64_t tenant,
                     unsigned char **wrapped, size_t *len,
                     struct byoca_err *err) {
  unsigned char key[BYOCA_AEAD_KEY_LEN];
  char aad[64];
  if (byoca_random(key, sizeof(key)) != 0)
    return byoca_err_set(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                         "no randomness for a data key");
  wrap_aad(tenant, aad, sizeof(aad));
  int rc = byoca_aead_seal(s->master, aad, strlen(aad), key, sizeof(key),
                           wrapped, len, err);
  explicit_bzero(key, sizeof(key));
  return rc;
}

static int data_key(struct byoca_store *s, int64_t tenant,
                    struct byoca_secret *key, struct byoca_err *err) {
  char aad[64];
  unsigned char *wrapped = NULL;
  size_t wlen = 0;
  int rc = s->ops->data_key(s, tenant, &wrapped, &wlen, err);
  if (rc == BYOCA_E_NOTFOUND)
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "tenant %lld has no data key (deleted?)",
                         (long long)tenant);
  if (rc != 0)
    return rc;
  wrap_aad(tenant, aad, sizeof(aad));
  rc = byoca_aead_open(s->master, aad, strlen(aad), wrapped, wlen, key, err);
  free(wrapped);
  if (rc == 0 && key->len != BYOCA_AEAD_KEY_LEN) {
    byoca_secret_free(key);
    rc = byoca_err_set(err, BYOCA_E_CRYPTO, BYOCA_CLASS_INTERNAL,
                       "tenant %lld: data key of the wrong size",
                       (long long)tenant);
  }
  if (rc != 0)
    byoca_err_activity(err,
                       "unwrapping tenant %lld's data key (wrong master"
                       " key?)",
                       (long long)tenant);
  return rc;
}

int sec_seal(struct byoca_store *s, int64_t tenant, const char *aad,
             const void *plain, size_t len, unsigned char **box, size_t *boxlen,
             struct byoca_err *err) {
  struct byoca_secret key = {0};
  int rc = data_key(s, tenant, &key, err);
  if (rc == 0)
    rc = byoca_aead_seal(key.data, aad, strlen(aad), plain, len, box, boxlen,
                         err);
  byoca_secret_free(&key);
  return rc;
}

int sec_open(struct byoca_store *s, int64_t tenant, const char *aad,
             const void *box, size_t boxlen, struct byoca_secret *out,
             struct byoca_err *err) {
  struct byoca_secret key = {0};
  int rc = data_key(s, tenant, &key, err);
  if (rc == 0)
    rc = byoca_aead_open(key.data, aad, strlen(aad), box, boxlen, out, err);
  byoca_secret_free(&key);
  return rc;
}
