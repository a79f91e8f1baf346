/* GET /metrics (operator token): the manager's Prometheus text
 * exposition, plus whether this daemon is draining. */
#include "bd.h"

#define METRICS_MAX (32 * 1024 * 1024)

void metrics_get(struct bd_call *c) {
  struct byoca_buf out;
  byoca_buf_init(&out, METRICS_MAX);
  int rc = byoca_manager_metrics(c->d->mgr, &out);
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
