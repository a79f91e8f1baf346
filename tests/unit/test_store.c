/* lib/store on SQLite: tenants, tokens, isolation, lineages, due work,
 * CA backoff, sealed secrets and their destruction. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "byoca/crypto.h"
#include "byoca/store.h"

static char dir[] = "/tmp/byoca-store-test.XXXXXX";
static char dbpath[256], keypath[256];

static struct byoca_store *open_store(const char *mkey) {
  struct byoca_secret m = {0};
  struct byoca_store *s = NULL;
  struct byoca_err err = {0};
  assert_int_equal(byoca_master_key_load(mkey, 1, &m, &err), 0);
  assert_int_equal(byoca_store_open(dbpath, &m, &s, &err), 0);
  byoca_secret_free(&m);
  return s;
}

static struct byoca_secret secret_of(const char *s) {
  struct byoca_secret x = {(unsigned char *)strdup(s), strlen(s)};
  return x;
}

static void test_aead(void **state) {
  (void)state;
  unsigned char key[32] = {1}, *box = NULL;
  size_t n = 0;
  struct byoca_secret out = {0};
  assert_int_equal(byoca_aead_seal(key, "a", 1, "hello", 5, &box, &n, NULL), 0);
  assert_int_equal(n, 12 + 5 + 16);
  assert_int_equal(byoca_aead_open(key, "a", 1, box, n, &out, NULL), 0);
  assert_memory_equal(out.data, "hello", 5);
  byoca_secret_free(&out);
  assert_int_equal(byoca_aead_open(key, "b", 1, box, n, &out, NULL),
                   BYOCA_E_CRYPTO);
  box[13] ^= 1;
  assert_int_equal(byoca_aead_open(key, "a", 1, box, n, &out, NULL),
                   BYOCA_E_CRYPTO);
  assert_null(out.data);
  free(box);
  assert_true(byoca_ct_equal("abc", "abc", 3));
  assert_false(byoca_ct_equal("abc", "abd", 3));
}

static void test_master_key(void **state) {
  (void)state;
  struct byoca_secret m = {0};
  struct byoca_err err = {0};
  char p[300];
  snprintf(p, sizeof(p), "%s/mk", dir);
  assert_int_equal(byoca_master_key_load(p, 0, &m, &err), BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_master_key_load(p, 1, &m, &err), 0);
  assert_int_equal(m.len, 32);
  byoca_secret_free(&m);
  struct stat sb;
  assert_int_equal(stat(p, &sb), 0);
  assert_int_equal(sb.st_mode & 0777, 0600);
  chmod(p, 0644);
  assert_int_equal(byoca_master_key_load(p, 0, &m, &err), BYOCA_E_POLICY);
  assert_non_null(strstr(err.msg, "644"));
  byoca_err_clear(&err);
  unlink(p);
}

static void test_tenants_tokens(void **state) {
  (void)state;
  struct byoca_store *s = open_store(keypath);
  struct byoca_tenant a, b;
  struct byoca_err err = {0};
  char tok[80], tok2[80];
  int64_t tid, who = -1, id;
  assert_int_equal(byoca_store_tenant_create(s, "alpha", &a, &err), 0);
  assert_int_equal(byoca_store_tenant_create(s, "beta", &b, &err), 0);
  assert_int_equal(byoca_store_tenant_create(s, "alpha", &b, &err),
                   BYOCA_E_INVAL);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_tenant_create(s, "a/b", &b, &err),
                   BYOCA_E_INVAL);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_token_mint(s, a.id, "x", tok, 80, &tid, &err),
                   0);
  assert_int_equal(strncmp(tok, "byoca_", 6), 0);
  assert_int_equal(byoca_store_token_check(s, tok, &who, &err), 0);
  assert_int_equal(who, a.id);
  assert_int_equal(byoca_store_token_mint(s, 0, "op", tok2, 80, &id, &err), 0);
  assert_int_equal(byoca_store_token_check(s, tok2, &who, &err), 0);
  assert_int_equal(who, 0);
  tok2[10] ^= 1;
  assert_int_equal(byoca_store_token_check(s, tok2, &who, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  /* another tenant cannot revoke it; its own can */
  assert_int_equal(byoca_store_token_revoke(s, b.id, tid, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_token_revoke(s, a.id, tid, &err), 0);
  assert_int_equal(byoca_store_token_check(s, tok, &who, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  byoca_store_close(s);
}

static int64_t add_cert(struct byoca_store *s, int64_t tenant, int64_t now) {
  struct byoca_cert_row r = {0};
  int64_t id = 0;
  r.identifiers_json = "[\"a.example\"]";
  strcpy(r.key_type, "ec256");
  strcpy(r.ca, "auto");
  assert_int_equal(byoca_store_cert_add(s, tenant, &r, now, &id, NULL), 0);
  return id;
}

static void test_certs_and_due(void **state) {
  (void)state;
  struct byoca_store *s = open_store(keypath);
  struct byoca_tenant t, u;
  struct byoca_cert_row r = {0};
  struct byoca_err err = {0};
  int64_t ids[8];
  size_t n = 0;
  assert_int_equal(byoca_store_tenant_create(s, "gamma", &t, &err), 0);
  assert_int_equal(byoca_store_tenant_create(s, "delta", &u, &err), 0);
  int64_t c1 = add_cert(s, t.id, 1000), c2 = add_cert(s, t.id, 900);
  assert_int_equal(byoca_store_cert_get(s, u.id, c1, 0, &r, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_cert_claim_due(s, 2000, 2600, 8, ids, &n, &err),
                   0);
  assert_true(n >= 2);
  assert_int_equal(ids[0], c2); /* most overdue first */
  assert_int_equal(byoca_store_cert_claim_due(s, 2000, 2600, 8, ids, &n, &err),
                   0);
  assert_int_equal(n, 0); /* leased */
  struct byoca_secret key = secret_of("-----BEGIN PRIVATE KEY-----\nSEKRIT");
  struct byoca_cert_row is = {0};
  strcpy(is.issuer, "ca.example");
  strcpy(is.serial, "01ab");
  is.not_before = 1000;
  is.not_after = 2000;
  is.next_check = 1600;
  assert_int_equal(
      byoca_store_cert_issued(s, c1, &is, "-----BEGIN CERT", &key, &err), 0);
  assert_int_equal(byoca_store_cert_get(s, t.id, c1, 1, &r, &err), 0);
  assert_int_equal(r.state, BYOCA_CERT_ISSUED);
  assert_string_equal(r.fullchain_pem, "-----BEGIN CERT");
  assert_int_equal(r.lease_until, 0);
  byoca_cert_row_clear(&r);
  struct byoca_secret back = {0};
  assert_int_equal(byoca_store_cert_key(s, u.id, c1, &back, &err),
                   BYOCA_E_NOTFOUND);
  byoca_err_clear(&err);
  assert_int_equal(byoca_store_cert_key(s, t.id, c1, &back, &err), 0);
  assert_memory_equal(back.data, key.data, key.len);
  byoca_secret_free(&back);
  byoca_secret_free(&key);
  assert_int_equal(byoca_store_cert_failed(s, c2, "boom", 5000, 2000, &err), 0);
  assert_int_equal(byoca_store_cert_get(s, t.id, c2, 0, &r, &err), 0);
  assert_int_equal(r.state, BYOCA_CERT_FAILED);
  assert_int_equal(r.failures, 1);
  byoca_cert_row_clear(&r);
  int64_t counts[4], due;
  assert_int_equal(byoca_store_cert_counts(s, 1700, counts, &due, &err), 0);
  assert_int_equal(counts[BYOCA_CERT_ISSUED], 1);
  assert_int_equal(due, 1); /* c1 at 1600 */
  byoca_store_close(s);
}

static void test_ca_backoff(void **state) {
  (void)state;
  struct byoca_store *s = open_store(keypath);
  struct byoca_ca_health h;
  int started = 0;
  for (int i = 1; i <= 3; i++)
    assert_int_equal(
        byoca_store_ca_record(s, "ca.test", 0, "down", 100, &started, NULL), 0);
  assert_int_equal(started, 1);
  assert_int_equal(byoca_store_ca_get(s, "ca.test", &h, NULL), 0);
  assert_int_equal(h.backoff_until, 400);
  assert_int_equal(
      byoca_store_ca_record(s, "ca.test", 0, "down", 500, &started, NULL), 0);
  assert_int_equal(started, 1);
  assert_int_equal(byoca_store_ca_get(s, "ca.test", &h, NULL), 0);
  assert_int_equal(h.backoff_until, 500 + 600);
  assert_int_equal(
      byoca_store_ca_record(s, "ca.test", 1, NULL, 600, &started, NULL), 0);
  assert_int_equal(byoca_store_ca_get(s, "ca.test", &h, NULL), 0);
  assert_int_equal(h.backoff_until, 0);
  assert_int_equal(h.failures, 0);
  byoca_store_close(s);
}

/* 1 if needle occurs in the file at path. */
static int file_has(const char *path, const void *needle, size_t n) {
  FILE *f = fopen(path, "rb");
  if (f == NULL)
    return 0;
  fseek(f, 0, SEEK_END);
  long len = ftell(f);
  rewind(f);
  unsigned char *buf = malloc((size_t)len + 1);
  size_t got = fread(buf, 1, (size_t)len, f);
  fclose(f);
  int found = 0;
  for (size_t i = 0; !found && n <= got && i + n <= got; i++)
    found = memcmp(buf + i, needle, n) == 0;
  free(buf);
  return found;
}

static void test_destroy_leaves_nothing(void **state) {
  (void)state;
  struct byoca_store *s = open_store(keypath);
  struct byoca_tenant t;
  struct byoca_err err = {0};
  const char *pem = "-----BEGIN PRIVATE KEY-----\nTHEKEYBYTESxyz123";
  assert_int_equal(byoca_store_tenant_create(s, "shred", &t, &err), 0);
  int64_t c = add_cert(s, t.id, 1);
  struct byoca_secret key = secret_of(pem), mac = secret_of("MACKEYmac0123456");
  struct byoca_cert_row is = {0};
  is.next_check = 10;
  assert_int_equal(byoca_store_cert_issued(s, c, &is, "chain", &key, &err), 0);
  assert_int_equal(byoca_store_eab_put(s, t.id, "ca.test", "kid-1", &mac, &err),
                   0);
  char kid[256];
  struct byoca_secret back = {0};
  assert_int_equal(
      byoca_store_eab_get(s, t.id, "ca.test", kid, sizeof(kid), &back, &err),
      0);
  assert_string_equal(kid, "kid-1");
  assert_memory_equal(back.data, mac.data, mac.len);
  byoca_secret_free(&back);
  char wal[300];
  snprintf(wal, sizeof(wal), "%s-wal", dbpath);
  assert_false(file_has(dbpath, pem, strlen(pem)));
  assert_false(file_has(wal, pem, strlen(pem)));
  assert_false(file_has(wal, mac.data, mac.len));
  assert_int_equal(byoca_store_tenant_destroy(s, t.id, &err), 0);
  byoca_store_close(s);
  /* not even the sealed blobs: check the tag-bearing tails are gone by
   * reopening and finding no rows, and the file has no plaintext */
  assert_false(file_has(dbpath, pem, strlen(pem)));
  assert_false(file_has(dbpath, "MACKEY", 6));
  byoca_secret_free(&key);
  byoca_secret_free(&mac);
}

static void test_wrong_master_key(void **state) {
  (void)state;
  struct byoca_store *s = open_store(keypath);
  struct byoca_tenant t;
  struct byoca_err err = {0};
  assert_int_equal(byoca_store_tenant_create(s, "eps", &t, &err), 0);
  struct byoca_secret mac = secret_of("0123456789abcdef");
  assert_int_equal(byoca_store_eab_put(s, t.id, "ca", "k", &mac, &err), 0);
  byoca_secret_free(&mac);
  byoca_store_close(s);
  char other[300];
  snprintf(other, sizeof(other), "%s/other.key", dir);
  s = open_store(other);
  char kid[64];
  struct byoca_secret back = {0};
  assert_int_equal(
      byoca_store_eab_get(s, t.id, "ca", kid, sizeof(kid), &back, &err),
      BYOCA_E_CRYPTO);
  assert_null(back.data);
  byoca_err_clear(&err);
  byoca_store_close(s);
}

static void test_events(void **state) {
  (void)state;
  struct byoca_store *s = open_store(keypath);
  struct byoca_event *ev = NULL;
  size_t n = 0;
  assert_int_equal(byoca_store_event_add(s, 7, 1, "a.b", NULL, 5, NULL), 0);
  assert_int_equal(byoca_store_event_add(s, 8, 2, "c.d", "{\"x\":1}", 6, NULL),
                   0);
  assert_int_equal(byoca_store_event_list(s, 8, 0, 10, &ev, &n, NULL), 0);
  assert_int_equal(n, 1);
  assert_string_equal(ev[0].type, "c.d");
  byoca_events_free(ev, n);
  assert_int_equal(byoca_store_event_list(s, -1, 0, 10, &ev, &n, NULL), 0);
  assert_true(n >= 2);
  byoca_events_free(ev, n);
  assert_int_equal(byoca_store_schema_version(s), 1);
  byoca_store_close(s);
}

static int setup(void **state) {
  (void)state;
  if (mkdtemp(dir) == NULL)
    return -1;
  snprintf(dbpath, sizeof(dbpath), "%s/store.db", dir);
  snprintf(keypath, sizeof(keypath), "%s/master.key", dir);
  return 0;
}

static int teardown(void **state) {
  (void)state;
  char cmd[300];
  snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
  return system(cmd) == 0 ? 0 : -1;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_aead),
      cmocka_unit_test(test_master_key),
      cmocka_unit_test(test_tenants_tokens),
      cmocka_unit_test(test_certs_and_due),
      cmocka_unit_test(test_ca_backoff),
      cmocka_unit_test(test_destroy_leaves_nothing),
      cmocka_unit_test(test_wrong_master_key),
      cmocka_unit_test(test_events),
  };
  return cmocka_run_group_tests(tests, setup, teardown);
}
