/* lib/store on either backend (test_store_fixture.h), secrets at rest: accounts
 * (sealed keys, public JWKs), EAB credentials, tenant isolation of both, AAD
 * binding (a sealed value moved to another row does not open), destruction that
 * leaves neither plaintext nor ciphertext in the database (on SQLite: nor in
 * its files, WAL included), and a wrong master key failing cleanly. */
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
  assert_int_equal(byoca_store_cert_issued(f->s, c1, &is, "c", &k, NULL, NULL),
                   0);
  assert_int_equal(byoca_store_cert_issued(f->s, c2, &is, "c", &k, NULL, NULL),
                   0);
  fx_sql_ii(f->s,
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
  fx_sql_ii(f->s,
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
  fx_sql_ii(f->s,
            "UPDATE eab_credentials SET tenant_id = ? WHERE tenant_id = ?"
            " AND issuer = 'z'",
            b.id, a.id);
  assert_int_equal(
      byoca_store_eab_get(f->s, b.id, "z", kid, sizeof(kid), &out, &err),
      BYOCA_E_CRYPTO);
  byoca_err_clear(&err);
  /* wrapped data keys between tenants */
  assert_int_equal(byoca_store_eab_put(f->s, b.id, "w", "k", &m, NULL), 0);
  fx_sql_ii(f->s,
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

static int anywhere(struct fx *f, const void *d, size_t n) {
  return fx_has(f, d, n);
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
  assert_int_equal(
      byoca_store_cert_issued(f->s, c, &is, "chain", &k1, NULL, NULL), 0);
  read_sealed(f, "SELECT key FROM certificates WHERE id = ?", c, &old_key);
  assert_int_equal(
      byoca_store_cert_issued(f->s, c, &is, "chain", &k2, NULL, NULL), 0);
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
  assert_int_equal(byoca_store_cert_destroy(f->s, c, NULL, NULL), 0);
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
  assert_int_equal(byoca_store_cert_issued(f->s, c, &is, "x", &key, NULL, NULL),
                   0);
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

/* Opens the store at url with f's master key. */
static struct byoca_store *open_url(struct fx *f, const char *url) {
  struct byoca_secret m = {0};
  struct byoca_store *s = NULL;
  struct byoca_err err = {0};
  assert_int_equal(byoca_master_key_load(f->key, 0, &m, NULL), 0);
  if (byoca_store_open(url, &m, &s, &err) != 0)
    fail_msg("open: %s", err.msg);
  byoca_secret_free(&m);
  return s;
}

struct filled {
  struct byoca_tenant a, b;
  char tok[80], op[80], gone[80];
  int64_t issued, pending, deleting, last_event;
  struct byoca_secret cert_key, acct_key, order_key, mac;
};

/* One of everything in s, some of it sealed. */
static void fill(struct byoca_store *s, struct filled *x) {
  int64_t id = 0;
  int started = 0;
  x->a = fx_tenant(s, "a");
  x->b = fx_tenant(s, "b");
  assert_int_equal(byoca_store_token_mint(s, x->a.id, "t", x->tok,
                                          sizeof(x->tok), &id, NULL),
                   0);
  assert_int_equal(
      byoca_store_token_mint(s, 0, "op", x->op, sizeof(x->op), &id, NULL), 0);
  assert_int_equal(byoca_store_token_mint(s, x->b.id, "g", x->gone,
                                          sizeof(x->gone), &id, NULL),
                   0);
  assert_int_equal(byoca_store_token_revoke(s, x->b.id, id, NULL), 0);
  for (int i = 0; i < 3; i++)
    assert_int_equal(
        byoca_store_ca_record(s, "ca.test", 0, "down", 100, &started, NULL), 0);
  x->acct_key = new_key_pem(NULL);
  struct byoca_account_row ar =
      account(x->a.id, "https://ca.test/dir", "https://ca.test/acct/7");
  assert_int_equal(byoca_store_account_put(s, &ar, &x->acct_key, NULL), 0);
  x->mac = fx_secret("eab-mac-0123456789");
  assert_int_equal(
      byoca_store_eab_put(s, x->b.id, "ca.test", "kid-b", &x->mac, NULL), 0);
  x->issued = fx_cert(s, x->a.id, 10);
  x->pending = fx_cert(s, x->b.id, 20);
  x->deleting = fx_cert(s, x->a.id, 30);
  struct byoca_cert_row is = {0};
  snprintf(is.serial, sizeof(is.serial), "0abc");
  is.next_check = 5000;
  x->cert_key = fx_secret("-----BEGIN PRIVATE KEY-----\nCOPIED");
  assert_int_equal(byoca_store_cert_issued(s, x->issued, &is, "CHAIN",
                                           &x->cert_key, NULL, NULL),
                   0);
  assert_int_equal(
      byoca_store_cert_set_deleting(s, x->a.id, x->deleting, 0, NULL), 0);
  x->order_key = fx_secret("-----BEGIN PRIVATE KEY-----\nORDER");
  struct byoca_order_row o = {.cert_id = x->pending, .started = 21};
  snprintf(o.order_url, sizeof(o.order_url), "https://ca.test/order/1");
  assert_int_equal(byoca_store_order_put(s, &o, &x->order_key, NULL), 0);
  assert_int_equal(
      byoca_store_challenge_put(s, "tok", "tok.thumb", x->pending, 999, NULL),
      0);
  assert_int_equal(
      byoca_store_event_add(s, x->a.id, x->issued, "x.y", "{\"n\":1}", 5, NULL),
      0);
  assert_int_equal(byoca_store_event_add(s, 0, 0, "op.z", NULL, 6, NULL), 0);
  struct byoca_event *ev = NULL;
  size_t n = 0;
  assert_int_equal(byoca_store_event_list(s, -1, 0, 10, &ev, &n, NULL), 0);
  x->last_event = ev[n - 1].id;
  byoca_events_free(ev, n);
}

/* Everything fill put in is in s, readable with the same master key. */
static void check_filled(struct byoca_store *s, const struct filled *x) {
  struct byoca_err err = {0};
  struct byoca_secret out = {0};
  struct byoca_cert_row r;
  struct byoca_account_row ar;
  struct byoca_ca_health h;
  char kid[256], ka[512];
  int64_t who = -1, n64 = 0;
  assert_int_equal(byoca_store_token_check(s, x->tok, &who, NULL), 0);
  assert_int_equal(who, x->a.id);
  assert_int_equal(byoca_store_token_check(s, x->op, &who, NULL), 0);
  assert_int_equal(who, 0);
  assert_int_equal(byoca_store_token_check(s, x->gone, &who, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_ca_get(s, "ca.test", &h, NULL), 0);
  assert_int_equal(h.failures, 3);
  assert_int_equal(h.backoff_until, 400);
  assert_int_equal(byoca_store_account_get(s, x->a.id, "https://ca.test/dir",
                                           &ar, &out, NULL),
                   0);
  assert_string_equal(ar.url, "https://ca.test/acct/7");
  assert_memory_equal(out.data, x->acct_key.data, x->acct_key.len);
  byoca_secret_free(&out);
  assert_int_equal(
      byoca_store_eab_get(s, x->b.id, "ca.test", kid, sizeof(kid), &out, NULL),
      0);
  assert_string_equal(kid, "kid-b");
  assert_memory_equal(out.data, x->mac.data, x->mac.len);
  byoca_secret_free(&out);
  assert_int_equal(byoca_store_cert_get(s, x->a.id, x->issued, 1, &r, NULL), 0);
  assert_int_equal(r.state, BYOCA_CERT_ISSUED);
  assert_string_equal(r.serial, "0abc");
  assert_string_equal(r.fullchain_pem, "CHAIN");
  assert_int_equal(r.next_check, 5000);
  byoca_cert_row_clear(&r);
  assert_int_equal(byoca_store_cert_key(s, x->a.id, x->issued, &out, NULL), 0);
  assert_memory_equal(out.data, x->cert_key.data, x->cert_key.len);
  byoca_secret_free(&out);
  assert_int_equal(byoca_store_cert_get(s, x->a.id, x->deleting, 0, &r, NULL),
                   0);
  assert_int_equal(r.state, BYOCA_CERT_DELETING);
  assert_int_equal(r.revoke_on_delete, 0);
  byoca_cert_row_clear(&r);
  struct byoca_order_row o;
  assert_int_equal(byoca_store_order_get(s, x->pending, &o, &out, NULL), 0);
  assert_string_equal(o.order_url, "https://ca.test/order/1");
  assert_memory_equal(out.data, x->order_key.data, x->order_key.len);
  byoca_secret_free(&out);
  assert_int_equal(byoca_store_order_count(s, &n64, NULL), 0);
  assert_int_equal(n64, 1);
  assert_int_equal(byoca_store_challenge_get(s, "tok", 1, ka, sizeof(ka), NULL),
                   0);
  assert_string_equal(ka, "tok.thumb");
  struct byoca_event *ev = NULL;
  size_t n = 0;
  assert_int_equal(byoca_store_event_list(s, -1, 0, 10, &ev, &n, NULL), 0);
  assert_int_equal(n, 2);
  assert_int_equal(ev[1].id, x->last_event);
  assert_string_equal(ev[0].detail_json, "{\"n\":1}");
  byoca_events_free(ev, n);
  /* new rows get new ids after the copied ones */
  struct byoca_tenant c = fx_tenant(s, "c");
  assert_true(c.id > x->b.id);
  assert_true(fx_cert(s, c.id, 1) > x->deleting);
  assert_int_equal(byoca_store_event_add(s, 0, 0, "after", NULL, 7, NULL), 0);
  assert_int_equal(
      byoca_store_event_list(s, -1, x->last_event, 10, &ev, &n, NULL), 0);
  assert_int_equal(n, 1);
  byoca_events_free(ev, n);
}

static void free_filled(struct filled *x) {
  byoca_secret_free(&x->cert_key);
  byoca_secret_free(&x->acct_key);
  byoca_secret_free(&x->order_key);
  byoca_secret_free(&x->mac);
}

/* byocad migrate-store: a store copied row for row into an empty one of
 * the same backend, and on PostgreSQL also to SQLite and back, keeps
 * every sealed value readable and ids going on; a store that is not
 * empty is refused and left as it was. */
static void test_copy_store(void **state) {
  struct fx *f = *state;
  struct filled x;
  struct byoca_err err = {0};
  char url[1024], lite[256];
  fill(f->s, &x);
  fx_fresh_url(f, url, sizeof(url));
  struct byoca_store *to = NULL, *mid = NULL;
  if (f->pgdb[0] != '\0') { /* PostgreSQL -> SQLite -> PostgreSQL */
    snprintf(lite, sizeof(lite), "sqlite:%s/middle.db", f->dir);
    mid = open_url(f, lite);
    if (byoca_store_copy(f->s, mid, &err) != 0)
      fail_msg("copy to SQLite: %s", err.msg);
    assert_string_equal(byoca_store_backend(mid), "sqlite");
    to = open_url(f, url);
    if (byoca_store_copy(mid, to, &err) != 0)
      fail_msg("copy to PostgreSQL: %s", err.msg);
  } else {
    to = open_url(f, url);
    if (byoca_store_copy(f->s, to, &err) != 0)
      fail_msg("copy: %s", err.msg);
  }
  assert_string_equal(byoca_store_backend(to), byoca_store_backend(f->s));
  /* the sealed bytes are the very same */
  unsigned char b1[4096], b2[4096];
  size_t n1 = fx_blob(f, "SELECT key FROM certificates WHERE id = ?", x.issued,
                      b1, sizeof(b1));
  struct fx g = *f;
  snprintf(g.url, sizeof(g.url), "%s", url);
  snprintf(g.db, sizeof(g.db), "%s/fresh.db", f->dir);
  if (f->pgdb[0] != '\0')
    snprintf(g.pgdb, sizeof(g.pgdb), "%.60s", f->pgdb2);
  size_t n2 = fx_blob(&g, "SELECT key FROM certificates WHERE id = ?", x.issued,
                      b2, sizeof(b2));
  assert_int_equal(n1, n2);
  assert_memory_equal(b1, b2, n1);
  check_filled(to, &x);
  /* into a store that is not empty: refused, nothing changes */
  int64_t before = fx_int(to, "SELECT count(*) FROM tenants");
  assert_int_equal(byoca_store_copy(f->s, to, &err), BYOCA_E_INVAL);
  assert_non_null(strstr(err.msg, "not empty"));
  byoca_err_clear(&err);
  assert_int_equal(fx_int(to, "SELECT count(*) FROM tenants"), before);
  byoca_store_close(to);
  byoca_store_close(mid);
  free_filled(&x);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, fx_setup, fx_teardown)

/* A tenant's RFC 2136 servers: the secret sealed (never stored in clear),
 * listed with or without it, bound to its row, per tenant. */
static struct byoca_rfc2136_row r2136(const char *zone, int port) {
  struct byoca_rfc2136_row r = {.port = port};
  byoca_strlcpy(r.zone, zone, sizeof(r.zone));
  byoca_strlcpy(r.server, "192.0.2.53", sizeof(r.server));
  byoca_strlcpy(r.key_name, "upd.", sizeof(r.key_name));
  byoca_strlcpy(r.algorithm, "hmac-sha512", sizeof(r.algorithm));
  return r;
}

static void test_rfc2136(void **state) {
  struct fx *f = *state;
  struct byoca_tenant a = fx_tenant(f->s, "a"), b = fx_tenant(f->s, "b");
  struct byoca_err err = {0};
  const char *s1 = "c2VjcmV0LW9uZS0wMTIzNDU2Nzg5", *s2 = "c2Vjb25kLXNlY3JldA==";
  struct byoca_secret k1 = fx_secret(s1), k2 = fx_secret(s2);
  struct byoca_rfc2136_row ra = r2136("upd.test", 53), rb = r2136("", 5353);
  struct byoca_rfc2136_row *rows = NULL;
  struct byoca_secret *secs = NULL;
  size_t n = 9;
  assert_int_equal(byoca_store_rfc2136_put(f->s, a.id, &ra, &k1, NULL), 0);
  assert_int_equal(byoca_store_rfc2136_put(f->s, a.id, &rb, &k2, NULL), 0);
  assert_false(anywhere(f, s1, strlen(s1)));
  assert_false(anywhere(f, s2, strlen(s2)));
  assert_int_equal(byoca_store_rfc2136_list(f->s, a.id, &rows, &secs, &n, NULL),
                   0);
  assert_int_equal(n, 2);
  assert_string_equal(rows[0].zone, ""); /* ordered by zone */
  assert_int_equal(rows[0].port, 5353);
  assert_string_equal(rows[1].zone, "upd.test");
  assert_string_equal(rows[1].server, "192.0.2.53");
  assert_string_equal(rows[1].key_name, "upd.");
  assert_string_equal(rows[1].algorithm, "hmac-sha512");
  assert_true(rows[1].created > 0);
  assert_int_equal(secs[0].len, strlen(s2));
  assert_memory_equal(secs[0].data, s2, strlen(s2));
  assert_memory_equal(secs[1].data, s1, strlen(s1));
  for (size_t i = 0; i < n; i++)
    byoca_secret_free(&secs[i]);
  free(secs);
  free(rows);
  /* replace: one row, the new secret */
  ra.port = 5300;
  assert_int_equal(byoca_store_rfc2136_put(f->s, a.id, &ra, &k2, NULL), 0);
  assert_int_equal(byoca_store_rfc2136_list(f->s, a.id, &rows, &secs, &n, NULL),
                   0);
  assert_int_equal(n, 2);
  assert_int_equal(rows[1].port, 5300);
  assert_memory_equal(secs[1].data, s2, strlen(s2));
  for (size_t i = 0; i < n; i++)
    byoca_secret_free(&secs[i]);
  free(secs);
  free(rows);
  /* without secrets */
  assert_int_equal(byoca_store_rfc2136_list(f->s, a.id, &rows, NULL, &n, NULL),
                   0);
  assert_int_equal(n, 2);
  free(rows);
  /* b sees and deletes none of a's */
  assert_int_equal(byoca_store_rfc2136_list(f->s, b.id, &rows, &secs, &n, NULL),
                   0);
  assert_int_equal(n, 0);
  free(rows);
  free(secs);
  assert_int_equal(byoca_store_rfc2136_delete(f->s, b.id, "upd.test", &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  /* a sealed secret moved to another zone's row no longer opens */
  fx_sql(f->s, "UPDATE rfc2136_servers SET secret = (SELECT secret FROM"
               " rfc2136_servers WHERE zone = 'upd.test') WHERE zone = ''");
  rows = NULL;
  secs = NULL;
  assert_int_equal(byoca_store_rfc2136_list(f->s, a.id, &rows, &secs, &n, &err),
                   BYOCA_E_CRYPTO);
  assert_null(rows);
  assert_null(secs);
  byoca_err_clear(&err);
  /* delete */
  assert_int_equal(byoca_store_rfc2136_delete(f->s, a.id, "", NULL), 0);
  assert_int_equal(byoca_store_rfc2136_delete(f->s, a.id, "", &err),
                   BYOCA_E_NOTFOUND);
  assert_non_null(strstr(err.msg, "'*'"));
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_rfc2136_list(f->s, a.id, &rows, &secs, &n, NULL),
                   0);
  assert_int_equal(n, 1);
  byoca_secret_free(&secs[0]);
  free(secs);
  free(rows);
  assert_int_equal(byoca_store_rfc2136_put(f->s, 4242, &ra, &k1, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  /* the tenant's deletion takes its entries */
  assert_int_equal(byoca_store_tenant_destroy(f->s, a.id, NULL), 0);
  assert_int_equal(fx_int(f->s, "SELECT count(*) FROM rfc2136_servers"), 0);
  byoca_secret_free(&k1);
  byoca_secret_free(&k2);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      T(test_accounts),
      T(test_eab),
      T(test_rfc2136),
      T(test_sealed_values_bound_to_rows),
      T(test_destroy_leaves_nothing),
      T(test_wrong_master_key),
      T(test_copy_store),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
