/* The manager tests' loop driver: a manager on the fixture's loop, run
 * until a predicate holds (20 s at most), recording the largest per-CA
 * slot use seen. Shared by test_manager_run.c and test_manager_free.c. */
#ifndef BYOCA_TEST_MANAGER_WAIT_H
#define BYOCA_TEST_MANAGER_WAIT_H

struct run_state {
  struct mfx f;
  struct byoca_manager *m;
  int max_slot_seen;
};

struct waiter {
  struct run_state *s;
  int (*pred)(struct run_state *s, void *arg);
  void *arg;
  int64_t deadline_ms;
  int ok;
  struct byoca_timer *t;
};

static inline void poll_fire(void *arg) {
  struct waiter *w = arg;
  w->t = NULL;
  /* the per-CA limit holds at every instant we look */
  for (size_t i = 0; i < w->s->m->nslots; i++)
    if ((int)w->s->m->slots[i].n > w->s->max_slot_seen)
      w->s->max_slot_seen = (int)w->s->m->slots[i].n;
  if (w->pred(w->s, w->arg)) {
    w->ok = 1;
    byoca_loop_break(w->s->f.loop);
    return;
  }
  if (byoca_now_ms() > w->deadline_ms) {
    byoca_loop_break(w->s->f.loop);
    return;
  }
  w->t = byoca_timer_add(w->s->f.loop, 10, poll_fire, w);
}

static inline int run_until(struct run_state *s,
                            int (*pred)(struct run_state *, void *),
                            void *arg) {
  struct waiter w = {.s = s, .pred = pred, .arg = arg};
  w.deadline_ms = byoca_now_ms() + 20000;
  w.t = byoca_timer_add(s->f.loop, 0, poll_fire, &w);
  byoca_loop_run(s->f.loop);
  if (w.t != NULL)
    byoca_timer_cancel(w.t);
  return w.ok;
}

struct want_failures {
  int64_t id;
  int failures;
};

static inline int failed_n(struct run_state *s, void *arg) {
  struct want_failures *w = arg;
  struct byoca_cert_row r;
  memset(&r, 0, sizeof(r));
  if (byoca_store_cert_get(s->f.store, 0, w->id, 0, &r, NULL) != 0)
    return 0;
  int ok = r.failures >= w->failures && byoca_manager_in_flight(s->m) == 0;
  byoca_cert_row_clear(&r);
  return ok;

#endif
