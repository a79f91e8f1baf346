/* lib/store on SQLite, secrets at rest: accounts (sealed keys, public
 * JWKs), EAB credentials, tenant isolation of both, AAD binding (a sealed
 * value moved to another row does not open), destruction that leaves
 * neither plaintext nor ciphertext in the database or its WAL, and a
 * wrong master key failing cleanly. */
#include "test_store_fixture.h"

/* A fresh EC P-256 private key as PEM, with its public JWK. */
static struct byoca_secret new_key_pem(char **jwk) {
  struct byoca_key *k = NULL;
  struct byoca_buf b;
  byoca_buf_init(&b, 0);
  assert_int_equal(byoca_key_generate(BYOCA_KEY_EC256, &k, NULL), 0);
  assert_int_equal(byoca_key_private_pem(k, &b, NULL), 0);
  if (jwk != NULL)
    assert_int_equal(byoca_jwk_json(k, jwk), 0);
  byoca_key_free(k);
  struct byoca_secret s = fx_secret(b.data);
  byoca_buf_free_secret(&b);
  return s;
}

static struct byoca_account_row account(int64_t tenant, const char *dir,
                                        const char *url) {
  struct byoca_account_row r = {0};
  r.tenant_id = tenant;
  snprintf(r.directory, sizeof(r.directory), "%s", dir);
  snprintf(r.issuer, sizeof(r.issuer), "ca.test");
  snprintf(r.url, sizeof(r.url), "%s", url);
  return r;
}

static void test_accounts(void **state) {
  struct fx *f = *state;
  struct byoca_tenant a = fx_tenant(f->s, "a"), b = fx_tenant(f->s, "b");
  struct byoca_err err = {0};
  char *jwk1 = NULL, *jwk2 = NULL;
  struct byoca_secret k1 = new_key_pem(&jwk1), k2 = new_key_pem(&jwk2),
                      out = {0};
  struct byoca_account_row r1 = account(a.id, "https://ca.test/dir",
                                        "https://ca.test/acct/1"),
                           r2 = account(b.id, "https://ca.test/dir",
                                        "https://ca.test/acct/2"),
                           got;
  r1.created = 123;
  assert_int_equal(byoca_store_account_put(f->s, &r1, &k1, NULL), 0);
  assert_int_equal(byoca_store_account_put(f->s, &r2, &k2, NULL), 0);
  assert_int_equal(byoca_store_account_get(f->s, a.id, "https://ca.test/dir",
                                           &got, &out, NULL),
                   0);
  assert_string_equal(got.url, "https://ca.test/acct/1");
  assert_string_equal(got.issuer, "ca.test");
  assert_int_equal(got.tenant_id, a.id);
  assert_int_equal(got.created, 123);
  assert_int_equal(out.len, k1.len);
  assert_memory_equal(out.data, k1.data, k1.len);
  byoca_secret_free(&out);
  assert_int_equal(byoca_store_account_get(f->s, b.id, "https://ca.test/dir",
                                           &got, NULL, NULL),
                   0);
  assert_string_equal(got.url, "https://ca.test/acct/2");
  /* the public JWKs, computed from the keys */
  char **jwks = NULL;
  size_t n = 0;
  assert_int_equal(byoca_store_account_jwks(f->s, &jwks, &n, NULL), 0);
  assert_int_equal(n, 2);
  int seen1 = 0, seen2 = 0;
  for (size_t i = 0; i < n; i++) {
    seen1 |= strcmp(jwks[i], jwk1) == 0;
    seen2 |= strcmp(jwks[i], jwk2) == 0;
    assert_null(strstr(jwks[i], "\"d\"")); /* public only */
    free(jwks[i]);
  }
  free(jwks);
  assert_true(seen1 && seen2);
  /* replacing a's account at that directory */
  r1.created = 0;
  snprintf(r1.url, sizeof(r1.url), "https://ca.test/acct/3");
  assert_int_equal(byoca_store_account_put(f->s, &r1, &k2, NULL), 0);
  struct byoca_account_row *list = NULL;
  assert_int_equal(byoca_store_account_list(f->s, a.id, &list, &n, NULL), 0);
  assert_int_equal(n, 1);
  assert_string_equal(list[0].url, "https://ca.test/acct/3");
  assert_true(list[0].created > 0);
  free(list);
  struct byoca_account_row r3 =
      account(a.id, "https://other.test/dir", "https://other.test/a/9");
  assert_int_equal(byoca_store_account_put(f->s, &r3, &k1, NULL), 0);
  assert_int_equal(byoca_store_account_list(f->s, a.id, &list, &n, NULL), 0);
  assert_int_equal(n, 2);
  free(list);
  /* isolation and misses */
  assert_int_equal(byoca_store_account_get(f->s, b.id, "https://other.test/dir",
                                           &got, &out, &err),
                   BYOCA_E_NOTFOUND);
  assert_null(out.data);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_account_list(f->s, 4242, &list, &n, NULL), 0);
  assert_int_equal(n, 0);
  free(list);
  /* not a key: refused, nothing stored */
  struct byoca_secret junk = fx_secret("not a key");
  struct byoca_account_row r4 = account(a.id, "https://junk/dir", "u");
  assert_int_not_equal(byoca_store_account_put(f->s, &r4, &junk, &err), 0);
  assert_null(strstr(err.msg, "not a key"));
  byoca_err_clear(&err);
  assert_int_equal(
      byoca_store_account_get(f->s, a.id, "https://junk/dir", &got, NULL, &err),
      BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  byoca_secret_free(&junk);
  byoca_secret_free(&k1);
  byoca_secret_free(&k2);
  free(jwk1);
  free(jwk2);
}

static void test_eab(void **state) {
  struct fx *f = *state;
  struct byoca_tenant a = fx_tenant(f->s, "a"), b = fx_tenant(f->s, "b");
  struct byoca_err err = {0};
  struct byoca_secret m1 = fx_secret("mac-one-0123456789"),
                      m2 = fx_secret("mac-two-0123456789"), out = {0};
  char kid[256];
  assert_int_equal(
      byoca_store_eab_put(f->s, a.id, "z.test", "kid-z", &m1, NULL), 0);
  assert_int_equal(
      byoca_store_eab_put(f->s, a.id, "y.test", "kid-y", &m2, NULL), 0);
  assert_int_equal(
      byoca_store_eab_get(f->s, a.id, "z.test", kid, sizeof(kid), &out, NULL),
      0);
  assert_string_equal(kid, "kid-z");
  assert_int_equal(out.len, m1.len);
  assert_memory_equal(out.data, m1.data, m1.len);
  byoca_secret_free(&out);
  assert_int_equal(
      byoca_store_eab_get(f->s, a.id, "y.test", kid, sizeof(kid), NULL, NULL),
      0);
  assert_string_equal(kid, "kid-y");
  /* replace */
  assert_int_equal(
      byoca_store_eab_put(f->s, a.id, "z.test", "kid-z2", &m2, NULL), 0);
  assert_int_equal(
      byoca_store_eab_get(f->s, a.id, "z.test", kid, sizeof(kid), &out, NULL),
      0);
  assert_string_equal(kid, "kid-z2");
  assert_memory_equal(out.data, m2.data, m2.len);
  byoca_secret_free(&out);
  char **issuers = NULL, **kids = NULL;
  size_t n = 0;
  assert_int_equal(byoca_store_eab_list(f->s, a.id, &issuers, &kids, &n, NULL),
                   0);
  assert_int_equal(n, 2);
  assert_string_equal(issuers[0], "y.test");
  assert_string_equal(kids[0], "kid-y");
  assert_string_equal(issuers[1], "z.test");
  for (size_t i = 0; i < n; i++) {
    free(issuers[i]);
    free(kids[i]);
  }
  free(issuers);
  free(kids);
  /* b sees, gets and deletes none of a's */
  assert_int_equal(byoca_store_eab_list(f->s, b.id, &issuers, &kids, &n, NULL),
                   0);
  assert_int_equal(n, 0);
  free(issuers);
  free(kids);
  assert_int_equal(
      byoca_store_eab_get(f->s, b.id, "z.test", kid, sizeof(kid), &out, &err),
      BYOCA_E_NOTFOUND);
  assert_null(out.data);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_eab_delete(f->s, b.id, "z.test", &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_eab_delete(f->s, a.id, "z.test", NULL), 0);
  assert_int_equal(
      byoca_store_eab_get(f->s, a.id, "z.test", kid, sizeof(kid), NULL, &err),
      BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_eab_delete(f->s, a.id, "z.test", &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_eab_put(f->s, 4242, "z.test", "k", &m1, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  byoca_secret_free(&m1);
  byoca_secret_free(&m2);
}

/* Runs sql with two integers bound (test tampering only). */
static void sqlf(struct byoca_store *s, const char *sql, int64_t a, int64_t b) {
  sqlite3_stmt *st = NULL;
  assert_int_equal(sqlite3_prepare_v2(s->db, sql, -1, &st, NULL), SQLITE_OK);
  sqlite3_bind_int64(st, 1, a);
  if (sqlite3_bind_parameter_count(st) > 1)
    sqlite3_bind_int64(st, 2, b);
  assert_int_equal(sqlite3_step(st), SQLITE_DONE);
  sqlite3_finalize(st);
}

/* A sealed value moved to another row (or another tenant's data key moved
 * to another tenant) no longer opens: the AAD names the row. */
static void test_sealed_values_bound_to_rows(void **state) {
  struct fx *f = *state;
  struct byoca_tenant a = fx_tenant(f->s, "a"), b = fx_tenant(f->s, "b");
  struct byoca_err err = {0};
  struct byoca_secret out = {0}, m = fx_secret("the-mac");
  char kid[256];
  int64_t c1 = fx_cert(f->s, a.id, 1), c2 = fx_cert(f->s, a.id, 1);
  struct byoca_cert_row is = {0};
  struct byoca_secret k = fx_secret("KEY-ONE");
  assert_int_equal(byoca_store_cert_issued(f->s, c1, &is, "c", &k, NULL), 0);
  assert_int_equal(byoca_store_cert_issued(f->s, c2, &is, "c", &k, NULL), 0);
  sqlf(f->s,
       "UPDATE certificates SET key = (SELECT key FROM certificates"
       " WHERE id = ?) WHERE id = ?",
       c1, c2);
  assert_int_equal(byoca_store_cert_key(f->s, a.id, c2, &out, &err),
                   BYOCA_E_CRYPTO);
  assert_null(out.data);
  assert_null(strstr(err.msg, "KEY-ONE"));
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_cert_key(f->s, a.id, c1, &out, NULL), 0);
  byoca_secret_free(&out);
  /* an order key is not a certificate key of the same lineage */
  struct byoca_order_row o = {.cert_id = c1};
  assert_int_equal(byoca_store_order_put(f->s, &o, &k, NULL), 0);
  sqlf(f->s,
       "UPDATE certificates SET key = (SELECT key FROM orders"
       " WHERE cert_id = ?) WHERE id = ?",
       c1, c1);
  assert_int_equal(byoca_store_cert_key(f->s, a.id, c1, &out, &err),
                   BYOCA_E_CRYPTO);
  byoca_err_clear(&err);
  /* EAB keys between issuers */
  assert_int_equal(byoca_store_eab_put(f->s, a.id, "x", "k", &m, NULL), 0);
  assert_int_equal(byoca_store_eab_put(f->s, a.id, "y", "k", &m, NULL), 0);
  fx_sql(f->s, "UPDATE eab_credentials SET hmac = (SELECT hmac FROM"
               " eab_credentials WHERE issuer = 'x') WHERE issuer = 'y'");
  assert_int_equal(
      byoca_store_eab_get(f->s, a.id, "y", kid, sizeof(kid), &out, &err),
      BYOCA_E_CRYPTO);
  byoca_err_clear(&err);
  /* a's row moved under b: b's data key does not open it */
  assert_int_equal(byoca_store_eab_put(f->s, a.id, "z", "k", &m, NULL), 0);
  sqlf(f->s,
       "UPDATE eab_credentials SET tenant_id = ? WHERE tenant_id = ?"
       " AND issuer = 'z'",
       b.id, a.id);
  assert_int_equal(
      byoca_store_eab_get(f->s, b.id, "z", kid, sizeof(kid), &out, &err),
      BYOCA_E_CRYPTO);
  byoca_err_clear(&err);
  /* wrapped data keys between tenants */
  assert_int_equal(byoca_store_eab_put(f->s, b.id, "w", "k", &m, NULL), 0);
  sqlf(f->s,
       "UPDATE tenants SET data_key = (SELECT data_key FROM tenants"
       " WHERE id = ?) WHERE id = ?",
       a.id, b.id);
  assert_int_equal(
      byoca_store_eab_get(f->s, b.id, "w", kid, sizeof(kid), &out, &err),
      BYOCA_E_CRYPTO);
  byoca_err_clear(&err);
  byoca_secret_free(&k);
  byoca_secret_free(&m);
}

struct sealed {
  unsigned char blob[4096];
  size_t len;
};

static void read_sealed(struct fx *f, const char *sql, int64_t id,
                        struct sealed *out) {
  out->len = fx_blob(f, sql, id, out->blob, sizeof(out->blob));
}

/* 1 if the whole blob, or its nonce, or its tag is in one of the files. */
static int anywhere(struct fx *f, const void *d, size_t n) {
  const char *files[] = {f->db, f->wal, f->shm};
  const unsigned char *b = d;
  for (size_t i = 0; i < 3; i++)
    if (fx_file_has(files[i], b, n) ||
        (n > 28 && (fx_file_has(files[i], b, 12) ||
                    fx_file_has(files[i], b + n - 16, 16))))
      return 1;
  return 0;
}

static int sealed_anywhere(struct fx *f, const struct sealed *s) {
  return anywhere(f, s->blob, s->len);
}

static void test_destroy_leaves_nothing(void **state) {
  struct fx *f = *state;
  struct byoca_tenant t = fx_tenant(f->s, "shred"), keep = fx_tenant(f->s, "k");
  const char *pem1 = "-----BEGIN PRIVATE KEY-----\nTHE-OLD-KEY-0123456789",
             *pem2 = "-----BEGIN PRIVATE KEY-----\nTHE-NEW-KEY-0123456789",
             *opem = "-----BEGIN PRIVATE KEY-----\nTHE-ORDER-KEY-01234567",
             *mac = "EAB-MAC-KEY-abcdefghijklmnop";
  struct byoca_secret k1 = fx_secret(pem1), k2 = fx_secret(pem2),
                      ko = fx_secret(opem), m = fx_secret(mac);
  struct byoca_cert_row is = {0};
  struct sealed old_key, new_key, order_key, eab, acct, data_key;
  int64_t c = fx_cert(f->s, t.id, 1), other = fx_cert(f->s, keep.id, 1);
  /* a key, its renewal, an order in flight, EAB, an account */
  assert_int_equal(byoca_store_cert_issued(f->s, c, &is, "chain", &k1, NULL),
                   0);
  read_sealed(f, "SELECT key FROM certificates WHERE id = ?", c, &old_key);
  assert_int_equal(byoca_store_cert_issued(f->s, c, &is, "chain", &k2, NULL),
                   0);
  read_sealed(f, "SELECT key FROM certificates WHERE id = ?", c, &new_key);
  struct byoca_order_row o = {.cert_id = c};
  assert_int_equal(byoca_store_order_put(f->s, &o, &ko, NULL), 0);
  read_sealed(f, "SELECT key FROM orders WHERE cert_id = ?", c, &order_key);
  assert_int_equal(
      byoca_store_eab_put(f->s, t.id, "ca.test", "kid-1", &m, NULL), 0);
  read_sealed(f, "SELECT hmac FROM eab_credentials WHERE tenant_id = ?", t.id,
              &eab);
  struct byoca_secret ak = new_key_pem(NULL);
  struct byoca_account_row ar = account(t.id, "https://ca.test/d", "u");
  assert_int_equal(byoca_store_account_put(f->s, &ar, &ak, NULL), 0);
  read_sealed(f, "SELECT key FROM accounts WHERE tenant_id = ?", t.id, &acct);
  read_sealed(f, "SELECT data_key FROM tenants WHERE id = ?", t.id, &data_key);
  /* no plaintext ever; the sealed values are there (the scan finds them) */
  const char *plain[] = {pem1, pem2, opem, mac, (const char *)ak.data};
  for (size_t i = 0; i < 5; i++)
    assert_false(anywhere(f, plain[i], strlen(plain[i])));
  assert_true(sealed_anywhere(f, &new_key));
  assert_true(sealed_anywhere(f, &eab));
  assert_true(sealed_anywhere(f, &data_key));
  /* the lineage: its keys (current, previous, in-flight) go */
  assert_int_equal(byoca_store_cert_destroy(f->s, c, NULL), 0);
  assert_false(sealed_anywhere(f, &old_key));
  assert_false(sealed_anywhere(f, &new_key));
  assert_false(sealed_anywhere(f, &order_key));
  assert_true(sealed_anywhere(f, &eab)); /* the tenant's stay meanwhile */
  /* the tenant: its data key, EAB and account keys go; others stay */
  assert_int_equal(byoca_store_tenant_destroy(f->s, t.id, NULL), 0);
  assert_false(sealed_anywhere(f, &eab));
  assert_false(sealed_anywhere(f, &acct));
  assert_false(sealed_anywhere(f, &data_key));
  byoca_store_close(f->s);
  f->s = NULL;
  const struct sealed *all[] = {&old_key, &new_key, &order_key,
                                &eab,     &acct,    &data_key};
  for (size_t i = 0; i < 6; i++)
    assert_false(sealed_anywhere(f, all[i]));
  for (size_t i = 0; i < 5; i++)
    assert_false(anywhere(f, plain[i], strlen(plain[i])));
  f->s = fx_open(f);
  struct byoca_cert_row r;
  assert_int_equal(byoca_store_cert_get(f->s, keep.id, other, 0, &r, NULL), 0);
  byoca_cert_row_clear(&r);
  byoca_secret_free(&k1);
  byoca_secret_free(&k2);
  byoca_secret_free(&ko);
  byoca_secret_free(&m);
  byoca_secret_free(&ak);
}

static void test_wrong_master_key(void **state) {
  struct fx *f = *state;
  struct byoca_tenant t = fx_tenant(f->s, "eps");
  struct byoca_err err = {0};
  struct byoca_secret mac = fx_secret("0123456789abcdef-MAC"),
                      key = new_key_pem(NULL), out = {0};
  int64_t c = fx_cert(f->s, t.id, 1);
  struct byoca_cert_row is = {0};
  struct byoca_account_row ar = account(t.id, "https://ca.test/d", "u"), got;
  assert_int_equal(byoca_store_eab_put(f->s, t.id, "ca", "k", &mac, NULL), 0);
  assert_int_equal(byoca_store_cert_issued(f->s, c, &is, "x", &key, NULL), 0);
  assert_int_equal(byoca_store_account_put(f->s, &ar, &key, NULL), 0);
  byoca_store_close(f->s);
  char other[200];
  snprintf(other, sizeof(other), "%s/other.key", f->dir);
  f->s = fx_open_with(f, other);
  char kid[64];
  assert_int_equal(
      byoca_store_eab_get(f->s, t.id, "ca", kid, sizeof(kid), &out, &err),
      BYOCA_E_CRYPTO);
  assert_null(out.data);
  assert_non_null(strstr(err.msg, "authentication failed"));
  assert_null(strstr(err.msg, "MAC"));
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_cert_key(f->s, t.id, c, &out, &err),
                   BYOCA_E_CRYPTO);
  assert_null(out.data);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_account_get(f->s, t.id, "https://ca.test/d",
                                           &got, &out, &err),
                   BYOCA_E_CRYPTO);
  assert_null(out.data);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_eab_put(f->s, t.id, "ca2", "k", &mac, &err),
                   BYOCA_E_CRYPTO);
  byoca_err_clear(&err);
  /* what holds no secret still reads */
  assert_int_equal(byoca_store_account_get(f->s, t.id, "https://ca.test/d",
                                           &got, NULL, NULL),
                   0);
  struct byoca_cert_row r;
  assert_int_equal(byoca_store_cert_get(f->s, t.id, c, 1, &r, NULL), 0);
  byoca_cert_row_clear(&r);
  byoca_secret_free(&mac);
  byoca_secret_free(&key);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_accounts),
      T(test_eab),
      T(test_sealed_values_bound_to_rows),
      T(test_destroy_leaves_nothing),
      T(test_wrong_master_key),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
