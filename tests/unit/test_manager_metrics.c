/* Unit tests of the manager's metrics text: Prometheus label escaping
 * (backslash, double quote, line feed), issuance counters by CA, kind and
 * outcome, and the cumulative latency histogram with _sum and _count. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mgr_int.h"

static void test_escape(void **state) {
  (void)state;
  struct byoca_buf b;
  byoca_buf_init(&b, 0);
  assert_int_equal(mgr_prom_escape(&b, "plain.example"), 0);
  assert_string_equal(b.data, "plain.example");
  byoca_buf_reset(&b);
  assert_int_equal(mgr_prom_escape(&b, "a\"b\\c\nd"), 0);
  assert_string_equal(b.data, "a\\\"b\\\\c\\nd");
  byoca_buf_reset(&b);
  assert_int_equal(mgr_prom_escape(&b, "https://x.example/dir?a=\"1\""), 0);
  assert_string_equal(b.data, "https://x.example/dir?a=\\\"1\\\"");
  byoca_buf_reset(&b);
  assert_int_equal(mgr_prom_escape(&b, ""), 0);
  assert_true(b.data == NULL || b.data[0] == '\0');
  assert_int_equal(mgr_prom_escape(&b, NULL), 0);
  byoca_buf_free(&b);
}

static void test_counters(void **state) {
  (void)state;
  struct mgr_metrics mt;
  struct byoca_buf b;
  memset(&mt, 0, sizeof(mt));
  byoca_buf_init(&b, 0);
  mgr_metrics_issuance(&mt, "ca1.example", 0, 1);
  mgr_metrics_issuance(&mt, "ca1.example", 0, 1);
  mgr_metrics_issuance(&mt, "ca1.example", 1, 0);
  mgr_metrics_issuance(&mt, "evil\"\n{x=\"1\"}", 1, 1);
  mgr_metrics_issuance(&mt, NULL, 1, 1); /* ignored */
  assert_int_equal(mgr_metrics_text(&mt, &b), 0);
  assert_non_null(strstr(b.data, "# TYPE byoca_issuance_total counter\n"));
  assert_non_null(strstr(b.data, "byoca_issuance_total{ca=\"ca1.example\",kind="
                                 "\"new\",outcome=\"ok\"} 2\n"));
  assert_non_null(strstr(b.data, "byoca_issuance_total{ca=\"ca1.example\","
                                 "kind=\"renewal\",outcome=\"error\"} 1\n"));
  assert_non_null(strstr(b.data, "byoca_issuance_total{ca=\"evil\\\"\\n{x=\\"
                                 "\"1\\\"}\",kind=\"renewal\",outcome=\"ok\"}"
                                 " 1\n"));
  /* no raw line feed inside a label: every line starts with a metric or # */
  for (const char *p = b.data; *p != '\0'; p = strchr(p, '\n') + 1) {
    assert_true(strncmp(p, "byoca_", 6) == 0 || p[0] == '#');
    if (strchr(p, '\n') == NULL)
      break;
  }
  mgr_metrics_free(&mt);
  byoca_buf_free(&b);
}

static void test_histogram(void **state) {
  (void)state;
  struct mgr_metrics mt;
  struct byoca_buf b;
  memset(&mt, 0, sizeof(mt));
  byoca_buf_init(&b, 0);
  mgr_metrics_duration(&mt, 0.3);
  mgr_metrics_duration(&mt, 1.5);
  mgr_metrics_duration(&mt, 7);
  mgr_metrics_duration(&mt, 400);
  mgr_metrics_duration(&mt, 0.5); /* on a bound: counted in it */
  assert_int_equal(mgr_metrics_text(&mt, &b), 0);
  static const char *const want[] = {
      "# TYPE byoca_order_duration_seconds histogram\n",
      "byoca_order_duration_seconds_bucket{le=\"0.5\"} 2\n",
      "byoca_order_duration_seconds_bucket{le=\"1\"} 2\n",
      "byoca_order_duration_seconds_bucket{le=\"2\"} 3\n",
      "byoca_order_duration_seconds_bucket{le=\"5\"} 3\n",
      "byoca_order_duration_seconds_bucket{le=\"10\"} 4\n",
      "byoca_order_duration_seconds_bucket{le=\"30\"} 4\n",
      "byoca_order_duration_seconds_bucket{le=\"60\"} 4\n",
      "byoca_order_duration_seconds_bucket{le=\"300\"} 4\n",
      "byoca_order_duration_seconds_bucket{le=\"+Inf\"} 5\n",
      "byoca_order_duration_seconds_sum 409.300\n",
      "byoca_order_duration_seconds_count 5\n",
  };
  const char *at = b.data;
  for (size_t i = 0; i < sizeof(want) / sizeof(*want); i++) {
    const char *p = strstr(at, want[i]);
    if (p == NULL)
      fail_msg("missing, or out of order: %s in\n%s", want[i], b.data);
    at = p;
  }
  mgr_metrics_free(&mt);
  byoca_buf_free(&b);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_escape),
      cmocka_unit_test(test_counters),
      cmocka_unit_test(test_histogram),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
