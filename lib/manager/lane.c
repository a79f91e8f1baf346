/* The store lanes: the manager's periodic store work (claiming due
 * lineages, renewal-window polls and notifications, heartbeat and lease
 * renewal, purging expired tokens) runs on the loop's lane 0 thread
 * (never behind the pool's key generations), over a second connection to
 * the store; the jobs' store work that has moved off the loop (challenge
 * rows, lineage loads, CA choices, accounts and outcomes so far:
 * docs/internals/store.md) on
 * lane 1, over a third, so that it never waits behind a claim of
 * thousands of rows; byocad's HTTP requests (store_run.c) on lane 2, over
 * a fourth, so that an API burst never delays a job. A slow, locked or
 * stopped PostgreSQL never stalls the loop with them: the http-01 and
 * tls-alpn-01 responders, the API and the jobs keep being served
 * meanwhile.
 *
 * One operation runs at a time, in the order queued; an operation is one
 * malloc'd block (struct mgr_lane_op first); what its work allocates is
 * freed by its done, or by its drop when the manager is gone.
 * The lane's connection is used only by the thread running the current
 * operation; the loop hands it over through byoca_loop_offload_lane, whose
 * queue is locked, so nothing is shared without a lock. Work functions
 * touch only their operation and the connection, never the manager.
 *
 * On SQLite there is no second connection: operations run on the loop, at
 * once, on the manager's store (a local file is not worth a thread, and
 * two SQLite connections would contend for the write lock).
 *
 * Each lane is one FIFO; a lane never waits for another.
 *
 * When the manager is freed while an operation runs, the lane is orphaned:
 * its last done callback frees it without calling back into the manager.
 * byocad keeps the loop running until byoca_manager_store_in_flight() is 0
 * (run.c), so the callback always runs. */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

struct mgr_lane {
  struct byoca_manager *m; /* NULL once the manager is gone */
  struct byoca_loop *loop;
  int idx;                   /* the loop's lane it runs on */
  struct byoca_store *store; /* the lane's own connection; NULL = inline */
  struct mgr_lane_op *head, *tail; /* waiting */
  struct mgr_lane_op *cur;         /* on a worker */
};

static atomic_size_t running; /* operations on a worker, every lane */

size_t byoca_manager_store_in_flight(void) {
  return atomic_load(&running);
}

static int lane_open(struct byoca_manager *m, int idx, const char *role,
                     struct mgr_lane **out, struct byoca_err *err) {
  struct mgr_lane *l = calloc(1, sizeof(*l));
  if (l == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  l->m = m;
  l->loop = m->loop;
  l->idx = idx;
  if (strcmp(byoca_store_backend(m->store), "postgresql") == 0) {
    int rc = byoca_store_open_twin(m->store, &l->store, err);
    if (rc != 0) {
      byoca_err_activity(err, "opening the manager's %s store connection",
                         role);
      free(l);
      return rc;
    }
    mgr_store_name(l->store, role);
  }
  *out = l;
  return 0;
}

static void lane_free(struct mgr_lane *l);

int mgr_lane_open(struct byoca_manager *m, struct byoca_err *err) {
  int rc = lane_open(m, 0, "lane", &m->lane, err);
  if (rc == 0 && (rc = lane_open(m, 1, "job", &m->jlane, err)) != 0) {
    lane_free(m->lane);
    m->lane = NULL;
  }
  if (rc == 0 && (rc = lane_open(m, 2, "api", &m->alane, err)) != 0) {
    lane_free(m->jlane);
    lane_free(m->lane);
    m->lane = m->jlane = NULL;
  }
  return rc;
}

static void op_drop(struct mgr_lane_op *op) {
  if (op->drop != NULL)
    op->drop(op);
  free(op);
}

static void lane_free(struct mgr_lane *l) {
  struct mgr_lane_op *op;
  while ((op = l->head) != NULL) {
    l->head = op->next;
    op_drop(op);
  }
  byoca_store_close(l->store);
  free(l);
}

static void lane_next(struct mgr_lane *l);

static void lane_work(void *arg) {
  struct mgr_lane *l = arg;
  l->cur->work(l->store, l->cur);
}

static void lane_done(void *arg) {
  struct mgr_lane *l = arg;
  struct mgr_lane_op *op = l->cur;
  l->cur = NULL;
  atomic_fetch_sub(&running, 1);
  if (l->m == NULL) { /* orphaned */
    op_drop(op);
    lane_free(l);
    return;
  }
  op->done(l->m, op);
  free(op);
  lane_next(l);
}

/* Starts the next waiting operation on a worker. */
static void lane_next(struct mgr_lane *l) {
  while (l->cur == NULL && l->head != NULL) {
    struct mgr_lane_op *op = l->head;
    l->head = op->next;
    if (l->head == NULL)
      l->tail = NULL;
    l->cur = op;
    atomic_fetch_add(&running, 1);
    if (byoca_loop_offload_lane(l->loop, l->idx, lane_work, lane_done, l) == 0)
      return;
    /* no worker: on the loop after all */
    atomic_fetch_sub(&running, 1);
    l->cur = NULL;
    op->work(l->store, op);
    op->done(l->m, op);
    free(op);
  }
}

static void lane_run(struct byoca_manager *m, struct mgr_lane *l,
                     struct mgr_lane_op *op) {
  if (l == NULL || l->store == NULL) { /* SQLite, or not started */
    op->work(m->store, op);
    op->done(m, op);
    free(op);
    return;
  }
  op->next = NULL;
  if (l->tail != NULL)
    l->tail->next = op;
  else
    l->head = op;
  l->tail = op;
  lane_next(l);
}

void mgr_lane_run(struct byoca_manager *m, struct mgr_lane_op *op) {
  lane_run(m, m->lane, op);
}

void mgr_lane_run_job(struct byoca_manager *m, struct mgr_lane_op *op) {
  lane_run(m, m->jlane, op);
}

void mgr_lane_run_api(struct byoca_manager *m, struct mgr_lane_op *op) {
  lane_run(m, m->alane, op);
}

int mgr_lane_job_async(const struct byoca_manager *m) {
  return m->jlane != NULL && m->jlane->store != NULL;
}

static void lane_close(struct mgr_lane *l) {
  if (l == NULL)
    return;
  if (l->cur != NULL) {
    l->m = NULL; /* lane_done frees it */
    return;
  }
  lane_free(l);
}

void mgr_lane_close(struct byoca_manager *m) {
  lane_close(m->lane);
  lane_close(m->jlane);
  lane_close(m->alane);
  m->lane = m->jlane = m->alane = NULL;
}
