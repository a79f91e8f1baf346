/* This node among the nodes sharing the store: its heartbeat (the nodes
 * table, read by GET /v1/nodes and the metrics; it says whether the node
 * runs a tls-alpn-01 responder, and learns whether another live node
 * does), and the renewal of the
 * leases its running jobs hold, so an order that takes longer than one
 * lease keeps its lineage while this node lives. A node that dies stops
 * renewing: its leases run out and another node claims the lineages and
 * resumes their orders from the store (persist.c). */
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

static void renew_leases(struct byoca_manager *m, int64_t now) {
  struct byoca_err e = {0};
  int64_t *ids;
  size_t n = 0, kept = 0;
  if (m->njobs == 0 || (ids = malloc(m->njobs * sizeof(*ids))) == NULL)
    return;
  for (struct mgr_job *j = m->jobs; j != NULL && n < m->njobs; j = j->next)
    ids[n++] = j->cert_id;
  if (byoca_store_cert_lease_extend(m->store, ids, n, now + m->cfg.lease_s,
                                    &kept, &e) != 0)
    byoca_log(BYOCA_LOG_WARN, "cannot renew the leases of %zu jobs: %s", n,
              e.msg);
  else if (kept < n)
    byoca_log(BYOCA_LOG_WARN,
              "%zu of %zu leases ran out before they were renewed (was the"
              " store unreachable?)",
              n - kept, n);
  byoca_err_clear(&e);
  free(ids);
}

static void on_beat(void *arg) {
  struct byoca_manager *m = arg;
  m->beat_timer = NULL;
  mgr_node_beat(m);
}

void mgr_node_beat(struct byoca_manager *m) {
  struct byoca_err e = {0};
  int64_t now = byoca_now();
  /* its own timer: it goes on while draining, when the tick stops but
   * orders in flight still need their leases */
  if (m->beat_timer == NULL)
    m->beat_timer = byoca_timer_add(m->loop, beat_period(m) * 1000, on_beat, m);
  if (byoca_store_node_beat(m->store, m->started_at, BYOCA_VERSION,
                            m->cfg.tls_alpn, now, &e) != 0) {
    byoca_log(BYOCA_LOG_WARN, "heartbeat of node %s failed: %s",
              byoca_store_node(m->store), e.msg);
    byoca_err_clear(&e);
  }
  /* without a responder of its own, tls-alpn-01 is usable while another
   * live node has one: its responder answers this node's store rows */
  int any = 0;
  if (!m->cfg.tls_alpn &&
      byoca_store_node_alpn(m->store, now - mgr_node_alive_s(m), &any, &e) !=
          0) {
    any = m->alpn_elsewhere; /* keep what we knew */
    byoca_err_clear(&e);
  }
  if (!m->cfg.tls_alpn && any != m->alpn_elsewhere)
    byoca_log(BYOCA_LOG_INFO,
              "tls-alpn-01 %s: %s node runs a tls-alpn-01 responder",
              any ? "in use" : "no longer in use", any ? "another" : "no live");
  m->alpn_elsewhere = !m->cfg.tls_alpn && any;
  renew_leases(m, now);
}

int mgr_node_start(struct byoca_manager *m, struct byoca_err *err) {
  char name[64];
  /* a name of up to 63 bytes: a longer host name is cut */
  byoca_strlcpy(name, m->cfg.node_id, sizeof(name));
  int rc = byoca_store_set_node(m->store, name, err);
  /* leases of this name belong to a previous process of this node, which
   * is gone; other nodes' leases run out by themselves */
  if (rc == 0)
    rc = byoca_store_cert_release_node(m->store, err);
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
