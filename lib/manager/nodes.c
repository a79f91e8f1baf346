/* This node among the nodes sharing the store: its heartbeat (the nodes
 * table, read by GET /v1/nodes and the metrics; it says whether the node
 * runs a tls-alpn-01 responder, and learns whether another live node
 * does), and the renewal of the
 * leases its running jobs hold, so an order that takes longer than one
 * lease keeps its lineage while this node lives. A node that dies stops
 * renewing: its leases run out and another node claims the lineages and
 * resumes their orders from the store (persist.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mgr_int.h"

#define BEAT_MAX_S 10 /* heartbeat period, at most lease / 3 */

static int64_t beat_period(const struct byoca_manager *m) {
  int64_t p = m->cfg.lease_s / 3;
  return p < 1 ? 1 : p > BEAT_MAX_S ? BEAT_MAX_S : p;
}

int64_t mgr_node_alive_s(const struct byoca_manager *m) {
  return 3 * beat_period(m);
}

/* A heartbeat and the renewal of the leases of the jobs running when it
 * was queued (a job that ended since holds no lease: renewing it changes
 * nothing). */
struct beat_op {
  struct mgr_lane_op op;
  int64_t started, lease_s, alive_s;
  int tls_alpn;      /* this node runs a tls-alpn-01 responder */
  int alpn_rc, alpn; /* without one: does another live node? */
  int beat_rc, lease_rc;
  struct byoca_err beat_err, lease_err;
  size_t kept, n;
  int64_t ids[];
};

static void beat_work(struct byoca_store *s, struct mgr_lane_op *op) {
  int64_t now = byoca_now(); /* when it runs: the lease is full length */
  struct beat_op *b = (struct beat_op *)op;
  b->beat_rc = byoca_store_node_beat(s, b->started, BYOCA_VERSION, b->tls_alpn,
                                     now, &b->beat_err);
  if (!b->tls_alpn) {
    struct byoca_err e = {0};
    b->alpn_rc = byoca_store_node_alpn(s, now - b->alive_s, &b->alpn, &e);
    byoca_err_clear(&e);
  }
  if (b->n > 0)
    b->lease_rc = byoca_store_cert_lease_extend(
        s, b->ids, b->n, now + b->lease_s, &b->kept, &b->lease_err);
}

static void beat_done(struct byoca_manager *m, struct mgr_lane_op *op) {
  struct beat_op *b = (struct beat_op *)op;
  m->beating = 0;
  if (b->beat_rc != 0)
    byoca_log(BYOCA_LOG_WARN, "heartbeat of node %s failed: %s",
              byoca_store_node(m->store), b->beat_err.msg);
  if (b->n > 0 && b->lease_rc != 0)
    byoca_log(BYOCA_LOG_WARN, "cannot renew the leases of %zu jobs: %s", b->n,
              b->lease_err.msg);
  else if (b->kept < b->n)
    byoca_log(BYOCA_LOG_WARN,
              "%zu of %zu leases ran out before they were renewed (was the"
              " store unreachable?)",
              b->n - b->kept, b->n);
  byoca_err_clear(&b->beat_err);
  byoca_err_clear(&b->lease_err);
  /* without a responder of its own, tls-alpn-01 is usable while another
   * live node has one: its responder answers this node's store rows */
  int any = b->tls_alpn       ? 0
            : b->alpn_rc != 0 ? m->alpn_elsewhere /* keep what we knew */
                              : b->alpn;
  if (!b->tls_alpn && any != m->alpn_elsewhere)
    byoca_log(BYOCA_LOG_INFO,
              "tls-alpn-01 %s: %s node runs a tls-alpn-01 responder",
              any ? "in use" : "no longer in use", any ? "another" : "no live");
  m->alpn_elsewhere = any;
}

static void on_beat(void *arg) {
  struct byoca_manager *m = arg;
  m->beat_timer = NULL;
  mgr_node_beat(m);
}

void mgr_node_beat(struct byoca_manager *m) {
  /* its own timer: it goes on while draining, when the tick stops but
   * orders in flight still need their leases */
  if (m->beat_timer == NULL)
    m->beat_timer = byoca_timer_add(m->loop, beat_period(m) * 1000, on_beat, m);
  if (m->beating) /* the last one is still waiting for the store */
    return;
  struct beat_op *b = calloc(1, sizeof(*b) + m->njobs * sizeof(int64_t));
  if (b == NULL)
    return;
  for (struct mgr_job *j = m->jobs; j != NULL && b->n < m->njobs; j = j->next)
    b->ids[b->n++] = j->cert_id;
  b->op.work = beat_work;
  b->op.done = beat_done;
  b->started = m->started_at;
  b->lease_s = m->cfg.lease_s;
  b->alive_s = mgr_node_alive_s(m);
  b->tls_alpn = m->cfg.tls_alpn;
  m->beating = 1;
  mgr_lane_run(m, &b->op);
}

void mgr_store_name(struct byoca_store *s, const char *role) {
  char app[64];
  struct byoca_err e = {0};
  /* PostgreSQL keeps 63 bytes of it: the node name is cut first */
  snprintf(app, sizeof(app), "byocad:%.48s:%s", byoca_store_node(s), role);
  if (byoca_store_set_app_name(s, app, &e) != 0)
    byoca_log(BYOCA_LOG_WARN, "cannot name the store connection %s: %s", app,
              e.msg);
  byoca_err_clear(&e);
}

int mgr_node_start(struct byoca_manager *m, struct byoca_err *err) {
  char name[64];
  /* a name of up to 63 bytes: a longer host name is cut */
  byoca_strlcpy(name, m->cfg.node_id, sizeof(name));
  int rc = byoca_store_set_node(m->store, name, err);
  if (rc == 0)
    mgr_store_name(m->store, "main");
  /* leases of this name belong to a previous process of this node, which
   * is gone; other nodes' leases run out by themselves */
  if (rc == 0)
    rc = byoca_store_cert_release_node(m->store, err);
  if (rc == 0 && m->lane == NULL)
    rc = mgr_lane_open(m, err);
  if (rc != 0)
    return rc;
  m->started_at = byoca_now();
  mgr_node_beat(m);
  return 0;
}

int mgr_alpn_ready(const struct byoca_manager *m) {
  return m->cfg.tls_alpn || m->alpn_elsewhere;
}

int64_t byoca_manager_node_alive_s(const struct byoca_manager *m) {
  return mgr_node_alive_s(m);
}
