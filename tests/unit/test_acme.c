/* Unit tests of the ACME engine's pure parts: problem documents with
 * subproblems, the D-FALLBACK class table, D-POLL timing, name checks,
 * revocation reasons, and meta.profiles (hostile input bounded). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "byoca/acme.h"

static void test_problem_subproblems(void **state) {
  (void)state;
  const char *doc =
      "{\"type\":\"urn:ietf:params:acme:error:malformed\","
      "\"detail\":\"Some of the identifiers requested were rejected\","
      "\"status\":400,"
      "\"subproblems\":["
      "{\"type\":\"urn:ietf:params:acme:error:malformed\","
      "\"detail\":\"Invalid underscore in DNS name \\\"_example.org\\\"\","
      "\"identifier\":{\"type\":\"dns\",\"value\":\"_example.org\"}},"
      "{\"type\":\"urn:ietf:params:acme:error:rejectedIdentifier\","
      "\"detail\":\"This CA will not issue for \\\"example.net\\\"\","
      "\"identifier\":{\"type\":\"dns\",\"value\":\"example.net\"}}]}";
  struct byoca_problem *p = NULL;
  assert_int_equal(byoca_problem_parse(doc, strlen(doc), &p), 0);
  assert_string_equal(p->type, "urn:ietf:params:acme:error:malformed");
  assert_int_equal(p->status, 400);
  assert_int_equal(p->nsub, 2);
  assert_string_equal(p->sub[0].ident_type, "dns");
  assert_string_equal(p->sub[0].ident_value, "_example.org");
  assert_string_equal(p->sub[1].type,
                      "urn:ietf:params:acme:error:rejectedIdentifier");
  assert_string_equal(p->sub[1].ident_value, "example.net");
  assert_null(p->ident_type); /* only subproblems carry identifiers */
  byoca_problem_free(p);
}

static void test_problem_garbage(void **state) {
  (void)state;
  const char *bad[] = {"", "[]", "\"x\"", "{", "not json", "{\"type\":1"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    struct byoca_problem *p = NULL;
    assert_int_not_equal(byoca_problem_parse(bad[i], strlen(bad[i]), &p), 0);
    assert_null(p);
  }
  /* wrong member types are ignored, not trusted */
  const char *odd = "{\"type\":5,\"detail\":[1],\"status\":\"400\","
                    "\"subproblems\":\"x\"}";
  struct byoca_problem *p = NULL;
  assert_int_equal(byoca_problem_parse(odd, strlen(odd), &p), 0);
  assert_null(p->type);
  assert_null(p->detail);
  assert_int_equal(p->status, 0);
  assert_int_equal(p->nsub, 0);
  byoca_problem_free(p);
}

static void test_problem_many_subproblems(void **state) {
  (void)state;
  struct byoca_buf b;
  byoca_buf_init(&b, 0);
  assert_int_equal(byoca_buf_appends(&b, "{\"type\":\"x\",\"subproblems\":["),
                   0);
  for (int i = 0; i < 5000; i++)
    assert_int_equal(
        byoca_buf_appendf(&b, "%s{\"detail\":\"d%d\"}", i ? "," : "", i), 0);
  assert_int_equal(byoca_buf_appends(&b, "]}"), 0);
  struct byoca_problem *p = NULL;
  assert_int_equal(byoca_problem_parse(b.data, b.len, &p), 0);
  assert_int_equal(p->nsub, 100);       /* capped */
  assert_int_equal(p->nsub_sent, 5000); /* but counted */
  /* the one-line error says how many there were */
  struct byoca_err e = {0};
  char line[1024];
  byoca_err_set(&e, BYOCA_E_ACME, BYOCA_CLASS_CA, "refused");
  byoca_err_set_problem(&e, p); /* takes p */
  byoca_err_format(&e, line, sizeof(line));
  assert_non_null(strstr(line, "(5000 subproblems)"));
  assert_non_null(strstr(line, "and 4992 more"));
  byoca_err_clear(&e);
  byoca_buf_free(&b);
}

static void test_problem_class(void **state) {
  (void)state;
  static const struct {
    const char *type;
    enum byoca_errclass cls;
  } rows[] = {
      {"urn:ietf:params:acme:error:rateLimited", BYOCA_CLASS_RETRYABLE},
      {"urn:ietf:params:acme:error:badNonce", BYOCA_CLASS_RETRYABLE},
      {"urn:ietf:params:acme:error:externalAccountRequired", BYOCA_CLASS_CA},
      {"urn:ietf:params:acme:error:unauthorized", BYOCA_CLASS_CA},
      {"urn:ietf:params:acme:error:caa", BYOCA_CLASS_CA},
      {"urn:ietf:params:acme:error:rejectedIdentifier", BYOCA_CLASS_CA},
      {"urn:ietf:params:acme:error:unsupportedIdentifier", BYOCA_CLASS_CA},
      {"urn:ietf:params:acme:error:invalidProfile", BYOCA_CLASS_CA},
      {"urn:ietf:params:acme:error:serverInternal", BYOCA_CLASS_CA},
      {"urn:ietf:params:acme:error:incorrectResponse", BYOCA_CLASS_INPUT},
      {"urn:ietf:params:acme:error:connection", BYOCA_CLASS_INPUT},
      {"urn:ietf:params:acme:error:accountDoesNotExist", BYOCA_CLASS_INPUT},
      {"invalidContact", BYOCA_CLASS_INPUT},
      {"urn:example:somethingNew", BYOCA_CLASS_CA},
      {NULL, BYOCA_CLASS_CA},
  };
  for (size_t i = 0; i < sizeof(rows) / sizeof(*rows); i++)
    assert_int_equal(byoca_problem_class(rows[i].type), rows[i].cls);
}

static void test_poll_delay(void **state) {
  (void)state;
  int64_t now = 1700000000;
  /* no Retry-After: 250 ms doubling to 30 s */
  assert_int_equal(byoca_poll_delay_ms(NULL, 0, now), 250);
  assert_int_equal(byoca_poll_delay_ms(NULL, 1, now), 500);
  assert_int_equal(byoca_poll_delay_ms(NULL, 3, now), 2000);
  assert_int_equal(byoca_poll_delay_ms(NULL, 7, now), 30000);
  assert_int_equal(byoca_poll_delay_ms(NULL, 1000, now), 30000);
  /* delay-seconds, clamped to 1 s .. 10 min */
  assert_int_equal(byoca_poll_delay_ms("3", 0, now), 3000);
  assert_int_equal(byoca_poll_delay_ms("0", 0, now), 1000);
  assert_int_equal(byoca_poll_delay_ms("999999999", 0, now), 600000);
  /* HTTP-date: in 1970 -> clamped to 1 s; in 2200 -> 10 min */
  assert_int_equal(byoca_poll_delay_ms("Thu, 01 Jan 1970 00:00:00 GMT", 0, now),
                   1000);
  assert_int_equal(byoca_poll_delay_ms("Wed, 01 Jan 2200 00:00:00 GMT", 0, now),
                   600000);
  /* garbage falls back to the schedule */
  assert_int_equal(byoca_poll_delay_ms("soon", 2, now), 1000);
  assert_int_equal(byoca_poll_delay_ms("-5", 0, now), 250);
}

static void test_check_name(void **state) {
  (void)state;
  static const char *const good[] = {
      "example.org", "a.b.example.org", "*.example.org", "xn--bcher-kva.de",
      "EXAMPLE.ORG", "example.org.",    "192.0.2.1",     "2001:db8::1",
      "a-b.example", "1.example",
  };
  static const char *const bad[] = {
      "",
      "localhost",
      "example",
      "-a.example",
      "a-.example",
      "a..example",
      "a_b.example",
      "*.*.example.org",
      "a.*.example",
      "ex ample.org",
      "example.org..",
      ".example.org",
      "*example.org",
      "*.",
  };
  for (size_t i = 0; i < sizeof(good) / sizeof(*good); i++)
    assert_int_equal(byoca_acme_check_name(good[i], NULL), 0);
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    struct byoca_err e = {0};
    assert_int_equal(byoca_acme_check_name(bad[i], &e), BYOCA_E_INVAL);
    assert_non_null(strstr(e.msg, "invalid domain name"));
    byoca_err_clear(&e);
  }
  char long_label[80];
  memset(long_label, 'a', 64);
  memcpy(long_label + 64, ".example", 9);
  assert_int_equal(byoca_acme_check_name(long_label, NULL), BYOCA_E_INVAL);
}

static void test_profile_name(void **state) {
  (void)state;
  const char *ok[] = {"classic", "shortlived", "tls-server_1.0", "a",
                      "123456789012345678901234567890123456789012345678901234"
                      "567890123"};
  const char *bad[] = {NULL,
                       "",
                       "two words",
                       "caf\xc3\xa9",
                       "a/b",
                       "x\n",
                       "quote\"",
                       "1234567890123456789012345678901234567890"
                       "123456789012345678901234"};
  for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++)
    assert_true(byoca_profile_name_valid(ok[i]));
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++)
    assert_false(byoca_profile_name_valid(bad[i]));
}

static void test_profiles_parse(void **state) {
  (void)state;
  const char *le = "{\"classic\":\"The same profile you are accustomed to\","
                   "\"tlsserver\":\"https://letsencrypt.org/docs/profiles\","
                   "\"shortlived\":\"6 days\"}";
  struct byoca_profile *p = NULL;
  size_t n = 99;
  assert_int_equal(byoca_profiles_parse(le, strlen(le), &p, &n, NULL), 0);
  assert_int_equal(n, 3);
  int seen = 0;
  for (size_t i = 0; i < n; i++) {
    if (strcmp(p[i].name, "classic") == 0) {
      assert_string_equal(p[i].description,
                          "The same profile you are accustomed to");
      seen |= 1;
    }
    seen |= strcmp(p[i].name, "tlsserver") == 0 ? 2 : 0;
    seen |= strcmp(p[i].name, "shortlived") == 0 ? 4 : 0;
  }
  assert_int_equal(seen, 7);
  byoca_profiles_free(p, n);
  /* empty object: none */
  assert_int_equal(byoca_profiles_parse("{}", 2, &p, &n, NULL), 0);
  assert_int_equal(n, 0);
  assert_null(p);
  byoca_profiles_free(NULL, 0);
}

static void test_profiles_hostile(void **state) {
  (void)state;
  /* not an object: refused, nothing returned */
  const char *bad[] = {"",  "[\"classic\"]", "\"classic\"", "42", "null",
                       "{", "{\"a\":}",      "not json"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(*bad); i++) {
    struct byoca_profile *p = (struct byoca_profile *)1;
    size_t n = 99;
    struct byoca_err e = {0};
    assert_int_equal(byoca_profiles_parse(bad[i], strlen(bad[i]), &p, &n, &e),
                     BYOCA_E_PROTO);
    assert_null(p);
    assert_int_equal(n, 0);
    assert_int_equal(e.cls, BYOCA_CLASS_CA);
    byoca_err_clear(&e);
  }
  /* entries with a name we could not send back, or a description that is
     not a string, are skipped */
  const char *odd = "{\"bad name\":\"x\",\"n\":7,\"o\":{\"a\":\"b\"},"
                    "\"nul\":null,\"\":\"empty\",\"caf\\u00e9\":\"x\","
                    "\"ok\":\"fine\",\"arr\":[\"x\"]}";
  struct byoca_profile *p = NULL;
  size_t n = 0;
  assert_int_equal(byoca_profiles_parse(odd, strlen(odd), &p, &n, NULL), 0);
  assert_int_equal(n, 1);
  assert_string_equal(p[0].name, "ok");
  assert_string_equal(p[0].description, "fine");
  byoca_profiles_free(p, n);
  /* thousands of entries, long names, huge descriptions: bounded */
  struct byoca_buf b;
  byoca_buf_init(&b, 0);
  assert_int_equal(byoca_buf_appends(&b, "{"), 0);
  for (int i = 0; i < 5000; i++)
    assert_int_equal(
        byoca_buf_appendf(&b, "%s\"p%d\":\"%0*d\"", i ? "," : "", i, 3000, i),
        0);
  assert_int_equal(byoca_buf_appendf(&b, ",\"%0*d\":\"long name\"}", 64, 1), 0);
  assert_int_equal(byoca_profiles_parse(b.data, b.len, &p, &n, NULL), 0);
  assert_int_equal(n, BYOCA_PROFILES_MAX);
  for (size_t i = 0; i < n; i++) {
    assert_true(byoca_profile_name_valid(p[i].name));
    assert_int_equal(strlen(p[i].description), BYOCA_PROFILE_DESC_MAX);
  }
  byoca_profiles_free(p, n);
  byoca_buf_free(&b);
  /* a description cut at the cap never splits a UTF-8 character */
  byoca_buf_init(&b, 0);
  assert_int_equal(byoca_buf_appends(&b, "{\"u\":\"x"), 0);
  for (int i = 0; i < 600; i++)
    assert_int_equal(byoca_buf_appends(&b, "\xc3\xa9"), 0); /* é */
  assert_int_equal(byoca_buf_appends(&b, "\"}"), 0);
  assert_int_equal(byoca_profiles_parse(b.data, b.len, &p, &n, NULL), 0);
  assert_int_equal(n, 1);
  size_t dl = strlen(p[0].description);
  assert_true(dl <= BYOCA_PROFILE_DESC_MAX && dl >= BYOCA_PROFILE_DESC_MAX - 1);
  assert_int_equal(dl % 2, 1); /* "x" plus whole two-byte characters */
  byoca_profiles_free(p, n);
  byoca_buf_free(&b);
}

static void test_revocation_reason(void **state) {
  (void)state;
  assert_int_equal(byoca_revocation_reason_parse("keyCompromise"), 1);
  assert_int_equal(byoca_revocation_reason_parse("superseded"), 4);
  assert_int_equal(byoca_revocation_reason_parse("cessationOfOperation"), 5);
  assert_int_equal(byoca_revocation_reason_parse("0"), 0);
  assert_int_equal(byoca_revocation_reason_parse("10"), 10);
  assert_int_equal(byoca_revocation_reason_parse("7"), -1);
  assert_int_equal(byoca_revocation_reason_parse("11"), -1);
  assert_int_equal(byoca_revocation_reason_parse("nonsense"), -1);
  assert_int_equal(byoca_revocation_reason_parse(NULL), -1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_problem_subproblems),
      cmocka_unit_test(test_problem_garbage),
      cmocka_unit_test(test_problem_many_subproblems),
      cmocka_unit_test(test_problem_class),
      cmocka_unit_test(test_poll_delay),
      cmocka_unit_test(test_check_name),
      cmocka_unit_test(test_revocation_reason),
      cmocka_unit_test(test_profile_name),
      cmocka_unit_test(test_profiles_parse),
      cmocka_unit_test(test_profiles_hostile),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
