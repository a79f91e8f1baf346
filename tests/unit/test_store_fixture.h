/* Shared by the test_store*.c unit tests: a fresh directory per test
 * (mkdtemp) with a master key and a store file, raw access to the SQLite
 * handle (store_int.h), and a scan of files for bytes that must be gone. */
#ifndef TEST_STORE_FIXTURE_H
#define TEST_STORE_FIXTURE_H

#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "byoca/crypto.h"
#include "byoca/store.h"
#include "store_int.h"

struct fx {
  char dir[64];
  char db[128], wal[128], shm[128], key[128];
  struct byoca_store *s;
};

#define UNUSED_FN __attribute__((unused))

/* Opens (creating) the store of f with the master key at keypath. */
static UNUSED_FN struct byoca_store *fx_open_with(struct fx *f,
                                                  const char *keypath) {
  struct byoca_secret m = {0};
  struct byoca_store *s = NULL;
  struct byoca_err err = {0};
  assert_int_equal(byoca_master_key_load(keypath, 1, &m, &err), 0);
  if (byoca_store_open(f->db, &m, &s, &err) != 0)
    fail_msg("open: %s", err.msg);
  byoca_secret_free(&m);
  return s;
}

static UNUSED_FN struct byoca_store *fx_open(struct fx *f) {
  return fx_open_with(f, f->key);
}

static UNUSED_FN int fx_setup(void **state) {
  struct fx *f = calloc(1, sizeof(*f));
  if (f == NULL)
    return -1;
  snprintf(f->dir, sizeof(f->dir), "/tmp/byoca-store-test.XXXXXX");
  if (mkdtemp(f->dir) == NULL) {
    free(f);
    return -1;
  }
  snprintf(f->db, sizeof(f->db), "%s/store.db", f->dir);
  snprintf(f->wal, sizeof(f->wal), "%s/store.db-wal", f->dir);
  snprintf(f->shm, sizeof(f->shm), "%s/store.db-shm", f->dir);
  snprintf(f->key, sizeof(f->key), "%s/master.key", f->dir);
  f->s = fx_open(f);
  *state = f;
  return 0;
}

static UNUSED_FN int fx_teardown(void **state) {
  struct fx *f = *state;
  byoca_store_close(f->s);
  DIR *d = opendir(f->dir);
  struct dirent *e;
  char p[512];
  while (d != NULL && (e = readdir(d)) != NULL) {
    if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
      continue;
    snprintf(p, sizeof(p), "%s/%s", f->dir, e->d_name);
    unlink(p);
  }
  if (d != NULL)
    closedir(d);
  int rc = rmdir(f->dir);
  free(f);
  return rc;
}

/* A heap secret holding a copy of the string s. */
static UNUSED_FN struct byoca_secret fx_secret(const char *s) {
  struct byoca_secret x = {(unsigned char *)strdup(s), strlen(s)};
  assert_non_null(x.data);
  return x;
}

static UNUSED_FN struct byoca_tenant fx_tenant(struct byoca_store *s,
                                               const char *name) {
  struct byoca_tenant t;
  struct byoca_err err = {0};
  if (byoca_store_tenant_create(s, name, &t, &err) != 0)
    fail_msg("tenant_create %s: %s", name, err.msg);
  return t;
}

/* A pending lineage of tenant, added at now. */
static UNUSED_FN int64_t fx_cert(struct byoca_store *s, int64_t tenant,
                                 int64_t now) {
  struct byoca_cert_row r = {0};
  int64_t id = 0;
  r.identifiers_json = "[\"a.example\"]";
  snprintf(r.key_type, sizeof(r.key_type), "ec256");
  snprintf(r.ca, sizeof(r.ca), "auto");
  assert_int_equal(byoca_store_cert_add(s, tenant, &r, now, &id, NULL), 0);
  return id;
}

/* 1 if needle occurs in the file at path (0 when there is no file). */
static UNUSED_FN int fx_file_has(const char *path, const void *needle,
                                 size_t n) {
  FILE *fp = fopen(path, "rb");
  if (fp == NULL)
    return 0;
  size_t cap = 1 << 16, len = 0, got;
  unsigned char *buf = malloc(cap);
  assert_non_null(buf);
  while ((got = fread(buf + len, 1, cap - len, fp)) > 0) {
    len += got;
    if (len == cap) {
      unsigned char *b = realloc(buf, cap *= 2);
      assert_non_null(b);
      buf = b;
    }
  }
  fclose(fp);
  int found = 0;
  for (size_t i = 0; !found && n > 0 && i + n <= len; i++)
    found = memcmp(buf + i, needle, n) == 0;
  free(buf);
  return found;
}

/* The blob in column col of the first row sql (one int64 bound) selects,
 * read through a connection of its own (closed again, so it holds no
 * snapshot that would keep a checkpoint from emptying the WAL). */
static UNUSED_FN size_t fx_blob(struct fx *f, const char *sql, int64_t arg,
                                unsigned char *out, size_t cap) {
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
  size_t n = 0;
  assert_int_equal(sqlite3_open_v2(f->db, &db, SQLITE_OPEN_READONLY, NULL),
                   SQLITE_OK);
  assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int64(st, 1, arg);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  n = (size_t)sqlite3_column_bytes(st, 0);
  assert_true(n > 0 && n <= cap);
  memcpy(out, sqlite3_column_blob(st, 0), n);
  sqlite3_finalize(st);
  sqlite3_close(db);
  return n;
}

/* Runs one statement on the store's own connection (test set-up only). */
static UNUSED_FN void fx_sql(struct byoca_store *s, const char *sql) {
  char *msg = NULL;
  if (sqlite3_exec(s->db, sql, NULL, NULL, &msg) != SQLITE_OK)
    fail_msg("%s: %s", sql, msg);
}

/* The first column of the first row of sql as an integer. */
static UNUSED_FN int64_t fx_int(struct byoca_store *s, const char *sql) {
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

#endif
