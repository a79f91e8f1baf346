/* The http-01 webroot solver: files, modes, folders it creates and removes,
 * hostile tokens. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "byoca/solve.h"

struct tmp {
  char root[64];
  char wk[128];
  char ac[160];
};

static int setup_tmp(void **state) {
  struct tmp *t = calloc(1, sizeof(*t));
  snprintf(t->root, sizeof(t->root), "/tmp/byoca-webroot-XXXXXX");
  if (!mkdtemp(t->root))
    return -1;
  snprintf(t->wk, sizeof(t->wk), "%s/.well-known", t->root);
  snprintf(t->ac, sizeof(t->ac), "%s/acme-challenge", t->wk);
  *state = t;
  return 0;
}

static int teardown_tmp(void **state) {
  struct tmp *t = *state;
  char file[128];
  snprintf(file, sizeof(file), "%s/x", t->root);
  unlink(file);
  rmdir(t->ac);
  rmdir(t->wk);
  int rc = rmdir(t->root);
  free(t);
  return rc;
}

static void on_solved(void *arg, const struct byoca_err *err) {
  int *calls = arg;
  assert_null(err);
  (*calls)++;
}

static struct byoca_challenge chal(const char *token) {
  struct byoca_challenge ch = {.type = "http-01",
                               .ident_type = "dns",
                               .identifier = "example.org",
                               .token = token,
                               .key_authz = "tokA_b-1.thumbprint"};
  return ch;
}

static int exists(const char *path) {
  struct stat st;
  return lstat(path, &st) == 0;
}

static unsigned mode_of(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return st.st_mode & 07777;
}

static void test_write_and_clean(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  char path[256], buf[128];
  int calls = 0;
  struct byoca_solver *s = byoca_solver_webroot(t->root, &err);
  assert_non_null(s);
  assert_string_equal(s->name, "webroot");
  assert_true(byoca_solver_supports(s, "http-01"));
  assert_false(byoca_solver_supports(s, "dns-01"));

  mode_t old = umask(077); /* modes do not depend on the umask */
  struct byoca_challenge ch = chal("tokA_b-1");
  assert_int_equal(s->ops->setup(s->ctx, &ch, on_solved, &calls, &err), 0);
  umask(old);
  assert_int_equal(calls, 1);
  snprintf(path, sizeof(path), "%s/tokA_b-1", t->ac);
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  assert_string_equal(buf, "tokA_b-1.thumbprint"); /* exactly, no newline */
  assert_int_equal(mode_of(path), 0644);
  assert_int_equal(mode_of(t->wk), 0755);
  assert_int_equal(mode_of(t->ac), 0755);

  assert_int_equal(s->ops->cleanup(s->ctx, &ch, on_solved, &calls, &err), 0);
  assert_int_equal(calls, 2);
  assert_false(exists(path));
  assert_false(exists(t->ac));
  assert_false(exists(t->wk));
  assert_true(exists(t->root));
  /* twice is harmless */
  assert_int_equal(s->ops->cleanup(s->ctx, &ch, on_solved, &calls, &err), 0);
  byoca_solver_free(s);
}

static void test_keeps_existing_folders(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  int calls = 0;
  assert_int_equal(mkdir(t->wk, 0700), 0);
  struct byoca_solver *s = byoca_solver_webroot(t->root, &err);
  assert_non_null(s);
  struct byoca_challenge ch = chal("tok");
  assert_int_equal(s->ops->setup(s->ctx, &ch, on_solved, &calls, &err), 0);
  assert_int_equal(mode_of(t->wk), 0700); /* not ours: untouched */
  assert_int_equal(s->ops->cleanup(s->ctx, &ch, on_solved, &calls, &err), 0);
  assert_false(exists(t->ac));
  assert_true(exists(t->wk));

  /* both existed: both stay */
  assert_int_equal(mkdir(t->ac, 0755), 0);
  assert_int_equal(s->ops->setup(s->ctx, &ch, on_solved, &calls, &err), 0);
  assert_int_equal(s->ops->cleanup(s->ctx, &ch, on_solved, &calls, &err), 0);
  assert_true(exists(t->ac));
  assert_int_equal(calls, 4);
  byoca_solver_free(s);
}

static void test_two_tokens(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  int calls = 0;
  char p1[256];
  struct byoca_solver *s = byoca_solver_webroot(t->root, &err);
  assert_non_null(s);
  struct byoca_challenge a = chal("a"), b = chal("b");
  assert_int_equal(s->ops->setup(s->ctx, &a, on_solved, &calls, &err), 0);
  assert_int_equal(s->ops->setup(s->ctx, &b, on_solved, &calls, &err), 0);
  assert_int_equal(s->ops->cleanup(s->ctx, &a, on_solved, &calls, &err), 0);
  snprintf(p1, sizeof(p1), "%s/b", t->ac);
  assert_true(exists(p1));
  assert_int_equal(s->ops->cleanup(s->ctx, &b, on_solved, &calls, &err), 0);
  assert_false(exists(t->wk));
  assert_int_equal(calls, 4);
  byoca_solver_free(s);
}

static void test_hostile_tokens(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  int calls = 0;
  char x[256];
  struct byoca_solver *s = byoca_solver_webroot(t->root, &err);
  assert_non_null(s);
  static const char *const bad[] = {"../x", "..", "a/b", "",
                                    "a b",  ".x", "x\n", "%2e%2e"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct byoca_challenge ch = chal(bad[i]);
    assert_int_not_equal(s->ops->setup(s->ctx, &ch, on_solved, &calls, &err),
                         0);
    assert_int_equal(err.cls, BYOCA_CLASS_CA);
    byoca_err_clear(&err);
  }
  struct byoca_challenge none = chal(NULL);
  assert_int_not_equal(s->ops->setup(s->ctx, &none, on_solved, &calls, &err),
                       0);
  byoca_err_clear(&err);
  assert_int_equal(calls, 0);
  snprintf(x, sizeof(x), "%s/x", t->wk);
  assert_false(exists(x));
  assert_false(exists(t->wk));
  byoca_solver_free(s);
}

static void test_bad_dir(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  char file[128];
  assert_null(byoca_solver_webroot("/nonexistent/www", &err));
  assert_int_equal(err.cls, BYOCA_CLASS_INPUT);
  assert_non_null(strstr(err.msg, "/nonexistent/www"));
  byoca_err_clear(&err);
  snprintf(file, sizeof(file), "%s/x", t->root);
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fclose(f);
  assert_null(byoca_solver_webroot(file, &err));
  assert_non_null(strstr(err.msg, "not a folder"));
  byoca_err_clear(&err);
  assert_null(byoca_solver_webroot(NULL, &err));
  byoca_err_clear(&err);
}

/* A trailing slash does not matter. */
static void test_trailing_slash(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  char dir[128], path[256];
  int calls = 0;
  snprintf(dir, sizeof(dir), "%s//", t->root);
  struct byoca_solver *s = byoca_solver_webroot(dir, &err);
  assert_non_null(s);
  struct byoca_challenge ch = chal("t");
  assert_int_equal(s->ops->setup(s->ctx, &ch, on_solved, &calls, &err), 0);
  snprintf(path, sizeof(path), "%s/t", t->ac);
  assert_true(exists(path));
  assert_int_equal(s->ops->cleanup(s->ctx, &ch, on_solved, &calls, &err), 0);
  assert_false(exists(t->wk));
  byoca_solver_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_write_and_clean, setup_tmp,
                                      teardown_tmp),
      cmocka_unit_test_setup_teardown(test_keeps_existing_folders, setup_tmp,
                                      teardown_tmp),
      cmocka_unit_test_setup_teardown(test_two_tokens, setup_tmp, teardown_tmp),
      cmocka_unit_test_setup_teardown(test_hostile_tokens, setup_tmp,
                                      teardown_tmp),
      cmocka_unit_test_setup_teardown(test_bad_dir, setup_tmp, teardown_tmp),
      cmocka_unit_test_setup_teardown(test_trailing_slash, setup_tmp,
                                      teardown_tmp),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
