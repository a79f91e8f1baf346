/* Unit tests of the string helpers: sanitising (controls, C1, bidi, every
 * kind of invalid UTF-8, truncation at sequence boundaries), the \xNN
 * escaping used by the log, integer parsing, and the small helpers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "byoca/util.h"
#include "util_int.h"

struct svec {
  const char *in;
  const char *sanitized;
  const char *escaped;
};

static const struct svec str_vectors[] = {
    {"plain text", "plain text", "plain text"},
    {"", "", ""},
    {"a\x1b[2Jb", "a?[2Jb", "a\\x1B[2Jb"},
    {"cr\rlf\n", "cr?lf?", "cr\\x0Dlf\\x0A"},
    {"tab\there", "tab here", "tab\\x09here"},
    {"bell\x07 del\x7f", "bell? del?", "bell\\x07 del\\x7F"},
    {"csi \xc2\x9b"
     "31m",
     "csi ?31m", "csi \\xC2\\x9B31m"}, /* C1 CSI */
    {"nel \xc2\x85", "nel ?", "nel \\xC2\\x85"},
    {"nbsp \xc2\xa0 ok", "nbsp \xc2\xa0 ok", "nbsp \xc2\xa0 ok"},
    {"h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x94\x92",
     "h\xc3\xa9llo \xe2\x82\xac "
     "\xf0\x9f\x94\x92",
     "h\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x94\x92"},
    {"rlo \xe2\x80\xae x", "rlo ? x", "rlo \\xE2\\x80\\xAE x"},
    {"lri \xe2\x81\xa6 x", "lri ? x", "lri \\xE2\\x81\\xA6 x"},
    {"ls \xe2\x80\xa8 x", "ls ? x", "ls \\xE2\\x80\\xA8 x"},
    {"\xff\xfe", "??", "\\xFF\\xFE"},
    {"\x80 stray", "? stray", "\\x80 stray"},
    {"overlong \xc0\xaf", "overlong ??", "overlong \\xC0\\xAF"},
    {"overlong3 \xe0\x80\xaf", "overlong3 ???", "overlong3 \\xE0\\x80\\xAF"},
    {"overlong4 \xf0\x80\x80\xaf", "overlong4 ????",
     "overlong4 \\xF0\\x80\\x80\\xAF"},
    {"surrogate \xed\xa0\x80", "surrogate ???", "surrogate \\xED\\xA0\\x80"},
    {"too big \xf4\x90\x80\x80", "too big ????",
     "too big \\xF4\\x90\\x80\\x80"},
    {"f5 \xf5\x80\x80\x80", "f5 ????", "f5 \\xF5\\x80\\x80\\x80"},
    {"truncated \xe2\x82", "truncated ??", "truncated \\xE2\\x82"},
    {"cut \xe2\x82 x", "cut ?? x", "cut \\xE2\\x82 x"},
    {"max \xf4\x8f\xbf\xbf", "max \xf4\x8f\xbf\xbf", "max \xf4\x8f\xbf\xbf"},
};

static void test_sanitize_table(void **state) {
  (void)state;
  char out[256];
  for (size_t i = 0; i < sizeof(str_vectors) / sizeof(*str_vectors); i++) {
    const struct svec *v = &str_vectors[i];
    byoca_str_sanitize(v->in, out, sizeof(out));
    assert_string_equal(out, v->sanitized);
    assert_int_equal(util_str_escape(v->in, out, sizeof(out)),
                     strlen(v->escaped));
    assert_string_equal(out, v->escaped);
  }
  byoca_str_sanitize(NULL, out, sizeof(out));
  assert_string_equal(out, "");
}

static void test_sanitize_truncation(void **state) {
  (void)state;
  char out[8];
  memset(out, 'X', sizeof(out));
  byoca_str_sanitize("abc", out, 0); /* nothing written */
  assert_int_equal(out[0], 'X');
  byoca_str_sanitize("abc", out, 1);
  assert_string_equal(out, "");
  byoca_str_sanitize("abc", out, 3);
  assert_string_equal(out, "ab");
  /* Never cuts a multi-byte sequence: "a" + U+20AC (3 bytes). */
  byoca_str_sanitize("a\xe2\x82\xac", out, 4);
  assert_string_equal(out, "a");
  byoca_str_sanitize("a\xe2\x82\xac", out, 5);
  assert_string_equal(out, "a\xe2\x82\xac");
  byoca_str_sanitize("\xf0\x9f\x94\x92", out, 4);
  assert_string_equal(out, "");
  /* Escapes are whole too. */
  assert_int_equal(util_str_escape("a\x1b", out, 5), 1);
  assert_string_equal(out, "a");
  assert_int_equal(util_str_escape("a\x1b", out, 6), 5);
  assert_string_equal(out, "a\\x1B");
}

static void test_sanitize_exhaustive_two_bytes(void **state) {
  (void)state;
  /* For all byte pairs: output is bounded, free of control bytes and a
   * valid UTF-8 string. */
  char in[3], out[8];
  for (int a = 1; a < 256; a++) {
    for (int b = 1; b < 256; b++) {
      in[0] = (char)a, in[1] = (char)b, in[2] = '\0';
      byoca_str_sanitize(in, out, sizeof(out));
      size_t len = strlen(out);
      assert_true(len <= 2);
      for (size_t i = 0; i < len;) {
        uint32_t cp;
        size_t l = util_utf8_decode((unsigned char *)out + i, len - i, &cp);
        assert_true(l > 0);
        assert_false(util_cp_unsafe(cp));
        i += l;
      }
    }
  }
}

struct uvec {
  const char *s;
  uint64_t max;
  int rc;
  uint64_t v;
};

static const struct uvec uints[] = {
    {"0", 10, 0, 0},
    {"7", 10, 0, 7},
    {"10", 10, 0, 10},
    {"007", 10, 0, 7},
    {"11", 10, BYOCA_E_TOOBIG, 0},
    {"65535", 65535, 0, 65535},
    {"65536", 65535, BYOCA_E_TOOBIG, 0},
    {"18446744073709551615", UINT64_MAX, 0, UINT64_MAX},
    {"18446744073709551616", UINT64_MAX, BYOCA_E_TOOBIG, 0},
    {"99999999999999999999999999", UINT64_MAX, BYOCA_E_TOOBIG, 0},
    {"99999999999999999999999x", UINT64_MAX, BYOCA_E_INVAL, 0},
    {"", 10, BYOCA_E_INVAL, 0},
    {"-1", 10, BYOCA_E_INVAL, 0},
    {"+1", 10, BYOCA_E_INVAL, 0},
    {" 1", 10, BYOCA_E_INVAL, 0},
    {"1 ", 10, BYOCA_E_INVAL, 0},
    {"1a", 10, BYOCA_E_INVAL, 0},
    {"0x1", 10, BYOCA_E_INVAL, 0},
    {"1.0", 10, BYOCA_E_INVAL, 0},
};

static void test_parse_uint(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(uints) / sizeof(*uints); i++) {
    uint64_t v = 4242;
    int rc = byoca_parse_uint(uints[i].s, uints[i].max, &v);
    if (rc != uints[i].rc)
      fail_msg("'%s': rc %d, want %d", uints[i].s, rc, uints[i].rc);
    assert_int_equal(v, rc == 0 ? uints[i].v : 4242);
  }
  uint64_t v;
  assert_int_equal(byoca_parse_uint(NULL, 10, &v), BYOCA_E_INVAL);
}

static void test_small_helpers(void **state) {
  (void)state;
  char buf[6];
  assert_null(byoca_strdup(NULL));
  char *d = byoca_strdup("dup");
  assert_string_equal(d, "dup");
  free(d);
  d = byoca_asprintf("%s-%d-%zu", "x", -3, (size_t)12);
  assert_string_equal(d, "x--3-12");
  free(d);
  d = byoca_asprintf("%s", "");
  assert_string_equal(d, "");
  free(d);
  /* around the stack buffer's size (512) and far beyond it */
  const size_t lens[] = {510, 511, 512, 513, 5000};
  for (size_t i = 0; i < sizeof(lens) / sizeof(*lens); i++) {
    char *want = malloc(lens[i] + 1);
    memset(want, 'a' + (int)i, lens[i]);
    want[lens[i]] = '\0';
    d = byoca_asprintf("%s|%d", want + 2, 7); /* 2 shorter, 2 added */
    assert_int_equal(strlen(d), lens[i]);
    assert_memory_equal(d, want, lens[i] - 2);
    assert_string_equal(d + lens[i] - 2, "|7");
    free(d);
    free(want);
  }
  assert_int_equal(byoca_strlcpy(buf, "hello world", sizeof(buf)), 11);
  assert_string_equal(buf, "hello");
  assert_int_equal(byoca_strlcpy(buf, "hi", sizeof(buf)), 2);
  assert_string_equal(buf, "hi");
  assert_int_equal(byoca_strlcpy(buf, "zzz", 0), 3);
  assert_string_equal(buf, "hi");
  assert_true(byoca_strcaseeq("Retry-After", "retry-after"));
  assert_true(byoca_strcaseeq("", ""));
  assert_false(byoca_strcaseeq("abc", "abcd"));
  assert_false(byoca_strcaseeq("abc", "abd"));
  assert_false(byoca_strcaseeq("abc", NULL));
  assert_true(byoca_strcaseeq(NULL, NULL));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sanitize_table),
      cmocka_unit_test(test_sanitize_truncation),
      cmocka_unit_test(test_sanitize_exhaustive_two_bytes),
      cmocka_unit_test(test_parse_uint),
      cmocka_unit_test(test_small_helpers),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
