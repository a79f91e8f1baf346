/* byoca_manager_metrics: the exposition of what the store knows
 * (certificates by state, due lineages, CA backoff) around the manager's
 * own counters (metrics.c). Counting certificates scans the table (about
 * 200 ms at a million lineages), so the counts are kept and taken again
 * only when a scrape finds them older than metrics_refresh_s; their age
 * is exported with them.
 *
 * A scrape has three steps so that byocad can read the store off the
 * loop: begin (on the loop: what to read), read (any thread: the store
 * only) and end (on the loop: the text). */
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

/* What a scrape read from the store. */
struct byoca_metrics_read {
  int64_t now_ms;
  int count;   /* the kept counts are too old: count again */
  int counted; /* and they were */
  int64_t counts[4];
  int64_t due;
  int rc; /* the first failure, 0 if none */
  struct byoca_node_row *nodes;
  size_t nnodes;
  struct byoca_ca_health *cas;
  size_t ncas;
};

struct byoca_metrics_read *
byoca_manager_metrics_begin(struct byoca_manager *m) {
  struct byoca_metrics_read *r = calloc(1, sizeof(*r));
  if (r == NULL)
    return NULL;
  r->now_ms = byoca_now_ms();
  /* counts again when the kept counts are older than metrics_refresh_s */
  r->count = m->counted_at_ms <= 0 ||
             r->now_ms - m->counted_at_ms >= m->cfg.metrics_refresh_s * 1000;
  return r;
}

void byoca_manager_metrics_fetch(struct byoca_metrics_read *r,
                                 struct byoca_store *s) {
  struct byoca_err e = {0};
  if (r->count) {
    r->rc =
        byoca_store_cert_counts(s, r->now_ms / 1000, r->counts, &r->due, &e);
    if (r->rc != 0)
      byoca_log(BYOCA_LOG_ERROR, "metrics: cannot count certificates: %s",
                e.msg);
    r->counted = r->rc == 0;
    byoca_err_clear(&e);
  }
  if (r->rc == 0)
    r->rc = byoca_store_node_list(s, byoca_now(), &r->nodes, &r->nnodes, &e);
  byoca_err_clear(&e);
  if (r->rc == 0)
    r->rc = byoca_store_ca_list(s, &r->cas, &r->ncas, &e);
  byoca_err_clear(&e);
}

void byoca_manager_metrics_free(struct byoca_metrics_read *r) {
  if (r == NULL)
    return;
  free(r->nodes);
  free(r->cas);
  free(r);
}

static int store_text(struct byoca_manager *m,
                      const struct byoca_metrics_read *r, struct byoca_buf *o) {
  int64_t now_ms = byoca_now_ms();
  if (r->counted && r->now_ms >= m->counted_at_ms) { /* the newest kept */
    memcpy(m->counts, r->counts, sizeof(m->counts));
    m->due = r->due;
    m->counted_at_ms = r->now_ms;
  }
  int rc =
      byoca_buf_appends(o, "# HELP byoca_certificates Certificate lineages"
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

static int backoff_text(const struct byoca_metrics_read *r,
                        struct byoca_buf *o) {
  const struct byoca_ca_health *h = r->cas;
  size_t n = r->ncas;
  int64_t now = byoca_now();
  int rc =
      byoca_buf_appends(o, "# HELP byoca_ca_backoff 1 while a CA is backing"
                           " off (D-BACKOFF).\n# TYPE byoca_ca_backoff"
                           " gauge\n");
  for (size_t i = 0; rc == 0 && i < n; i++) {
    rc = byoca_buf_appends(o, "byoca_ca_backoff{ca=\"");
    if (rc == 0)
      rc = mgr_prom_escape(o, h[i].issuer);
    if (rc == 0)
      rc = byoca_buf_appendf(o, "\"} %d\n", h[i].backoff_until > now);
  }
  return rc;
}

/* Nodes alive (heartbeat recent) and the leases this node holds. */
static int nodes_text(struct byoca_manager *m,
                      const struct byoca_metrics_read *r, struct byoca_buf *o) {
  const struct byoca_node_row *v = r->nodes;
  size_t n = r->nnodes;
  int64_t now = byoca_now(), alive = 0, mine = 0;
  int rc;
  const char *self = byoca_store_node(m->store);
  for (size_t i = 0; i < n; i++) {
    if (v[i].heartbeat > now - mgr_node_alive_s(m))
      alive++;
    if (strcmp(v[i].name, self) == 0)
      mine = v[i].leases;
  }
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

int byoca_manager_metrics_end(struct byoca_manager *m,
                              struct byoca_metrics_read *r,
                              struct byoca_buf *out) {
  int rc = r->rc != 0 ? r->rc : store_text(m, r, out);
  if (rc == 0)
    rc = nodes_text(m, r, out);
  if (rc == 0)
    rc = mgr_metrics_text(&m->metrics, out);
  if (rc == 0)
    rc = backoff_text(r, out);
  byoca_manager_metrics_free(r);
  return rc;
}

int byoca_manager_metrics(struct byoca_manager *m, struct byoca_buf *out) {
  struct byoca_metrics_read *r = byoca_manager_metrics_begin(m);
  if (r == NULL)
    return BYOCA_E_NOMEM;
  byoca_manager_metrics_fetch(r, m->store);
  return byoca_manager_metrics_end(m, r, out);
}
