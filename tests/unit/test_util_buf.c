/* Unit tests of the capped buffer: appends, the cap (TOOBIG, nothing
 * appended past it), formatting, steal/reset/free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "byoca/util.h"

static void test_append(void **state) {
  (void)state;
  struct byoca_buf b;
  byoca_buf_init(&b, 0);
  assert_null(b.data);
  assert_int_equal(byoca_buf_append(&b, "ab", 2), 0);
  assert_int_equal(byoca_buf_appends(&b, "cd"), 0);
  assert_int_equal(byoca_buf_appendf(&b, "-%d-%s", 42, "x"), 0);
  assert_int_equal(byoca_buf_append(&b, NULL, 0), 0);
  assert_int_equal(b.len, 9);
  assert_string_equal(b.data, "abcd-42-x");
  assert_int_equal(byoca_buf_append(&b, "\0z", 2), 0); /* binary-safe */
  assert_int_equal(b.len, 11);
  assert_memory_equal(b.data, "abcd-42-x\0z", 12);
  /* formatted into the room left (cap 64 here), exactly filling it, and
   * longer than the room: the buffer grows and nothing is lost */
  assert_int_equal(b.cap, 64);
  assert_int_equal(byoca_buf_appendf(&b, "%.*d", 52, 0), 0); /* 63 bytes */
  assert_int_equal(b.len, 63);
  assert_int_equal(byoca_buf_appendf(&b, "%s", "q"), 0); /* needs 65 */
  assert_int_equal(b.len, 64);
  assert_int_equal(byoca_buf_appendf(&b, "%0300d", 1), 0);
  assert_int_equal(b.len, 364);
  assert_memory_equal(b.data, "abcd-42-x\0z", 11);
  assert_int_equal(b.data[62], '0');
  assert_int_equal(b.data[63], 'q');
  assert_int_equal(b.data[363], '1');
  assert_int_equal(b.data[364], '\0');
  byoca_buf_reset(&b);
  assert_int_equal(byoca_buf_appendf(&b, "ab"), 0);
  assert_int_equal(byoca_buf_appends(&b, "cd"), 0);
  assert_int_equal(byoca_buf_appendf(&b, "-%d-%s", 42, "x"), 0);
  assert_int_equal(byoca_buf_append(&b, "\0z", 2), 0);
  byoca_buf_reset(&b);
  assert_int_equal(b.len, 0);
  assert_string_equal(b.data, "");
  byoca_buf_free(&b);
  assert_null(b.data);
  byoca_buf_free(&b);
  byoca_buf_free(NULL);
}

static void test_growth(void **state) {
  (void)state;
  struct byoca_buf b;
  byoca_buf_init(&b, 0);
  char chunk[1000];
  for (int i = 0; i < 1000; i++) {
    memset(chunk, 'a' + i % 26, sizeof(chunk));
    assert_int_equal(byoca_buf_append(&b, chunk, sizeof(chunk)), 0);
  }
  assert_int_equal(b.len, 1000000);
  assert_true(b.cap > b.len);
  for (size_t i = 0; i < b.len; i += 997)
    assert_int_equal(b.data[i], 'a' + (int)(i / 1000) % 26);
  assert_int_equal(b.data[b.len], '\0');
  byoca_buf_free_secret(&b);
  assert_null(b.data);
  assert_int_equal(b.len, 0);
}

static void test_cap(void **state) {
  (void)state;
  struct byoca_buf b;
  byoca_buf_init(&b, 10);
  assert_int_equal(byoca_buf_appends(&b, "0123456"), 0);
  assert_int_equal(byoca_buf_appends(&b, "7890"), BYOCA_E_TOOBIG);
  assert_int_equal(b.len, 7); /* nothing appended past the cap */
  assert_string_equal(b.data, "0123456");
  assert_int_equal(byoca_buf_appendf(&b, "%s", "abcd"), BYOCA_E_TOOBIG);
  assert_string_equal(b.data, "0123456");
  assert_int_equal(byoca_buf_appends(&b, "789"), 0); /* exactly the cap */
  assert_string_equal(b.data, "0123456789");
  assert_true(b.cap <= 11);
  assert_int_equal(byoca_buf_append(&b, "x", 1), BYOCA_E_TOOBIG);
  assert_int_equal(byoca_buf_append(&b, "", 0), 0);
  assert_int_equal(b.len, 10);
  assert_int_equal(byoca_buf_append(&b, "x", SIZE_MAX), BYOCA_E_TOOBIG);
  byoca_buf_free(&b);
  assert_int_equal(b.max, 10); /* kept */
  assert_int_equal(byoca_buf_appends(&b, "01234567890"), BYOCA_E_TOOBIG);
  assert_int_equal(b.len, 0);
  byoca_buf_free(&b);
}

static void test_steal(void **state) {
  (void)state;
  struct byoca_buf b;
  byoca_buf_init(&b, 100);
  char *s = byoca_buf_steal(&b); /* empty: an allocated "" */
  assert_non_null(s);
  assert_string_equal(s, "");
  free(s);
  assert_int_equal(byoca_buf_appendf(&b, "%05d", 42), 0);
  s = byoca_buf_steal(&b);
  assert_string_equal(s, "00042");
  assert_null(b.data);
  assert_int_equal(b.len, 0);
  assert_int_equal(b.max, 100);
  free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_append),
      cmocka_unit_test(test_growth),
      cmocka_unit_test(test_cap),
      cmocka_unit_test(test_steal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
