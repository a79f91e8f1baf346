/* lib/store on either backend (test_store_fixture.h), the core: opening
 * (SQLite's file modes and pragmas, url forms),
 * versioned migrations (idempotent, from version 1, newer refused), the
 * master key file, a second connection (twin) used from another thread,
 * tenants, API tokens, CA health (D-BACKOFF) and the audit log. */
#include <pthread.h>
#include <sys/wait.h>

#include "test_store_fixture.h"

static void assert_mode(const char *path, unsigned mode) {
  struct stat sb;
  assert_int_equal(stat(path, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, mode);
}

static void test_open_files_and_pragmas(void **state) {
  struct fx *f = *state;
  FX_SQLITE_ONLY(f);
  struct byoca_tenant t = fx_tenant(f->s, "modes"); /* a write */
  (void)t;
  assert_mode(f->db, 0600);
  assert_mode(f->wal, 0600);
  assert_mode(f->shm, 0600);
  sqlite3_stmt *st = NULL;
  assert_int_equal(
      sqlite3_prepare_v2(f->s->db, "PRAGMA journal_mode", -1, &st, NULL), 0);
  assert_int_equal(sqlite3_step(st), SQLITE_ROW);
  assert_string_equal((const char *)sqlite3_column_text(st, 0), "wal");
  sqlite3_finalize(st);
  assert_int_equal(fx_int(f->s, "PRAGMA foreign_keys"), 1);
  assert_int_equal(fx_int(f->s, "PRAGMA secure_delete"), 1);
  assert_int_equal(fx_int(f->s, "PRAGMA synchronous"), 2); /* FULL */
  assert_int_equal(fx_int(f->s, "PRAGMA busy_timeout"), 5000);
}

static void test_open_forms(void **state) {
  struct fx *f = *state;
  struct byoca_secret m = {0}, shortk = fx_secret("short");
  struct byoca_store *s = NULL;
  struct byoca_err err = {0};
  char url[200];
  assert_int_equal(byoca_master_key_load(f->key, 0, &m, &err), 0);
  snprintf(url, sizeof(url), "sqlite:%s/other.db", f->dir);
  assert_int_equal(byoca_store_open(url, &m, &s, &err), 0);
  assert_int_equal(byoca_store_schema_version(s), store_schema_latest());
  byoca_store_close(s);
  snprintf(url, sizeof(url), "%s/other.db", f->dir);
  assert_mode(url, 0600);
  assert_int_equal(byoca_store_open(url, &shortk, &s, &err), BYOCA_E_INVAL);
  assert_null(s);
  byoca_err_clear(&err);
  /* PostgreSQL URLs go to libpq (here: a socket folder with no server);
     the error names neither the URL nor its password */
  snprintf(url, sizeof(url), "postgresql://u:sekrit@/db?host=%s/no", f->dir);
  assert_int_equal(byoca_store_open(url, &m, &s, &err), BYOCA_E_IO);
  assert_null(s);
  assert_int_equal(err.origin, BYOCA_ORIGIN_POSTGRES);
  assert_non_null(strstr(err.msg, "PostgreSQL"));
  assert_null(strstr(err.msg, "sekrit"));
  byoca_err_clear(&err);
  snprintf(url, sizeof(url), "postgres:///db?host=%s/no", f->dir);
  assert_int_equal(byoca_store_open(url, &m, &s, &err), BYOCA_E_IO);
  assert_int_equal(err.origin, BYOCA_ORIGIN_POSTGRES);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_open("sqlite:", &m, &s, &err), BYOCA_E_INVAL);
  byoca_err_clear(&err);
  /* what may be logged of a URL, and whether it holds a password */
  char shown[256];
  byoca_store_url_display("postgresql://u:pw@db.test:5433/byo?sslmode=require",
                          shown, sizeof(shown));
  assert_string_equal(shown, "postgresql://u@db.test:5433/byo");
  byoca_store_url_display("/var/lib/x.db", shown, sizeof(shown));
  assert_string_equal(shown, "/var/lib/x.db");
  assert_true(byoca_store_url_has_password("postgres://u:pw@h/d"));
  assert_true(byoca_store_url_has_password("postgresql:///d?password=pw"));
  assert_true(byoca_store_url_has_password("postgresql://[bad"));
  assert_false(byoca_store_url_has_password("postgresql://u@h/d?port=1"));
  assert_false(byoca_store_url_has_password("/path/with:pw@x.db"));
  assert_true(byoca_store_url_is_remote("postgres://h/d"));
  assert_false(byoca_store_url_is_remote("sqlite:/x.db"));
  snprintf(url, sizeof(url), "%s/no/such/dir/x.db", f->dir);
  assert_int_equal(byoca_store_open(url, &m, &s, &err), BYOCA_E_IO);
  assert_int_equal(err.origin, BYOCA_ORIGIN_SQLITE);
  assert_non_null(strstr(err.msg, "x.db"));
  byoca_err_clear(&err);
  byoca_store_close(NULL);
  byoca_secret_free(&m);
  byoca_secret_free(&shortk);
}

static void test_migrations_idempotent(void **state) {
  struct fx *f = *state;
  int latest = store_schema_latest();
  assert_true(latest >= 3);
  assert_int_equal(byoca_store_schema_version(f->s), latest);
  assert_string_equal(byoca_store_backend(f->s),
                      fx_pg_url() != NULL ? "postgresql" : "sqlite");
  struct byoca_tenant t = fx_tenant(f->s, "kept");
  for (int i = 0; i < 2; i++) {
    byoca_store_close(f->s);
    f->s = fx_open(f);
    assert_int_equal(byoca_store_schema_version(f->s), latest);
  }
  assert_int_equal(fx_int(f->s, "SELECT count(*) FROM schema_version"), latest);
  assert_int_equal(
      fx_int(f->s, "SELECT count(DISTINCT version) FROM schema_version"),
      latest);
  struct byoca_tenant back;
  assert_int_equal(byoca_store_tenant_get(f->s, t.id, &back, NULL), 0);
  assert_string_equal(back.name, "kept");
}

#define DROP_V7                                                                \
  "DROP TABLE rfc2136_servers; ALTER TABLE nodes DROP COLUMN tls_alpn;"
#define DROP_V6 "DROP TABLE nodes; DROP TABLE outbox;"
#define DROP_V5                                                                \
  "DROP INDEX certificates_ari_next;"                                          \
  "ALTER TABLE certificates DROP COLUMN ari_cert_id;"                          \
  "ALTER TABLE certificates DROP COLUMN ari_start;"                            \
  "ALTER TABLE certificates DROP COLUMN ari_end;"                              \
  "ALTER TABLE certificates DROP COLUMN ari_explanation;"                      \
  "ALTER TABLE certificates DROP COLUMN ari_next;"                             \
  "ALTER TABLE certificates DROP COLUMN ari_failures;"

/* A store left at version 1 (tokens deleted on revocation, no revoked
 * column, no claimed_by) is migrated and its tokens keep working. */
static void test_migration_from_v1(void **state) {
  struct fx *f = *state;
  char tok[80];
  int64_t id = 0, who = -1;
  struct byoca_tenant t = fx_tenant(f->s, "old");
  assert_int_equal(
      byoca_store_token_mint(f->s, t.id, "l", tok, sizeof(tok), &id, NULL), 0);
  fx_sql(f->s, DROP_V7 DROP_V6 DROP_V5
         "ALTER TABLE api_tokens DROP COLUMN revoked;"
         "ALTER TABLE certificates DROP COLUMN claimed_by;"
         "ALTER TABLE certificates DROP COLUMN profile_required;"
         "ALTER TABLE certificates DROP COLUMN issued_profile;"
         "ALTER TABLE tenants DROP COLUMN profile;"
         "ALTER TABLE tenants DROP COLUMN profile_required;"
         "DELETE FROM schema_version WHERE version > 1;");
  byoca_store_close(f->s);
  f->s = fx_open(f);
  assert_int_equal(byoca_store_schema_version(f->s), store_schema_latest());
  assert_int_equal(byoca_store_token_check(f->s, tok, &who, NULL), 0);
  assert_int_equal(who, t.id);
  assert_int_equal(byoca_store_token_revoke(f->s, t.id, id, NULL), 0);
  assert_int_equal(byoca_store_token_check(f->s, tok, &who, NULL),
                   BYOCA_E_NOTFOUND);
}

/* Several processes opening a new store at once (nodes starting
 * together): one migrates, the others wait for it and find the schema
 * done; every migration is recorded once. */
static void test_concurrent_first_open(void **state) {
  struct fx *f = *state;
  /* the children end with _exit holding the parent's heap (its open
   * store), which valgrind reports as their leaks */
  if (getenv("BYOCA_VALGRIND") != NULL)
    skip();
  char url[1200];
  pid_t kids[4];
  fx_fresh_url(f, url, sizeof(url));
  for (int i = 0; i < 4; i++) {
    kids[i] = fork();
    assert_true(kids[i] >= 0);
    if (kids[i] == 0) {
      struct byoca_secret m = {0};
      struct byoca_store *s = NULL;
      struct byoca_err e = {0};
      int rc = byoca_master_key_load(f->key, 0, &m, &e) != 0 ||
               byoca_store_open(url, &m, &s, &e) != 0 ||
               byoca_store_schema_version(s) != store_schema_latest();
      if (rc != 0) /* say why: the parent only sees the exit status */
        fprintf(stderr, "child %d: %s\n", i, e.msg);
      byoca_err_clear(&e);
      byoca_store_close(s);
      byoca_secret_free(&m);
      _exit(rc);
    }
  }
  for (int i = 0; i < 4; i++) {
    int st = -1;
    assert_int_equal(waitpid(kids[i], &st, 0), kids[i]);
    assert_true(WIFEXITED(st));
    assert_int_equal(WEXITSTATUS(st), 0);
  }
  struct byoca_secret m = {0};
  struct byoca_store *s = NULL;
  assert_int_equal(byoca_master_key_load(f->key, 0, &m, NULL), 0);
  assert_int_equal(byoca_store_open(url, &m, &s, NULL), 0);
  assert_int_equal(fx_int(s, "SELECT count(*) FROM schema_version"),
                   store_schema_latest());
  byoca_store_close(s);
  byoca_secret_free(&m);
}

/* A connection the server dropped (restart, fail-over, an operator's
 * pg_terminate_backend) fails the call in flight as retryable; the next
 * call reconnects. */
static void test_pg_reconnect(void **state) {
  struct fx *f = *state;
  FX_PG_ONLY(f);
  struct byoca_err err = {0};
  struct byoca_tenant t = fx_tenant(f->s, "before"), got;
  int64_t pid = fx_int(f->s, "SELECT pg_backend_pid()");
  PGconn *c = fx_pg_conn(f);
  char sql[96];
  snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld)",
           (long long)pid);
  PQclear(PQexec(c, sql));
  PQfinish(c);
  int rc = byoca_store_tenant_get(f->s, t.id, &got, &err);
  if (rc != 0) { /* the loss is seen by this call, or already was */
    assert_int_equal(rc, BYOCA_E_IO);
    assert_int_equal(err.cls, BYOCA_CLASS_RETRYABLE);
    assert_int_equal(err.origin, BYOCA_ORIGIN_POSTGRES);
    byoca_err_clear(&err);
  }
  assert_int_equal(byoca_store_tenant_get(f->s, t.id, &got, NULL), 0);
  assert_string_equal(got.name, "before");
  assert_true(fx_int(f->s, "SELECT pg_backend_pid()") != pid);
  (void)fx_tenant(f->s, "after");
}

/* A connection the server closed while it was idle (its backend is gone
 * before the next call) is re-established by that call, which succeeds:
 * the loss was seen before anything was sent. */
static void test_pg_reconnect_idle(void **state) {
  struct fx *f = *state;
  FX_PG_ONLY(f);
  struct byoca_err err = {0};
  struct byoca_tenant t = fx_tenant(f->s, "idle"), got;
  int64_t pid = fx_int(f->s, "SELECT pg_backend_pid()");
  PGconn *c = fx_pg_conn(f);
  char sql[128];
  snprintf(sql, sizeof(sql), "SELECT pg_terminate_backend(%lld, 10000)",
           (long long)pid);
  PQclear(PQexec(c, sql)); /* waits until the backend is gone */
  PQfinish(c);
  assert_int_equal(byoca_store_tenant_get(f->s, t.id, &got, &err), 0);
  assert_string_equal(got.name, "idle");
  assert_true(fx_int(f->s, "SELECT pg_backend_pid()") != pid);
}

/* A store left at version 3 (no profile_required, no issued_profile)
 * is migrated; its lineages keep their preferred profile, not required,
 * nothing echoed yet. */
static void test_migration_from_v3(void **state) {
  struct fx *f = *state;
  struct byoca_tenant t = fx_tenant(f->s, "old");
  struct byoca_cert_row row = {0}, r;
  int64_t id = 0;
  row.identifiers_json = "[\"old.example\"]";
  snprintf(row.key_type, sizeof(row.key_type), "ec256");
  snprintf(row.profile, sizeof(row.profile), "classic");
  assert_int_equal(byoca_store_cert_add(f->s, t.id, &row, 500, NULL, &id, NULL),
                   0);
  fx_sql(f->s, DROP_V7 DROP_V6 DROP_V5
         "ALTER TABLE certificates DROP COLUMN profile_required;"
         "ALTER TABLE certificates DROP COLUMN issued_profile;"
         "ALTER TABLE tenants DROP COLUMN profile;"
         "ALTER TABLE tenants DROP COLUMN profile_required;"
         "DELETE FROM schema_version WHERE version > 3;");
  byoca_store_close(f->s);
  f->s = fx_open(f);
  assert_int_equal(byoca_store_schema_version(f->s), store_schema_latest());
  assert_int_equal(byoca_store_cert_get(f->s, t.id, id, 0, &r, NULL), 0);
  assert_string_equal(r.profile, "classic");
  assert_int_equal(r.profile_required, 0);
  assert_string_equal(r.issued_profile, "");
  byoca_cert_row_clear(&r);
  struct byoca_tenant t2;
  assert_int_equal(byoca_store_tenant_get(f->s, t.id, &t2, NULL), 0);
  assert_string_equal(t2.profile, "");
  assert_int_equal(t2.profile_required, 0);
}

/* A store left at version 4 (no ARI columns) is migrated: its issued
 * lineages have no CertID and are never polled (until renewed), the
 * poll index exists. */
static void test_migration_from_v4(void **state) {
  struct fx *f = *state;
  struct byoca_tenant t = fx_tenant(f->s, "old");
  struct byoca_cert_row row = {0}, r;
  int64_t id = 0, ids[4];
  size_t n = 9;
  row.identifiers_json = "[\"old.example\"]";
  snprintf(row.key_type, sizeof(row.key_type), "ec256");
  assert_int_equal(byoca_store_cert_add(f->s, t.id, &row, 500, NULL, &id, NULL),
                   0);
  fx_sql(f->s, DROP_V7 DROP_V6 DROP_V5
         "DELETE FROM schema_version WHERE version > 4;");
  byoca_store_close(f->s);
  f->s = fx_open(f);
  assert_int_equal(byoca_store_schema_version(f->s), store_schema_latest());
  assert_int_equal(byoca_store_cert_get(f->s, t.id, id, 0, &r, NULL), 0);
  assert_string_equal(r.ari_cert_id, "");
  assert_int_equal(r.ari_start, 0);
  assert_int_equal(r.ari_end, 0);
  assert_string_equal(r.ari_explanation, "");
  assert_int_equal(r.ari_next, 0);
  assert_int_equal(r.ari_failures, 0);
  byoca_cert_row_clear(&r);
  assert_int_equal(
      byoca_store_cert_ari_claim(f->s, 1 << 30, 1 << 30, 4, ids, &n, NULL), 0);
  assert_int_equal(n, 0);
}

/* A store left at version 5 (no nodes, no outbox) is migrated: its
 * events stay, and the new tables work at once. */
static void test_migration_from_v5(void **state) {
  struct fx *f = *state;
  struct byoca_node_row *nodes = NULL;
  size_t n = 9;
  int64_t waiting = -1;
  assert_int_equal(
      byoca_store_event_add(f->s, 0, 0, "old.event", NULL, 5, NULL), 0);
  fx_sql(f->s, DROP_V7 DROP_V6 "DELETE FROM schema_version WHERE version > 5;");
  byoca_store_close(f->s);
  f->s = fx_open(f);
  assert_int_equal(byoca_store_schema_version(f->s), store_schema_latest());
  assert_int_equal(fx_int(f->s, "SELECT count(*) FROM events"), 1);
  assert_int_equal(byoca_store_node_list(f->s, 10, &nodes, &n, NULL), 0);
  assert_int_equal(n, 0);
  free(nodes);
  assert_int_equal(byoca_store_outbox_count(f->s, &waiting, NULL), 0);
  assert_int_equal(waiting, 0);
}

/* A store left at version 6 (no rfc2136_servers) is migrated: its
 * tenants stay and the new table works at once. */
static void test_migration_from_v6(void **state) {
  struct fx *f = *state;
  struct byoca_tenant t = fx_tenant(f->s, "old");
  struct byoca_rfc2136_row row = {.port = 53}, *rows = NULL;
  struct byoca_secret sec = fx_secret("c2VjcmV0"), *secs = NULL;
  size_t n = 9;
  fx_sql(f->s, DROP_V7 "DELETE FROM schema_version WHERE version > 6;");
  byoca_store_close(f->s);
  f->s = fx_open(f);
  assert_int_equal(byoca_store_schema_version(f->s), store_schema_latest());
  assert_int_equal(store_schema_latest(), 7);
  assert_int_equal(fx_int(f->s, "SELECT count(*) FROM tenants"), 1);
  byoca_strlcpy(row.server, "127.0.0.1", sizeof(row.server));
  byoca_strlcpy(row.key_name, "k.", sizeof(row.key_name));
  byoca_strlcpy(row.algorithm, "hmac-sha256", sizeof(row.algorithm));
  assert_int_equal(byoca_store_rfc2136_put(f->s, t.id, &row, &sec, NULL), 0);
  assert_int_equal(byoca_store_rfc2136_list(f->s, t.id, &rows, &secs, &n, NULL),
                   0);
  assert_int_equal(n, 1);
  assert_memory_equal(secs[0].data, "c2VjcmV0", 8);
  byoca_secret_free(&secs[0]);
  free(secs);
  free(rows);
  byoca_secret_free(&sec);
}

static void test_newer_store_refused(void **state) {
  struct fx *f = *state;
  struct byoca_secret m = {0};
  struct byoca_store *s = NULL;
  struct byoca_err err = {0};
  fx_sql(f->s, "INSERT INTO schema_version VALUES (99, 0)");
  byoca_store_close(f->s);
  f->s = NULL;
  assert_int_equal(byoca_master_key_load(f->key, 0, &m, &err), 0);
  assert_int_equal(byoca_store_open(f->url, &m, &s, &err), BYOCA_E_INVAL);
  assert_null(s);
  assert_non_null(strstr(err.msg, "99"));
  assert_non_null(strstr(err.msg, "newer"));
  byoca_err_clear(&err);
  byoca_secret_free(&m);
}

static void write_file(const char *path, const void *d, size_t n,
                       unsigned mode) {
  unlink(path);
  FILE *fp = fopen(path, "wb");
  assert_non_null(fp);
  assert_int_equal(fwrite(d, 1, n, fp), n);
  fclose(fp);
  assert_int_equal(chmod(path, mode), 0);
}

static void load_fails(const char *path, int code, const char *msg_part) {
  struct byoca_secret m = {0};
  struct byoca_err err = {0};
  assert_int_equal(byoca_master_key_load(path, 0, &m, &err), code);
  assert_null(m.data);
  assert_non_null(strstr(err.msg, path));
  if (msg_part != NULL)
    assert_non_null(strstr(err.msg, msg_part));
  byoca_err_clear(&err);
}

static void test_master_key_file(void **state) {
  struct fx *f = *state;
  struct byoca_secret m = {0}, m2 = {0};
  char p[200];
  snprintf(p, sizeof(p), "%s/mk", f->dir);
  load_fails(p, BYOCA_E_NOTFOUND, "does not exist");
  assert_int_equal(byoca_master_key_load(p, 1, &m, NULL), 0);
  assert_int_equal(m.len, 32);
  assert_mode(p, 0600);
  struct stat sb;
  assert_int_equal(stat(p, &sb), 0);
  assert_int_equal(sb.st_size, 65); /* 64 hex digits and a newline */
  assert_int_equal(byoca_master_key_load(p, 1, &m2, NULL), 0); /* kept */
  assert_memory_equal(m.data, m2.data, 32);
  byoca_secret_free(&m2);
  /* the same key as upper-case hex without newline, and as raw bytes */
  char hex[65];
  for (size_t i = 0; i < 32; i++)
    snprintf(hex + 2 * i, 3, "%02X", m.data[i]);
  write_file(p, hex, 64, 0600);
  assert_int_equal(byoca_master_key_load(p, 0, &m2, NULL), 0);
  assert_memory_equal(m.data, m2.data, 32);
  byoca_secret_free(&m2);
  unsigned char raw[32];
  memcpy(raw, m.data, 32);
  raw[30] = ' ';
  raw[31] = '\n'; /* raw keys may end in bytes that look like whitespace */
  write_file(p, raw, 32, 0400);
  assert_int_equal(byoca_master_key_load(p, 0, &m2, NULL), 0);
  assert_memory_equal(raw, m2.data, 32);
  byoca_secret_free(&m2);
  byoca_secret_free(&m);
  write_file(p, hex, 63, 0600);
  load_fails(p, BYOCA_E_INVAL, "64 hex digits");
  hex[5] = 'g';
  write_file(p, hex, 64, 0600);
  load_fails(p, BYOCA_E_INVAL, "64 hex digits");
  write_file(p, raw, 32, 0644);
  load_fails(p, BYOCA_E_POLICY, "644");
  assert_int_equal(chmod(p, 0640), 0);
  load_fails(p, BYOCA_E_POLICY, "640");
  assert_int_equal(byoca_master_key_load(p, 1, &m, NULL), BYOCA_E_POLICY);
  assert_int_equal(stat(p, &sb), 0); /* create never replaces a file */
  assert_int_equal(sb.st_mode & 0777, 0640);
  unlink(p);
  load_fails(f->dir, BYOCA_E_INVAL, "not a regular file");
}

static void test_tenants(void **state) {
  struct fx *f = *state;
  struct byoca_tenant a = fx_tenant(f->s, "alpha"), b, got, *all = NULL;
  struct byoca_err err = {0};
  size_t n = 0;
  assert_true(a.id > 0);
  assert_string_equal(a.name, "alpha");
  assert_true(a.created > 0);
  assert_int_equal(a.deleting, 0);
  b = fx_tenant(f->s, "Beta.2_x-y");
  assert_int_equal(byoca_store_tenant_create(f->s, "alpha", &got, &err),
                   BYOCA_E_CONFLICT); /* the name is taken: 409 */
  assert_non_null(strstr(err.msg, "alpha"));
  byoca_err_clear(&err);
  char longname[66];
  memset(longname, 'n', 65);
  longname[65] = '\0';
  const char *bad[] = {"", "a/b", "a b", "caf\xc3\xa9", "x'--", longname};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(byoca_store_tenant_create(f->s, bad[i], &got, &err),
                     BYOCA_E_INVAL);
    assert_non_null(strstr(err.msg, "tenant name"));
    byoca_err_clear(&err);
  }
  longname[64] = '\0';
  (void)fx_tenant(f->s, longname);
  assert_int_equal(byoca_store_tenant_get(f->s, b.id, &got, NULL), 0);
  assert_string_equal(got.name, "Beta.2_x-y");
  assert_string_equal(got.profile, "");
  assert_int_equal(got.profile_required, 0);
  assert_int_equal(byoca_store_tenant_get(f->s, 999, &got, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  /* the tenant's default profile: set, required, cleared */
  assert_int_equal(
      byoca_store_tenant_set_profile(f->s, b.id, "tlsserver", 1, NULL), 0);
  assert_int_equal(byoca_store_tenant_get(f->s, b.id, &got, NULL), 0);
  assert_string_equal(got.profile, "tlsserver");
  assert_int_equal(got.profile_required, 1);
  assert_int_equal(byoca_store_tenant_set_profile(f->s, b.id, NULL, 1, NULL),
                   0);
  assert_int_equal(byoca_store_tenant_get(f->s, b.id, &got, NULL), 0);
  assert_string_equal(got.profile, "");
  assert_int_equal(got.profile_required, 0); /* not without a profile */
  assert_int_equal(byoca_store_tenant_set_profile(f->s, 999, "x", 0, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_tenant_list(f->s, &all, &n, NULL), 0);
  assert_int_equal(n, 3);
  assert_int_equal(all[0].id, a.id);
  assert_int_equal(all[1].id, b.id);
  free(all);
  /* deletion marks the tenant and every lineage of it, not others' */
  int64_t ca = fx_cert(f->s, a.id, 10), cb = fx_cert(f->s, b.id, 10);
  assert_int_equal(byoca_store_tenant_set_deleting(f->s, a.id, NULL), 0);
  assert_int_equal(byoca_store_tenant_get(f->s, a.id, &got, NULL), 0);
  assert_int_equal(got.deleting, 1);
  struct byoca_cert_row r;
  assert_int_equal(byoca_store_cert_get(f->s, a.id, ca, 0, &r, NULL), 0);
  assert_int_equal(r.state, BYOCA_CERT_DELETING);
  byoca_cert_row_clear(&r);
  assert_int_equal(byoca_store_cert_get(f->s, b.id, cb, 0, &r, NULL), 0);
  assert_int_equal(r.state, BYOCA_CERT_PENDING);
  byoca_cert_row_clear(&r);
  assert_int_equal(byoca_store_tenant_set_deleting(f->s, 999, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  /* destruction: rows gone, the name free again */
  assert_int_equal(byoca_store_tenant_destroy(f->s, a.id, NULL), 0);
  assert_int_equal(byoca_store_tenant_get(f->s, a.id, &got, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_cert_get(f->s, 0, ca, 0, &r, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_tenant_destroy(f->s, a.id, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  got = fx_tenant(f->s, "alpha");
  assert_true(got.id > a.id); /* ids are never reused */
}

static int b64url_only(const char *s) {
  for (; *s != '\0'; s++)
    if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z') ||
          (*s >= '0' && *s <= '9') || *s == '-' || *s == '_'))
      return 0;
  return 1;
}

static void test_tokens(void **state) {
  struct fx *f = *state;
  struct byoca_tenant a = fx_tenant(f->s, "a"), b = fx_tenant(f->s, "b");
  struct byoca_err err = {0};
  char tok[64], op[80], small[40];
  int64_t ta = 0, to = 0, who = -1, n = -1;
  assert_int_equal(
      byoca_store_token_mint(f->s, a.id, "ci", tok, sizeof(tok), &ta, &err), 0);
  assert_int_equal(strlen(tok), 6 + 43);
  assert_int_equal(strncmp(tok, "byoca_", 6), 0);
  assert_true(b64url_only(tok + 6));
  /* only the SHA-256 is stored */
  unsigned char h[32], blob[64];
  assert_int_equal(byoca_sha256(tok, strlen(tok), h), 0);
  assert_int_equal(
      fx_blob(f, "SELECT hash FROM api_tokens WHERE id = ?", ta, blob, 64), 32);
  assert_memory_equal(blob, h, 32);
  assert_int_equal(byoca_store_token_check(f->s, tok, &who, NULL), 0);
  assert_int_equal(who, a.id);
  assert_int_equal(byoca_store_operator_tokens(f->s, &n, NULL), 0);
  assert_int_equal(n, 0);
  assert_int_equal(
      byoca_store_token_mint(f->s, 0, "op", op, sizeof(op), &to, NULL), 0);
  assert_int_equal(byoca_store_operator_tokens(f->s, &n, NULL), 0);
  assert_int_equal(n, 1);
  assert_int_equal(byoca_store_token_check(f->s, op, &who, NULL), 0);
  assert_int_equal(who, 0);
  /* listing: each scope sees its own, with label and time, no secret */
  struct byoca_token_info *ti = NULL;
  size_t nt = 0;
  assert_int_equal(byoca_store_token_list(f->s, 0, &ti, &nt, NULL), 0);
  assert_int_equal(nt, 1);
  assert_int_equal(ti[0].id, to);
  assert_string_equal(ti[0].label, "op");
  assert_true(ti[0].created > 0);
  free(ti);
  ti = NULL;
  assert_int_equal(byoca_store_token_list(f->s, a.id, &ti, &nt, NULL), 0);
  assert_int_equal(nt, 1);
  assert_int_equal(ti[0].id, ta);
  free(ti);
  ti = NULL;
  assert_int_equal(byoca_store_token_list(f->s, b.id, &ti, &nt, NULL), 0);
  assert_int_equal(nt, 0);
  free(ti);
  byoca_store_close(f->s); /* the token text never reaches the store */
  f->s = NULL;
  assert_false(fx_has(f, tok + 6, 20));
  assert_false(fx_has(f, op + 6, 20));
  assert_true(fx_has(f, h, 32)); /* the search does find what is there */
  f->s = fx_open(f);
  /* unknown, altered, truncated, foreign: not found */
  const char *bad[] = {"", "byoca_", "nope", "byoca_AAAA", op + 1};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    assert_int_equal(byoca_store_token_check(f->s, bad[i], &who, &err),
                     BYOCA_E_NOTFOUND);
    byoca_err_clear(&err);
  }
  tok[10] ^= 1;
  assert_int_equal(byoca_store_token_check(f->s, tok, &who, NULL),
                   BYOCA_E_NOTFOUND);
  tok[10] ^= 1;
  /* isolation: b cannot revoke a's; nor can the operator scope */
  assert_int_equal(byoca_store_token_revoke(f->s, b.id, ta, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_token_revoke(f->s, 0, ta, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_token_revoke(f->s, a.id, to, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_token_check(f->s, tok, &who, NULL), 0);
  assert_int_equal(byoca_store_token_revoke(f->s, a.id, ta, NULL), 0);
  assert_int_equal(byoca_store_token_check(f->s, tok, &who, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_token_revoke(f->s, a.id, ta, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_token_revoke(f->s, 0, to, NULL), 0);
  assert_int_equal(byoca_store_operator_tokens(f->s, &n, NULL), 0);
  assert_int_equal(n, 0);
  ti = NULL; /* revoked tokens are not listed */
  assert_int_equal(byoca_store_token_list(f->s, 0, &ti, &nt, NULL), 0);
  assert_int_equal(nt, 0);
  free(ti);
  /* bad calls */
  assert_int_equal(
      byoca_store_token_mint(f->s, 4242, "x", op, sizeof(op), &to, &err),
      BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(
      byoca_store_token_mint(f->s, a.id, "x", small, sizeof(small), &to, &err),
      BYOCA_E_INVAL);
  byoca_err_clear(&err);
}

static void test_ca_backoff(void **state) {
  struct fx *f = *state;
  struct byoca_ca_health h;
  int started = -1;
  int64_t now = 1000;
  assert_int_equal(byoca_store_ca_get(f->s, "ca.test", &h, NULL), 0);
  assert_string_equal(h.issuer, "ca.test");
  assert_int_equal(h.failures, 0);
  assert_int_equal(h.backoff_until, 0);
  for (int i = 1; i <= 2; i++) {
    assert_int_equal(
        byoca_store_ca_record(f->s, "ca.test", 0, "down", now, &started, NULL),
        0);
    assert_int_equal(started, 0);
  }
  /* the 3rd consecutive failure: 5 min, then doubling per backoff start */
  int64_t expect = 300;
  for (int round = 0; round < 12; round++) {
    assert_int_equal(
        byoca_store_ca_record(f->s, "ca.test", 0, "down", now, &started, NULL),
        0);
    assert_int_equal(started, 1);
    assert_int_equal(byoca_store_ca_get(f->s, "ca.test", &h, NULL), 0);
    assert_int_equal(h.backoff_secs, expect);
    assert_int_equal(h.backoff_until, now + expect);
    assert_int_equal(h.last_failure, now);
    assert_string_equal(h.last_error, "down");
    /* a failure while backing off counts but starts nothing */
    assert_int_equal(byoca_store_ca_record(f->s, "ca.test", 0, "again", now + 1,
                                           &started, NULL),
                     0);
    assert_int_equal(started, 0);
    assert_int_equal(byoca_store_ca_get(f->s, "ca.test", &h, NULL), 0);
    assert_int_equal(h.backoff_until, now + expect);
    now = h.backoff_until;
    expect = expect * 2 > 86400 ? 86400 : expect * 2;
  }
  assert_int_equal(h.backoff_secs, 86400); /* capped at 24 h */
  assert_int_equal(h.failures, 2 + 2 * 12);
  assert_int_equal(
      byoca_store_ca_record(f->s, "ca.test", 1, NULL, now, &started, NULL), 0);
  assert_int_equal(started, 0);
  assert_int_equal(byoca_store_ca_get(f->s, "ca.test", &h, NULL), 0);
  assert_int_equal(h.failures, 0);
  assert_int_equal(h.backoff_until, 0);
  assert_int_equal(h.backoff_secs, 0);
  assert_int_equal(h.last_ok, now);
  /* after a success it takes 3 failures again, from 5 min */
  for (int i = 1; i <= 3; i++)
    assert_int_equal(
        byoca_store_ca_record(f->s, "ca.test", 0, "x", now + i, &started, NULL),
        0);
  assert_int_equal(started, 1);
  assert_int_equal(byoca_store_ca_get(f->s, "ca.test", &h, NULL), 0);
  assert_int_equal(h.backoff_secs, 300);
  assert_int_equal(
      byoca_store_ca_record(f->s, "b.test", 1, NULL, 5, NULL, NULL), 0);
  struct byoca_ca_health *all = NULL;
  size_t n = 0;
  assert_int_equal(byoca_store_ca_list(f->s, &all, &n, NULL), 0);
  assert_int_equal(n, 2);
  assert_string_equal(all[0].issuer, "b.test");
  assert_string_equal(all[1].issuer, "ca.test");
  free(all);
}

static void test_events(void **state) {
  struct fx *f = *state;
  struct byoca_event *ev = NULL;
  size_t n = 0;
  struct byoca_tenant t = fx_tenant(f->s, "ev");
  assert_int_equal(byoca_store_event_add(f->s, t.id, 1, "a.b", NULL, 5, NULL),
                   0);
  assert_int_equal(
      byoca_store_event_add(f->s, 0, 0, "token.created", "{\"x\":1}", 6, NULL),
      0);
  assert_int_equal(
      byoca_store_event_add(f->s, t.id, 2, "c.d", "{\"y\":2}", 7, NULL), 0);
  assert_int_equal(byoca_store_event_list(f->s, t.id, 0, 10, &ev, &n, NULL), 0);
  assert_int_equal(n, 2);
  assert_string_equal(ev[0].type, "a.b");
  assert_string_equal(ev[0].detail_json, "{}");
  assert_int_equal(ev[0].ts, 5);
  assert_int_equal(ev[0].cert_id, 1);
  assert_string_equal(ev[1].detail_json, "{\"y\":2}");
  int64_t first = ev[0].id;
  byoca_events_free(ev, n);
  assert_int_equal(byoca_store_event_list(f->s, t.id, first, 10, &ev, &n, NULL),
                   0);
  assert_int_equal(n, 1);
  assert_string_equal(ev[0].type, "c.d");
  byoca_events_free(ev, n);
  assert_int_equal(byoca_store_event_list(f->s, -1, 0, 2, &ev, &n, NULL), 0);
  assert_int_equal(n, 2); /* limit */
  assert_string_equal(ev[1].type, "token.created");
  assert_int_equal(ev[1].tenant_id, 0);
  byoca_events_free(ev, n);
  assert_int_equal(byoca_store_event_list(f->s, 0, 0, 10, &ev, &n, NULL), 0);
  assert_int_equal(n, 1);
  byoca_events_free(ev, n);
  /* the audit log survives the tenant */
  assert_int_equal(byoca_store_tenant_destroy(f->s, t.id, NULL), 0);
  assert_int_equal(byoca_store_event_list(f->s, t.id, 0, 10, &ev, &n, NULL), 0);
  assert_int_equal(n, 2);
  byoca_events_free(ev, n);
  byoca_events_free(NULL, 0);
}

/* A twin: a second connection to the same store, with the same node
 * name and master key (it unseals what the first sealed), used from
 * another thread while the first goes on (byocad's store lane). */
struct twin_run {
  struct byoca_store *s;
  int64_t tenant;
  int ok;
};

static void *twin_thread(void *arg) {
  struct twin_run *r = arg;
  struct byoca_tenant t;
  r->ok = 1;
  for (int i = 0; i < 20; i++)
    if (byoca_store_tenant_get(r->s, r->tenant, &t, NULL) != 0 ||
        t.id != r->tenant)
      r->ok = 0;
  return NULL;
}

static void test_open_twin(void **state) {
  struct fx *f = *state;
  struct byoca_store *twin = NULL;
  struct byoca_err err = {0};
  assert_int_equal(byoca_store_set_node(f->s, "twin-node", NULL), 0);
  struct byoca_tenant t = fx_tenant(f->s, "twin");
  assert_int_equal(byoca_store_open_twin(f->s, &twin, &err), 0);
  assert_string_equal(byoca_store_node(twin), "twin-node");
  assert_string_equal(byoca_store_backend(twin), byoca_store_backend(f->s));
  struct twin_run r = {twin, t.id, 0};
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, twin_thread, &r), 0);
  for (int i = 0; i < 5; i++) {
    char name[32];
    snprintf(name, sizeof(name), "other%d", i);
    (void)fx_tenant(f->s, name);
  }
  assert_int_equal(pthread_join(th, NULL), 0);
  assert_true(r.ok);
  /* what the first connection wrote, the twin reads and unseals */
  struct byoca_tenant *ts = NULL;
  size_t n = 0;
  assert_int_equal(byoca_store_tenant_list(twin, &ts, &n, NULL), 0);
  assert_int_equal(n, 6);
  free(ts);
  unsigned char key[16] = "0123456789abcdef";
  struct byoca_secret hmac = {key, sizeof(key)}, out = {0};
  char kid[256];
  assert_int_equal(
      byoca_store_eab_put(f->s, t.id, "twin.test", "kid-t", &hmac, NULL), 0);
  assert_int_equal(byoca_store_eab_get(twin, t.id, "twin.test", kid,
                                       sizeof(kid), &out, NULL),
                   0);
  assert_string_equal(kid, "kid-t");
  assert_int_equal(out.len, sizeof(key));
  assert_memory_equal(out.data, key, sizeof(key));
  byoca_secret_free(&out);
  byoca_store_close(twin);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_open_files_and_pragmas),
      T(test_open_forms),
      T(test_migrations_idempotent),
      T(test_migration_from_v1),
      T(test_concurrent_first_open),
      T(test_pg_reconnect),
      T(test_pg_reconnect_idle),
      T(test_migration_from_v3),
      T(test_migration_from_v4),
      T(test_migration_from_v5),
      T(test_migration_from_v6),
      T(test_newer_store_refused),
      T(test_master_key_file),
      T(test_tenants),
      T(test_tokens),
      T(test_ca_backoff),
      T(test_events),
      T(test_open_twin),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
