/* When to look at a lineage again (D-ARI): after an issuance, at 2/3 of
 * the certificate's lifetime (1/2 for lifetimes under 10 days) with a
 * little jitter so that certificates issued together do not renew
 * together; after a failure, exponentially later. The CA's suggested
 * window (RFC 9773), once ari_poll.c has one, replaces the rule through
 * the engine's byoca_renewal_update. Pure functions: the clock and the
 * randomness are passed in. */
#include "mgr_int.h"

#include "byoca/crypto.h"

#define SHORT_LIFETIME (10 * MGR_DAY)

/* A value in [-span, +span] from rnd. */
static int64_t jitter(uint64_t rnd, int64_t span) {
  if (span <= 0)
    return 0;
  return (int64_t)(rnd % (uint64_t)(2 * span + 1)) - span;
}

int64_t mgr_sched_lifetime(int64_t not_before, int64_t not_after, int64_t now,
                           uint64_t rnd) {
  int64_t life = not_after - not_before;
  if (life <= 0)
    return now; /* nonsense validity: look again at once */
  int64_t at = not_before + (life < SHORT_LIFETIME ? life / 2 : life * 2 / 3);
  at += jitter(rnd, life / 50);
  int64_t latest = not_after - life / 10;
  if (at > latest)
    at = latest;
  if (at < now)
    at = now;
  return at;
}

int64_t mgr_sched_next(const struct mgr_window *ari, int64_t not_before,
                       int64_t not_after, int64_t now, uint64_t rnd,
                       const char **source) {
  if (ari != NULL && ari->end >= ari->start && ari->end > 0) {
    int64_t at =
        ari->start + (int64_t)(rnd % (uint64_t)(ari->end - ari->start + 1));
    if (source != NULL)
      *source = "ari";
    return at < now ? now : at;
  }
  if (source != NULL)
    *source = "lifetime";
  return mgr_sched_lifetime(not_before, not_after, now, rnd);
}

int64_t mgr_sched_backoff(int64_t base, int failures, uint64_t rnd) {
  int64_t d = base > 0 ? base : 300;
  for (int i = 1; i < failures && d < MGR_DAY; i++)
    d *= 2;
  if (d > MGR_DAY)
    d = MGR_DAY;
  d += jitter(rnd, d / 10);
  if (d > MGR_DAY)
    d = MGR_DAY;
  return d < 1 ? 1 : d;
}

uint64_t mgr_random(void) {
  uint64_t v = 0;
  if (byoca_random(&v, sizeof(v)) != 0)
    return 0;
  return v;
}
