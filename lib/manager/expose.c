/* byoca_manager_metrics: the exposition of what the store knows
 * (certificates by state, due lineages, CA backoff) around the manager's
 * own counters (metrics.c). Counting certificates scans the table (about
 * 200 ms at a million lineages), so the counts are kept and taken again
 * only when a scrape finds them older than metrics_refresh_s; their age
 * is exported with them. */
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

/* Counts again when the kept counts are older than metrics_refresh_s. */
static int refresh_counts(struct byoca_manager *m, int64_t now_ms) {
  if (m->counted_at_ms > 0 &&
      now_ms - m->counted_at_ms < m->cfg.metrics_refresh_s * 1000)
    return 0;
  int64_t counts[4] = {0}, due = 0;
  struct byoca_err e = {0};
  int rc = byoca_store_cert_counts(m->store, now_ms / 1000, counts, &due, &e);
  if (rc != 0) {
    byoca_log(BYOCA_LOG_ERROR, "metrics: cannot count certificates: %s", e.msg);
    byoca_err_clear(&e);
    return rc;
  }
  memcpy(m->counts, counts, sizeof(counts));
  m->due = due;
  m->counted_at_ms = now_ms;
  return 0;
}

static int store_text(struct byoca_manager *m, struct byoca_buf *o) {
  int64_t now_ms = byoca_now_ms();
  int rc = refresh_counts(m, now_ms);
  if (rc != 0)
    return rc;
  rc = byoca_buf_appends(o, "# HELP byoca_certificates Certificate lineages"
                            " by state.\n# TYPE byoca_certificates gauge\n");
  for (int s = 0; rc == 0 && s < 4; s++)
    rc = byoca_buf_appendf(o, "byoca_certificates{state=\"%s\"} %lld\n",
                           byoca_cert_state_str((enum byoca_cert_state)s),
                           (long long)m->counts[s]);
  if (rc == 0)
    rc = byoca_buf_appendf(
        o,
        "# HELP byoca_due_certificates Lineages due for a check now.\n"
        "# TYPE byoca_due_certificates gauge\nbyoca_due_certificates %lld\n"
        "# HELP byoca_certificates_age_seconds Age of the two counts above"
        " (taken at most every metrics_refresh seconds).\n"
        "# TYPE byoca_certificates_age_seconds gauge\n"
        "byoca_certificates_age_seconds %.3f\n"
        "# HELP byoca_orders_in_flight Lineages being worked on.\n"
        "# TYPE byoca_orders_in_flight gauge\nbyoca_orders_in_flight %zu\n",
        (long long)m->due, (double)(now_ms - m->counted_at_ms) / 1000.0,
        m->njobs);
  return rc;
}

static int backoff_text(struct byoca_manager *m, struct byoca_buf *o) {
  struct byoca_ca_health *h = NULL;
  size_t n = 0;
  struct byoca_err e = {0};
  int rc = byoca_store_ca_list(m->store, &h, &n, &e);
  byoca_err_clear(&e);
  if (rc != 0)
    return rc;
  int64_t now = byoca_now();
  rc = byoca_buf_appends(o, "# HELP byoca_ca_backoff 1 while a CA is backing"
                            " off (D-BACKOFF).\n# TYPE byoca_ca_backoff"
                            " gauge\n");
  for (size_t i = 0; rc == 0 && i < n; i++) {
    rc = byoca_buf_appends(o, "byoca_ca_backoff{ca=\"");
    if (rc == 0)
      rc = mgr_prom_escape(o, h[i].issuer);
    if (rc == 0)
      rc = byoca_buf_appendf(o, "\"} %d\n", h[i].backoff_until > now);
  }
  free(h);
  return rc;
}

/* Nodes alive (heartbeat recent) and the leases this node holds. */
static int nodes_text(struct byoca_manager *m, struct byoca_buf *o) {
  struct byoca_node_row *v = NULL;
  size_t n = 0;
  int64_t now = byoca_now(), alive = 0, mine = 0;
  struct byoca_err e = {0};
  int rc = byoca_store_node_list(m->store, now, &v, &n, &e);
  byoca_err_clear(&e);
  if (rc != 0)
    return rc;
  const char *self = byoca_store_node(m->store);
  for (size_t i = 0; i < n; i++) {
    if (v[i].heartbeat > now - mgr_node_alive_s(m))
      alive++;
    if (strcmp(v[i].name, self) == 0)
      mine = v[i].leases;
  }
  free(v);
  rc = byoca_buf_appendf(
      o,
      "# HELP byoca_nodes_alive Nodes sharing the store whose heartbeat is"
      " recent.\n# TYPE byoca_nodes_alive gauge\nbyoca_nodes_alive %lld\n"
      "# HELP byoca_node_leases Certificate lineages this node holds a"
      " lease on.\n# TYPE byoca_node_leases gauge\nbyoca_node_leases{node=\"",
      (long long)alive);
  if (rc == 0)
    rc = mgr_prom_escape(o, self);
  if (rc == 0)
    rc = byoca_buf_appendf(o, "\"} %lld\n", (long long)mine);
  return rc;
}

int byoca_manager_metrics(struct byoca_manager *m, struct byoca_buf *out) {
  int rc = store_text(m, out);
  if (rc == 0)
    rc = nodes_text(m, out);
  if (rc == 0)
    rc = mgr_metrics_text(&m->metrics, out);
  if (rc == 0)
    rc = backoff_text(m, out);
  return rc;
}
