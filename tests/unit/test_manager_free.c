/* Unit test of byoca_manager_free with a job in flight at a CA that never
 * answers (a loopback socket that is never accepted): the job is
 * cancelled, nothing is recorded for it, its claim stays, nothing leaks,
 * and the next manager on the store claims the lineage again. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "mgr_int.h"
#include "test_manager_fixture.h"

#include "test_manager_wait.h"
}

static int setup(void **state) {
  struct run_state *s = calloc(1, sizeof(*s));
  mfx_setup(&s->f);
  *state = s;
  return 0;
}

static int teardown(void **state) {
  struct run_state *s = *state;
  byoca_manager_free(s->m);
  mfx_teardown(&s->f);
  free(s);
  return 0;
}

static void row_of(struct run_state *s, int64_t id, struct byoca_cert_row *r) {
  memset(r, 0, sizeof(*r));
  assert_int_equal(byoca_store_cert_get(s->f.store, 0, id, 0, r, NULL), 0);
}

static void stop_loop(void *arg) {
  struct run_state *s = arg;
  byoca_loop_break(s->f.loop);
}

/* Runs the loop for ms with no manager (poll_fire needs none). */
static void settle(struct run_state *s, int64_t ms) {
  int64_t end = byoca_now_ms() + ms;
  while (byoca_now_ms() < end) {
    struct byoca_timer *t = byoca_timer_add(s->f.loop, 20, stop_loop, s);
    byoca_loop_run(s->f.loop);
    (void)t;
  }
}

static int job_running(struct run_state *s, void *arg) {
  (void)arg;
  return s->m->jobs != NULL && s->m->jobs->acme != NULL;
}

/* Free while an order is in flight at a CA that never answers: the job
 * is cancelled, nothing is recorded for it, nothing leaks, and the next
 * manager on the store claims the lineage again. */
static void test_free_in_flight(void **state) {
  struct run_state *s = *state;
  struct sockaddr_in sa = {.sin_family = AF_INET};
  socklen_t sl = sizeof(sa);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(listen(fd, 8), 0); /* never accepted: a silent CA */
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
  char url[64];
  snprintf(url, sizeof(url), "https://127.0.0.1:%d/dir", ntohs(sa.sin_port));
  const char *const defaults[] = {url};
  struct byoca_manager_opts o = {.loop = s->f.loop,
                                 .store = s->f.store,
                                 .http = s->f.http,
                                 .default_cas = defaults,
                                 .ndefault_cas = 1,
                                 .tick_ms = 20};
  const char *names[] = {"192.0.2.70"};
  int64_t id = 0;
  struct byoca_cert_row r;
  assert_int_equal(byoca_manager_new(&o, &s->m, NULL), 0);
  assert_int_equal(byoca_manager_start(s->m, NULL), 0);
  assert_int_equal(byoca_manager_add(s->m, s->f.tenant, names, 1, NULL, NULL,
                                     NULL, &id, NULL),
                   0);
  assert_true(run_until(s, job_running, NULL));
  assert_int_equal(byoca_manager_in_flight(s->m), 1);
  byoca_manager_free(s->m);
  s->m = NULL;
  /* the engine keeps a freed client's HTTP requests until they answer
   * (byoca_http_free would drop them unanswered): let them end */
  close(fd);
  settle(s, 500);
  row_of(s, id, &r);
  assert_int_equal(r.failures, 0); /* cancelled, not failed */
  assert_int_equal(r.state, BYOCA_CERT_PENDING);
  assert_true(r.lease_until > 0); /* the claim is still there */
  byoca_cert_row_clear(&r);
  /* a restart releases the lease and claims it again */
  assert_int_equal(byoca_manager_new(&o, &s->m, NULL), 0);
  assert_int_equal(byoca_manager_start(s->m, NULL), 0);
  struct want_failures w = {id, 1};
  assert_true(run_until(s, failed_n, &w)); /* the CA is gone now */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_free_in_flight, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
