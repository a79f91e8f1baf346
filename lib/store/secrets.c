/* Secrets at rest: the master key file, per-tenant data keys wrapped by
 * it, and sealing values under a tenant's data key with AAD naming the row
 * they belong to (so sealed values cannot be swapped between rows). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "store_int.h"

static int hexval(int c) {
  if (c >= '0' && c <= '9')
    return c - '0';
  if (c >= 'a' && c <= 'f')
    return c - 'a' + 10;
  if (c >= 'A' && c <= 'F')
    return c - 'A' + 10;
  return -1;
}

/* 32 raw bytes, or 64 hex digits, into out (32 bytes). */
static int decode_master(const struct byoca_secret *raw, unsigned char *out) {
  if (raw->len == BYOCA_MASTER_KEY_LEN) {
    memcpy(out, raw->data, BYOCA_MASTER_KEY_LEN);
    return 0;
  }
  if (raw->len != 2 * BYOCA_MASTER_KEY_LEN)
    return -1;
  for (size_t i = 0; i < BYOCA_MASTER_KEY_LEN; i++) {
    int hi = hexval(raw->data[2 * i]), lo = hexval(raw->data[2 * i + 1]);
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

int byoca_master_key_load(const char *path, int create,
                          struct byoca_secret *out, struct byoca_err *err) {
  struct stat sb;
  out->data = NULL;
  out->len = 0;
  if (stat(path, &sb) != 0 && errno == ENOENT) {
    if (!create)
      return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                           "master key file %s does not exist (byocad init"
                           " creates it)",
                           path);
    int rc = create_master(path, err);
    if (rc != 0)
      return rc;
  } else if (S_ISREG(sb.st_mode) && (sb.st_mode & 077) != 0) {
    return byoca_err_set(err, BYOCA_E_POLICY, BYOCA_CLASS_INPUT,
                         "master key file %s has mode %03o; it must not be"
                         " readable by group or others (chmod 600)",
                         path, (unsigned)(sb.st_mode & 0777));
  }
  struct byoca_secret raw = {0};
  int rc = byoca_secret_read_file(path, 256, &raw, err);
  if (rc != 0)
    return rc;
  out->data = calloc(1, BYOCA_MASTER_KEY_LEN + 1);
  if (out->data == NULL || decode_master(&raw, out->data) != 0) {
    byoca_secret_free(&raw);
    byoca_secret_free(out);
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "master key file %s must hold 32 bytes or 64 hex"
                         " digits",
                         path);
  }
  out->len = BYOCA_MASTER_KEY_LEN;
  byoca_secret_free(&raw);
  return 0;
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
  sqlite3_stmt *st =
      db_prep(s, err, "SELECT data_key FROM tenants WHERE id = ?", "i", tenant);
  if (st == NULL)
    return BYOCA_E_IO;
  if (sqlite3_step(st) != SQLITE_ROW) {
    sqlite3_finalize(st);
    return byoca_err_set(err, BYOCA_E_NOTFOUND, BYOCA_CLASS_INPUT,
                         "tenant %lld has no data key (deleted?)",
                         (long long)tenant);
  }
  wrap_aad(tenant, aad, sizeof(aad));
  int rc =
      byoca_aead_open(s->master, aad, strlen(aad), sqlite3_column_blob(st, 0),
                      (size_t)sqlite3_column_bytes(st, 0), key, err);
  sqlite3_finalize(st);
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

int sec_open_col(struct byoca_store *s, sqlite3_stmt *st, int col,
                 int64_t tenant, const char *aad, struct byoca_secret *out,
                 struct byoca_err *err) {
  out->data = NULL;
  out->len = 0;
  if (sqlite3_column_type(st, col) == SQLITE_NULL)
    return 0;
  return sec_open(s, tenant, aad, sqlite3_column_blob(st, col),
                  (size_t)sqlite3_column_bytes(st, col), out, err);
}
