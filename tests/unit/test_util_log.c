/* Unit tests of logging: levels, the plain prefixes, escaping of hostile
 * text, and JSON lines that jansson parses back to the original message.
 * stderr is redirected to a temporary file for the duration of each test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "byoca/util.h"

struct capture {
  FILE *f;
  int saved;
};

static int capture_start(void **state) {
  struct capture *c = calloc(1, sizeof(*c));
  assert_non_null(c);
  c->f = tmpfile();
  assert_non_null(c->f);
  fflush(stderr);
  c->saved = dup(STDERR_FILENO);
  assert_true(c->saved >= 0);
  assert_int_equal(dup2(fileno(c->f), STDERR_FILENO), STDERR_FILENO);
  *state = c;
  return 0;
}

static int capture_stop(void **state) {
  struct capture *c = *state;
  fflush(stderr);
  dup2(c->saved, STDERR_FILENO);
  close(c->saved);
  fclose(c->f);
  free(c);
  byoca_log_set_level(BYOCA_LOG_INFO);
  byoca_log_set_json(0);
  byoca_time_set_fake(0);
  return 0;
}

/* Everything logged since the last call. */
static char *captured(struct capture *c) {
  static char text[65536];
  int fd = fileno(c->f);
  fflush(stderr);
  off_t end = lseek(fd, 0, SEEK_END);
  assert_true(end >= 0 && (size_t)end < sizeof(text));
  assert_int_equal(pread(fd, text, (size_t)end, 0), end);
  text[end] = '\0';
  assert_int_equal(ftruncate(fd, 0), 0);
  assert_int_equal(lseek(fd, 0, SEEK_SET), 0);
  return text;
}

static void test_plain_levels(void **state) {
  struct capture *c = *state;
  assert_int_equal(byoca_log_get_level(), BYOCA_LOG_INFO);
  byoca_log(BYOCA_LOG_INFO, "issued %s", "example.org");
  byoca_log(BYOCA_LOG_WARN, "renewal due in %d days", 3);
  byoca_log(BYOCA_LOG_ERROR, "failed");
  byoca_log(BYOCA_LOG_DEBUG, "hidden");
  assert_string_equal(captured(c), "issued example.org\n"
                                   "warning: renewal due in 3 days\n"
                                   "error: failed\n");
  byoca_log_set_level(BYOCA_LOG_DEBUG);
  assert_int_equal(byoca_log_get_level(), BYOCA_LOG_DEBUG);
  byoca_log(BYOCA_LOG_DEBUG, "shown");
  assert_string_equal(captured(c), "debug: shown\n");
  byoca_log_set_level(BYOCA_LOG_ERROR);
  byoca_log(BYOCA_LOG_WARN, "dropped");
  byoca_log(BYOCA_LOG_INFO, "dropped");
  byoca_log(BYOCA_LOG_ERROR, "kept");
  assert_string_equal(captured(c), "error: kept\n");
}

static void test_plain_escapes(void **state) {
  struct capture *c = *state;
  byoca_log(BYOCA_LOG_INFO, "detail: %s",
            "a\x1b[2Jb\r\nerror: forged line\xc2\x9b\xff \xc3\xa9");
  assert_string_equal(captured(c), "detail: a\\x1B[2Jb\\x0D\\x0Aerror: forged "
                                   "line\\xC2\\x9B\\xFF \xc3\xa9\n");
}

static void test_plain_long_message_is_one_line(void **state) {
  struct capture *c = *state;
  char *big = malloc(10000);
  assert_non_null(big);
  memset(big, '\n', 9999);
  big[9999] = '\0';
  byoca_log(BYOCA_LOG_INFO, "%s", big);
  const char *out = captured(c);
  assert_int_equal(strchr(out, '\n') - out, strlen(out) - 1);
  assert_true(strlen(out) > 4000);
  free(big);
}

static void test_json(void **state) {
  struct capture *c = *state;
  byoca_log_set_json(1);
  byoca_time_set_fake(1795867200);
  const char *msg = "quote\" backslash\\ nl\n esc\x1b tab\t \xc3\xa9 "
                    "c1\xc2\x9b rlo\xe2\x80\xae";
  byoca_log(BYOCA_LOG_WARN, "%s", msg);
  const char *out = captured(c);
  assert_string_equal(
      out, "{\"ts\":\"2026-11-28T12:00:00Z\",\"level\":\"warn\",\"msg\":"
           "\"quote\\\" backslash\\\\ nl\\u000a esc\\u001b tab\\u0009 "
           "\xc3\xa9 c1\\u009b rlo\\u202e\"}\n");
  json_error_t je;
  json_t *j = json_loads(out, 0, &je);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "msg")), msg);
  json_decref(j);

  /* Invalid UTF-8 becomes U+FFFD, so the line stays valid JSON. */
  byoca_log(BYOCA_LOG_INFO, "bad \xff\xc0 end");
  out = captured(c);
  j = json_loads(out, 0, &je);
  assert_non_null(j);
  assert_string_equal(json_string_value(json_object_get(j, "msg")),
                      "bad \xef\xbf\xbd\xef\xbf\xbd end");
  assert_string_equal(json_string_value(json_object_get(j, "level")), "info");
  json_decref(j);
  byoca_log(BYOCA_LOG_ERROR, "e");
  byoca_log(BYOCA_LOG_DEBUG, "dropped");
  out = captured(c);
  j = json_loads(out, 0, &je);
  assert_string_equal(json_string_value(json_object_get(j, "level")), "error");
  json_decref(j);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_plain_levels, capture_start,
                                      capture_stop),
      cmocka_unit_test_setup_teardown(test_plain_escapes, capture_start,
                                      capture_stop),
      cmocka_unit_test_setup_teardown(test_plain_long_message_is_one_line,
                                      capture_start, capture_stop),
      cmocka_unit_test_setup_teardown(test_json, capture_start, capture_stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
