/* byoca_proc_run: exit status, output tail, environment, timeouts, fds and
 * signals a child inherits, on a real loop. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include <cmocka.h>

#include "byoca/net.h"

struct res {
  struct byoca_loop *loop; /* broken out of when done, if set */
  int done;
  int st;
  char out[4097];
  size_t outlen;
};

static void on_done(void *arg, int st, const char *out) {
  struct res *r = arg;
  r->done++;
  if (r->loop)
    byoca_loop_break(r->loop);
  r->st = st;
  r->outlen = strlen(out);
  memcpy(r->out, out, r->outlen + 1);
}

static void on_guard(void *arg) {
  struct byoca_loop *loop = arg;
  fail_msg("loop did not finish in time");
  byoca_loop_break(loop);
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Runs argv to completion on a fresh loop; returns elapsed ms. */
static int64_t run(char *const argv[], char *const envp[], int64_t timeout,
                   struct res *r) {
  struct byoca_loop *loop = byoca_loop_new();
  struct byoca_err err = {0};
  assert_non_null(loop);
  memset(r, 0, sizeof(*r));
  r->loop = loop;
  int64_t t0 = now_ms();
  assert_int_equal(byoca_proc_run(loop, argv, envp, timeout, on_done, r, &err),
                   0);
  struct byoca_timer *guard = byoca_timer_add(loop, 20000, on_guard, loop);
  while (!r->done)
    byoca_loop_run(loop);
  byoca_timer_cancel(guard);
  assert_int_equal(r->done, 1);
  byoca_loop_free(loop);
  return now_ms() - t0;
}

static void test_exit_and_output(void **state) {
  (void)state;
  struct res r;
  char *argv[] = {"/bin/sh", "-c", "echo hi; exit 3", NULL};
  run(argv, NULL, 0, &r);
  assert_true(WIFEXITED(r.st));
  assert_int_equal(WEXITSTATUS(r.st), 3);
  assert_string_equal(r.out, "hi\n");
}

static void test_stderr_and_stdin(void **state) {
  (void)state;
  struct res r;
  /* stdin is /dev/null: cat ends at once */
  char *argv[] = {"/bin/sh", "-c", "cat; echo out; echo err >&2", NULL};
  run(argv, NULL, 0, &r);
  assert_true(WIFEXITED(r.st));
  assert_int_equal(WEXITSTATUS(r.st), 0);
  assert_string_equal(r.out, "out\nerr\n");
}

static void test_env(void **state) {
  (void)state;
  struct res r;
  setenv("BYOCA_TEST_SECRET", "leak", 1);
  setenv("HOME", "/tmp/home-x", 1);
  char *argv[] = {"/bin/sh", "-c",
                  "echo \"$BYOCA_X|$PATH|$HOME|$BYOCA_TEST_SECRET|$HOME2\"",
                  NULL};
  char *envp[] = {"BYOCA_X=1", "HOME2=a=b", NULL};
  run(argv, envp, 0, &r);
  assert_string_equal(r.out,
                      "1|/usr/local/bin:/usr/bin:/bin|/tmp/home-x||a=b\n");
  /* envp overrides the base */
  char *envp2[] = {"PATH=/nowhere", NULL};
  char *argv2[] = {"/bin/sh", "-c", "echo \"$PATH\"", NULL};
  run(argv2, envp2, 0, &r);
  assert_string_equal(r.out, "/nowhere\n");
  unsetenv("BYOCA_TEST_SECRET");
}

static void test_missing_program(void **state) {
  (void)state;
  /* valgrind cannot run a child whose execve fails (it kills it), so
   * posix_spawn's report of the failure never arrives (tests/valgrind.sh). */
  if (getenv("BYOCA_VALGRIND") != NULL)
    skip();
  struct byoca_loop *loop = byoca_loop_new();
  struct byoca_err err = {0};
  struct res r = {0};
  char *argv[] = {"/nonexistent/byoca-hook", "setup", NULL};
  assert_int_equal(byoca_proc_run(loop, argv, NULL, 0, on_done, &r, &err),
                   BYOCA_E_HOOK);
  assert_int_equal(err.code, BYOCA_E_HOOK);
  assert_int_equal(err.cls, BYOCA_CLASS_INPUT);
  assert_non_null(strstr(err.msg, "/nonexistent/byoca-hook"));
  assert_non_null(strstr(err.msg, "cannot run"));
  byoca_err_clear(&err);
  /* nothing left registered: the loop returns at once */
  byoca_loop_run(loop);
  assert_int_equal(r.done, 0);
  /* a folder is not runnable either */
  char *argv2[] = {"/tmp", NULL};
  assert_int_equal(byoca_proc_run(loop, argv2, NULL, 0, on_done, &r, &err),
                   BYOCA_E_HOOK);
  assert_non_null(strstr(err.msg, "/tmp"));
  byoca_err_clear(&err);
  assert_int_equal(byoca_proc_run(loop, NULL, NULL, 0, on_done, &r, &err),
                   BYOCA_E_INVAL);
  byoca_err_clear(&err);
  byoca_loop_free(loop);
}

static void test_timeout(void **state) {
  (void)state;
  struct res r;
  char *argv[] = {"/bin/sleep", "10", NULL};
  int64_t ms = run(argv, NULL, 200, &r);
  assert_true(WIFSIGNALED(r.st));
  assert_int_equal(WTERMSIG(r.st), SIGKILL);
  assert_true(ms >= 150);
  assert_true(ms < 5000);
}

static void test_large_output(void **state) {
  (void)state;
  struct res r;
  char *argv[] = {"/bin/sh", "-c",
                  "head -c 1048576 /dev/zero | tr '\\000' a; printf END", NULL};
  run(argv, NULL, 0, &r);
  assert_true(WIFEXITED(r.st));
  assert_int_equal(WEXITSTATUS(r.st), 0);
  assert_int_equal(r.outlen, 4096);
  assert_string_equal(r.out + 4093, "END");
  for (size_t i = 0; i < 4093; i++)
    assert_int_equal(r.out[i], 'a');
}

/* A background grandchild keeps the pipe open: exit is still reported. */
static void test_grandchild_keeps_pipe(void **state) {
  (void)state;
  struct res r;
  char *argv[] = {"/bin/sh", "-c", "sleep 3 & echo x", NULL};
  int64_t ms = run(argv, NULL, 0, &r);
  assert_true(ms < 2500);
  assert_true(WIFEXITED(r.st));
  assert_string_equal(r.out, "x\n");
}

/* Only stdin, stdout and stderr reach the child: our pipe's read end, the
 * pidfd and libevent's fds are close-on-exec. */
static void test_no_fd_leak(void **state) {
  (void)state;
  struct res r;
  char *argv[] = {"/bin/sh", "-c", "ls -l /proc/$$/fd", NULL};
  run(argv, NULL, 0, &r);
  assert_true(WIFEXITED(r.st));
  int pipes = 0;
  for (const char *p = r.out; (p = strstr(p, "pipe:")) != NULL; p++)
    pipes++;
  assert_int_equal(pipes, 2);
  assert_null(strstr(r.out, "anon_inode"));
  assert_non_null(strstr(r.out, "/dev/null"));
}

/* Our SIG_IGN of SIGPIPE is not inherited. */
static void test_signals_reset(void **state) {
  (void)state;
  struct res r;
  void (*old)(int) = signal(SIGPIPE, SIG_IGN);
  char *argv[] = {"/bin/sh", "-c", "yes | head -c 10 >/dev/null; echo ok",
                  NULL};
  run(argv, NULL, 0, &r);
  signal(SIGPIPE, old);
  assert_string_equal(r.out, "ok\n");
}

/* With SIGCHLD ignored the kernel reaps the child: the exit is still
 * reported (as a failure, the status being lost), never a hang. */
static void test_sigchld_ignored(void **state) {
  (void)state;
  struct res r;
  void (*old)(int) = signal(SIGCHLD, SIG_IGN);
  char *argv[] = {"/bin/sh", "-c", "echo x", NULL};
  run(argv, NULL, 0, &r);
  signal(SIGCHLD, old);
  assert_true(WIFEXITED(r.st));
  assert_int_equal(WEXITSTATUS(r.st), 255);
  assert_string_equal(r.out, "x\n");
}

/* Several children run at once: the loop is never blocked. */
static void test_parallel(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  struct byoca_err err = {0};
  struct res r[4];
  char *argv[] = {"/bin/sleep", "0.4", NULL};
  memset(r, 0, sizeof(r));
  int64_t t0 = now_ms();
  for (int i = 0; i < 4; i++)
    assert_int_equal(byoca_proc_run(loop, argv, NULL, 0, on_done, &r[i], &err),
                     0);
  byoca_loop_run(loop);
  int64_t ms = now_ms() - t0;
  for (int i = 0; i < 4; i++) {
    assert_int_equal(r[i].done, 1);
    assert_true(WIFEXITED(r[i].st));
  }
  assert_true(ms < 1500);
  byoca_loop_free(loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_exit_and_output),
      cmocka_unit_test(test_stderr_and_stdin),
      cmocka_unit_test(test_env),
      cmocka_unit_test(test_missing_program),
      cmocka_unit_test(test_timeout),
      cmocka_unit_test(test_large_output),
      cmocka_unit_test(test_grandchild_keeps_pipe),
      cmocka_unit_test(test_no_fd_leak),
      cmocka_unit_test(test_signals_reset),
      cmocka_unit_test(test_sigchld_ignored),
      cmocka_unit_test(test_parallel),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
