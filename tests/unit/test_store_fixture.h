/* Shared by the test_store*.c unit tests, which run on both backends: on
 * SQLite by default, on PostgreSQL when BYOCA_TEST_STORE_URL holds a
 * postgresql:// URL of a server the tests may create databases on (see
 * tests/unit/with_pg.sh). Each test gets a fresh directory (mkdtemp) with
 * a master key, and a fresh store: a file there, or a database of its own
 * on the server, dropped afterwards. Raw access to the database (for
 * tampering and for looking at what is stored) goes through fx_sql,
 * fx_int, fx_blob and fx_has, which speak to either backend. */
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
#include <libpq-fe.h>
#include <sqlite3.h>

#include "byoca/crypto.h"
#include "byoca/store.h"
#include "sqlite/sqlite_int.h"

struct fx {
  char dir[64];
  char db[128], wal[128], shm[128], key[128];
  char url[1024]; /* what byoca_store_open gets */
  char pgdb[64];  /* the test's database on PostgreSQL, "" on SQLite */
  char pgdb2[72]; /* a second one (fx_fresh_url), "" when none */
  struct byoca_store *s;
};

#define UNUSED_FN __attribute__((unused))

/* The PostgreSQL server's URL, or NULL when the tests run on SQLite. */
static UNUSED_FN const char *fx_pg_url(void) {
  const char *u = getenv("BYOCA_TEST_STORE_URL");
  return u != NULL && (strncmp(u, "postgresql://", 13) == 0 ||
                       strncmp(u, "postgres://", 11) == 0)
             ? u
             : NULL;
}

/* Skips the rest of a test that is about PostgreSQL only. */
#define FX_PG_ONLY(f)                                                          \
  do {                                                                         \
    if ((f)->pgdb[0] == '\0')                                                  \
      skip();                                                                  \
  } while (0)

/* Skips the rest of a test that looks at SQLite's files or planner. */
#define FX_SQLITE_ONLY(f)                                                      \
  do {                                                                         \
    if ((f)->pgdb[0] != '\0')                                                  \
      skip();                                                                  \
  } while (0)

/* Runs one utility statement (CREATE/DROP DATABASE) on the server. */
static UNUSED_FN void fx_pg_admin(const char *sql) {
  PGconn *c = PQconnectdb(fx_pg_url());
  if (PQstatus(c) != CONNECTION_OK)
    fail_msg("PostgreSQL at BYOCA_TEST_STORE_URL: %s", PQerrorMessage(c));
  PGresult *r = PQexec(c, sql);
  if (PQresultStatus(r) != PGRES_COMMAND_OK)
    fail_msg("%s: %s", sql, PQresultErrorMessage(r));
  PQclear(r);
  PQfinish(c);
}

/* A connection of its own to f's database (PostgreSQL). */
static UNUSED_FN PGconn *fx_pg_conn(struct fx *f) {
  PGconn *c = PQconnectdb(f->url);
  if (PQstatus(c) != CONNECTION_OK)
    fail_msg("connecting to %s: %s", f->pgdb, PQerrorMessage(c));
  return c;
}

/* sql with SQLite's "?" placeholders as PostgreSQL's "$1", "$2" ... */
static UNUSED_FN void fx_pg_params(const char *sql, char *out, size_t n) {
  size_t len = 0;
  int k = 0;
  for (; *sql != '\0' && len + 4 < n; sql++)
    if (*sql == '?')
      len += (size_t)snprintf(out + len, n - len, "$%d", ++k);
    else
      out[len++] = *sql;
  out[len] = '\0';
}

/* Opens (creating) the store of f with the master key at keypath. */
static UNUSED_FN struct byoca_store *fx_open_with(struct fx *f,
                                                  const char *keypath) {
  struct byoca_secret m = {0};
  struct byoca_store *s = NULL;
  struct byoca_err err = {0};
  assert_int_equal(byoca_master_key_load(keypath, 1, &m, &err), 0);
  if (byoca_store_open(f->url, &m, &s, &err) != 0)
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
  snprintf(f->url, sizeof(f->url), "%s", f->db);
  const char *pg = fx_pg_url();
  if (pg != NULL) {
    static unsigned seq;
    char sql[128];
    snprintf(f->pgdb, sizeof(f->pgdb), "byoca_test_%ld_%u", (long)getpid(),
             seq++);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", f->pgdb);
    fx_pg_admin(sql);
    snprintf(f->url, sizeof(f->url), "%s%sdbname=%s", pg,
             strchr(pg, '?') != NULL ? "&" : "?", f->pgdb);
  }
  f->s = fx_open(f);
  *state = f;
  return 0;
}

static UNUSED_FN int fx_teardown(void **state) {
  struct fx *f = *state;
  byoca_store_close(f->s);
  if (f->pgdb[0] != '\0') {
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", f->pgdb);
    fx_pg_admin(sql);
  }
  if (f->pgdb2[0] != '\0') {
    char sql[128];
    snprintf(sql, sizeof(sql), "DROP DATABASE %s WITH (FORCE)", f->pgdb2);
    fx_pg_admin(sql);
  }
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

/* The URL of a second, empty store of f's backend (made once). */
static UNUSED_FN void fx_fresh_url(struct fx *f, char *out, size_t n) {
  const char *pg = fx_pg_url();
  if (pg == NULL) {
    snprintf(out, n, "%s/fresh.db", f->dir);
    return;
  }
  if (f->pgdb2[0] == '\0') {
    char sql[128];
    snprintf(f->pgdb2, sizeof(f->pgdb2), "%s_b", f->pgdb);
    snprintf(sql, sizeof(sql), "CREATE DATABASE %s", f->pgdb2);
    fx_pg_admin(sql);
  }
  snprintf(out, n, "%s%sdbname=%s", pg, strchr(pg, '?') != NULL ? "&" : "?",
           f->pgdb2);
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
  assert_int_equal(byoca_store_cert_add(s, tenant, &r, now, NULL, &id, NULL),
                   0);
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

/* The blob in column 0 of the first row sql (one int64 bound to "?")
 * selects, read through a connection of its own (closed again, so on
 * SQLite it holds no snapshot that would keep a checkpoint from emptying
 * the WAL). */
static UNUSED_FN size_t fx_blob(struct fx *f, const char *sql, int64_t arg,
                                unsigned char *out, size_t cap) {
  size_t n = 0;
  if (f->pgdb[0] != '\0') {
    char q[512], a[24];
    const char *vals[1] = {a};
    fx_pg_params(sql, q, sizeof(q));
    snprintf(a, sizeof(a), "%lld", (long long)arg);
    PGconn *c = fx_pg_conn(f);
    PGresult *r = PQexecParams(c, q, 1, NULL, vals, NULL, NULL, 0);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_true(PQntuples(r) > 0);
    unsigned char *u =
        PQunescapeBytea((const unsigned char *)PQgetvalue(r, 0, 0), &n);
    assert_true(u != NULL && n > 0 && n <= cap);
    memcpy(out, u, n);
    PQfreemem(u);
    PQclear(r);
    PQfinish(c);
    return n;
  }
  sqlite3 *db = NULL;
  sqlite3_stmt *st = NULL;
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

/* Runs sql (several statements allowed; "?" binds a, then b) on the
 * store's own connection (test set-up and tampering only). */
static UNUSED_FN void fx_sql_ii(struct byoca_store *s, const char *sql,
                                int64_t a, int64_t b) {
  if (s->pg != NULL) {
    char q[1024], va[24], vb[24];
    const char *vals[2] = {va, vb};
    int np = 0;
    for (const char *p = sql; *p != '\0'; p++)
      np += *p == '?';
    fx_pg_params(sql, q, sizeof(q));
    snprintf(va, sizeof(va), "%lld", (long long)a);
    snprintf(vb, sizeof(vb), "%lld", (long long)b);
    PGresult *r = np == 0
                      ? PQexec(s->pg, q)
                      : PQexecParams(s->pg, q, np, NULL, vals, NULL, NULL, 0);
    if (PQresultStatus(r) != PGRES_COMMAND_OK &&
        PQresultStatus(r) != PGRES_TUPLES_OK)
      fail_msg("%s: %s", sql, PQresultErrorMessage(r));
    PQclear(r);
    return;
  }
  sqlite3_stmt *st = NULL;
  const char *rest = sql;
  while (rest != NULL && *rest != '\0') {
    assert_int_equal(sqlite3_prepare_v2(s->db, rest, -1, &st, &rest),
                     SQLITE_OK);
    if (st == NULL)
      break;
    int np = sqlite3_bind_parameter_count(st);
    if (np > 0)
      sqlite3_bind_int64(st, 1, a);
    if (np > 1)
      sqlite3_bind_int64(st, 2, b);
    int rc = sqlite3_step(st);
    if (rc != SQLITE_DONE && rc != SQLITE_ROW)
      fail_msg("%s: %s", sql, sqlite3_errmsg(s->db));
    sqlite3_finalize(st);
  }
}

static UNUSED_FN void fx_sql(struct byoca_store *s, const char *sql) {
  fx_sql_ii(s, sql, 0, 0);
}

/* The first column of the first row of sql as an integer. */
static UNUSED_FN int64_t fx_int(struct byoca_store *s, const char *sql) {
  if (s->pg != NULL) {
    PGresult *r = PQexec(s->pg, sql);
    assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
    assert_true(PQntuples(r) > 0);
    int64_t v = strtoll(PQgetvalue(r, 0, 0), NULL, 10);
    PQclear(r);
    return v;
  }
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), SQLITE_OK);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  int64_t v = sqlite3_column_int64(st, 0);
  sqlite3_finalize(st);
  return v;
}

/* 1 if the bytes d are anywhere in the store: SQLite's three files (the
 * whole value, or its first 12 or last 16 bytes, a sealed value's nonce
 * and tag), or any row of any table of the PostgreSQL database. */
static UNUSED_FN int fx_has(struct fx *f, const void *d, size_t n) {
  const unsigned char *b = d;
  if (f->pgdb[0] == '\0') {
    const char *files[] = {f->db, f->wal, f->shm};
    for (size_t i = 0; i < 3; i++)
      if (fx_file_has(files[i], b, n) ||
          (n > 28 && (fx_file_has(files[i], b, 12) ||
                      fx_file_has(files[i], b + n - 16, 16))))
        return 1;
    return 0;
  }
  /* row text shows bytea as hex; text columns as they are */
  static const char *const tables[] = {
      "tenants",  "api_tokens",       "cas",
      "accounts", "eab_credentials",  "certificates",
      "orders",   "challenge_tokens", "events"};
  int printable = 1;
  for (size_t i = 0; i < n; i++)
    printable &= (b[i] >= 0x20 && b[i] < 0x7f) || b[i] == '\n';
  char *txt = printable ? strndup((const char *)d, n) : NULL;
  const char *vals[2] = {(const char *)d, txt};
  int lens[2] = {(int)n, 0}, fmts[2] = {1, 0}, found = 0;
  PGconn *c = fx_pg_conn(f);
  for (size_t i = 0; !found && i < sizeof(tables) / sizeof(tables[0]); i++) {
    char q[256];
    snprintf(q, sizeof(q),
             "SELECT count(*) FROM %s t WHERE strpos(t::text,"
             " encode($1::bytea, 'hex')) > 0 OR strpos(t::text, $2) > 0",
             tables[i]);
    PGresult *r = PQexecParams(c, q, 2, NULL, vals, lens, fmts, 0);
    if (PQresultStatus(r) != PGRES_TUPLES_OK)
      fail_msg("%s: %s", q, PQresultErrorMessage(r));
    found = strcmp(PQgetvalue(r, 0, 0), "0") != 0;
    PQclear(r);
  }
  PQfinish(c);
  free(txt);
  return found;
}

#endif
