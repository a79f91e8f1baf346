/* DNS through libunbound's async API on the loop: a context resolving from
 * the root with DNSSEC validation (or forwarding), raw lookups of any type
 * and host lookups (A + AAAA merged) for the HTTP client. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <unbound.h>

#include "byoca/net.h"
#include "net_int.h"

#define ROOT_KEY "/usr/share/dns/root.key"
#define RR_A 1
#define RR_AAAA 28
#define ADDRS_MAX 64
#define NAME_MAX_LEN 1024

struct byoca_resolver {
  struct byoca_loop *loop;
  struct ub_ctx *ctx;
  struct byoca_watch *watch; /* on ub_fd, only while queries are pending */
  int validating;
  struct net_dnsq *queries; /* in flight */
  size_t pending;           /* libunbound queries awaiting an answer */
  int busy;                 /* inside ub_process */
  int dead;                 /* freed while busy */
};

/* One libunbound query; a request has one (byoca_resolve) or two (A and
 * AAAA for byoca_resolve_host). */
struct sub {
  struct net_dnsq *q;
  int id;
  int active;
  int type;
};

struct net_dnsq {
  struct byoca_resolver *r;
  struct net_dnsq *prev, *next;
  char *name;
  struct sub sub[2];
  int nsub, left;
  byoca_addrs_cb acb; /* host lookup */
  byoca_dns_cb dcb;   /* raw lookup */
  void *arg;
  /* host lookup: merged answers */
  struct sockaddr_storage addr[ADDRS_MAX];
  size_t naddr;
  int servfail, bogus, failed;
  char why[160];
};

static void rsv_free_now(struct byoca_resolver *r);

static void watch_update(struct byoca_resolver *r);
static void fail_all(struct byoca_resolver *r, int ubrc);

static void on_ub_fd(int fd, void *arg) {
  (void)fd;
  struct byoca_resolver *r = arg;
  r->busy++;
  int rc = ub_process(r->ctx);
  if (rc != 0)
    fail_all(r, rc);
  r->busy--;
  if (r->dead && r->busy == 0)
    rsv_free_now(r);
  else
    watch_update(r);
}

/* The fd is watched only while answers are due, so an idle resolver does
 * not keep the loop running. */
static void watch_update(struct byoca_resolver *r) {
  if (r->pending > 0 && r->watch == NULL)
    r->watch = byoca_watch_read(r->loop, ub_fd(r->ctx), on_ub_fd, r);
  else if (r->pending == 0 && r->watch != NULL && !r->busy) {
    byoca_watch_free(r->watch);
    r->watch = NULL;
  }
}

static int ub_err(struct byoca_err *err, int ubrc, const char *what) {
  byoca_err_set(err, BYOCA_E_DNS, BYOCA_CLASS_INPUT, "%s: %s", what,
                ub_strerror(ubrc));
  byoca_err_native(err, BYOCA_ORIGIN_UNBOUND, ubrc);
  return BYOCA_E_DNS;
}

/* "ADDR" or "ADDR@PORT" with ADDR an IP literal. */
static int valid_forward(const char *f) {
  char buf[INET6_ADDRSTRLEN + 8];
  unsigned char tmp[16];
  if (strlen(f) >= sizeof(buf))
    return 0;
  byoca_strlcpy(buf, f, sizeof(buf));
  char *at = strchr(buf, '@');
  if (at != NULL) {
    uint64_t port;
    *at = '\0';
    if (byoca_parse_uint(at + 1, 65535, &port) != 0 || port == 0)
      return 0;
  }
  return inet_pton(AF_INET, buf, tmp) == 1 ||
         inet_pton(AF_INET6, buf, tmp) == 1;
}

static int configure(struct byoca_resolver *r,
                     const struct byoca_resolver_opts *o,
                     struct byoca_err *err) {
  int rc;
  if ((rc = ub_ctx_async(r->ctx, 1)) != 0)
    return ub_err(err, rc, "cannot set up the DNS resolver");
  if (o->forward != NULL) {
    if (!valid_forward(o->forward))
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                           "invalid DNS forwarder '%.100s' (want "
                           "ADDR[@PORT])",
                           o->forward);
    /* The forwarder decides, also for the RFC 6761 name "test." that
       libunbound would otherwise answer locally (test beds use it;
       "nodefault" is mis-parsed by ub_ctx_set_option, so: transparent). */
    if ((rc = ub_ctx_set_fwd(r->ctx, o->forward)) != 0 ||
        (rc = ub_ctx_set_option(r->ctx, "do-not-query-localhost:", "no")) !=
            0 ||
        (rc = ub_ctx_set_option(r->ctx, "local-zone:", "test. transparent")) !=
            0)
      return ub_err(err, rc, "cannot set the DNS forwarder");
  }
  if (o->trust_anchor != NULL) {
    /* libunbound reads the file only at the first lookup: check now */
    if (access(o->trust_anchor, R_OK) != 0)
      return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                           "cannot read DNSSEC trust anchor file '%.200s'",
                           o->trust_anchor);
    if ((rc = ub_ctx_add_ta_file(r->ctx, o->trust_anchor)) != 0)
      return ub_err(err, rc, "cannot load the DNSSEC trust anchor");
    r->validating = 1;
  } else if (o->forward == NULL) {
    if (access(ROOT_KEY, R_OK) == 0) {
      if ((rc = ub_ctx_add_ta_file(r->ctx, ROOT_KEY)) != 0)
        return ub_err(err, rc, "cannot load the DNSSEC root key " ROOT_KEY);
      r->validating = 1;
    } else if ((rc = ub_ctx_resolvconf(r->ctx, NULL)) != 0 ||
               (rc = ub_ctx_set_option(r->ctx,
                                       "do-not-query-localhost:", "no")) != 0) {
      /* resolv.conf often names a local stub (127.0.0.53) */
      return ub_err(err, rc, "cannot use /etc/resolv.conf");
    }
  }
  return 0;
}

struct byoca_resolver *byoca_resolver_new(struct byoca_loop *loop,
                                          const struct byoca_resolver_opts *o,
                                          struct byoca_err *err) {
  struct byoca_resolver_opts none = {0};
  struct byoca_resolver *r = calloc(1, sizeof(*r));
  if (r == NULL) {
    byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    return NULL;
  }
  r->loop = loop;
  r->ctx = ub_ctx_create();
  if (r->ctx == NULL) {
    byoca_err_set(err, BYOCA_E_DNS, BYOCA_CLASS_INTERNAL,
                  "cannot create the DNS resolver");
    free(r);
    return NULL;
  }
  if (configure(r, o != NULL ? o : &none, err) != 0) {
    byoca_resolver_free(r);
    return NULL;
  }
  return r;
}

static void dnsq_unlink(struct net_dnsq *q) {
  struct byoca_resolver *r = q->r;
  if (q->prev != NULL)
    q->prev->next = q->next;
  else
    r->queries = q->next;
  if (q->next != NULL)
    q->next->prev = q->prev;
  q->prev = q->next = NULL;
}

static void dnsq_free(struct net_dnsq *q) {
  free(q->name);
  free(q);
}

void net_dnsq_cancel(struct net_dnsq *q) {
  if (q == NULL)
    return;
  struct byoca_resolver *r = q->r;
  for (int i = 0; i < q->nsub; i++) {
    if (q->sub[i].active) {
      (void)ub_cancel(r->ctx, q->sub[i].id);
      q->sub[i].active = 0;
      r->pending--;
    }
  }
  dnsq_unlink(q);
  dnsq_free(q);
  watch_update(r);
}

static void rsv_free_now(struct byoca_resolver *r) {
  while (r->queries != NULL)
    net_dnsq_cancel(r->queries);
  byoca_watch_free(r->watch);
  if (r->ctx != NULL)
    ub_ctx_delete(r->ctx);
  free(r);
}

void byoca_resolver_free(struct byoca_resolver *r) {
  if (r == NULL)
    return;
  if (r->busy) { /* called from one of our callbacks: finish later */
    while (r->queries != NULL)
      net_dnsq_cancel(r->queries);
    r->dead = 1;
    return;
  }
  rsv_free_now(r);
}

static enum byoca_dnssec dnssec_of(const struct byoca_resolver *r,
                                   const struct ub_result *res) {
  if (!r->validating)
    return BYOCA_DNSSEC_UNCHECKED;
  if (res->secure)
    return BYOCA_DNSSEC_SECURE;
  if (res->bogus)
    return BYOCA_DNSSEC_BOGUS;
  return BYOCA_DNSSEC_INSECURE;
}

/* ---- raw lookups ---- */

static void free_answer(struct byoca_dns_answer *a) {
  for (size_t i = 0; i < a->n; i++)
    free(a->rdata[i]);
  free(a->rdata);
  free(a->rdlen);
  free(a->canonname);
}

static int copy_answer(const struct byoca_resolver *r,
                       const struct ub_result *res, const char *qname,
                       struct byoca_dns_answer *a) {
  size_t n = 0;
  memset(a, 0, sizeof(*a));
  a->rcode = res->rcode;
  a->dnssec = dnssec_of(r, res);
  a->canonname = byoca_strdup(res->canonname != NULL ? res->canonname : qname);
  while (res->havedata && res->data[n] != NULL)
    n++;
  a->rdata = calloc(n + 1, sizeof(*a->rdata));
  a->rdlen = calloc(n + 1, sizeof(*a->rdlen));
  if (a->canonname == NULL || a->rdata == NULL || a->rdlen == NULL)
    return BYOCA_E_NOMEM;
  for (size_t i = 0; i < n; i++) {
    size_t len = res->len[i] > 0 ? (size_t)res->len[i] : 0;
    a->rdata[i] = malloc(len + 1);
    if (a->rdata[i] == NULL)
      return BYOCA_E_NOMEM;
    memcpy(a->rdata[i], res->data[i], len);
    a->rdlen[i] = len;
    a->n = i + 1;
  }
  return 0;
}

static void raw_done(struct net_dnsq *q, int ubrc, struct ub_result *res) {
  struct byoca_err err = {0};
  struct byoca_dns_answer a;
  memset(&a, 0, sizeof(a));
  if (ubrc != 0) {
    byoca_err_set(&err, BYOCA_E_DNS, BYOCA_CLASS_RETRYABLE,
                  "DNS lookup of %.200s failed: %s", q->name,
                  ub_strerror(ubrc));
    byoca_err_native(&err, BYOCA_ORIGIN_UNBOUND, ubrc);
  } else if (copy_answer(q->r, res, q->name, &a) != 0) {
    byoca_err_set(&err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
  }
  q->dcb(q->arg, err.code != 0 ? NULL : &a, err.code != 0 ? &err : NULL);
  free_answer(&a);
  byoca_err_clear(&err);
}

/* ---- host lookups ---- */

static void host_collect(struct net_dnsq *q, int type, struct ub_result *res) {
  if (res->bogus) {
    q->bogus = 1;
    if (res->why_bogus != NULL && q->why[0] == '\0')
      byoca_strlcpy(q->why, res->why_bogus, sizeof(q->why));
    return;
  }
  if (res->rcode == 2)
    q->servfail = 1;
  for (size_t i = 0; res->havedata && res->data[i] != NULL; i++) {
    if (q->naddr >= ADDRS_MAX)
      break;
    struct sockaddr_storage *ss = &q->addr[q->naddr];
    memset(ss, 0, sizeof(*ss));
    if (type == RR_A && res->len[i] == 4) {
      struct sockaddr_in *in = (struct sockaddr_in *)(void *)ss;
      in->sin_family = AF_INET;
      memcpy(&in->sin_addr, res->data[i], 4);
    } else if (type == RR_AAAA && res->len[i] == 16) {
      struct sockaddr_in6 *in6 = (struct sockaddr_in6 *)(void *)ss;
      in6->sin6_family = AF_INET6;
      memcpy(&in6->sin6_addr, res->data[i], 16);
    } else {
      continue;
    }
    q->naddr++;
  }
}

static void host_done(struct net_dnsq *q) {
  struct byoca_err err = {0};
  struct byoca_addrs addrs = {.addr = q->addr, .n = q->naddr};
  if (q->bogus)
    byoca_err_set(&err, BYOCA_E_DNS, BYOCA_CLASS_CA,
                  "DNSSEC validation failed for %.200s: %s", q->name,
                  q->why[0] != '\0' ? q->why : "bogus answer");
  else if (q->naddr > 0)
    ; /* success, even if one of A/AAAA failed */
  else if (q->failed || q->servfail)
    byoca_err_set(&err, BYOCA_E_DNS, BYOCA_CLASS_RETRYABLE,
                  "DNS server failure looking up %.200s", q->name);
  else
    byoca_err_set(&err, BYOCA_E_DNS, BYOCA_CLASS_CA, "no address for %.200s",
                  q->name);
  q->acb(q->arg, err.code != 0 ? NULL : &addrs, err.code != 0 ? &err : NULL);
  byoca_err_clear(&err);
}

static void on_answer(void *mydata, int ubrc, struct ub_result *res) {
  struct sub *s = mydata;
  struct net_dnsq *q = s->q;
  struct byoca_resolver *r = q->r;
  s->active = 0;
  r->pending--;
  q->left--;
  if (q->dcb != NULL) {
    dnsq_unlink(q);
    raw_done(q, ubrc, res);
    dnsq_free(q);
  } else {
    if (ubrc != 0)
      q->failed = 1;
    else
      host_collect(q, s->type, res);
    if (q->left == 0) {
      dnsq_unlink(q);
      host_done(q);
      dnsq_free(q);
    }
  }
  ub_resolve_free(res);
}

/* libunbound's background worker is gone: every pending lookup fails
 * instead of waiting forever. */
static void fail_all(struct byoca_resolver *r, int ubrc) {
  while (r->queries != NULL && !r->dead) {
    struct net_dnsq *q = r->queries;
    for (int i = 0; i < q->nsub; i++) {
      if (q->sub[i].active) {
        (void)ub_cancel(r->ctx, q->sub[i].id);
        q->sub[i].active = 0;
        r->pending--;
      }
    }
    dnsq_unlink(q);
    if (q->dcb != NULL) {
      raw_done(q, ubrc, NULL);
    } else {
      q->failed = 1;
      host_done(q);
    }
    dnsq_free(q);
  }
}

static int start(struct byoca_resolver *r, const char *name, const int *types,
                 int ntypes, struct net_dnsq **out) {
  if (r == NULL || name == NULL || name[0] == '\0' ||
      strlen(name) > NAME_MAX_LEN || r->dead)
    return BYOCA_E_INVAL;
  struct net_dnsq *q = calloc(1, sizeof(*q));
  if (q == NULL || (q->name = byoca_strdup(name)) == NULL) {
    free(q);
    return BYOCA_E_NOMEM;
  }
  q->r = r;
  q->next = r->queries;
  if (r->queries != NULL)
    r->queries->prev = q;
  r->queries = q;
  for (int i = 0; i < ntypes; i++) {
    struct sub *s = &q->sub[i];
    s->q = q;
    s->type = types[i];
    if (ub_resolve_async(r->ctx, name, types[i], 1, s, on_answer, &s->id) !=
        0) {
      net_dnsq_cancel(q);
      return BYOCA_E_DNS;
    }
    s->active = 1;
    q->nsub = i + 1;
    q->left++;
    r->pending++;
  }
  watch_update(r);
  if (r->watch == NULL) {
    net_dnsq_cancel(q);
    return BYOCA_E_NOMEM;
  }
  *out = q;
  return 0;
}

int net_resolve_host_start(struct byoca_resolver *r, const char *host,
                           byoca_addrs_cb cb, void *arg,
                           struct net_dnsq **out) {
  static const int types[2] = {RR_A, RR_AAAA};
  struct net_dnsq *q;
  if (cb == NULL)
    return BYOCA_E_INVAL;
  int rc = start(r, host, types, 2, &q);
  if (rc != 0)
    return rc;
  q->acb = cb;
  q->arg = arg;
  if (out != NULL)
    *out = q;
  return 0;
}

int byoca_resolve_host(struct byoca_resolver *r, const char *host,
                       byoca_addrs_cb cb, void *arg) {
  return net_resolve_host_start(r, host, cb, arg, NULL);
}

/* The public handle of a raw lookup is the query itself: callers only
 * hand it back to byoca_dns_cancel. */
int byoca_resolve_start(struct byoca_resolver *r, const char *name, int rrtype,
                        byoca_dns_cb cb, void *arg,
                        struct byoca_dns_query **out) {
  struct net_dnsq *q;
  if (cb == NULL || rrtype <= 0 || rrtype > 65535)
    return BYOCA_E_INVAL;
  int rc = start(r, name, &rrtype, 1, &q);
  if (rc != 0)
    return rc;
  q->dcb = cb;
  q->arg = arg;
  if (out != NULL)
    *out = (struct byoca_dns_query *)q;
  return 0;
}

int byoca_resolve(struct byoca_resolver *r, const char *name, int rrtype,
                  byoca_dns_cb cb, void *arg) {
  return byoca_resolve_start(r, name, rrtype, cb, arg, NULL);
}

void byoca_dns_cancel(struct byoca_dns_query *q) {
  net_dnsq_cancel((struct net_dnsq *)q);
}
