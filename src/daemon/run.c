/* `byocad run`: builds the runtime (loop, address policy, resolver, HTTP
 * client, store, manager, listeners), runs the loop, and handles signals:
 * SIGHUP reloads the configuration, SIGTERM/SIGINT drain (no new work,
 * in-flight orders finish or time out) and exit 0. */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "bd.h"
#include "byoca/solve.h"

void bd_log_apply(const struct bd_config *cfg) {
  byoca_log_set_json(cfg->log_json);
  byoca_log_set_level(cfg->log_level);
}

int bd_mopts_build(struct bd *d, const struct bd_config *cfg,
                   struct bd_mopts *m) {
  memset(m, 0, sizeof(*m));
  m->default_cas = calloc(cfg->default_ca.n + 1, sizeof(*m->default_cas));
  m->cas = calloc(cfg->nca + 1, sizeof(*m->cas));
  m->zones = calloc(cfg->nzones + 1, sizeof(*m->zones));
  if (m->default_cas == NULL || m->cas == NULL || m->zones == NULL) {
    bd_mopts_free(m);
    return BYOCA_E_NOMEM;
  }
  for (size_t i = 0; i < cfg->default_ca.n; i++)
    m->default_cas[i] = cfg->default_ca.v[i];
  for (size_t i = 0; i < cfg->nca; i++)
    m->cas[i] = (struct byoca_manager_ca){
        cfg->ca[i].issuer,  cfg->ca[i].directory,
        cfg->ca[i].eab_kid, cfg->ca[i].eab_hmac_file,
        cfg->ca[i].profile, cfg->ca[i].profile_required};
  for (size_t i = 0; i < cfg->nzones; i++) {
    const struct bd_config_rfc2136 *z = &cfg->zones[i];
    m->zones[i] = (struct byoca_manager_rfc2136){
        .zone = z->zone,
        .server = z->server,
        .tsig_name = z->tsig_key,
        .tsig_alg = z->tsig_alg,
        .secret_file = z->tsig_secret_file,
        .propagation_timeout_ms = z->propagation_timeout * 1000,
        .propagation_interval_ms = z->propagation_interval * 1000,
    };
  }
  m->o = (struct byoca_manager_opts){
      .loop = d->loop,
      .store = d->store,
      .http = d->http,
      .resolver = d->resolver,
      .node_id = cfg->node_id,
      .default_cas = m->default_cas,
      .ndefault_cas = cfg->default_ca.n,
      .cas = m->cas,
      .ncas = cfg->nca,
      .require_dnssec = cfg->require_dnssec,
      .contact_email = cfg->contact_email,
      .max_parallel = (size_t)cfg->max_parallel,
      .max_parallel_per_ca = (size_t)cfg->max_parallel_per_ca,
      .tick_ms = cfg->tick_ms,
      .lease_s = cfg->lease,
      .retry_base_s = cfg->retry_base,
      .dns_hook = cfg->dns_hook,
      .challenge_order = cfg->challenge_order,
      .tls_alpn = cfg->tls_alpn_listen != NULL,
      .rfc2136 = m->zones,
      .nrfc2136 = cfg->nzones,
      .hook_timeout_ms = cfg->hook_timeout * 1000,
      .deploy_dir = cfg->deploy_dir,
      .deploy_hook = cfg->deploy_hook,
      .webhook_url = cfg->webhook_url,
      .notify_after_failures = (int)cfg->notify_after_failures,
      .order_timeout_ms = cfg->order_timeout * 1000,
      /* 0 in the file: count at every scrape (negative for the manager) */
      .metrics_refresh_s = cfg->metrics_refresh > 0 ? cfg->metrics_refresh : -1,
  };
  return 0;
}

void bd_mopts_free(struct bd_mopts *m) {
  free(m->default_cas);
  free(m->cas);
  free(m->zones);
  memset(m, 0, sizeof(*m));
}

/* ---- signals ---- */

static void on_hup(void *arg) {
  struct bd *d = arg;
  struct bd_config nc;
  struct byoca_err e = {0};
  struct bd_mopts m;
  char line[1024], restart[256];
  if (bd_config_load(d->cfg.path != NULL ? d->cfg.path : d->config_arg, &nc,
                     &e) != 0) {
    byoca_err_format(&e, line, sizeof(line));
    byoca_log(BYOCA_LOG_ERROR, "reload: %s; keeping the running settings",
              line);
    byoca_err_clear(&e);
    return;
  }
  /* nc keeps what runs for start-only settings (node_id goes to the
     manager too) */
  bd_config_keep_running(&nc, &d->cfg, restart, sizeof(restart));
  int rc = bd_mopts_build(d, &nc, &m);
  if (rc == 0)
    rc = byoca_manager_reconfigure(d->mgr, &m.o, &e);
  bd_mopts_free(&m);
  if (rc != 0) {
    byoca_err_format(&e, line, sizeof(line));
    byoca_log(BYOCA_LOG_ERROR, "reload: %s; keeping the running settings",
              e.code != 0 ? line : "out of memory");
    byoca_err_clear(&e);
    bd_config_keep_running(&nc, &d->cfg, line, sizeof(line)); /* undo */
    bd_config_free(&nc);
    return;
  }
  bd_log_apply(&nc);
  bd_config_free(&d->cfg);
  d->cfg = nc;
  byoca_log(BYOCA_LOG_INFO, "configuration reloaded");
  if (restart[0] != '\0')
    byoca_log(BYOCA_LOG_WARN, "reload: %s changed; that takes a restart",
              restart);
}

static void drain_done(void *arg) {
  struct bd *d = arg;
  d->drained = 1;
  byoca_timer_cancel(d->drain_timer);
  d->drain_timer = NULL;
  byoca_log(BYOCA_LOG_INFO, "drained: no order in flight");
  byoca_loop_break(d->loop);
}

static void drain_expired(void *arg) {
  struct bd *d = arg;
  d->drain_timer = NULL;
  byoca_log(BYOCA_LOG_WARN,
            "drain timeout: %zu orders still in flight; they resume at the"
            " next start",
            byoca_manager_in_flight(d->mgr));
  byoca_loop_break(d->loop);
}

static void on_term(void *arg) {
  struct bd *d = arg;
  if (d->draining) {
    byoca_log(BYOCA_LOG_WARN, "second stop signal: exiting now");
    byoca_loop_break(d->loop);
    return;
  }
  d->draining = 1;
  byoca_log(BYOCA_LOG_INFO,
            "stopping: no new work; waiting up to %llds for %zu orders in"
            " flight",
            (long long)d->cfg.drain_timeout, byoca_manager_in_flight(d->mgr));
  d->drain_timer =
      byoca_timer_add(d->loop, d->cfg.drain_timeout * 1000, drain_expired, d);
  byoca_manager_drain(d->mgr, drain_done, d);
}

static int add_signals(struct bd *d, struct byoca_err *err) {
  static const int signos[] = {SIGHUP, SIGTERM, SIGINT};
  for (size_t i = 0; i < 3; i++) {
    d->sig[i] = byoca_signal_add(d->loop, signos[i],
                                 signos[i] == SIGHUP ? on_hup : on_term, d);
    if (d->sig[i] == NULL)
      return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                           "cannot watch signal %d", signos[i]);
  }
  return 0;
}

/* ---- the runtime ---- */

static int net_init(struct bd *d, struct byoca_err *err) {
  if ((d->loop = byoca_loop_new()) == NULL ||
      (d->policy = byoca_netpolicy_new()) == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  for (size_t i = 0; i < d->cfg.allow_net.n; i++)
    if (byoca_netpolicy_allow(d->policy, d->cfg.allow_net.v[i], err) != 0) {
      byoca_err_activity(err, "reading allow_net");
      return BYOCA_E_INVAL;
    }
  struct byoca_resolver_opts ro = {.forward = d->cfg.resolver,
                                   .trust_anchor = d->cfg.trust_anchor};
  if ((d->resolver = byoca_resolver_new(d->loop, &ro, err)) == NULL)
    return err != NULL && err->code != 0 ? err->code : BYOCA_E_DNS;
  struct byoca_http_opts ho = {
      .user_agent = "byocad/" BYOCA_VERSION,
      .ca_bundle = d->cfg.ca_bundle,
      .policy = d->policy,
      .resolver = d->resolver,
      .timeout_ms = d->cfg.http_timeout * 1000,
      .connect_timeout_ms =
          d->cfg.http_timeout < 10 ? d->cfg.http_timeout * 1000 : 0,
  };
  if ((d->http = byoca_http_new(d->loop, &ho, err)) == NULL)
    return err != NULL && err->code != 0 ? err->code : BYOCA_E_NET;
  return 0;
}

static int manager_init(struct bd *d, struct byoca_err *err) {
  struct bd_mopts m;
  int rc = bd_mopts_build(d, &d->cfg, &m);
  if (rc != 0)
    return byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL, "out of memory");
  rc = byoca_manager_new(&m.o, &d->mgr, err);
  bd_mopts_free(&m);
  if (rc == 0)
    rc = byoca_manager_start(d->mgr, err);
  if (rc == 0)
    d->managed = 1;
  return rc;
}

static int start(struct bd *d, struct byoca_err *err) {
  int rc = net_init(d, err);
  if (rc == 0)
    rc = bd_store_open(&d->cfg, 0, &d->store, err);
  if (rc == 0)
    rc = manager_init(d, err);
  if (rc == 0)
    rc = bd_server_start(d, err);
  if (rc == 0)
    rc = add_signals(d, err);
  if (rc == 0)
    bd_lag_start(d);
  return rc;
}

/* ---- exit: RFC 2136 records of orders cut off at the drain deadline ---- */

#define DNS_TICK_MS 100
#define DNS_TICKS 300 /* a delete takes at most 3 tries of 5 s */

struct dns_pump {
  struct byoca_loop *loop;
  struct byoca_timer *timer;
  int ticks;
};

static void dns_tick(void *arg) {
  struct dns_pump *p = arg;
  p->timer = NULL;
  if ((byoca_rfc2136_in_flight() == 0 &&
       byoca_manager_store_in_flight() == 0) ||
      ++p->ticks >= DNS_TICKS ||
      (p->timer = byoca_timer_add(p->loop, DNS_TICK_MS, dns_tick, p)) == NULL)
    byoca_loop_break(p->loop);
}

/* The manager is gone, so its RFC 2136 solvers are closed: their
 * operations still waiting for propagation delete their records now. Its
 * store operations still on a worker thread end here too. */
static void dns_stop(struct bd *d) {
  size_t n = byoca_rfc2136_in_flight();
  if (n == 0 && byoca_manager_store_in_flight() == 0)
    return;
  if (n > 0)
    byoca_log(BYOCA_LOG_WARN,
              "removing the dns-01 records of %zu RFC 2136"
              " update%s cut off",
              n, n == 1 ? "" : "s");
  struct dns_pump p = {d->loop, NULL, 0};
  if ((p.timer = byoca_timer_add(d->loop, DNS_TICK_MS, dns_tick, &p)) == NULL)
    return;
  (void)byoca_loop_run(d->loop);
  if (p.timer != NULL)
    byoca_timer_cancel(p.timer);
}

/* Hands this node's leases back, so that other nodes take over the
 * lineages whose orders were cut off (their state is in the store) at
 * once instead of when the leases run out. */
static void release_leases(struct bd *d) {
  struct byoca_err e = {0};
  if (!d->managed || d->store == NULL)
    return;
  if (byoca_store_cert_release_node(d->store, &e) != 0)
    byoca_log(BYOCA_LOG_WARN,
              "cannot hand back the leases of node %s (they run out"
              " by themselves): %s",
              byoca_store_node(d->store), e.msg);
  else
    byoca_log(BYOCA_LOG_INFO, "leases of node %s handed back",
              byoca_store_node(d->store));
  byoca_err_clear(&e);
}

static void stop(struct bd *d) {
  bd_lag_stop(d);
  bd_server_stop(d);
  for (size_t i = 0; i < sizeof(d->sig) / sizeof(*d->sig); i++)
    byoca_signal_free(d->sig[i]);
  byoca_timer_cancel(d->drain_timer);
  byoca_manager_free(d->mgr);
  d->mgr = NULL;
  dns_stop(d);
  bd_children_stop(d); /* hooks of orders cut off at the drain deadline */
  release_leases(d);
  byoca_http_free(d->http);
  byoca_resolver_free(d->resolver);
  byoca_netpolicy_free(d->policy);
  byoca_store_close(d->store);
  byoca_loop_free(d->loop);
  bd_config_free(&d->cfg);
}

int bd_cmd_run(const char *config) {
  struct bd *d = calloc(1, sizeof(*d));
  struct byoca_err e = {0};
  if (d == NULL)
    return EXIT_FAIL;
  d->config_arg = config;
  if (bd_config_load(config, &d->cfg, &e) != 0) {
    bd_report(&e);
    free(d);
    return EXIT_USAGE;
  }
  bd_log_apply(&d->cfg);
  int rc = start(d, &e);
  if (rc != 0) {
    bd_report(&e);
  } else {
    char shown[512];
    byoca_store_url_display(d->cfg.store, shown, sizeof(shown));
    byoca_log(BYOCA_LOG_INFO, "byocad %s running (store %.300s)", BYOCA_VERSION,
              shown);
    if (byoca_loop_run(d->loop) < 0) {
      byoca_log(BYOCA_LOG_ERROR, "the event loop failed");
      rc = BYOCA_E_INTERNAL;
    }
  }
  byoca_err_clear(&e);
  stop(d);
  free(d);
  if (rc == 0)
    byoca_log(BYOCA_LOG_INFO, "byocad stopped");
  return rc == 0 ? EXIT_OK : EXIT_FAIL;
}
