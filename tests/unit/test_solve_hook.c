/* The hook solver: arguments and environment a hook sees, failures,
 * timeouts, path checks, on a real loop. */
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

#include "byoca/net.h"
#include "byoca/solve.h"

struct tmp {
  char dir[64];
  char hook[128];
  char out[128]; /* what the dumping hook writes */
  struct byoca_loop *loop;
};

struct result {
  struct byoca_loop *loop;
  int calls;
  int failed;
  struct byoca_err err;
};

static int setup_tmp(void **state) {
  struct tmp *t = calloc(1, sizeof(*t));
  snprintf(t->dir, sizeof(t->dir), "/tmp/byoca-hook-XXXXXX");
  if (!mkdtemp(t->dir))
    return -1;
  snprintf(t->hook, sizeof(t->hook), "%s/hook.sh", t->dir);
  snprintf(t->out, sizeof(t->out), "%s/out", t->dir);
  t->loop = byoca_loop_new();
  *state = t;
  return t->loop ? 0 : -1;
}

static int teardown_tmp(void **state) {
  struct tmp *t = *state;
  unlink(t->hook);
  unlink(t->out);
  byoca_loop_free(t->loop);
  int rc = rmdir(t->dir);
  free(t);
  return rc;
}

static void write_hook(struct tmp *t, const char *body, unsigned mode) {
  FILE *f = fopen(t->hook, "w");
  assert_non_null(f);
  fprintf(f, "#!/bin/sh\n%s\n", body);
  fclose(f);
  assert_int_equal(chmod(t->hook, mode), 0);
}

static void on_solved(void *arg, const struct byoca_err *err) {
  struct result *r = arg;
  r->calls++;
  if (err) {
    r->failed = 1;
    assert_int_equal(byoca_err_copy(&r->err, err), 0);
  }
  byoca_loop_break(r->loop);
}

static const struct byoca_challenge dns_chal = {
    .type = "dns-01",
    .ident_type = "dns",
    .identifier = "example.org",
    .wildcard = 1,
    .token = "tok-123",
    .key_authz = "tok-123.thumb",
    .dns_value = "dnsvalue_x-y",
    .record_name = "_acme-challenge.example.org",
};

/* Runs setup or cleanup to completion. */
static void solve(struct tmp *t, struct byoca_solver *s, int cleanup,
                  const struct byoca_challenge *ch, struct result *r) {
  struct byoca_err err = {0};
  memset(r, 0, sizeof(*r));
  r->loop = t->loop;
  int rc = cleanup ? s->ops->cleanup(s->ctx, ch, on_solved, r, &err)
                   : s->ops->setup(s->ctx, ch, on_solved, r, &err);
  assert_int_equal(rc, 0);
  while (r->calls == 0)
    byoca_loop_run(t->loop);
  assert_int_equal(r->calls, 1);
}

static char *read_out(struct tmp *t) {
  static char buf[4096];
  FILE *f = fopen(t->out, "r");
  assert_non_null(f);
  size_t n = fread(buf, 1, sizeof(buf) - 1, f);
  fclose(f);
  buf[n] = '\0';
  return buf;
}

static void test_env_and_args(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  struct result r;
  char body[512];
  setenv("BYOCA_TEST_SECRET", "must-not-leak", 1);
  snprintf(
      body, sizeof(body),
      "{ echo \"ARGS=$#:$1\"; env | grep -v '^PWD=' | LC_ALL=C sort; } > %s",
      t->out);
  write_hook(t, body, 0755);
  struct byoca_solver *s =
      byoca_solver_hook(t->loop, t->hook, NULL, 5000, &err);
  assert_non_null(s);
  assert_string_equal(s->name, "hook");
  assert_true(byoca_solver_supports(s, "dns-01"));
  assert_true(byoca_solver_supports(s, "dns-account-01")); /* the default */
  assert_false(byoca_solver_supports(s, "http-01"));

  solve(t, s, 0, &dns_chal, &r);
  assert_int_equal(r.failed, 0);
  char want[1024];
  const char *home = getenv("HOME"), *lang = getenv("LANG");
  char homeline[256] = "", langline[256] = "";
  if (home)
    snprintf(homeline, sizeof(homeline), "HOME=%s\n", home);
  if (lang)
    snprintf(langline, sizeof(langline), "LANG=%s\n", lang);
  /* sorted: exactly the challenge and the minimal base */
  snprintf(want, sizeof(want),
           "ARGS=1:setup\n"
           "BYOCA_ACCOUNT_LABEL=\n"
           "BYOCA_ACTION=setup\n"
           "BYOCA_CHALLENGE_TYPE=dns-01\n"
           "BYOCA_IDENTIFIER=example.org\n"
           "BYOCA_IDENTIFIER_TYPE=dns\n"
           "BYOCA_KEY_AUTHORIZATION=tok-123.thumb\n"
           "BYOCA_RECORD_NAME=_acme-challenge.example.org\n"
           "BYOCA_RECORD_VALUE=dnsvalue_x-y\n"
           "BYOCA_TOKEN=tok-123\n"
           "BYOCA_WILDCARD=1\n"
           "%s%s"
           "PATH=/usr/local/bin:/usr/bin:/bin\n",
           homeline, langline);
  assert_string_equal(read_out(t), want);

  solve(t, s, 1, &dns_chal, &r);
  assert_int_equal(r.failed, 0);
  const char *out = read_out(t);
  assert_non_null(strstr(out, "ARGS=1:cleanup\n"));
  assert_non_null(strstr(out, "BYOCA_ACTION=cleanup\n"));
  unsetenv("BYOCA_TEST_SECRET");
  byoca_solver_free(s);
}

static void test_failure(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  struct result r;
  write_hook(t, "echo first\necho 'boom \033[31mred' >&2\n\nexit 1", 0755);
  struct byoca_solver *s =
      byoca_solver_hook(t->loop, t->hook, "dns-01", 5000, &err);
  assert_non_null(s);
  solve(t, s, 0, &dns_chal, &r);
  assert_int_equal(r.failed, 1);
  assert_int_equal(r.err.code, BYOCA_E_HOOK);
  assert_int_equal(r.err.cls, BYOCA_CLASS_INPUT);
  assert_non_null(strstr(r.err.msg, "boom"));
  assert_null(strstr(r.err.msg, "first"));
  assert_null(strchr(r.err.msg, '\033'));
  assert_non_null(strstr(r.err.msg, "exit 1"));
  assert_non_null(strstr(r.err.msg, "setup for example.org"));
  assert_non_null(strstr(r.err.msg, t->hook));
  byoca_err_clear(&r.err);
  byoca_solver_free(s);
}

static void test_timeout(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  struct result r;
  write_hook(t, "exec sleep 10", 0755);
  struct byoca_solver *s = byoca_solver_hook(t->loop, t->hook, NULL, 200, &err);
  assert_non_null(s);
  solve(t, s, 0, &dns_chal, &r);
  assert_int_equal(r.failed, 1);
  assert_int_equal(r.err.code, BYOCA_E_HOOK);
  assert_non_null(strstr(r.err.msg, "killed by signal 9"));
  byoca_err_clear(&r.err);
  byoca_solver_free(s);
}

/* Freeing the solver while its hook runs: the result still arrives. */
static void test_free_while_running(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  struct result r = {.loop = t->loop};
  write_hook(t, "sleep 0.2; echo late; exit 2", 0755);
  struct byoca_solver *s =
      byoca_solver_hook(t->loop, t->hook, NULL, 5000, &err);
  assert_non_null(s);
  assert_int_equal(s->ops->setup(s->ctx, &dns_chal, on_solved, &r, &err), 0);
  byoca_solver_free(s);
  while (r.calls == 0)
    byoca_loop_run(t->loop);
  assert_int_equal(r.failed, 1);
  assert_non_null(strstr(r.err.msg, "exit 2"));
  assert_non_null(strstr(r.err.msg, "late"));
  byoca_err_clear(&r.err);
}

static void test_types(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  write_hook(t, "exit 0", 0755);
  struct byoca_solver *s =
      byoca_solver_hook(t->loop, t->hook, " http-01, dns-01,,", 0, &err);
  assert_non_null(s);
  assert_true(byoca_solver_supports(s, "http-01"));
  assert_true(byoca_solver_supports(s, "dns-01"));
  assert_false(byoca_solver_supports(s, "tls-alpn-01"));
  assert_false(byoca_solver_supports(s, "dns"));
  byoca_solver_free(s);
  assert_null(byoca_solver_hook(t->loop, t->hook, " , ", 0, &err));
  assert_int_equal(err.cls, BYOCA_CLASS_INPUT);
  byoca_err_clear(&err);
}

static void test_bad_path(void **state) {
  struct tmp *t = *state;
  struct byoca_err err = {0};
  write_hook(t, "exit 0", 0644);
  assert_null(byoca_solver_hook(t->loop, t->hook, NULL, 0, &err));
  assert_int_equal(err.cls, BYOCA_CLASS_INPUT);
  assert_non_null(strstr(err.msg, "not executable"));
  assert_non_null(strstr(err.msg, t->hook));
  byoca_err_clear(&err);
  assert_null(byoca_solver_hook(t->loop, t->dir, NULL, 0, &err));
  assert_non_null(strstr(err.msg, "not a regular file"));
  byoca_err_clear(&err);
  assert_null(byoca_solver_hook(t->loop, "/nonexistent/hook", NULL, 0, &err));
  assert_non_null(strstr(err.msg, "/nonexistent/hook"));
  byoca_err_clear(&err);
  assert_null(byoca_solver_hook(t->loop, NULL, NULL, 0, &err));
  byoca_err_clear(&err);
}

/* A hook that cannot start (e.g. a bad interpreter) fails setup at once. */
static void test_cannot_start(void **state) {
  struct tmp *t = *state;
  /* valgrind cannot run a child whose execve fails (it kills it), so
   * posix_spawn's report of the failure never arrives (tests/valgrind.sh). */
  if (getenv("BYOCA_VALGRIND") != NULL)
    skip();
  struct byoca_err err = {0};
  struct result r = {.loop = t->loop};
  FILE *f = fopen(t->hook, "w");
  assert_non_null(f);
  fputs("#!/nonexistent/interpreter\n", f);
  fclose(f);
  assert_int_equal(chmod(t->hook, 0755), 0);
  struct byoca_solver *s = byoca_solver_hook(t->loop, t->hook, NULL, 0, &err);
  assert_non_null(s);
  assert_int_equal(s->ops->setup(s->ctx, &dns_chal, on_solved, &r, &err),
                   BYOCA_E_HOOK);
  assert_int_equal(r.calls, 0);
  assert_non_null(strstr(err.msg, t->hook));
  byoca_err_clear(&err);
  byoca_solver_free(s);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_env_and_args, setup_tmp,
                                      teardown_tmp),
      cmocka_unit_test_setup_teardown(test_failure, setup_tmp, teardown_tmp),
      cmocka_unit_test_setup_teardown(test_timeout, setup_tmp, teardown_tmp),
      cmocka_unit_test_setup_teardown(test_free_while_running, setup_tmp,
                                      teardown_tmp),
      cmocka_unit_test_setup_teardown(test_types, setup_tmp, teardown_tmp),
      cmocka_unit_test_setup_teardown(test_bad_path, setup_tmp, teardown_tmp),
      cmocka_unit_test_setup_teardown(test_cannot_start, setup_tmp,
                                      teardown_tmp),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
