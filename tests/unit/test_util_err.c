/* Unit tests of the error type: setting, activity, problems, deep copy, and
 * the one-line format with hostile problem documents (terminal escapes, CR,
 * subproblems) at every output size. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "byoca/err.h"
#include "byoca/util.h"
#include "util_int.h"

#define ACME "urn:ietf:params:acme:error:"

static struct byoca_problem *problem(const char *type, const char *detail) {
  struct byoca_problem *p = calloc(1, sizeof(*p));
  assert_non_null(p);
  p->type = byoca_strdup(type);
  p->detail = byoca_strdup(detail);
  return p;
}

static void add_sub(struct byoca_problem *p, const char *ident,
                    const char *type, const char *detail) {
  struct byoca_problem *n = realloc(p->sub, (p->nsub + 1) * sizeof(*n));
  assert_non_null(n);
  p->sub = n;
  struct byoca_problem *s = &p->sub[p->nsub++];
  memset(s, 0, sizeof(*s));
  s->type = byoca_strdup(type);
  s->detail = byoca_strdup(detail);
  s->ident_type = byoca_strdup("dns");
  s->ident_value = byoca_strdup(ident);
}

static void test_set(void **state) {
  (void)state;
  struct byoca_err e = {0};
  assert_int_equal(byoca_err_set(NULL, BYOCA_E_IO, BYOCA_CLASS_INPUT, "x"),
                   BYOCA_E_IO);
  assert_int_equal(byoca_err_set(&e, BYOCA_E_NET, BYOCA_CLASS_RETRYABLE,
                                 "connect to %s:%d", "ca.example", 443),
                   BYOCA_E_NET);
  assert_int_equal(e.code, BYOCA_E_NET);
  assert_int_equal(e.cls, BYOCA_CLASS_RETRYABLE);
  assert_string_equal(e.msg, "connect to ca.example:443");
  /* Arguments may come from the error itself. */
  byoca_err_set(&e, BYOCA_E_TIMEOUT, BYOCA_CLASS_RETRYABLE, "retrying: %s",
                e.msg);
  assert_string_equal(e.msg, "retrying: connect to ca.example:443");
  /* A new error drops the old problem (ASan checks for the leak). */
  byoca_err_set_problem(&e, problem(ACME "badNonce", "stale nonce"));
  byoca_err_set(&e, BYOCA_E_ACME, BYOCA_CLASS_CA, "was: %s", e.problem->detail);
  assert_null(e.problem);
  assert_string_equal(e.msg, "was: stale nonce");
  /* Long messages are truncated, NUL-terminated. */
  char big[2000];
  memset(big, 'a', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  byoca_err_set(&e, BYOCA_E_INVAL, BYOCA_CLASS_INPUT, "%s", big);
  assert_int_equal(strlen(e.msg), sizeof(e.msg) - 1);
  byoca_err_native(&e, BYOCA_ORIGIN_ERRNO, 2);
  assert_int_equal(e.origin, BYOCA_ORIGIN_ERRNO);
  assert_int_equal(e.native, 2);
  byoca_err_native(NULL, BYOCA_ORIGIN_ERRNO, 2);
  byoca_err_clear(&e);
  assert_int_equal(e.code, 0);
  assert_string_equal(e.msg, "");
  byoca_err_clear(&e);
  byoca_err_clear(NULL);
}

static void test_activity_innermost_wins(void **state) {
  (void)state;
  struct byoca_err e = {0};
  byoca_err_set(&e, BYOCA_E_NET, BYOCA_CLASS_RETRYABLE, "reset");
  byoca_err_activity(&e, "reading the directory %s", "https://ca/dir");
  byoca_err_activity(&e, "ordering a certificate for %s", "example.org");
  assert_string_equal(e.activity, "reading the directory https://ca/dir");
  byoca_err_activity(NULL, "ignored");
  byoca_err_clear(&e);
}

static void test_set_problem(void **state) {
  (void)state;
  struct byoca_err e = {0};
  byoca_err_set_problem(&e, problem(ACME "malformed", "a"));
  byoca_err_set_problem(&e, problem(ACME "malformed", "b")); /* frees a */
  assert_string_equal(e.problem->detail, "b");
  byoca_err_set_problem(&e, e.problem); /* same one: kept */
  assert_string_equal(e.problem->detail, "b");
  byoca_err_set_problem(NULL, problem(ACME "x", "freed, not leaked"));
  byoca_err_set_problem(&e, NULL);
  assert_null(e.problem);
  byoca_problem_free(NULL);
  byoca_err_clear(&e);
}

static void test_copy_is_deep(void **state) {
  (void)state;
  struct byoca_err src = {0}, dst = {0};
  byoca_err_set(&src, BYOCA_E_ACME, BYOCA_CLASS_CA, "refused");
  byoca_err_activity(&src, "finalizing");
  src.http_status = 403;
  src.retry_after = 99;
  struct byoca_problem *p = problem(ACME "rejectedIdentifier", "no");
  p->status = 403;
  p->instance = byoca_strdup("https://ca/x");
  add_sub(p, "a.example", ACME "caa", "CAA forbids");
  add_sub(p, "b.example", ACME "dns", NULL);
  add_sub(&p->sub[0], "nested.example", ACME "x", "deeper");
  byoca_err_set_problem(&src, p);
  byoca_err_set_problem(&dst, problem("old", "old")); /* cleared by copy */
  assert_int_equal(byoca_err_copy(&dst, &src), 0);
  byoca_err_clear(&src); /* dst must not share anything with src */
  assert_int_equal(dst.code, BYOCA_E_ACME);
  assert_int_equal(dst.http_status, 403);
  assert_int_equal(dst.retry_after, 99);
  assert_string_equal(dst.msg, "refused");
  assert_string_equal(dst.activity, "finalizing");
  assert_string_equal(dst.problem->type, ACME "rejectedIdentifier");
  assert_string_equal(dst.problem->instance, "https://ca/x");
  assert_int_equal(dst.problem->status, 403);
  assert_int_equal(dst.problem->nsub, 2);
  assert_string_equal(dst.problem->sub[0].ident_value, "a.example");
  assert_string_equal(dst.problem->sub[0].detail, "CAA forbids");
  assert_null(dst.problem->sub[1].detail);
  assert_string_equal(dst.problem->sub[0].sub[0].detail, "deeper");
  /* Copying from nothing clears; copying onto itself is a no-op. */
  assert_int_equal(byoca_err_copy(&dst, &dst), 0);
  assert_non_null(dst.problem);
  assert_int_equal(byoca_err_copy(&dst, NULL), 0);
  assert_int_equal(dst.code, 0);
  assert_null(dst.problem);
}

static int has_unsafe(const char *s) {
  for (const unsigned char *p = (const unsigned char *)s; *p; p++)
    if (*p < 0x20 || *p == 0x7F)
      return 1;
  return 0;
}

/* Every prefix of a line is a valid line: NUL-terminated, within bounds,
 * UTF-8 sequences whole. */
static void check_all_sizes(const struct byoca_err *e, const char *full) {
  char out[1024];
  for (size_t n = 1; n <= strlen(full) + 1; n++) {
    memset(out, 'X', sizeof(out));
    byoca_err_format(e, out, n);
    size_t len = strlen(out);
    assert_true(len < n);
    assert_int_equal(out[n], 'X');
    assert_memory_equal(out, full, len);
    for (size_t i = 0; i < len;) {
      uint32_t cp;
      size_t l = util_utf8_decode((const unsigned char *)out + i, len - i, &cp);
      assert_true(l > 0);
      i += l;
    }
  }
}

static void test_format_hostile_problem(void **state) {
  (void)state;
  struct byoca_err e = {0};
  char out[1024];
  byoca_err_set(&e, BYOCA_E_ACME, BYOCA_CLASS_INPUT,
                "the server refused (HTTP %d)", 400);
  byoca_err_activity(&e, "finalizing the order for %s", "example.org");
  struct byoca_problem *p =
      problem(ACME "rejectedIdentifier", "Bad\x1b[2J name\r\nInjected: ok");
  add_sub(p, "a.example", ACME "malformed", "no\x1b]0;pwned\x07 way");
  add_sub(p, "b.\x1b[31mexample", ACME "caa", NULL);
  add_sub(p, "c.example", ACME "x", "bidi \xe2\x80\xae evil \xc2\x9b C1 \xff");
  byoca_err_set_problem(&e, p);
  const char *want = "finalizing the order for example.org: the server "
                     "refused (HTTP 400) \xe2\x80\x94 Bad?[2J name??Injected: "
                     "ok (rejectedIdentifier): a.example: no?]0;pwned? way; "
                     "b.?[31mexample: caa; c.example: bidi ? evil ? C1 ?";
  byoca_err_format(&e, out, sizeof(out));
  assert_string_equal(out, want);
  assert_false(has_unsafe(out));
  check_all_sizes(&e, want);
  byoca_err_clear(&e);
}

static void test_format_shapes(void **state) {
  (void)state;
  struct byoca_err e = {0};
  char out[2048];
  byoca_err_format(NULL, out, sizeof(out));
  assert_string_equal(out, "no error");
  byoca_err_format(&e, out, 0); /* nothing written, no crash */
  e.code = BYOCA_E_TIMEOUT;     /* no message: the code's name */
  byoca_err_format(&e, out, sizeof(out));
  assert_string_equal(out, "timed out");
  byoca_err_set(&e, BYOCA_E_NET, BYOCA_CLASS_RETRYABLE, "tab\there\nnext");
  byoca_err_format(&e, out, sizeof(out));
  assert_string_equal(out, "tab here?next");
  /* A problem with only a type, with a non-ACME type, with only detail. */
  byoca_err_set_problem(&e, problem(ACME "badNonce", NULL));
  byoca_err_format(&e, out, sizeof(out));
  assert_string_equal(out, "tab here?next \xe2\x80\x94 badNonce");
  byoca_err_set_problem(&e, problem("about:blank", "Not Found"));
  byoca_err_format(&e, out, sizeof(out));
  assert_string_equal(out,
                      "tab here?next \xe2\x80\x94 Not Found (about:blank)");
  byoca_err_set_problem(&e, problem(NULL, "only detail"));
  byoca_err_format(&e, out, sizeof(out));
  assert_string_equal(out, "tab here?next \xe2\x80\x94 only detail");
  /* Many subproblems: at most 8 shown. */
  struct byoca_problem *p = problem(ACME "malformed", "many");
  for (int i = 0; i < 20; i++)
    add_sub(p, "x.example", ACME "malformed", "bad");
  byoca_err_set_problem(&e, p);
  byoca_err_format(&e, out, sizeof(out));
  assert_non_null(strstr(out, "; and 12 more"));
  /* A huge detail stays bounded. */
  char *huge = calloc(1, 100000);
  assert_non_null(huge);
  memset(huge, 'd', 99999);
  byoca_err_set_problem(&e, problem(ACME "malformed", huge));
  byoca_err_format(&e, out, sizeof(out));
  assert_true(strlen(out) < 400 + sizeof(e.msg) + sizeof(e.activity));
  free(huge);
  byoca_err_clear(&e);
}

static void test_names(void **state) {
  (void)state;
  assert_string_equal(byoca_errcode_str(BYOCA_E_NET), "network error");
  assert_string_equal(byoca_errcode_str(0), "success");
  assert_string_equal(byoca_errcode_str(-999), "unknown error");
  for (int c = BYOCA_E_CONFLICT; c <= 0; c++)
    assert_string_not_equal(byoca_errcode_str(c), "unknown error");
  assert_string_equal(byoca_errclass_str(BYOCA_CLASS_RETRYABLE), "retryable");
  assert_string_equal(byoca_errclass_str(BYOCA_CLASS_CA), "ca");
  assert_string_equal(byoca_errclass_str(BYOCA_CLASS_INPUT), "input");
  assert_string_equal(byoca_errclass_str(BYOCA_CLASS_INTERNAL), "internal");
  assert_string_equal(byoca_errclass_str(BYOCA_CLASS_NONE), "none");
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_set),
      cmocka_unit_test(test_activity_innermost_wins),
      cmocka_unit_test(test_set_problem),
      cmocka_unit_test(test_copy_is_deep),
      cmocka_unit_test(test_format_hostile_problem),
      cmocka_unit_test(test_format_shapes),
      cmocka_unit_test(test_names),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
