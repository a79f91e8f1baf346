/* How late the event loop runs: a timer due every LAG_PERIOD_MS records
 * how much later than due it fired. Anything that blocks the loop (a slow
 * store query, a big computation) shows as lag; /metrics reports the worst
 * of the last LAG_WINDOW_S to LAG_WINDOW_S * 2 seconds, and a stall longer
 * than LAG_WARN_MS is logged when it ends (one over LAG_DEBUG_MS at debug
 * level). */
#include <time.h>

#include "bd.h"

#define LAG_PERIOD_MS 100
#define LAG_WINDOW_S 10
#define LAG_WARN_MS 1000
#define LAG_DEBUG_MS 50

static int64_t mono_us(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000 + ts.tv_nsec / 1000;
}

static void lag_fire(void *arg) {
  struct bd *d = arg;
  struct bd_lag *l = &d->lag;
  int64_t now = mono_us(), late = now - l->due_us;
  l->timer = NULL;
  if (late < 0)
    late = 0;
  if (now >= l->window_end_us) { /* a new window: the current one ages */
    l->prev_max_us =
        now - l->window_end_us < LAG_WINDOW_S * 1000000LL ? l->cur_max_us : 0;
    l->cur_max_us = 0;
    l->window_end_us = now + LAG_WINDOW_S * 1000000LL;
  }
  if (late > l->cur_max_us)
    l->cur_max_us = late;
  if (late > LAG_WARN_MS * 1000LL)
    byoca_log(BYOCA_LOG_WARN, "the event loop was blocked for %.1fs",
              (double)late / 1e6);
  else if (late > LAG_DEBUG_MS * 1000LL)
    byoca_log(BYOCA_LOG_DEBUG, "the event loop was blocked for %.3fs",
              (double)late / 1e6);
  bd_lag_start(d);
}

void bd_lag_start(struct bd *d) {
  struct bd_lag *l = &d->lag;
  int64_t now = mono_us();
  if (l->window_end_us == 0)
    l->window_end_us = now + LAG_WINDOW_S * 1000000LL;
  l->due_us = now + LAG_PERIOD_MS * 1000;
  l->timer = byoca_timer_add(d->loop, LAG_PERIOD_MS, lag_fire, d);
}

void bd_lag_stop(struct bd *d) {
  if (d->lag.timer != NULL)
    byoca_timer_cancel(d->lag.timer);
  d->lag.timer = NULL;
}

double bd_lag_seconds(const struct bd *d) {
  const struct bd_lag *l = &d->lag;
  int64_t late = mono_us() - l->due_us; /* a stall still going on */
  int64_t m = l->cur_max_us > l->prev_max_us ? l->cur_max_us : l->prev_max_us;
  if (l->timer != NULL && late > m)
    m = late;
  return (double)m / 1e6;
}
