/* The runtime every CA command builds: one loop, the address policy, the
 * resolver, the HTTP client and the challenge solvers. */
#include <stdlib.h>
#include <string.h>

#include "cli.h"

int cli_rt_init(struct cli_rt *rt, const struct cli_opts *o,
                struct byoca_err *err) {
  memset(rt, 0, sizeof(*rt));
  if ((rt->loop = byoca_loop_new()) == NULL ||
      (rt->policy = byoca_netpolicy_new()) == NULL)
    return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                         "out of memory");
  for (size_t i = 0; i < o->nallow; i++)
    if (byoca_netpolicy_allow(rt->policy, o->allow_net[i], err) != 0)
      return BYOCA_E_INVAL;
  struct byoca_resolver_opts ro = {.forward = o->resolver,
                                   .trust_anchor = o->trust_anchor};
  rt->resolver = byoca_resolver_new(rt->loop, &ro, err);
  if (rt->resolver == NULL)
    return err != NULL && err->code != 0 ? err->code : BYOCA_E_DNS;
  struct byoca_http_opts ho = {
      .user_agent = "byoca/" BYOCA_VERSION,
      .ca_bundle = o->ca_bundle,
      .policy = rt->policy,
      .resolver = rt->resolver,
      .timeout_ms = o->http_timeout_ms,
      .connect_timeout_ms = o->http_timeout_ms > 0 && o->http_timeout_ms < 10000
                                ? o->http_timeout_ms
                                : 0,
  };
  rt->http = byoca_http_new(rt->loop, &ho, err);
  if (rt->http == NULL)
    return err != NULL && err->code != 0 ? err->code : BYOCA_E_NET;
  if (o->server != NULL && byoca_http_trust_url(rt->http, o->server) != 0)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "invalid --server URL '%.200s'", o->server);
  return 0;
}

static int add_solver(struct cli_rt *rt, struct byoca_solver *s) {
  if (s == NULL)
    return -1;
  rt->solvers[rt->nsolvers++] = s;
  return 0;
}

/* dns-01 by RFC 2136 update, from --dns-rfc2136 and the TSIG options. */
static struct byoca_solver *rfc2136_solver(struct cli_rt *rt,
                                           const struct cli_opts *o,
                                           struct byoca_err *err) {
  struct byoca_rfc2136_opts ro = {
      .server = o->rfc2136_server,
      .tsig_name = o->tsig_key,
      .tsig_alg = o->tsig_alg,
      .secret_file = o->tsig_secret_file,
      .zone = o->dns_zone,
      .propagation_timeout_ms = o->dns_wait_ms,
      .propagation_interval_ms = o->dns_interval_ms,
      .resolver = rt->resolver,
  };
  if (o->tsig_key == NULL || o->tsig_secret_file == NULL) {
    byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                  "--dns-rfc2136 needs --tsig-key and --tsig-secret-file");
    return NULL;
  }
  return byoca_solver_rfc2136(rt->loop, &ro, err);
}

/* tls-alpn-01 responder from --tls-alpn "[ADDR:]PORT". */
static struct byoca_solver *tls_alpn_solver(struct cli_rt *rt,
                                            const struct cli_opts *o,
                                            struct byoca_err *err) {
  char addr[64];
  int port;
  const char *spec = o->tls_alpn != NULL ? o->tls_alpn : o->tls_alpn_conf;
  if (byoca_listen_spec_parse(spec, addr, sizeof(addr), &port) != 0) {
    byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                  "invalid tls-alpn listen address '%.100s': expected"
                  " [ADDR:]PORT",
                  spec);
    return NULL;
  }
  return byoca_solver_tls_alpn(rt->loop, addr[0] != '\0' ? addr : NULL, port,
                               err);
}

int cli_rt_solvers(struct cli_rt *rt, const struct cli_opts *o,
                   struct byoca_err *err) {
  int want_alpn = o->tls_alpn != NULL || o->tls_alpn_conf != NULL;
  if (want_alpn && add_solver(rt, tls_alpn_solver(rt, o, err)) != 0)
    return BYOCA_E_INVAL;
  if (o->webroot != NULL &&
      add_solver(rt, byoca_solver_webroot(o->webroot, err)) != 0)
    return BYOCA_E_INVAL;
  int want_http = o->http_port != 0 || o->http_addr != NULL ||
                  (o->webroot == NULL && o->hook == NULL &&
                   o->rfc2136_server == NULL && !want_alpn);
  if (want_http &&
      add_solver(rt, byoca_solver_http_standalone(
                         rt->loop, o->http_addr,
                         o->http_port != 0 ? o->http_port : 80, err)) != 0)
    return BYOCA_E_INVAL;
  if (o->hook != NULL &&
      add_solver(rt, byoca_solver_hook(rt->loop, o->hook, o->hook_types,
                                       o->hook_timeout_ms, err)) != 0)
    return BYOCA_E_INVAL;
  if (o->rfc2136_server == NULL &&
      (o->tsig_key != NULL || o->tsig_secret_file != NULL))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "TSIG options given without --dns-rfc2136");
  if (o->rfc2136_server != NULL &&
      add_solver(rt, rfc2136_solver(rt, o, err)) != 0)
    return BYOCA_E_INVAL;
  return 0;
}

void cli_rt_free(struct cli_rt *rt) {
  for (size_t i = 0; i < rt->nsolvers; i++)
    byoca_solver_free(rt->solvers[i]);
  rt->nsolvers = 0;
  byoca_http_free(rt->http);
  byoca_resolver_free(rt->resolver);
  byoca_netpolicy_free(rt->policy);
  byoca_loop_free(rt->loop);
  memset(rt, 0, sizeof(*rt));
}

struct waiter {
  struct cli_rt *rt;
  int done;
  struct byoca_err err;
};

static void wait_done(void *arg, const struct byoca_err *err) {
  struct waiter *w = arg;
  w->done = 1;
  if (err != NULL && byoca_err_copy(&w->err, err) != 0)
    byoca_err_set(&w->err, err->code, err->cls, "%s", err->msg);
  byoca_loop_break(w->rt->loop);
}

int cli_wait(struct cli_rt *rt, cli_start_fn start, void *arg,
             struct byoca_err *err) {
  struct waiter w = {.rt = rt};
  int rc = start(arg, wait_done, &w);
  if (rc != 0)
    return byoca_err_set(err, rc, BYOCA_CLASS_INTERNAL, "cannot start: %s",
                         byoca_errcode_str(rc));
  while (!w.done) {
    /* the loop returning with nothing left to wait for is a bug of ours;
       never spin */
    if (byoca_loop_run(rt->loop) == 1 && !w.done) {
      return byoca_err_set(err, BYOCA_E_INTERNAL, BYOCA_CLASS_INTERNAL,
                           "internal error: operation lost its callback");
    }
  }
  if (w.err.code != 0) {
    rc = w.err.code;
    if (err != NULL)
      byoca_err_copy(err, &w.err);
    byoca_err_clear(&w.err);
  }
  return rc;
}
