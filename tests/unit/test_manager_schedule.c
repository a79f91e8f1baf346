/* Unit tests of the manager's schedule (D-ARI): the next check after an
 * issuance for 6-, 47-, 90- and 200-day certificates at the extremes of
 * the jitter and at random, with the clock injected (byoca_time_set_fake);
 * clamping to "not after notAfter - 1/10 lifetime" and "not before now";
 * the ARI seam; and the per-certificate failure backoff sequence and cap. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "mgr_int.h"

#define DAY 86400LL
#define T0 1795867200LL /* 2026-11-28T12:00:00Z */

static int reset_clock(void **state) {
  (void)state;
  byoca_time_set_fake(0);
  return 0;
}

struct life {
  int64_t lifetime;
  int64_t base_off; /* expected instant before jitter, from notBefore */
};

static const struct life lives[] = {
    {6 * DAY, 3 * DAY},           /* under 10 days: half */
    {47 * DAY, 47 * DAY * 2 / 3}, /* SC-081, 2029 */
    {90 * DAY, 60 * DAY},
    {200 * DAY, 200 * DAY * 2 / 3}, /* SC-081, 2026 */
};

/* rnd values: both ends of the jitter, the middle, and some others. */
static uint64_t rnd_for(int64_t span, int k) {
  switch (k) {
  case 0:
    return 0; /* -span */
  case 1:
    return (uint64_t)(2 * span); /* +span */
  case 2:
    return (uint64_t)span; /* 0 */
  case 3:
    return UINT64_MAX;
  default:
    return mgr_random();
  }
}

static void test_lifetime_table(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(lives) / sizeof(*lives); i++) {
    int64_t nb = T0, na = T0 + lives[i].lifetime, span = lives[i].lifetime / 50;
    int64_t base = nb + lives[i].base_off;
    int64_t latest = na - lives[i].lifetime / 10;
    byoca_time_set_fake(nb + 60); /* just issued */
    for (int k = 0; k < 64; k++) {
      int64_t at = mgr_sched_lifetime(nb, na, byoca_now(), rnd_for(span, k));
      assert_true(at >= base - span);
      assert_true(at <= base + span);
      assert_true(at <= latest);
      assert_true(at < na);
      assert_true(at >= byoca_now());
      if (k == 0)
        assert_int_equal(at, base - span);
      if (k == 1)
        assert_int_equal(at, base + span);
      if (k == 2)
        assert_int_equal(at, base);
    }
  }
}

/* Known instants: 90 days -> day 60 +- 1.8 days; 6 days -> day 3 +- 2.88 h */
static void test_lifetime_values(void **state) {
  (void)state;
  byoca_time_set_fake(T0);
  int64_t span90 = 90 * DAY / 50, span6 = 6 * DAY / 50;
  assert_int_equal(span90, 155520);
  assert_int_equal(span6, 10368);
  assert_int_equal(mgr_sched_lifetime(T0, T0 + 90 * DAY, T0, 0),
                   T0 + 60 * DAY - span90);
  assert_int_equal(mgr_sched_lifetime(T0, T0 + 6 * DAY, T0, 2 * span6),
                   T0 + 3 * DAY + span6);
  /* 10 days exactly is not "under 10 days": 2/3 */
  assert_int_equal(mgr_sched_lifetime(T0, T0 + 10 * DAY, T0, 10 * DAY / 50),
                   T0 + 10 * DAY * 2 / 3);
  assert_int_equal(
      mgr_sched_lifetime(T0, T0 + 10 * DAY - 1, T0, (10 * DAY - 1) / 50),
      T0 + (10 * DAY - 1) / 2);
}

/* Late: an imported certificate near its end, or a manager that was down.
 * Never before now; never after notAfter while it is still valid. */
static void test_lifetime_clamps(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(lives) / sizeof(*lives); i++) {
    int64_t L = lives[i].lifetime, nb = T0, na = T0 + L;
    /* now past the usual instant, before notAfter - L/10 */
    byoca_time_set_fake(nb + L * 85 / 100);
    for (int k = 0; k < 16; k++) {
      int64_t at = mgr_sched_lifetime(nb, na, byoca_now(), rnd_for(L / 50, k));
      assert_true(at >= byoca_now());
      assert_true(at <= na - L / 10);
    }
    /* now past notAfter - L/10: at once */
    byoca_time_set_fake(nb + L * 95 / 100);
    assert_int_equal(mgr_sched_lifetime(nb, na, byoca_now(), 0), byoca_now());
    assert_int_equal(mgr_sched_lifetime(nb, na, byoca_now(), UINT64_MAX),
                     byoca_now());
    assert_true(mgr_sched_lifetime(nb, na, byoca_now(), 7) <= na);
    /* expired: at once */
    byoca_time_set_fake(na + 5);
    assert_int_equal(mgr_sched_lifetime(nb, na, byoca_now(), 3), byoca_now());
  }
  /* nonsense validity */
  assert_int_equal(mgr_sched_lifetime(T0, T0, T0 + 9, 1), T0 + 9);
  assert_int_equal(mgr_sched_lifetime(T0, T0 - DAY, T0 + 9, 1), T0 + 9);
}

/* The seam for ARI (RFC 9773): a window wins over the lifetime rule. */
static void test_ari_seam(void **state) {
  (void)state;
  const char *src = NULL;
  int64_t nb = T0, na = T0 + 90 * DAY;
  int64_t at = mgr_sched_next(NULL, nb, na, T0, 0, &src);
  assert_string_equal(src, "lifetime");
  assert_int_equal(at, mgr_sched_lifetime(nb, na, T0, 0));
  struct mgr_window w = {T0 + 10 * DAY, T0 + 12 * DAY};
  for (int k = 0; k < 200; k++) {
    at = mgr_sched_next(&w, nb, na, T0, mgr_random(), &src);
    assert_string_equal(src, "ari");
    assert_true(at >= w.start && at <= w.end);
  }
  assert_int_equal(mgr_sched_next(&w, nb, na, T0, 0, NULL), w.start);
  struct mgr_window past = {T0 - 2 * DAY, T0 - DAY};
  assert_int_equal(mgr_sched_next(&past, nb, na, T0, 5, &src), T0);
  struct mgr_window bad = {T0 + 5, T0}; /* end before start: ignored */
  mgr_sched_next(&bad, nb, na, T0, 0, &src);
  assert_string_equal(src, "lifetime");
}

/* The daemon's table with ARI (lib/manager/ari_poll.c): the lifetime
 * instant stored at issuance (with jitter), then renewalInfo answers
 * folded in by the engine's byoca_renewal_update, for 6-, 47-, 90- and
 * 200-day certificates: a future window wins and is kept across polls,
 * a window in the past renews at once, a temporary failure keeps the
 * instant and polls again soon, a long-term one in six hours. */
static void test_daemon_with_ari(void **state) {
  (void)state;
  for (size_t i = 0; i < sizeof(lives) / sizeof(*lives); i++) {
    int64_t life = lives[i].lifetime, nb = T0, na = T0 + life;
    byoca_time_set_fake(nb + 30);
    int64_t now = byoca_now();
    const char *src = NULL;
    int64_t at = mgr_sched_next(NULL, nb, na, now, mgr_random(), &src);
    struct byoca_renewal s = {.at = at, .source = src, .next_check = now};
    struct byoca_ari w = {
        .start = nb + life / 4, .end = nb + life / 3, .retry_after = 21600};
    byoca_renewal_update(&s, nb, na, &w, NULL, now, mgr_random());
    assert_string_equal(s.source, "ari");
    assert_true(s.at >= w.start && s.at < w.end);
    assert_true(s.at < at); /* the CA's window is earlier than 2/3 (1/2) */
    assert_int_equal(s.next_check, now + 21600);
    int64_t chosen = s.at;
    byoca_time_set_fake(now + 21600);
    assert_int_equal(
        byoca_renewal_update(&s, nb, na, &w, NULL, byoca_now(), mgr_random()),
        0);
    assert_int_equal(s.at, chosen);
    /* temporary failure (503): instant kept, asked again in a minute */
    struct byoca_err tmp = {.code = BYOCA_E_PROTO,
                            .cls = BYOCA_CLASS_RETRYABLE,
                            .http_status = 503};
    byoca_renewal_update(&s, nb, na, NULL, &tmp, byoca_now(), 0);
    assert_int_equal(s.at, chosen);
    assert_int_equal(s.next_check, byoca_now() + BYOCA_ARI_RETRY_MIN);
    /* the CA revokes: window in the past, due at the poll, reported */
    struct byoca_ari past = {
        .start = nb - DAY, .end = nb, .retry_after = BYOCA_ARI_RETRY_MIN};
    byoca_time_set_fake(nb + life / 4);
    int earlier =
        byoca_renewal_update(&s, nb, na, &past, NULL, byoca_now(), 77);
    assert_true(byoca_renewal_moved(earlier, 1, &s, byoca_now()));
    assert_int_equal(s.at, byoca_now());
    assert_int_equal(s.failures, 0);
    /* without ARI at this CA: lifetime instant, next poll in six hours */
    struct byoca_renewal l = {.at = at, .source = "lifetime"};
    struct byoca_err none = {.code = BYOCA_E_NOTFOUND, .cls = BYOCA_CLASS_CA};
    byoca_renewal_update(&l, nb, na, NULL, &none, byoca_now(), 0);
    assert_int_equal(l.at, at);
    assert_string_equal(l.source, "lifetime");
    assert_int_equal(l.next_check, byoca_now() + BYOCA_ARI_LONG_TERM);
  }
}

/* Jitter spreads certificates issued together. */
static void test_jitter_spreads(void **state) {
  (void)state;
  int64_t first = mgr_sched_lifetime(T0, T0 + 90 * DAY, T0, mgr_random());
  int differ = 0;
  for (int k = 0; k < 50; k++)
    differ |= mgr_sched_lifetime(T0, T0 + 90 * DAY, T0, mgr_random()) != first;
  assert_true(differ);
}

static void test_backoff_sequence(void **state) {
  (void)state;
  int64_t expect = 300;
  for (int f = 1; f <= 20; f++) {
    int64_t cap = expect < DAY ? expect : DAY;
    int64_t lo = cap - cap / 10, hi = cap + cap / 10;
    if (hi > DAY)
      hi = DAY;
    for (int k = 0; k < 20; k++) {
      int64_t d = mgr_sched_backoff(300, f, mgr_random());
      assert_true(d >= lo);
      assert_true(d <= hi);
    }
    assert_int_equal(mgr_sched_backoff(300, f, 0), cap - cap / 10);
    assert_int_equal(mgr_sched_backoff(300, f, (uint64_t)(cap / 10)), cap);
    expect *= 2;
  }
  /* 300, 600, 1200 at the middle of the jitter */
  assert_int_equal(mgr_sched_backoff(300, 1, 30), 300);
  assert_int_equal(mgr_sched_backoff(300, 2, 60), 600);
  assert_int_equal(mgr_sched_backoff(300, 3, 120), 1200);
  /* the cap: 1 day, never more, also with + jitter and huge counts */
  assert_int_equal(mgr_sched_backoff(300, 10, 2 * (DAY / 10)), DAY);
  assert_true(mgr_sched_backoff(300, 1000000, UINT64_MAX) <= DAY);
  assert_true(mgr_sched_backoff(300, 2147483647, 12345) <= DAY);
  /* defaults for nonsense input */
  assert_int_equal(mgr_sched_backoff(0, 1, 30), 300);
  assert_int_equal(mgr_sched_backoff(300, 0, 30), 300);
  assert_int_equal(mgr_sched_backoff(1, 1, 0), 1);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_teardown(test_lifetime_table, reset_clock),
      cmocka_unit_test_teardown(test_lifetime_values, reset_clock),
      cmocka_unit_test_teardown(test_lifetime_clamps, reset_clock),
      cmocka_unit_test_teardown(test_ari_seam, reset_clock),
      cmocka_unit_test_teardown(test_daemon_with_ari, reset_clock),
      cmocka_unit_test_teardown(test_jitter_spreads, reset_clock),
      cmocka_unit_test_teardown(test_backoff_sequence, reset_clock),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
