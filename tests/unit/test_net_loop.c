/* The event loop on a real event_base: timer order and cancellation, read
 * watches, the offload pool (work off the loop thread, done on it), the
 * lane (a thread of its own, never behind the pool), and
 * that an idle loop returns instead of waiting forever. */
#include <pthread.h>
#include <setjmp.h>
#include <stdatomic.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "byoca/net.h"

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

struct order {
  int seen[8];
  int n;
};

struct tick {
  struct order *o;
  int id;
};

static void on_tick(void *arg) {
  struct tick *t = arg;
  t->o->seen[t->o->n++] = t->id;
}

static void never(void *arg) {
  (void)arg;
  fail_msg("cancelled timer fired");
}

static void test_timers(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  assert_non_null(loop);
  struct order o = {0};
  struct tick t1 = {&o, 1}, t2 = {&o, 2}, t3 = {&o, 3};
  int64_t start = mono_ms();
  assert_non_null(byoca_timer_add(loop, 60, on_tick, &t3));
  assert_non_null(byoca_timer_add(loop, 0, on_tick, &t1));
  assert_non_null(byoca_timer_add(loop, 30, on_tick, &t2));
  struct byoca_timer *c = byoca_timer_add(loop, 10, never, NULL);
  assert_non_null(c);
  byoca_timer_cancel(c);
  byoca_timer_cancel(NULL);
  /* nothing left after the three: run returns 1 ("nothing to wait for") */
  assert_int_equal(byoca_loop_run(loop), 1);
  assert_int_equal(o.n, 3);
  assert_int_equal(o.seen[0], 1);
  assert_int_equal(o.seen[1], 2);
  assert_int_equal(o.seen[2], 3);
  assert_true(mono_ms() - start >= 55);
  assert_non_null(byoca_loop_base(loop));
  byoca_loop_free(loop);
  byoca_loop_free(NULL);
}

struct breaker {
  struct byoca_loop *loop;
  int fired;
};

static void on_break(void *arg) {
  struct breaker *b = arg;
  b->fired++;
  byoca_loop_break(b->loop);
}

static void test_break(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  struct breaker b = {loop, 0};
  assert_non_null(byoca_timer_add(loop, 5, on_break, &b));
  struct byoca_timer *later = byoca_timer_add(loop, 100000, never, NULL);
  assert_int_equal(byoca_loop_run(loop), 0);
  assert_int_equal(b.fired, 1);
  byoca_timer_cancel(later);
  byoca_loop_free(loop);
}

struct watcher {
  struct byoca_watch *w;
  int calls;
  char got[16];
};

static void on_readable(int fd, void *arg) {
  struct watcher *w = arg;
  ssize_t n = read(fd, w->got, sizeof(w->got) - 1);
  assert_true(n > 0);
  w->got[n] = '\0';
  if (++w->calls == 2) {
    byoca_watch_free(w->w); /* freeing from its own callback is allowed */
    w->w = NULL;
  }
}

struct writer {
  int fd;
  const char *text;
};

static void on_write(void *arg) {
  struct writer *wr = arg;
  assert_int_equal(write(wr->fd, wr->text, strlen(wr->text)),
                   (ssize_t)strlen(wr->text));
}

static void test_watch(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  int fds[2];
  assert_int_equal(pipe(fds), 0);
  struct watcher w = {0};
  w.w = byoca_watch_read(loop, fds[0], on_readable, &w);
  assert_non_null(w.w);
  struct writer a = {fds[1], "one"}, b = {fds[1], "two"};
  assert_non_null(byoca_timer_add(loop, 1, on_write, &a));
  assert_non_null(byoca_timer_add(loop, 20, on_write, &b));
  assert_int_equal(byoca_loop_run(loop), 1);
  assert_int_equal(w.calls, 2);
  assert_string_equal(w.got, "two");
  assert_null(w.w);
  byoca_watch_free(NULL);
  close(fds[0]);
  close(fds[1]);
  byoca_loop_free(loop);
}

#define NJOBS 16

struct job {
  pthread_t loop_thread;
  pthread_t worker;
  int worked, done;
  unsigned long sum;
};

static void job_work(void *arg) {
  struct job *j = arg;
  j->worker = pthread_self();
  unsigned long s = 0;
  for (unsigned long i = 0; i < 200000; i++)
    s += i % 7;
  j->sum = s;
  j->worked = 1;
}

static void job_done(void *arg) {
  struct job *j = arg;
  assert_true(j->worked);
  assert_true(pthread_equal(pthread_self(), j->loop_thread));
  j->done++;
}

static void test_offload(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  struct job jobs[NJOBS];
  memset(jobs, 0, sizeof(jobs));
  for (int i = 0; i < NJOBS; i++) {
    jobs[i].loop_thread = pthread_self();
    assert_int_equal(byoca_loop_offload(loop, job_work, job_done, &jobs[i]), 0);
  }
  /* the loop stays alive exactly while jobs are in flight */
  assert_int_equal(byoca_loop_run(loop), 1);
  for (int i = 0; i < NJOBS; i++) {
    assert_int_equal(jobs[i].done, 1);
    assert_false(pthread_equal(jobs[i].worker, pthread_self()));
  }
  /* a second round on the same pool */
  struct job again = {.loop_thread = pthread_self()};
  assert_int_equal(byoca_loop_offload(loop, job_work, job_done, &again), 0);
  assert_int_equal(byoca_loop_run(loop), 1);
  assert_int_equal(again.done, 1);
  assert_int_equal(byoca_loop_offload(loop, NULL, job_done, &again),
                   BYOCA_E_INVAL);
  byoca_loop_free(loop);
}

/* The lane never waits behind the pool: both pool workers block until
 * the lane's job has run, so a lane served by the pool would hang. */
static atomic_int lane_ran, released;

static void blocked_work(void *arg) {
  (void)arg;
  for (int i = 0; i < 10000 && !atomic_load(&lane_ran); i++)
    usleep(1000); /* at most 10 s, so a failure does not hang */
  if (atomic_load(&lane_ran))
    atomic_fetch_add(&released, 1);
}

static void lane_work(void *arg) {
  struct job *j = arg;
  j->worker = pthread_self();
  j->worked = 1;
  atomic_store(&lane_ran, 1);
}

static void count_done(void *arg) {
  ++*(int *)arg;
}

static void test_offload_lane(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  int pool_done = 0;
  struct job lj = {.loop_thread = pthread_self()};
  atomic_store(&lane_ran, 0);
  atomic_store(&released, 0);
  for (int i = 0; i < 4; i++)
    assert_int_equal(
        byoca_loop_offload(loop, blocked_work, count_done, &pool_done), 0);
  usleep(20000); /* both workers are blocked now */
  assert_int_equal(byoca_loop_offload_lane(loop, 0, lane_work, job_done, &lj),
                   0);
  assert_int_equal(byoca_loop_run(loop), 1);
  assert_int_equal(lj.done, 1);
  assert_int_equal(pool_done, 4);
  assert_false(pthread_equal(lj.worker, pthread_self()));
  /* released by the lane's job, not by their own limit */
  assert_int_equal(atomic_load(&released), 4);
  byoca_loop_free(loop);
}

/* Neither does one lane wait behind another: lane 0's job blocks until
 * lane 1's has run. */
static void test_offload_lanes(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  int blocked_done = 0;
  struct job lj = {.loop_thread = pthread_self()};
  atomic_store(&lane_ran, 0);
  atomic_store(&released, 0);
  assert_int_equal(
      byoca_loop_offload_lane(loop, 0, blocked_work, count_done, &blocked_done),
      0);
  usleep(20000); /* lane 0 is blocked now */
  assert_int_equal(byoca_loop_offload_lane(loop, 1, lane_work, job_done, &lj),
                   0);
  assert_int_equal(byoca_loop_run(loop), 1);
  assert_int_equal(lj.done, 1);
  assert_int_equal(blocked_done, 1);
  assert_int_equal(atomic_load(&released), 1);
  assert_int_equal(
      byoca_loop_offload_lane(loop, BYOCA_LOOP_LANES, lane_work, job_done, &lj),
      BYOCA_E_INVAL);
  byoca_loop_free(loop);
}

static void slow_work(void *arg) {
  (void)arg;
  usleep(50000);
}

static void test_offload_free_pending(void **state) {
  (void)state;
  /* freeing the loop with work queued and running joins the workers and
     never calls done */
  struct byoca_loop *loop = byoca_loop_new();
  for (int i = 0; i < 6; i++)
    assert_int_equal(byoca_loop_offload(loop, slow_work, never, NULL), 0);
  usleep(10000);
  byoca_loop_free(loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_timers),
      cmocka_unit_test(test_break),
      cmocka_unit_test(test_watch),
      cmocka_unit_test(test_offload),
      cmocka_unit_test(test_offload_lane),
      cmocka_unit_test(test_offload_lanes),
      cmocka_unit_test(test_offload_free_pending),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
