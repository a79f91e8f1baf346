/* GET /metrics (operator token): the manager's Prometheus text
 * exposition, plus whether this daemon is draining. What it needs from
 * the store is read in the handler (on a store lane on PostgreSQL:
 * server.c), the text made on the loop afterwards. */
#include "bd.h"

#define METRICS_MAX (32 * 1024 * 1024)

static void metrics_ctx_free(void *ctx) {
  byoca_manager_metrics_free(ctx);
}

void metrics_prep(struct bd_call *c) {
  c->ctx = byoca_manager_metrics_begin(c->d->mgr);
  if (c->ctx == NULL) {
    bd_problem(c, 500, "out of memory");
    return;
  }
  c->ctx_free = metrics_ctx_free;
}

/* On the loop: the text. */
static void metrics_send(struct bd_call *c) {
  struct byoca_buf out;
  byoca_buf_init(&out, METRICS_MAX);
  int rc = byoca_manager_metrics_end(c->d->mgr, c->ctx, &out);
  c->ctx = NULL; /* freed */
  c->ctx_free = NULL;
  if (rc == 0)
    rc = byoca_buf_appendf(&out,
                           "# HELP byocad_draining 1 while byocad shuts"
                           " down.\n# TYPE byocad_draining gauge\n"
                           "byocad_draining %d\n"
                           "# HELP byocad_loop_lag_seconds The longest the"
                           " event loop was late over the last 10 to 20"
                           " seconds.\n# TYPE byocad_loop_lag_seconds gauge\n"
                           "byocad_loop_lag_seconds %.3f\n",
                           c->d->draining, bd_lag_seconds(c->d));
  if (rc != 0) {
    struct byoca_err e = {0};
    byoca_err_set(&e, rc, BYOCA_CLASS_INTERNAL, "cannot build the metrics");
    bd_problem_err(c, &e);
    byoca_err_clear(&e);
  } else {
    bd_reply(c, 200, "text/plain; version=0.0.4", out.data, out.len, NULL);
  }
  byoca_buf_free(&out);
}

/* The store's part, on c->store (a store lane's thread on PostgreSQL). */
void metrics_get(struct bd_call *c) {
  byoca_manager_metrics_fetch(c->ctx, c->store);
  c->then = metrics_send;
}
