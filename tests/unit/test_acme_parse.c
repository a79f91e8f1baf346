/* The pure parsers of server objects (lib/acme/parse_*.c): what they take,
 * what they refuse, and the bounds they keep. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "parse.h"
#include "proto.h"

static json_t *load(const char *s) {
  json_t *j = NULL;
  assert_int_equal(acme_json_load(s, strlen(s), &j, NULL), 0);
  return j;
}

static void test_load(void **state) {
  (void)state;
  json_t *j = NULL;
  struct byoca_err e = {0};
  assert_int_equal(acme_json_load("{\"a\":1,\"a\":2}", 13, &j, &e),
                   BYOCA_E_PROTO);
  assert_null(j);
  assert_non_null(strstr(e.msg, "not JSON"));
  byoca_err_clear(&e);
  assert_int_equal(acme_json_load(NULL, 0, &j, NULL), BYOCA_E_PROTO);
}

static void test_directory(void **state) {
  (void)state;
  struct acme_dir_obj d;
  struct byoca_err e = {0};
  json_t *j = load("{\"newNonce\":\"https://a/n\",\"newAccount\":\"https://a/"
                   "a\",\"newOrder\":\"https://a/o\",\"renewalInfo\":\"https:"
                   "//a/r\",\"meta\":{\"termsOfService\":\"https://a/t\","
                   "\"externalAccountRequired\":true,\"caaIdentities\":[\"a."
                   "test\",7,\"b.test\"],\"profiles\":{\"p\":\"x\"}}}");
  assert_int_equal(acme_parse_directory(j, &d, NULL), 0);
  assert_string_equal(d.new_order, "https://a/o");
  assert_string_equal(d.renewal_info, "https://a/r");
  assert_null(d.revoke_cert);
  assert_string_equal(d.tos, "https://a/t");
  assert_true(d.eab_required);
  assert_true(d.has_caa_ids);
  assert_int_equal(d.ncaa_ids, 2);
  assert_string_equal(d.caa_ids[1], "b.test");
  assert_non_null(d.profiles);
  acme_dir_obj_free(&d);
  json_decref(j);
  j = load("{\"newAccount\":\"x\",\"newOrder\":\"y\"}");
  assert_int_equal(acme_parse_directory(j, &d, &e), BYOCA_E_PROTO);
  assert_non_null(strstr(e.msg, "\"newNonce\""));
  byoca_err_clear(&e);
  json_decref(j);
  j = load("{\"newNonce\":\"n\",\"newAccount\":\"x\",\"newOrder\":\"y\","
           "\"revokeCert\":5}");
  assert_int_equal(acme_parse_directory(j, &d, &e), BYOCA_E_PROTO);
  assert_non_null(strstr(e.msg, "\"revokeCert\""));
  byoca_err_clear(&e);
  json_decref(j);
  j = load("[1]");
  assert_int_equal(acme_parse_directory(j, &d, NULL), BYOCA_E_PROTO);
  json_decref(j);
}

static void test_order(void **state) {
  (void)state;
  struct acme_order_obj o;
  json_t *j = load(
      "{\"status\":\"invalid\",\"finalize\":\"https://a/f\",\"identifiers\":"
      "[{\"type\":\"dns\",\"value\":\"a.test\"}],\"authorizations\":[\"https:"
      "//a/z1\"],\"error\":{\"type\":\"urn:ietf:params:acme:error:caa\"}}");
  assert_int_equal(acme_parse_order(j, &o, NULL), 0);
  assert_string_equal(o.status, "invalid");
  assert_true(o.ids_ok);
  assert_int_equal(o.nids, 1);
  assert_string_equal(o.ids[0].value, "a.test");
  assert_int_equal(o.nauthz, 1);
  assert_non_null(strstr(o.error_json, "error:caa"));
  acme_order_obj_free(&o);
  json_decref(j);
  /* malformed lists are flagged, not fatal; no finalize is */
  j = load("{\"status\":\"pending\",\"finalize\":\"f\",\"identifiers\":[{"
           "\"type\":1,\"value\":\"a\"}],\"authorizations\":[\"u\",2]}");
  assert_int_equal(acme_parse_order(j, &o, NULL), 0);
  assert_false(o.ids_ok);
  assert_null(o.authz);
  assert_int_equal(o.nauthz, 0);
  acme_order_obj_free(&o);
  json_decref(j);
  j = load("{\"status\":\"pending\"}");
  assert_int_equal(acme_parse_order(j, &o, NULL), BYOCA_E_PROTO);
  json_decref(j);
}

static void test_authz(void **state) {
  (void)state;
  struct acme_authz_obj z;
  char buf[8192];
  size_t used = (size_t)snprintf(
      buf, sizeof(buf),
      "{\"status\":\"pending\",\"wildcard\":true,\"identifier\":{\"type\":"
      "\"dns\",\"value\":\"a.test\"},\"challenges\":[\"x\"");
  for (int i = 0; i < 40; i++)
    used += (size_t)snprintf(buf + used, sizeof(buf) - used,
                             ",{\"type\":\"http-01\",\"url\":\"https://a/c%d\","
                             "\"token\":\"t\",\"error\":{\"detail\":\"d\"}}",
                             i);
  snprintf(buf + used, sizeof(buf) - used, "]}");
  json_t *j = load(buf);
  assert_int_equal(acme_parse_authz(j, &z, NULL), 0);
  assert_true(z.wildcard);
  assert_string_equal(z.ident.value, "a.test");
  /* the first ACME_MAX_CHALLENGES entries, objects only */
  assert_int_equal(z.nchalls, ACME_MAX_CHALLENGES - 1);
  assert_string_equal(z.challs[0].url, "https://a/c0");
  assert_non_null(z.challs[0].error_json);
  acme_authz_obj_free(&z);
  json_decref(j);
  j = load("{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\"},"
           "\"challenges\":[]}");
  assert_int_equal(acme_parse_authz(j, &z, NULL), BYOCA_E_PROTO);
  json_decref(j);
  j = load("{\"status\":\"pending\",\"identifier\":{\"type\":\"dns\","
           "\"value\":\"a\"},\"challenges\":{}}");
  assert_int_equal(acme_parse_authz(j, &z, NULL), BYOCA_E_PROTO);
  json_decref(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_load),
      cmocka_unit_test(test_directory),
      cmocka_unit_test(test_order),
      cmocka_unit_test(test_authz),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
