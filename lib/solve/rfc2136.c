/* dns-01 by RFC 2136 dynamic update signed with TSIG: the solver, its
 * options, and each setup/cleanup as a small state machine whose network
 * steps run on the loop's worker pool (ldns and our sockets block). */
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>

#include "rfc2136_int.h"
#include "solve_int.h"

#define DEFAULT_WAIT_MS 120000
#define DEFAULT_INTERVAL_MS 2000
#define DEFAULT_QUERY_MS 5000
#define DEFAULT_TRIES 3

static atomic_size_t running; /* operations in flight, all solvers */

void r2136_running_add(int delta) {
  if (delta > 0)
    atomic_fetch_add(&running, (size_t)delta);
  else
    atomic_fetch_sub(&running, (size_t)-delta);
}

size_t byoca_rfc2136_in_flight(void) {
  return atomic_load(&running);
}

static int nomem(struct byoca_err *err) {
  return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                       "out of memory");
}

static void cfg_unref(struct r2136_cfg *c) {
  if (c == NULL || --c->refs > 0)
    return;
  free(c->key.name);
  byoca_secret_free(&c->key.b64);
  free(c->zone);
  free(c);
}

/* ---- one operation ---- */

static void op_free(struct r2136_op *op) {
  r2136_running_add(-1);
  cfg_unref(op->cfg);
  free(op->name);
  free(op->value);
  free(op->zone);
  r2136_ns_free(op->ns, op->nns);
  byoca_err_clear(&op->err);
  byoca_err_clear(&op->fail);
  free(op);
}

void r2136_op_finish(struct r2136_op *op, const struct byoca_err *err) {
  byoca_solve_cb cb = op->cb;
  void *arg = op->arg;
  struct byoca_err copy = {0};
  if (err != NULL && byoca_err_copy(&copy, err) != 0)
    byoca_err_set(&copy, err->code, err->cls, "%s", err->msg);
  op_free(op);
  cb(arg, err != NULL ? &copy : NULL);
  byoca_err_clear(&copy);
}

/* Worker: the zone (configured or by SOA), the UPDATE, and after an add
 * the zone's name servers. */
static void work_change(void *arg) {
  struct r2136_op *op = arg;
  const struct r2136_cfg *c = op->cfg;
  struct byoca_err *e = &op->err;
  if (c->zone != NULL && !r2136_in_zone(op->name, c->zone)) {
    byoca_err_set(e, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                  "%s is not inside the configured zone %s", op->name, c->zone);
    return;
  }
  if (c->zone != NULL)
    op->zone = byoca_strdup(c->zone);
  else if (r2136_find_zone(&c->srv, &c->lim, op->name, &op->zone, e) != 0)
    return;
  if (op->zone == NULL) {
    nomem(e);
    return;
  }
  if (r2136_update(&c->srv, &c->lim, &c->key, op->zone, op->name, op->value,
                   op->add, e) != 0 ||
      !op->add)
    return;
  op->added = 1;
  if (r2136_find_ns(&c->srv, &c->lim, op->zone, &op->ns, &op->nns, e) != 0)
    byoca_err_activity(e, "checking that %s reached the name servers",
                       op->name);
}

static void done_change(void *arg) {
  struct r2136_op *op = arg;
  if (op->err.code != 0) {
    struct byoca_err e = {0};
    if (byoca_err_copy(&e, &op->err) != 0)
      nomem(&e);
    byoca_err_clear(&op->err);
    r2136_op_fail(op, &e);
    byoca_err_clear(&e);
    return;
  }
  if (!op->add) {
    byoca_log(BYOCA_LOG_DEBUG, "deleted %s TXT from zone %s at %s", op->name,
              op->zone, op->cfg->srv.text);
    r2136_op_finish(op, NULL);
    return;
  }
  byoca_log(BYOCA_LOG_INFO,
            "added %s TXT to zone %s at %s; waiting for its %zu name"
            " server%s",
            op->name, op->zone, op->cfg->srv.text, op->nns,
            op->nns == 1 ? "" : "s");
  r2136_wait_start(op);
}

static void work_delete(void *arg) {
  struct r2136_op *op = arg;
  const struct r2136_cfg *c = op->cfg;
  byoca_err_clear(&op->err);
  (void)r2136_update(&c->srv, &c->lim, &c->key, op->zone, op->name, op->value,
                     0, &op->err);
}

static void done_delete(void *arg) {
  struct r2136_op *op = arg;
  if (op->err.code != 0) {
    char why[300];
    byoca_err_format(&op->err, why, sizeof(why));
    byoca_log(BYOCA_LOG_WARN, "%s TXT is left in zone %s: %s", op->name,
              op->zone, why);
  }
  struct byoca_err e = op->fail;
  memset(&op->fail, 0, sizeof(op->fail));
  r2136_op_finish(op, &e);
  byoca_err_clear(&e);
}

void r2136_op_fail(struct r2136_op *op, const struct byoca_err *err) {
  if (!op->added) {
    r2136_op_finish(op, err);
    return;
  }
  op->added = 0;
  if (byoca_err_copy(&op->fail, err) != 0)
    byoca_err_set(&op->fail, err->code, err->cls, "%s", err->msg);
  if (byoca_loop_offload(op->cfg->loop, work_delete, done_delete, op) != 0) {
    byoca_log(BYOCA_LOG_WARN, "%s TXT is left in zone %s: out of memory",
              op->name, op->zone);
    done_delete(op);
  }
}

/* ---- the solver ---- */

/* dns-account-01 differs from dns-01 only in the record name, which the
 * engine computes (D-DNSACCOUNT). */
static int r_supports(void *ctx, const char *type) {
  (void)ctx;
  return strcmp(type, "dns-01") == 0 || strcmp(type, "dns-account-01") == 0;
}

static int check_challenge(const struct byoca_challenge *ch,
                           struct byoca_err *err) {
  if (ch->type == NULL || !r_supports(NULL, ch->type))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "the rfc2136 solver answers only dns-01 and "
                         "dns-account-01");
  if (!r2136_value_valid(ch->dns_value))
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_CA,
                         "invalid dns-01 TXT value");
  return 0;
}

static int start(struct r2136_cfg *c, const struct byoca_challenge *ch, int add,
                 byoca_solve_cb cb, void *arg, struct byoca_err *err) {
  if (check_challenge(ch, err) != 0)
    return BYOCA_E_INVAL;
  struct r2136_op *op = calloc(1, sizeof(*op));
  if (op == NULL)
    return nomem(err);
  op->cfg = c;
  c->refs++;
  r2136_running_add(1);
  op->add = add;
  op->cb = cb;
  op->arg = arg;
  int rc = r2136_fqdn(ch->record_name, "dns-01 record name", &op->name, err);
  if (rc == 0 && (op->value = byoca_strdup(ch->dns_value)) == NULL)
    rc = nomem(err);
  if (rc == 0 && byoca_loop_offload(c->loop, work_change, done_change, op) != 0)
    rc = nomem(err);
  if (rc != 0)
    op_free(op);
  return rc;
}

static int r_setup(void *ctx, const struct byoca_challenge *ch,
                   byoca_solve_cb cb, void *arg, struct byoca_err *err) {
  return start(ctx, ch, 1, cb, arg, err);
}

static int r_cleanup(void *ctx, const struct byoca_challenge *ch,
                     byoca_solve_cb cb, void *arg, struct byoca_err *err) {
  return start(ctx, ch, 0, cb, arg, err);
}

static void r_free(void *ctx) {
  struct r2136_cfg *c = ctx;
  c->closing = 1; /* operations still running stop waiting */
  cfg_unref(c);
}

static const struct byoca_solver_ops rfc2136_ops = {
    .supports = r_supports,
    .setup = r_setup,
    .cleanup = r_cleanup,
    .free = r_free,
};

static int limits(struct r2136_cfg *c, const struct byoca_rfc2136_opts *o,
                  struct byoca_err *err) {
  if (o->propagation_timeout_ms < 0 || o->propagation_interval_ms < 0 ||
      o->query_timeout_ms < 0 || o->query_tries < 0 || o->query_tries > 10)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "invalid DNS update timeouts");
  c->wait_ms =
      o->propagation_timeout_ms ? o->propagation_timeout_ms : DEFAULT_WAIT_MS;
  c->interval_ms = o->propagation_interval_ms ? o->propagation_interval_ms
                                              : DEFAULT_INTERVAL_MS;
  c->lim.timeout_ms =
      o->query_timeout_ms ? o->query_timeout_ms : DEFAULT_QUERY_MS;
  c->lim.tries = o->query_tries ? o->query_tries : DEFAULT_TRIES;
  return 0;
}

static int configure(struct r2136_cfg *c, const struct byoca_rfc2136_opts *o,
                     struct byoca_err *err) {
  if (r2136_srv_parse(o->server, &c->srv, err) != 0 || limits(c, o, err) != 0)
    return BYOCA_E_INVAL;
  if (o->tsig_name == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "no TSIG key name given");
  int rc = r2136_fqdn(o->tsig_name, "TSIG key name", &c->key.name, err);
  if (rc != 0)
    return rc;
  if ((c->key.alg = r2136_alg(o->tsig_alg)) == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "unsupported TSIG algorithm '%.40s' (hmac-sha256"
                         " or hmac-sha512)",
                         o->tsig_alg);
  if (o->zone != NULL &&
      (rc = r2136_fqdn(o->zone, "DNS zone", &c->zone, err)) != 0)
    return rc;
  if (o->secret != NULL)
    return r2136_secret_parse((const char *)o->secret->data, o->secret->len,
                              "TSIG secret", &c->key.b64, err);
  return r2136_secret_load(o->secret_file, &c->key.b64, err);
}

struct byoca_solver *byoca_solver_rfc2136(struct byoca_loop *loop,
                                          const struct byoca_rfc2136_opts *o,
                                          struct byoca_err *err) {
  if (loop == NULL || o == NULL) {
    byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                  "rfc2136 solver without loop or options");
    return NULL;
  }
  struct r2136_cfg *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    nomem(err);
    return NULL;
  }
  c->refs = 1;
  c->loop = loop;
  c->resolver = o->resolver;
  if (configure(c, o, err) != 0) {
    cfg_unref(c);
    return NULL;
  }
  return solve_new("rfc2136", &rfc2136_ops, c, err);
}

int byoca_rfc2136_check(const struct byoca_rfc2136_opts *o,
                        struct byoca_err *err) {
  if (o == NULL)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                         "rfc2136 check without options");
  struct r2136_cfg *c = calloc(1, sizeof(*c));
  if (c == NULL)
    return nomem(err);
  c->refs = 1;
  int rc = configure(c, o, err) != 0 ? BYOCA_E_INVAL : 0;
  if (rc != 0 && err != NULL && err->code != 0)
    rc = err->code;
  cfg_unref(c);
  return rc;
}
