/* Signals on the loop: raise() reaches the callback as a loop callback,
 * repeatedly (persistent), and stops reaching it after byoca_signal_free. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "byoca/net.h"

struct seen {
  struct byoca_loop *loop;
  int n;
};

static void on_signal(void *arg) {
  struct seen *s = arg;
  if (++s->n < 3)
    raise(SIGUSR1); /* persistent: the next one arrives as well */
  else
    byoca_loop_break(s->loop);
}

static void on_timeout(void *arg) {
  struct seen *s = arg;
  s->n = -100;
  byoca_loop_break(s->loop);
}

static void never(void *arg) {
  (void)arg;
  fail_msg("callback of a freed signal ran");
}

static void test_signal(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  struct seen s = {.loop = loop};
  struct byoca_signal *sig = byoca_signal_add(loop, SIGUSR1, on_signal, &s);
  assert_non_null(sig);
  struct byoca_timer *t = byoca_timer_add(loop, 10000, on_timeout, &s);
  assert_non_null(t);
  assert_int_equal(raise(SIGUSR1), 0);
  assert_int_equal(byoca_loop_run(loop), 0);
  assert_int_equal(s.n, 3);
  byoca_timer_cancel(t);
  byoca_signal_free(sig);

  /* a freed registration leaves nothing on the loop (run returns 1 at
     once) and its callback never runs */
  sig = byoca_signal_add(loop, SIGUSR2, never, NULL);
  assert_non_null(sig);
  byoca_signal_free(sig);
  signal(SIGUSR2, SIG_IGN);
  assert_int_equal(raise(SIGUSR2), 0);
  assert_int_equal(byoca_loop_run(loop), 1);
  signal(SIGUSR2, SIG_DFL);

  assert_null(byoca_signal_add(loop, SIGKILL, never, NULL));
  assert_null(byoca_signal_add(loop, 0, never, NULL));
  assert_null(byoca_signal_add(loop, SIGUSR1, NULL, NULL));
  byoca_signal_free(NULL);
  byoca_loop_free(loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_signal),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
