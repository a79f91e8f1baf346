/* Unit tests of time handling: the fake clock, RFC 3339 parsing (valid and
 * invalid tables, RFC 3339 §5.8 examples) and formatting, the three
 * HTTP-date forms of RFC 9110 §5.6.7, and Retry-After. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "byoca/util.h"

#define NOW_2026 1795867200 /* 2026-11-28T12:00:00Z */

static int reset_clock(void **state) {
  (void)state;
  byoca_time_set_fake(0);
  return 0;
}

static void test_fake_clock(void **state) {
  (void)state;
  byoca_time_set_fake(1234);
  assert_int_equal(byoca_now(), 1234);
  assert_int_equal(byoca_now_ms(), 1234000);
  byoca_time_set_fake(0);
  assert_true(byoca_now() > 1700000000);
  int64_t ms = byoca_now_ms();
  assert_true(ms / 1000 >= byoca_now() - 1 && ms / 1000 <= byoca_now());
}

struct tvec {
  const char *s;
  int ok;
  int64_t t;
};

static const struct tvec rfc3339[] = {
    {"1970-01-01T00:00:00Z", 1, 0},
    {"2026-11-28T12:00:00Z", 1, NOW_2026},
    {"2026-11-28t12:00:00z", 1, NOW_2026},
    {"2026-11-28 12:00:00Z", 1, NOW_2026},
    {"2026-11-28T13:00:00+01:00", 1, NOW_2026},
    {"2026-11-28T04:30:00-07:30", 1, NOW_2026},
    {"2026-11-28T12:00:00.999999999999Z", 1, NOW_2026},
    {"2026-11-28T12:00:00.0Z", 1, NOW_2026},
    {"2026-11-28T12:00:00+00:00", 1, NOW_2026},
    {"2026-11-28T12:00:00-00:00", 1, NOW_2026},
    {"2024-02-29T00:00:00Z", 1, 1709164800},
    {"2000-02-29T00:00:00Z", 1, 951782400},
    {"1985-04-12T23:20:50.52Z", 1, 482196050},        /* RFC 3339 §5.8 */
    {"1996-12-19T16:39:57-08:00", 1, 851042397},      /* RFC 3339 §5.8 */
    {"1990-12-31T23:59:60Z", 1, 662688000},           /* leap second */
    {"1990-12-31T15:59:60-08:00", 1, 662688000},      /* RFC 3339 §5.8 */
    {"1937-01-01T12:00:27.87+00:20", 1, -1041337173}, /* RFC 3339 §5.8 */
    {"1969-12-31T23:59:59Z", 1, -1},
    {"9999-12-31T23:59:59Z", 1, 253402300799},
    {"0000-01-01T00:00:00Z", 1, -62167219200},
    {"2023-02-29T00:00:00Z", 0, 0},
    {"1900-02-29T00:00:00Z", 0, 0},
    {"2026-04-31T00:00:00Z", 0, 0},
    {"2026-13-01T00:00:00Z", 0, 0},
    {"2026-00-01T00:00:00Z", 0, 0},
    {"2026-01-00T00:00:00Z", 0, 0},
    {"2026-01-32T00:00:00Z", 0, 0},
    {"2026-01-01T24:00:00Z", 0, 0},
    {"2026-01-01T23:60:00Z", 0, 0},
    {"2026-01-01T23:59:61Z", 0, 0},
    {"2026-01-01T00:00:00", 0, 0},
    {"2026-01-01", 0, 0},
    {"2026-01-01T00:00Z", 0, 0},
    {"2026-01-01T00:00:00.Z", 0, 0},
    {"2026-01-01T00:00:00,5Z", 0, 0},
    {"2026-01-01T00:00:00+0100", 0, 0},
    {"2026-01-01T00:00:00+01", 0, 0},
    {"2026-01-01T00:00:00+24:00", 0, 0},
    {"2026-01-01T00:00:00+01:60", 0, 0},
    {"2026-01-01T00:00:00Zx", 0, 0},
    {"2026-01-01T00:00:00Z ", 0, 0},
    {" 2026-01-01T00:00:00Z", 0, 0},
    {"2026-1-01T00:00:00Z", 0, 0},
    {"26-01-01T00:00:00Z", 0, 0},
    {"+2026-01-01T00:00:00Z", 0, 0},
    {"2026-01-01X00:00:00Z", 0, 0},
    {"2026-01-01T0a:00:00Z", 0, 0},
    {"", 0, 0},
    {"garbage", 0, 0},
    {"2026-01-01T00:00:00.00000000000000000000000000000000000000000000000Z", 0,
     0}, /* over the length cap */
};

static void test_rfc3339_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(rfc3339) / sizeof(*rfc3339); i++) {
    const struct tvec *v = &rfc3339[i];
    int64_t t = 42;
    int rc = byoca_time_parse_rfc3339(v->s, &t);
    if (v->ok && rc != 0)
      fail_msg("refused '%s'", v->s);
    if (!v->ok && rc != BYOCA_E_INVAL)
      fail_msg("accepted '%s'", v->s);
    if (v->ok && t != v->t)
      fail_msg("'%s' -> %lld, want %lld", v->s, (long long)t, (long long)v->t);
    if (!v->ok)
      assert_int_equal(t, 42); /* out untouched on failure */
  }
  int64_t t;
  assert_int_equal(byoca_time_parse_rfc3339(NULL, &t), BYOCA_E_INVAL);
}

static void test_rfc3339_format(void **state) {
  (void)state;
  static const struct {
    int64_t t;
    const char *s;
  } fmt[] = {
      {0, "1970-01-01T00:00:00Z"},
      {-1, "1969-12-31T23:59:59Z"},
      {951782400, "2000-02-29T00:00:00Z"},
      {NOW_2026, "2026-11-28T12:00:00Z"},
      {253402300799, "9999-12-31T23:59:59Z"},
      {INT64_MAX, "9999-12-31T23:59:59Z"}, /* clamped */
      {INT64_MIN, "0000-01-01T00:00:00Z"},
  };
  char buf[21];
  for (size_t i = 0; i < sizeof(fmt) / sizeof(*fmt); i++) {
    byoca_time_format_rfc3339(fmt[i].t, buf, sizeof(buf));
    assert_string_equal(buf, fmt[i].s);
  }
  byoca_time_format_rfc3339(0, buf, 5);
  assert_string_equal(buf, "1970");
  /* Every day over several 400-year eras formats and parses back. */
  for (int64_t t = -20000000000; t < 20000000000; t += 86400 * 7 + 3601) {
    int64_t back = 0;
    byoca_time_format_rfc3339(t, buf, sizeof(buf));
    assert_int_equal(byoca_time_parse_rfc3339(buf, &back), 0);
    assert_int_equal(back, t);
  }
}

static const struct tvec httpdates[] = {
    {"Sun, 06 Nov 1994 08:49:37 GMT", 1, 784111777},  /* IMF-fixdate */
    {"Sunday, 06-Nov-94 08:49:37 GMT", 1, 784111777}, /* RFC 850 */
    {"Sun Nov  6 08:49:37 1994", 1, 784111777},       /* asctime */
    {"Sun Nov 16 08:49:37 1994", 1, 784111777 + 10 * 86400},
    {"sun, 06 nov 1994 08:49:37 gmt", 1, 784111777},
    {"Thu, 01 Jan 1970 00:00:00 GMT", 1, 0},
    {"Thu, 29 Feb 2024 00:00:00 GMT", 1, 1709164800},
    {"Wed, 01 Jan 2200 00:00:00 GMT", 1, 7258118400},
    /* Two-digit years, with now in 2026: 76 is 50 years ahead, 77 is more
     * than 50 years ahead and so means 1977. */
    {"Wednesday, 01-Jan-76 00:00:00 GMT", 1, 3345062400},
    {"Saturday, 01-Jan-77 00:00:00 GMT", 1, 220924800},
    {"Sun, 6 Nov 1994 08:49:37 GMT", 0, 0},
    {"Sun, 06 Nov 94 08:49:37 GMT", 0, 0},
    {"Sun, 06 Nov 1994 08:49:37 UTC", 0, 0},
    {"Sun, 06 Nov 1994 08:49:37", 0, 0},
    {"Sun, 06 Nov 1994 08:49:37 GMT ", 0, 0},
    {"Sun, 06 Nov 1994 08:49 GMT", 0, 0},
    {"Sun, 06 Foo 1994 08:49:37 GMT", 0, 0},
    {"Sun, 31 Feb 1994 08:49:37 GMT", 0, 0},
    {"Sun, 29 Feb 2023 08:49:37 GMT", 0, 0},
    {"Sun, 06 Nov 1994 24:00:00 GMT", 0, 0},
    {"Sun, 06 Nov 1994 08:60:00 GMT", 0, 0},
    {"Xyz, 06 Nov 1994 08:49:37 GMT", 0, 0},
    {"Sun 06 Nov 1994 08:49:37 GMT", 0, 0},
    {"Sunday, 06-Nov-1994 08:49:37 GMT", 0, 0},
    {"Sunday, 06 Nov 94 08:49:37 GMT", 0, 0},
    {"Sun Nov 6 08:49:37 1994", 0, 0},
    {"Sun Nov  6 08:49:37 94", 0, 0},
    {"Sun Nov  6 08:49:37 1994 GMT", 0, 0},
    {"Sun", 0, 0},
    {"", 0, 0},
    {"garbage", 0, 0},
    {"1994-11-06T08:49:37Z", 0, 0},
};

static void test_httpdate_table(void **state) {
  (void)state;
  byoca_time_set_fake(NOW_2026);
  for (size_t i = 0; i < sizeof(httpdates) / sizeof(*httpdates); i++) {
    const struct tvec *v = &httpdates[i];
    int64_t t = 42;
    int rc = byoca_time_parse_httpdate(v->s, &t);
    if (v->ok && rc != 0)
      fail_msg("refused '%s'", v->s);
    if (!v->ok && rc != BYOCA_E_INVAL)
      fail_msg("accepted '%s'", v->s);
    if (v->ok && t != v->t)
      fail_msg("'%s' -> %lld, want %lld", v->s, (long long)t, (long long)v->t);
    if (!v->ok)
      assert_int_equal(t, 42);
  }
}

static void test_httpdate_two_digit_window(void **state) {
  (void)state;
  int64_t t;
  /* In 2090, "10" is 20 years ahead (2110), not 80 years back. */
  byoca_time_set_fake(3786912000); /* 2090-01-01 */
  assert_int_equal(
      byoca_time_parse_httpdate("Wednesday, 01-Jan-10 00:00:00 GMT", &t), 0);
  assert_int_equal(t, 4417977600); /* 2110-01-01 */
}

struct ravec {
  const char *s;
  int ok;
  int64_t delay;
};

#define RA_NOW 1700000000
static const struct ravec retry_after[] = {
    {"120", 1, 120},
    {"0", 1, 0},
    {" 5 ", 1, 5},
    {"\t7\t", 1, 7},
    {"007", 1, 7},
    {"999999999999999999999", 1, INT64_MAX / 2},
    {"4611686018427387903", 1, INT64_MAX / 2},
    {"4611686018427387904", 1, INT64_MAX / 2},
    {"4611686018427387902", 1, INT64_MAX / 2 - 1},
    {"Thu, 01 Jan 1970 00:00:00 GMT", 1, -RA_NOW},
    {"Wed, 01 Jan 2200 00:00:00 GMT", 1, 7258118400 - RA_NOW},
    {"  Wed, 01 Jan 2200 00:00:00 GMT  ", 1, 7258118400 - RA_NOW},
    {"Tue, 14 Nov 2023 22:15:20 GMT", 1, 120},
    {"-1", 0, 0},
    {"+1", 0, 0},
    {"1.5", 0, 0},
    {"1 5", 0, 0},
    {"1e3", 0, 0},
    {"0x10", 0, 0},
    {"", 0, 0},
    {"   ", 0, 0},
    {"soon", 0, 0},
    {"120 seconds", 0, 0},
    {"2023-11-14T22:15:20Z", 0, 0},
};

static void test_retry_after_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(retry_after) / sizeof(*retry_after); i++) {
    const struct ravec *v = &retry_after[i];
    int64_t d = 42;
    int rc = byoca_retry_after_parse(v->s, RA_NOW, &d);
    if (v->ok && rc != 0)
      fail_msg("refused '%s'", v->s);
    if (!v->ok && rc != BYOCA_E_INVAL)
      fail_msg("accepted '%s'", v->s);
    if (v->ok && d != v->delay)
      fail_msg("'%s' -> %lld, want %lld", v->s, (long long)d,
               (long long)v->delay);
    if (!v->ok)
      assert_int_equal(d, 42);
  }
  int64_t d;
  assert_int_equal(byoca_retry_after_parse(NULL, RA_NOW, &d), BYOCA_E_INVAL);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_fake_clock, reset_clock),
      cmocka_unit_test(test_rfc3339_table),
      cmocka_unit_test(test_rfc3339_format),
      cmocka_unit_test_teardown(test_httpdate_table, reset_clock),
      cmocka_unit_test_teardown(test_httpdate_two_digit_window, reset_clock),
      cmocka_unit_test(test_retry_after_table),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
