/* Unit tests of the manager running on a loop with a real store, without
 * any CA: jobs that must fail do, exactly once each, and the failure is
 * recorded as the contract says. D-DEFAULT for names nothing restricts
 * (IP identifiers), D-FALLBACK over two default CAs that refuse
 * connections (127.0.0.1:9, trusted as operator URLs), per-certificate
 * backoff, D-BACKOFF after 3 failures (event, CA skipped with the reason),
 * D-DNS-ERR (no resolver: fail closed), max_parallel_per_ca, metrics,
 * deletion without revocation, tenant deletion, drain and free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "mgr_int.h"
#include "test_manager_fixture.h"

#define CA_A "https://127.0.0.1:9/a"
#define CA_B "https://127.0.0.1:9/b"

#include "test_manager_wait.h"
}

static int cert_gone(struct run_state *s, void *arg) {
  struct byoca_cert_row r;
  memset(&r, 0, sizeof(r));
  int rc = byoca_store_cert_get(s->f.store, 0, *(int64_t *)arg, 0, &r, NULL);
  byoca_cert_row_clear(&r);
  return rc == BYOCA_E_NOTFOUND && byoca_manager_in_flight(s->m) == 0;
}

static int tenant_gone(struct run_state *s, void *arg) {
  struct byoca_tenant t;
  return byoca_store_tenant_get(s->f.store, *(int64_t *)arg, &t, NULL) ==
             BYOCA_E_NOTFOUND &&
         byoca_manager_in_flight(s->m) == 0;
}

static void start(struct run_state *s, size_t per_ca) {
  static const char *const defaults[] = {CA_A, CA_B};
  struct byoca_manager_opts o = {.loop = s->f.loop,
                                 .store = s->f.store,
                                 .http = s->f.http,
                                 .default_cas = defaults,
                                 .ndefault_cas = 2,
                                 .max_parallel_per_ca = per_ca,
                                 .tick_ms = 20,
                                 .webhook_url = NULL};
  assert_int_equal(byoca_manager_new(&o, &s->m, NULL), 0);
  assert_int_equal(byoca_manager_start(s->m, NULL), 0);
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

static void renew_and_wait(struct run_state *s, int64_t id, int failures) {
  struct want_failures w = {id, failures};
  assert_int_equal(byoca_manager_renew(s->m, s->f.tenant, id, NULL), 0);
  assert_true(run_until(s, failed_n, &w));
}

static void test_default_fallback_backoff(void **state) {
  struct run_state *s = *state;
  const char *names[] = {"192.0.2.1"};
  struct byoca_cert_row r;
  struct byoca_ca_health h;
  int64_t id = 0;
  start(s, 16);
  assert_int_equal(byoca_manager_add(s->m, s->f.tenant, names, 1, NULL, "auto",
                                     NULL, &id, NULL),
                   0);
  struct want_failures w = {id, 1};
  assert_true(run_until(s, failed_n, &w));
  int64_t now = byoca_now();
  row_of(s, id, &r);
  assert_int_equal(r.state, BYOCA_CERT_FAILED);
  assert_int_equal(r.failures, 1);
  assert_int_equal(r.lease_until, 0);
  assert_string_equal(r.next_source, "retry");
  assert_true(r.next_check >= now + 270 - 5 && r.next_check <= now + 330);
  if (strstr(r.last_outcome, "no CA could issue") == NULL ||
      strstr(r.last_outcome, CA_A) == NULL ||
      strstr(r.last_outcome, CA_B) == NULL)
    fail_msg("last_outcome: %s", r.last_outcome);
  byoca_cert_row_clear(&r);
  assert_int_equal(byoca_store_ca_get(s->f.store, CA_A, &h, NULL), 0);
  assert_int_equal(h.failures, 1);
  assert_int_equal(byoca_store_ca_get(s->f.store, CA_B, &h, NULL), 0);
  assert_int_equal(h.failures, 1);
  assert_int_equal(
      mfx_events(&s->f, s->f.tenant, "certificate.failed", id, NULL), 1);
  /* the 3rd consecutive failure puts both CAs into backoff */
  renew_and_wait(s, id, 2);
  assert_int_equal(mfx_events(&s->f, -1, "ca.backoff", 0, NULL), 0);
  renew_and_wait(s, id, 3);
  assert_int_equal(mfx_events(&s->f, -1, "ca.backoff", 0, NULL), 2);
  assert_int_equal(byoca_store_ca_get(s->f.store, CA_A, &h, NULL), 0);
  assert_true(h.backoff_until > byoca_now());
  /* now both are skipped without being contacted */
  renew_and_wait(s, id, 4);
  row_of(s, id, &r);
  if (strstr(r.last_outcome, "backing off") == NULL)
    fail_msg("last_outcome: %s", r.last_outcome);
  byoca_cert_row_clear(&r);
  assert_int_equal(byoca_store_ca_get(s->f.store, CA_A, &h, NULL), 0);
  assert_int_equal(h.failures, 3);
  assert_int_equal(
      mfx_events(&s->f, s->f.tenant, "certificate.failed", id, NULL), 4);
  struct byoca_buf b;
  byoca_buf_init(&b, 0);
  assert_int_equal(byoca_manager_metrics(s->m, &b), 0);
  assert_non_null(strstr(b.data, "byoca_ca_backoff{ca=\"" CA_A "\"} 1\n"));
  assert_non_null(strstr(b.data, "byoca_issuance_total{ca=\"" CA_B
                                 "\",kind=\"new\",outcome=\"error\"} 3\n"));
  assert_non_null(strstr(b.data, "byoca_certificates{state=\"failed\"} 1\n"));
  byoca_buf_free(&b);
}

/* D-DNS-ERR: without a resolver the lookup fails, and so does the job,
 * closed: no default CA is tried. */
static void test_dns_error_fails_closed(void **state) {
  struct run_state *s = *state;
  const char *names[] = {"www.example.test", "192.0.2.3"};
  struct byoca_cert_row r;
  struct byoca_ca_health h;
  int64_t id = 0;
  char *detail = NULL;
  start(s, 16);
  assert_int_equal(byoca_manager_add(s->m, s->f.tenant, names, 2, NULL, NULL,
                                     NULL, &id, NULL),
                   0);
  struct want_failures w = {id, 1};
  assert_true(run_until(s, failed_n, &w));
  row_of(s, id, &r);
  if (strstr(r.last_outcome, "CAA lookup failed") == NULL)
    fail_msg("last_outcome: %s", r.last_outcome);
  byoca_cert_row_clear(&r);
  assert_int_equal(byoca_store_ca_get(s->f.store, CA_A, &h, NULL), 0);
  assert_int_equal(h.failures, 0); /* never contacted */
  assert_int_equal(
      mfx_events(&s->f, s->f.tenant, "certificate.failed", id, &detail), 1);
  assert_non_null(strstr(detail, "\"class\":\"retryable\""));
  free(detail);
}

/* Many lineages at one CA: never more than max_parallel_per_ca at once,
 * and every job ends exactly once. */
static void test_per_ca_limit(void **state) {
  struct run_state *s = *state;
  int64_t ids[12];
  start(s, 1);
  for (int i = 0; i < 12; i++) {
    char name[32];
    snprintf(name, sizeof(name), "192.0.2.%d", 10 + i);
    const char *names[] = {name};
    assert_int_equal(byoca_manager_add(s->m, s->f.tenant, names, 1, NULL, CA_A,
                                       NULL, &ids[i], NULL),
                     0);
  }
  for (int i = 0; i < 12; i++) {
    struct want_failures w = {ids[i], 1};
    assert_true(run_until(s, failed_n, &w));
  }
  assert_int_equal(s->max_slot_seen, 1);
  for (int i = 0; i < 12; i++) {
    struct byoca_cert_row r;
    row_of(s, ids[i], &r);
    assert_int_equal(r.failures, 1); /* exactly once */
    byoca_cert_row_clear(&r);
    assert_int_equal(
        mfx_events(&s->f, s->f.tenant, "certificate.failed", ids[i], NULL), 1);
  }
}

static void test_delete_and_tenant(void **state) {
  struct run_state *s = *state;
  const char *names[] = {"192.0.2.50"};
  int64_t id = 0, id2 = 0;
  char *detail = NULL;
  start(s, 16);
  assert_int_equal(byoca_manager_add(s->m, s->f.tenant, names, 1, NULL, CA_A,
                                     NULL, &id, NULL),
                   0);
  /* deleted right away, maybe while its first attempt runs */
  assert_int_equal(byoca_manager_delete(s->m, s->f.tenant, id, 1, NULL), 0);
  assert_true(run_until(s, cert_gone, &id));
  assert_int_equal(
      mfx_events(&s->f, s->f.tenant, "certificate.deleted", id, &detail), 1);
  assert_non_null(strstr(detail, "\"key_sha256\":null"));
  assert_non_null(strstr(detail, "\"revoked\":false"));
  free(detail);
  /* a tenant with a lineage: both go, the tenant last */
  assert_int_equal(byoca_manager_add(s->m, s->f.tenant2, names, 1, NULL, CA_B,
                                     NULL, &id2, NULL),
                   0);
  assert_int_equal(byoca_manager_delete_tenant(s->m, s->f.tenant2, NULL), 0);
  assert_true(run_until(s, tenant_gone, &s->f.tenant2));
  assert_int_equal(
      mfx_events(&s->f, s->f.tenant2, "certificate.deleted", id2, NULL), 1);
  assert_int_equal(mfx_events(&s->f, -1, "tenant.deleted", 0, NULL), 1);
  /* adding to a tenant in deletion is refused: it is gone */
  assert_int_not_equal(byoca_manager_add(s->m, s->f.tenant2, names, 1, NULL,
                                         NULL, NULL, &id, NULL),
                       0);
}

static int drained;

static void on_drained(void *arg) {
  struct run_state *s = arg;
  drained++;
  byoca_loop_break(s->f.loop);
}

static int never(struct run_state *s, void *arg) {
  (void)s;
  (void)arg;
  return 0;
}

/* Drain reports once when nothing runs; free with jobs in flight cancels
 * them and leaves the rows to the next start. */
static void test_drain_and_free(void **state) {
  struct run_state *s = *state;
  const char *names[] = {"192.0.2.60"};
  int64_t id = 0;
  start(s, 16);
  assert_int_equal(byoca_manager_add(s->m, s->f.tenant, names, 1, NULL, CA_A,
                                     NULL, &id, NULL),
                   0);
  struct want_failures w = {id, 1};
  assert_true(run_until(s, failed_n, &w));
  drained = 0;
  byoca_manager_drain(s->m, on_drained, s);
  byoca_loop_run(s->f.loop);
  assert_int_equal(drained, 1);
  /* a drained manager claims nothing */
  assert_int_equal(byoca_manager_renew(s->m, s->f.tenant, id, NULL), 0);
  struct waiter wt = {.s = s, .pred = never};
  wt.deadline_ms = byoca_now_ms() + 200;
  wt.t = byoca_timer_add(s->f.loop, 0, poll_fire, &wt);
  byoca_loop_run(s->f.loop);
  assert_int_equal(byoca_manager_in_flight(s->m), 0);
  assert_int_equal(drained, 1);
  byoca_manager_free(s->m);
  /* a new manager on the same store picks the lineage up; free it while
   * its job runs */
  s->m = NULL;
  start(s, 16);
  wt.deadline_ms = byoca_now_ms() + 50;
  wt.t = byoca_timer_add(s->f.loop, 0, poll_fire, &wt);
  byoca_loop_run(s->f.loop);
}

static int contacting(struct run_state *s, void *arg) {
  (void)arg;
  return s->m->jobs != NULL && s->m->jobs->attempted &&
         s->m->jobs->acme != NULL;
}

/* Drain stops an issuance that has placed no order yet, at once: a CA
 * that accepts the connection but never answers holds the job in its
 * directory request (curl's connect timeout is 10 s). Stopped, not failed:
 * no failure recorded for the lineage or the CA, and the next start
 * claims it again. */
static void test_drain_stops_unordered(void **state) {
  struct run_state *s = *state;
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof(sa);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(listen(fd, 8), 0); /* never accepted */
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
  assert_int_equal(byoca_manager_new(&o, &s->m, NULL), 0);
  assert_int_equal(byoca_manager_start(s->m, NULL), 0);
  const char *names[] = {"192.0.2.61"};
  int64_t id = 0;
  assert_int_equal(byoca_manager_add(s->m, s->f.tenant, names, 1, NULL, url,
                                     NULL, &id, NULL),
                   0);
  assert_true(run_until(s, contacting, NULL));
  drained = 0;
  byoca_manager_drain(s->m, on_drained, s);
  struct waiter wt = {.s = s, .pred = never};
  wt.deadline_ms = byoca_now_ms() + 5000; /* well under curl's 10 s */
  wt.t = byoca_timer_add(s->f.loop, 0, poll_fire, &wt);
  byoca_loop_run(s->f.loop);
  if (wt.t != NULL)
    byoca_timer_cancel(wt.t);
  assert_int_equal(drained, 1);
  assert_int_equal(byoca_manager_in_flight(s->m), 0);
  struct byoca_cert_row r;
  row_of(s, id, &r);
  assert_int_equal(r.failures, 0);
  assert_int_equal(r.last_attempt, 0);
  byoca_cert_row_clear(&r);
  assert_int_equal(
      mfx_events(&s->f, s->f.tenant, "certificate.failed", id, NULL), 0);
  close(fd);
}

static int caa_in_flight(struct run_state *s, void *arg) {
  (void)arg;
  return s->m->jobs != NULL && s->m->jobs->caa != NULL &&
         s->m->jobs->caa[0].lk != NULL;
}

static int no_zombie(struct run_state *s, void *arg) {
  (void)arg;
  return s->m->zombies == NULL && s->m->njobs == 0;
}

static int lineage_gone(struct run_state *s, void *arg) {
  return cert_gone(s, arg) && no_zombie(s, NULL);
}

/* A job whose CAA lookup waits for a DNS server that never answers (a
 * UDP socket nobody reads; unbound gives up after about 17 s) stops at
 * once when its lineage is deleted or the manager drains: the lookup is
 * cancelled, so the ended job is freed without waiting for it. */
static void test_caa_cancel(void **state) {
  struct run_state *s = *state;
  struct sockaddr_in sa = {.sin_family = AF_INET,
                           .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
  socklen_t sl = sizeof(sa);
  int fd = socket(AF_INET, SOCK_DGRAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
  char fwd[32];
  snprintf(fwd, sizeof(fwd), "127.0.0.1@%d", ntohs(sa.sin_port));
  struct byoca_resolver_opts ro = {.forward = fwd};
  struct byoca_resolver *r = byoca_resolver_new(s->f.loop, &ro, NULL);
  assert_non_null(r);
  static const char *const defaults[] = {CA_A};
  struct byoca_manager_opts o = {.loop = s->f.loop,
                                 .store = s->f.store,
                                 .http = s->f.http,
                                 .resolver = r,
                                 .default_cas = defaults,
                                 .ndefault_cas = 1,
                                 .tick_ms = 20};
  assert_int_equal(byoca_manager_new(&o, &s->m, NULL), 0);
  assert_int_equal(byoca_manager_start(s->m, NULL), 0);
  /* deletion */
  const char *na[] = {"a.silent.test"};
  int64_t a = 0;
  assert_int_equal(
      byoca_manager_add(s->m, s->f.tenant, na, 1, NULL, NULL, NULL, &a, NULL),
      0);
  assert_true(run_until(s, caa_in_flight, NULL));
  assert_int_equal(byoca_manager_delete(s->m, s->f.tenant, a, 1, NULL), 0);
  struct waiter w = {.s = s, .pred = lineage_gone, .arg = &a};
  w.deadline_ms = byoca_now_ms() + 5000; /* well under unbound's 17 s */
  w.t = byoca_timer_add(s->f.loop, 0, poll_fire, &w);
  byoca_loop_run(s->f.loop);
  if (w.t != NULL)
    byoca_timer_cancel(w.t);
  assert_true(w.ok);
  /* drain */
  const char *nb[] = {"b.silent.test"};
  int64_t b = 0;
  assert_int_equal(
      byoca_manager_add(s->m, s->f.tenant, nb, 1, NULL, NULL, NULL, &b, NULL),
      0);
  assert_true(run_until(s, caa_in_flight, NULL));
  drained = 0;
  byoca_manager_drain(s->m, on_drained, s);
  byoca_loop_run(s->f.loop); /* until on_drained */
  assert_int_equal(drained, 1);
  struct waiter w2 = {.s = s, .pred = no_zombie};
  w2.deadline_ms = byoca_now_ms() + 5000;
  w2.t = byoca_timer_add(s->f.loop, 0, poll_fire, &w2);
  byoca_loop_run(s->f.loop);
  if (w2.t != NULL)
    byoca_timer_cancel(w2.t);
  assert_true(w2.ok);
  /* stopped, not failed: the next start looks it up again */
  struct byoca_cert_row row;
  row_of(s, b, &row);
  assert_int_equal(row.failures, 0);
  byoca_cert_row_clear(&row);
  byoca_manager_free(s->m);
  s->m = NULL;
  byoca_resolver_free(r);
  close(fd);
}

static int one_challenge_left(struct run_state *s, void *arg) {
  (void)arg;
  char out[512];
  struct byoca_err e = {0};
  /* asked as of time 0: found while the row exists, expired or not */
  int rc =
      byoca_store_challenge_get(s->f.store, "gone", 0, out, sizeof(out), &e);
  byoca_err_clear(&e);
  return rc == BYOCA_E_NOTFOUND;
}

/* The scheduler purges expired http-01 tokens (a job killed before its
 * cleanup left them) and keeps the live ones. */
static void test_challenge_purge(void **state) {
  struct run_state *s = *state;
  int64_t now = byoca_now();
  assert_int_equal(
      byoca_store_challenge_put(s->f.store, "gone", "gone.x", 0, now - 1, NULL),
      0);
  assert_int_equal(byoca_store_challenge_put(s->f.store, "live", "live.x", 0,
                                             now + 3600, NULL),
                   0);
  start(s, 16);
  assert_true(run_until(s, one_challenge_left, NULL));
  char out[512];
  assert_int_equal(byoca_store_challenge_get(s->f.store, "live", now, out,
                                             sizeof(out), NULL),
                   0);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_default_fallback_backoff, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_dns_error_fails_closed, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_per_ca_limit, setup, teardown),
      cmocka_unit_test_setup_teardown(test_delete_and_tenant, setup, teardown),
      cmocka_unit_test_setup_teardown(test_drain_and_free, setup, teardown),
      cmocka_unit_test_setup_teardown(test_challenge_purge, setup, teardown),
      cmocka_unit_test_setup_teardown(test_caa_cancel, setup, teardown),
      cmocka_unit_test_setup_teardown(test_drain_stops_unordered, setup,
                                      teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
