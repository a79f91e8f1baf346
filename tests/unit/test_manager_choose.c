/* Unit tests of the manager's candidate policy as pure functions: the
 * candidate list (no duplicates), dropping CAs in backoff (D-BACKOFF) or
 * without an allowed challenge type, with the reasons kept for the
 * lineage's last_outcome; D-EAB skipping; RFC 8657 validationmethods
 * against our solvers through real lib/caa discovery; the D-RANDOM seed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "caa_fixture.h"
#include "mgr_int.h"

#define T0 1795867200LL

static void test_cands_add(void **state) {
  (void)state;
  struct mgr_cands c = {0};
  assert_int_equal(mgr_cands_add(&c, "ca1.example", NULL, 0, 3), 0);
  assert_int_equal(mgr_cands_add(&c, "https://acme.example/dir",
                                 "https://acme.example/dir", 1, 1),
                   0);
  assert_int_equal(mgr_cands_add(&c, "CA1.example", "https://x/", 0, 1), 0);
  assert_int_equal(c.n, 2); /* the second ca1 is the same CA */
  assert_string_equal(c.v[0].issuer, "ca1.example");
  assert_null(c.v[0].directory);
  assert_int_equal(c.v[0].methods, 3);
  assert_true(c.v[1].by_url);
  assert_string_equal(c.v[1].directory, "https://acme.example/dir");
  mgr_cands_clear(&c);
  assert_int_equal(c.n, 0);
  assert_null(c.v);
}

static void test_filter_backoff(void **state) {
  (void)state;
  struct mgr_cands c = {0};
  struct byoca_ca_health h[4];
  struct byoca_buf why;
  memset(h, 0, sizeof(h));
  byoca_buf_init(&why, 0);
  assert_int_equal(mgr_cands_add(&c, "a.example", NULL, 0, 1), 0);
  assert_int_equal(mgr_cands_add(&c, "b.example", NULL, 0, 1), 0);
  assert_int_equal(mgr_cands_add(&c, "c.example", NULL, 0, 0), 0);
  assert_int_equal(mgr_cands_add(&c, "d.example", NULL, 0, 2), 0);
  h[0].backoff_until = T0 - 1; /* ended: usable again */
  h[0].failures = 3;
  h[1].backoff_until = T0 + 600;
  assert_int_equal(mgr_cands_filter(&c, h, T0, &why), 2);
  assert_int_equal(c.n, 2);
  assert_string_equal(c.v[0].issuer, "a.example"); /* order kept */
  assert_string_equal(c.v[1].issuer, "d.example");
  assert_non_null(strstr(why.data, "b.example: backing off after repeated"
                                   " failures until 2026-11-28T12:10:00Z"));
  assert_non_null(strstr(why.data, "c.example: no challenge type"));
  assert_null(strstr(why.data, "a.example"));
  assert_null(strstr(why.data, "d.example"));
  /* all gone */
  byoca_buf_reset(&why);
  struct byoca_ca_health all[2];
  memset(all, 0, sizeof(all));
  all[0].backoff_until = all[1].backoff_until = T0 + 1;
  assert_int_equal(mgr_cands_filter(&c, all, T0, &why), 0);
  assert_int_equal(c.n, 0);
  mgr_cands_clear(&c);
  byoca_buf_free(&why);
}

static void test_filter_no_health(void **state) {
  (void)state;
  struct mgr_cands c = {0};
  assert_int_equal(mgr_cands_add(&c, "a.example", NULL, 0, 1), 0);
  assert_int_equal(mgr_cands_add(&c, "b.example", NULL, 0, 0), 0);
  assert_int_equal(mgr_cands_filter(&c, NULL, T0, NULL), 1);
  assert_string_equal(c.v[0].issuer, "a.example");
  mgr_cands_clear(&c);
}

static void test_eab_skip(void **state) {
  (void)state;
  /* required, account, credentials -> skip */
  assert_int_equal(mgr_eab_skip(1, 0, 0), 1);
  assert_int_equal(mgr_eab_skip(1, 1, 0), 0); /* account exists already */
  assert_int_equal(mgr_eab_skip(1, 0, 1), 0);
  assert_int_equal(mgr_eab_skip(0, 0, 0), 0);
  assert_int_equal(mgr_eab_skip(0, 1, 1), 0);
}

static const char *const both[] = {"http-01", "dns-01"};

static unsigned allowed(const struct rec *const *recs, size_t n,
                        const char *issuer, unsigned ours) {
  const char *names[4] = {"a.example", "b.example", "c.example", "d.example"};
  struct byoca_caa_rrset *sets[4];
  struct byoca_caa_discovery d;
  struct byoca_caa_policy p = {.methods = both, .nmethods = 2};
  for (size_t i = 0; i < n; i++)
    sets[i] = fx_set(names[i], recs[i]);
  assert_int_equal(
      byoca_caa_discover(names, (const struct byoca_caa_rrset *const *)sets, n,
                         &p, &d, NULL),
      0);
  unsigned m = mgr_methods_allowed(&d, issuer, ours);
  byoca_caa_discovery_clear(&d);
  for (size_t i = 0; i < n; i++)
    fx_free(sets[i]);
  return m;
}

static void test_methods_allowed(void **state) {
  (void)state;
  const unsigned H = MGR_M_HTTP01, D = MGR_M_DNS01;
  static const struct rec any[] = {{0, "issue", "ca.example"}, {0, NULL, NULL}};
  static const struct rec dns[] = {
      {0, "issue", "ca.example; validationmethods=dns-01"}, {0, NULL, NULL}};
  static const struct rec http[] = {
      {0, "issue", "ca.example; validationmethods=http-01,tls-alpn-01"},
      {0, NULL, NULL}};
  static const struct rec two[] = {
      {0, "issue", "ca.example; validationmethods=dns-01"},
      {0, "issue", "ca.example; validationmethods=http-01"},
      {0, NULL, NULL}};
  static const struct rec other[] = {{0, "issue", "other.example"},
                                     {0, NULL, NULL}};
  const struct rec *r1[] = {any};
  assert_int_equal(allowed(r1, 1, "ca.example", H | D), H | D);
  const struct rec *r2[] = {dns};
  assert_int_equal(allowed(r2, 1, "ca.example", H | D), D);
  assert_int_equal(allowed(r2, 1, "ca.example", H), 0);
  const struct rec *r3[] = {dns, http}; /* no common method */
  assert_int_equal(allowed(r3, 2, "ca.example", H | D), 0);
  const struct rec *r4[] = {two, http}; /* union per name, then meet */
  assert_int_equal(allowed(r4, 2, "ca.example", H | D), H);
  const struct rec *r5[] = {http, NULL}; /* second name unrestricted */
  assert_int_equal(allowed(r5, 2, "CA.example", H | D), H);
  const struct rec *r6[] = {other}; /* not usable for ca.example */
  assert_int_equal(allowed(r6, 1, "ca.example", H | D), 0);
  assert_int_equal(mgr_methods_allowed(NULL, "x", H), H);
}

static void test_seed(void **state) {
  (void)state;
  assert_true(mgr_seed(1) == mgr_seed(1));
  assert_true(mgr_seed(1) != mgr_seed(2));
  assert_true(mgr_seed(0) != 0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_cands_add),
      cmocka_unit_test(test_filter_backoff),
      cmocka_unit_test(test_filter_no_health),
      cmocka_unit_test(test_eab_skip),
      cmocka_unit_test(test_methods_allowed),
      cmocka_unit_test(test_seed),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
