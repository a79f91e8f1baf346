/* Propagation: after the UPDATE, ask every name server of the zone
 * directly (no cache, no recursion) until each serves the new TXT value,
 * or give up at the deadline naming those that lag. Name servers without
 * an address from glue or the update server are resolved first. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rfc2136_int.h"

static void check_start(struct r2136_op *op);

static int all_current(const struct r2136_op *op) {
  for (size_t i = 0; i < op->nns; i++)
    if (!op->ns[i].current)
      return 0;
  return 1;
}

/* "ns1.example. (why); ns2.example. (why)" of the servers that lag. */
static void lagging(const struct r2136_op *op, char *out, size_t len) {
  size_t used = 0;
  out[0] = '\0';
  for (size_t i = 0; i < op->nns && used + 1 < len; i++) {
    const struct r2136_ns *ns = &op->ns[i];
    if (ns->current)
      continue;
    int n = snprintf(out + used, len - used, "%s%s (%s)", used ? "; " : "",
                     ns->name, ns->why[0] ? ns->why : "not checked");
    if (n < 0)
      break;
    used += (size_t)n < len - used ? (size_t)n : len - used - 1;
  }
}

static void timed_out(struct r2136_op *op) {
  struct byoca_err e = {0};
  char lag[400];
  lagging(op, lag, sizeof(lag));
  byoca_err_set(&e, BYOCA_E_TIMEOUT, BYOCA_CLASS_RETRYABLE,
                "%s TXT not served by every name server of zone %s after"
                " %lld s: %s",
                op->name, op->zone, (long long)(op->cfg->wait_ms / 1000), lag);
  r2136_op_fail(op, &e);
  byoca_err_clear(&e);
}

static void work_check(void *arg) {
  struct r2136_op *op = arg;
  for (size_t i = 0; i < op->nns; i++)
    if (!op->ns[i].current)
      r2136_check_ns(&op->ns[i], &op->cfg->lim, op->name, op->value);
}

static void tick(void *arg) {
  check_start(arg);
}

static void done_check(void *arg) {
  struct r2136_op *op = arg;
  if (all_current(op)) {
    byoca_log(BYOCA_LOG_DEBUG, "%s TXT is on every name server of %s", op->name,
              op->zone);
    r2136_op_finish(op, NULL);
    return;
  }
  int64_t now = r2136_mono_ms();
  if (op->cfg->closing) { /* shutting down: take the record out again */
    struct byoca_err e = {0};
    byoca_err_set(&e, BYOCA_E_CANCELLED, BYOCA_CLASS_RETRYABLE,
                  "stopped waiting for %s TXT to reach the name servers of"
                  " zone %s: shutting down",
                  op->name, op->zone);
    r2136_op_fail(op, &e);
    byoca_err_clear(&e);
    return;
  }
  if (now >= op->deadline) {
    timed_out(op);
    return;
  }
  int64_t wait = op->cfg->interval_ms;
  if (wait > op->deadline - now)
    wait = op->deadline - now;
  if (byoca_timer_add(op->cfg->loop, wait, tick, op) == NULL) {
    struct byoca_err e = {0};
    byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    r2136_op_fail(op, &e);
  }
}

static void check_start(struct r2136_op *op) {
  if (byoca_loop_offload(op->cfg->loop, work_check, done_check, op) != 0) {
    struct byoca_err e = {0};
    byoca_err_set(&e, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    r2136_op_fail(op, &e);
  }
}

/* ---- name servers without an address: the resolver ---- */

struct lookup {
  struct r2136_op *op;
  struct r2136_ns *ns;
};

/* One resolved address as a server on port 53. */
static void add_resolved(struct r2136_ns *ns, const struct sockaddr_storage *a,
                         const struct r2136_srv *upd) {
  struct r2136_srv s;
  memset(&s, 0, sizeof(s));
  s.ss = *a;
  if (a->ss_family == AF_INET) {
    s.len = sizeof(struct sockaddr_in);
    ((struct sockaddr_in *)&s.ss)->sin_port = htons(53);
  } else if (a->ss_family == AF_INET6) {
    s.len = sizeof(struct sockaddr_in6);
    ((struct sockaddr_in6 *)&s.ss)->sin6_port = htons(53);
  } else {
    return;
  }
  r2136_srv_name(&s);
  r2136_srv_port_of(&s, upd);
  if (ns->naddr < R2136_MAX_ADDR)
    ns->addr[ns->naddr++] = s;
}

static void on_addrs(void *arg, const struct byoca_addrs *addrs,
                     const struct byoca_err *err) {
  struct lookup *l = arg;
  struct r2136_op *op = l->op;
  if (err == NULL && addrs != NULL)
    for (size_t i = 0; i < addrs->n; i++)
      add_resolved(l->ns, &addrs->addr[i], &op->cfg->srv);
  else if (err != NULL)
    byoca_strlcpy(l->ns->why, err->msg, sizeof(l->ns->why));
  free(l);
  if (--op->resolving == 0)
    check_start(op);
}

/* Starts lookups for name servers without an address; returns how many
 * are in flight. */
static size_t resolve_missing(struct r2136_op *op) {
  struct byoca_resolver *r = op->cfg->resolver;
  for (size_t i = 0; r != NULL && i < op->nns; i++) {
    struct r2136_ns *ns = &op->ns[i];
    char host[R2136_NAME_MAX + 2];
    if (ns->naddr > 0)
      continue;
    snprintf(host, sizeof(host), "%s", ns->name);
    size_t n = strlen(host);
    if (n > 1 && host[n - 1] == '.')
      host[n - 1] = '\0';
    struct lookup *l = calloc(1, sizeof(*l));
    if (l == NULL)
      continue; /* it will lag with "no address found" */
    l->op = op;
    l->ns = ns;
    op->resolving++;
    if (byoca_resolve_host(r, host, on_addrs, l) != 0) {
      op->resolving--;
      free(l);
    }
  }
  return op->resolving;
}

void r2136_wait_start(struct r2136_op *op) {
  op->deadline = r2136_mono_ms() + op->cfg->wait_ms;
  if (resolve_missing(op) == 0)
    check_start(op);
}
