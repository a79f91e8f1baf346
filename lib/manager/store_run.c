/* Store work for byocad's HTTP requests (the API and /metrics): on
 * PostgreSQL it runs on the manager's third store lane (lane.c: a
 * connection and a thread of its own, one request after the other), so
 * the loop never waits for the store and an API burst never delays a
 * job's store work; the caller continues on the loop. On SQLite it runs
 * at once, on the loop, on the manager's store. */
#include <stdlib.h>

#include "mgr_int.h"

struct run_op {
  struct mgr_lane_op op;
  byoca_store_work_fn work;
  byoca_store_done_fn done;
  void *arg;
};

static void run_work(struct byoca_store *s, struct mgr_lane_op *op) {
  struct run_op *r = (struct run_op *)op;
  r->work(s, r->arg);
}

static void run_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct run_op *r = (struct run_op *)op;
  (void)m;
  r->done(r->arg, 0);
}

static void run_drop(struct mgr_lane_op *op) {
  struct run_op *r = (struct run_op *)op;
  r->done(r->arg, BYOCA_E_CANCELLED);
}

int byoca_manager_store_run(struct byoca_manager *m, byoca_store_work_fn work,
                            byoca_store_done_fn done, void *arg) {
  if (m == NULL || work == NULL || done == NULL)
    return BYOCA_E_INVAL;
  struct run_op *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return BYOCA_E_NOMEM;
  r->op.work = run_work;
  r->op.done = run_done;
  r->op.drop = run_drop;
  r->work = work;
  r->done = done;
  r->arg = arg;
  mgr_lane_run_api(m, &r->op);
  return 0;
}
