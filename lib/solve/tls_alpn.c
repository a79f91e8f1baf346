/* tls-alpn-01 built-in responder (RFC 8737): a TLS listener on the loop
 * that answers a ClientHello offering "acme-tls/1" for a name currently set
 * up with that name's validation certificate, then closes. Everything else
 * is refused with a fatal alert before any certificate is chosen. The TLS
 * work is lib/crypto's (memory buffers); this file moves the bytes.
 *
 * Two modes: the CLI's, where setup and cleanup keep the names in memory,
 * and source mode (byocad), where the key authorization for a ClientHello's
 * server name is asked of a callback (the store) at each handshake and the
 * certificate built from it is cached briefly, keyed by what was answered.
 * An async source may answer later (byocad reads another node's answer
 * off the loop): the handshake pauses in its ClientHello callback, the
 * connection keeps reading only to notice the peer leaving, and the
 * answer (a struct byoca_alpn_query, which outlives the connection)
 * resumes it from a zero timer on the loop.
 *
 * Bounds: at most MAX_CONNS handshakes at once (further connections are
 * closed on accept), each ended after HANDSHAKE_S seconds, reading at most
 * READ_CHUNK bytes at a time and 64 KiB in all (lib/crypto's cap), at most
 * OUT_MAX bytes queued to send (a server flight is a few hundred).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include <event2/event.h>
#include <event2/listener.h>

#include "byoca/crypto.h"
#include "byoca/solve.h"
#include "byoca/util.h"
#include "solve_int.h"

#define MAX_CONNS 64
#define HANDSHAKE_S 10
#define READ_CHUNK 16384
#define OUT_MAX (64 * 1024)
#define SNI_LEN 256
#define PEER_LEN (INET6_ADDRSTRLEN + 8)
#define CACHE_S 30   /* source mode: a built certificate is reused this long */
#define CACHE_MAX 64 /* source mode: at most this many kept */
#define SOURCE_AUTHZ_MAX 1024

struct entry {
  struct entry *next;
  char sni[SNI_LEN];
  struct byoca_alpn_cert *cert;
  unsigned refs;           /* setups not yet cleaned up */
  void (*seen)(void *arg); /* told when the CA asked for it, or NULL */
  void *seen_arg;
  /* source mode: the cache key (what the source answered) and when */
  char *key_authz;
  int64_t built;
};

struct alpn;
struct conn;

/* One question to an async source; freed by whoever sees it last: the
 * connection once the answer is taken, or the answer when the connection
 * is gone. */
struct byoca_alpn_query {
  struct conn *c; /* waiting for the answer; NULL when gone (or not yet) */
  int in_source;  /* the source is being asked: an answer now is kept */
  int answered;
  int rc;
  char *key_authz;
};

struct conn {
  struct conn *prev, *next;
  struct alpn *a;
  int fd;
  struct event *rev, *wev, *deadline;
  struct event *wake;             /* the async source answered: resume */
  struct byoca_alpn_query *query; /* the paused handshake's question */
  struct byoca_alpn_conn *tls;
  struct byoca_buf out; /* to send; out.data + sent is what is left */
  size_t sent;
  int closing; /* last bytes queued: free once they are written */
  char peer[PEER_LEN];
};

struct alpn {
  struct event_base *base;
  struct evconnlistener *listener[2];
  size_t nlistener;
  struct byoca_alpn_server *tls;
  struct entry *entries;
  struct conn *conns;
  size_t nconns;
  byoca_alpn_source_cb source;        /* source mode: rows come from here */
  byoca_alpn_source_async_cb asource; /* or from here (async) */
  void *source_arg;
  size_t ncached;
};

/* ---- server names ---- */

int solve_alpn_sni(const char *ident_type, const char *identifier, char *out,
                   size_t outlen) {
  unsigned char ip[16];
  size_t used = 0;
  int n;
  if (ident_type == NULL || identifier == NULL || outlen == 0)
    return BYOCA_E_INVAL;
  if (strcmp(ident_type, "dns") == 0) {
    size_t len = strlen(identifier);
    if (len == 0 || len >= outlen)
      return BYOCA_E_INVAL;
    for (size_t i = 0; i <= len; i++)
      out[i] = (char)(identifier[i] >= 'A' && identifier[i] <= 'Z'
                          ? identifier[i] - 'A' + 'a'
                          : identifier[i]);
    return 0;
  }
  if (strcmp(ident_type, "ip") != 0)
    return BYOCA_E_INVAL;
  if (inet_pton(AF_INET, identifier, ip) == 1) {
    n = snprintf(out, outlen, "%u.%u.%u.%u.in-addr.arpa", ip[3], ip[2], ip[1],
                 ip[0]);
    return n > 0 && (size_t)n < outlen ? 0 : BYOCA_E_INVAL;
  }
  if (inet_pton(AF_INET6, identifier, ip) != 1)
    return BYOCA_E_INVAL;
  static const char hex[] = "0123456789abcdef";
  for (int i = 15; i >= 0; i--) {
    if (used + 4 >= outlen)
      return BYOCA_E_INVAL;
    out[used++] = hex[ip[i] & 0x0f];
    out[used++] = '.';
    out[used++] = hex[ip[i] >> 4];
    out[used++] = '.';
  }
  n = snprintf(out + used, outlen - used, "ip6.arpa");
  return n > 0 && (size_t)n < outlen - used ? 0 : BYOCA_E_INVAL;
}

static struct entry **find(struct alpn *a, const char *sni) {
  struct entry **e = &a->entries;
  while (*e && strcmp((*e)->sni, sni) != 0)
    e = &(*e)->next;
  return e;
}

/* The identifier a validation server name stands for (the inverse of
 * solve_alpn_sni): an IP for an RFC 8738 reverse name, else the name. */
static int ident_of_sni(const char *sni, const char **type, char *out,
                        size_t outlen) {
  size_t n = strlen(sni);
  static const char v4[] = ".in-addr.arpa", v6[] = ".ip6.arpa";
  unsigned char ip[16];
  if (n > sizeof(v4) - 1 && strcmp(sni + n - (sizeof(v4) - 1), v4) == 0) {
    unsigned o[4];
    char tail[2];
    if (sscanf(sni, "%3u.%3u.%3u.%3u.in-addr.arp%1s", &o[3], &o[2], &o[1],
               &o[0], tail) != 5 ||
        o[0] > 255 || o[1] > 255 || o[2] > 255 || o[3] > 255)
      return BYOCA_E_INVAL;
    snprintf(out, outlen, "%u.%u.%u.%u", o[0], o[1], o[2], o[3]);
    *type = "ip";
  } else if (n == 63 + sizeof(v6) - 1 && strcmp(sni + 63, v6) == 0) {
    for (int i = 0; i < 32; i++) {
      char h = sni[2 * i];
      int v = h >= '0' && h <= '9'   ? h - '0'
              : h >= 'a' && h <= 'f' ? h - 'a' + 10
                                     : -1;
      if (v < 0 || sni[2 * i + 1] != '.')
        return BYOCA_E_INVAL;
      if (i % 2 == 0)
        ip[15 - i / 2] = (unsigned char)v;
      else
        ip[15 - i / 2] |= (unsigned char)(v << 4);
    }
    if (inet_ntop(AF_INET6, ip, out, (socklen_t)outlen) == NULL)
      return BYOCA_E_INVAL;
    *type = "ip";
  } else {
    if (n >= outlen)
      return BYOCA_E_INVAL;
    memcpy(out, sni, n + 1);
    *type = "dns";
  }
  /* only names that map back to themselves (no stray zeros, cases) */
  char again[SNI_LEN];
  if (solve_alpn_sni(*type, out, again, sizeof(again)) != 0 ||
      strcmp(again, sni) != 0)
    return BYOCA_E_INVAL;
  return 0;
}

static void entry_free(struct entry *e) {
  byoca_alpn_cert_free(e->cert);
  free(e->key_authz);
  free(e);
}

/* Drops cached certificates older than CACHE_S, and the oldest when the
 * cache is full. */
static void cache_trim(struct alpn *a, int64_t now) {
  struct entry **pe = &a->entries, **oldest = NULL;
  while (*pe != NULL) {
    struct entry *e = *pe;
    if (e->built + CACHE_S <= now) {
      *pe = e->next;
      entry_free(e);
      a->ncached--;
      continue;
    }
    if (oldest == NULL || e->built < (*oldest)->built)
      oldest = pe;
    pe = &e->next;
  }
  if (a->ncached >= CACHE_MAX && oldest != NULL) {
    struct entry *e = *oldest;
    *oldest = e->next;
    entry_free(e);
    a->ncached--;
  }
}

static void conn_free(struct conn *c);

static void query_free(struct byoca_alpn_query *q) {
  free(q->key_authz);
  free(q);
}

/* The answer q holds into out (q freed): 0, or nonzero for none. */
static int query_take(struct byoca_alpn_query *q, const char *sni, char *out,
                      size_t outlen) {
  int rc = q->rc;
  if (rc == 0 && strlen(q->key_authz) >= outlen) {
    byoca_log(BYOCA_LOG_WARN,
              "tls-alpn-01: the key authorization for %s is too long", sni);
    rc = BYOCA_E_TOOBIG;
  }
  if (rc == 0)
    memcpy(out, q->key_authz, strlen(q->key_authz) + 1);
  query_free(q);
  return rc;
}

void byoca_alpn_query_answer(struct byoca_alpn_query *q, int rc,
                             const char *key_authz) {
  static const struct timeval now = {0, 0};
  if (q == NULL || q->answered)
    return;
  q->answered = 1;
  q->rc = rc;
  if (rc == 0 &&
      (key_authz == NULL || (q->key_authz = strdup(key_authz)) == NULL))
    q->rc = BYOCA_E_NOMEM;
  if (q->in_source) /* taken when the source returns */
    return;
  struct conn *c = q->c;
  if (c == NULL) { /* the connection is gone */
    query_free(q);
    return;
  }
  /* resumed from the loop, never from inside the caller */
  if (event_add(c->wake, &now) != 0) {
    byoca_log(BYOCA_LOG_WARN, "tls-alpn-01: cannot resume %s, closed", c->peer);
    conn_free(c);
  }
}

/* What the source says for sni into out: 0, nonzero for none, or
 * BYOCA_ALPN_LATER with *later set when an async source answers later (c
 * keeps the query until the answer). Once a paused handshake is resumed,
 * that answer. */
static int ask(struct alpn *a, struct conn *c, const char *sni, char *out,
               size_t outlen, int *later) {
  struct byoca_alpn_query *q = c->query;
  if (q != NULL) {
    if (!q->answered) { /* not resumed by the answer: still waiting */
      *later = 1;
      return BYOCA_ALPN_LATER;
    }
    c->query = NULL;
    return query_take(q, sni, out, outlen);
  }
  if (a->source != NULL)
    return a->source(a->source_arg, sni, out, outlen);
  if ((q = calloc(1, sizeof(*q))) == NULL)
    return BYOCA_E_NOMEM;
  q->in_source = 1;
  int rc = a->asource(a->source_arg, sni, q, out, outlen);
  q->in_source = 0;
  if (rc != BYOCA_ALPN_LATER) {
    query_free(q);
    return rc;
  }
  if (q->answered) /* while being asked */
    return query_take(q, sni, out, outlen);
  byoca_log(BYOCA_LOG_DEBUG, "tls-alpn-01: %s waits for the answer for %s",
            c->peer, sni);
  q->c = c;
  c->query = q;
  *later = 1;
  return BYOCA_ALPN_LATER;
}

/* Source mode: the row the source holds for sni now, its certificate built
 * (or taken from the cache when the same key authorization was built a
 * moment ago); NULL with *later set when the source answers later. */
static const struct byoca_alpn_cert *
lookup_source(struct alpn *a, struct conn *conn, const char *sni, int *later) {
  char ident[SNI_LEN], key_authz[SOURCE_AUTHZ_MAX];
  const char *type = NULL;
  struct byoca_err e = {0};
  if (ident_of_sni(sni, &type, ident, sizeof(ident)) != 0 ||
      ask(a, conn, sni, key_authz, sizeof(key_authz), later) != 0)
    return NULL;
  int64_t now = byoca_now();
  cache_trim(a, now);
  struct entry *c = *find(a, sni);
  if (c != NULL && strcmp(c->key_authz, key_authz) == 0)
    return c->cert;
  struct entry *n = calloc(1, sizeof(*n));
  if (n == NULL || (n->key_authz = strdup(key_authz)) == NULL ||
      byoca_alpn_cert_new(type, ident, key_authz, &n->cert, &e) != 0) {
    if (e.code != 0)
      byoca_log(BYOCA_LOG_WARN, "tls-alpn-01: no certificate for %s: %s", sni,
                e.msg);
    byoca_err_clear(&e);
    if (n != NULL)
      entry_free(n);
    return NULL;
  }
  byoca_strlcpy(n->sni, sni, sizeof(n->sni));
  n->built = now;
  if (c != NULL) { /* a newer challenge for the name: replace */
    struct entry **pc = find(a, sni);
    *pc = c->next;
    entry_free(c);
    a->ncached--;
  }
  n->next = a->entries;
  a->entries = n;
  a->ncached++;
  return n->cert;
}

/* The certificate for an acme-tls/1 ClientHello naming sni: the CA is
 * validating, which the watcher is told. */
static const struct byoca_alpn_cert *lookup(void *arg, void *conn_arg,
                                            const char *sni, int *later) {
  struct alpn *a = arg;
  if (a->source != NULL || a->asource != NULL)
    return lookup_source(a, conn_arg, sni, later);
  struct entry *e = *find(arg, sni);
  if (e != NULL && e->seen != NULL)
    e->seen(e->seen_arg);
  return e ? e->cert : NULL;
}

/* ---- connections ---- */

static void conn_free(struct conn *c) {
  struct alpn *a = c->a;
  if (c->prev)
    c->prev->next = c->next;
  else
    a->conns = c->next;
  if (c->next)
    c->next->prev = c->prev;
  a->nconns--;
  if (c->deadline)
    event_free(c->deadline);
  if (c->rev)
    event_free(c->rev);
  if (c->wev)
    event_free(c->wev);
  if (c->wake)
    event_free(c->wake);
  if (c->query != NULL && c->query->answered)
    query_free(c->query); /* answered, not taken yet */
  else if (c->query != NULL)
    c->query->c = NULL; /* the answer frees it */
  if (c->fd >= 0)
    close(c->fd);
  byoca_alpn_conn_free(c->tls);
  byoca_buf_free(&c->out);
  free(c);
}

/* Sends what is queued; MSG_NOSIGNAL, so a peer that went away is an
 * error here and not a SIGPIPE for the whole process. Frees c when it is
 * done with (returns -1 then). */
static int flush(struct conn *c) {
  while (c->sent < c->out.len) {
    ssize_t n = send(c->fd, c->out.data + c->sent, c->out.len - c->sent,
                     MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      if (event_add(c->wev, NULL) == 0)
        return 0;
      n = -1;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n <= 0) {
      conn_free(c);
      return -1;
    }
    c->sent += (size_t)n;
  }
  byoca_buf_reset(&c->out);
  c->sent = 0;
  event_del(c->wev);
  if (c->closing) {
    conn_free(c);
    return -1;
  }
  return 0;
}

/* After a step of the handshake (r as byoca_alpn_conn_feed returns): logs
 * how it ended, if it did, and sends what it produced. */
static void stepped(struct conn *c, int r, const char *sni,
                    struct byoca_err *e) {
  if (r == BYOCA_ALPN_DONE) {
    byoca_log(BYOCA_LOG_DEBUG, "tls-alpn-01: answered %s for %s", c->peer, sni);
  } else if (r < 0) {
    byoca_log(BYOCA_LOG_DEBUG, "tls-alpn-01: refused %s (server name '%s'): %s",
              c->peer, sni, e->code != 0 ? e->msg : byoca_errcode_str(r));
    byoca_err_clear(e);
  }
  if (r != BYOCA_ALPN_MORE && r != BYOCA_ALPN_PAUSED) {
    /* the last bytes (close_notify or an alert) go out, then it closes */
    c->closing = 1;
    event_del(c->rev);
  }
  flush(c);
}

/* While paused too: what arrives is kept, and a peer that leaves frees
 * the connection (its query then waits for the answer alone). */
static void on_readable(evutil_socket_t fd, short what, void *arg) {
  struct conn *c = arg;
  struct byoca_err e = {0};
  char chunk[READ_CHUNK], sni[SNI_LEN] = "";
  (void)what;
  ssize_t n = recv(fd, chunk, sizeof(chunk), MSG_DONTWAIT);
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return;
  if (n <= 0) { /* the peer closed or failed: the handshake is over */
    conn_free(c);
    return;
  }
  int r = byoca_alpn_conn_feed(c->tls, chunk, (size_t)n, &c->out, sni,
                               sizeof(sni), &e);
  stepped(c, r, sni, &e);
}

/* The async source answered: the paused handshake goes on. */
static void on_wake(evutil_socket_t fd, short what, void *arg) {
  struct conn *c = arg;
  struct byoca_err e = {0};
  char sni[SNI_LEN] = "";
  (void)fd;
  (void)what;
  int r = byoca_alpn_conn_resume(c->tls, &c->out, sni, sizeof(sni), &e);
  stepped(c, r, sni, &e);
}

static void on_writable(evutil_socket_t fd, short what, void *arg) {
  (void)fd;
  (void)what;
  flush(arg);
}

static void on_deadline(evutil_socket_t fd, short what, void *arg) {
  struct conn *c = arg;
  (void)fd;
  (void)what;
  byoca_log(BYOCA_LOG_DEBUG, "tls-alpn-01: %s took over %d s, closed", c->peer,
            HANDSHAKE_S);
  conn_free(c);
}

static void peer_text(const struct sockaddr *sa, char *out, size_t outlen) {
  char ip[INET6_ADDRSTRLEN] = "?";
  int port = 0;
  if (sa->sa_family == AF_INET) {
    const struct sockaddr_in *v4 = (const struct sockaddr_in *)sa;
    inet_ntop(AF_INET, &v4->sin_addr, ip, sizeof(ip));
    port = ntohs(v4->sin_port);
    snprintf(out, outlen, "%s:%d", ip, port);
  } else if (sa->sa_family == AF_INET6) {
    const struct sockaddr_in6 *v6 = (const struct sockaddr_in6 *)sa;
    inet_ntop(AF_INET6, &v6->sin6_addr, ip, sizeof(ip));
    port = ntohs(v6->sin6_port);
    snprintf(out, outlen, "[%s]:%d", ip, port);
  } else {
    snprintf(out, outlen, "?");
  }
}

static void on_accept(struct evconnlistener *l, evutil_socket_t fd,
                      struct sockaddr *sa, int salen, void *arg) {
  struct alpn *a = arg;
  struct timeval tv = {HANDSHAKE_S, 0};
  (void)l;
  (void)salen;
  if (a->nconns >= MAX_CONNS) {
    byoca_log(BYOCA_LOG_DEBUG,
              "tls-alpn-01: %d handshakes open, connection"
              " dropped",
              MAX_CONNS);
    close(fd);
    return;
  }
  struct conn *c = calloc(1, sizeof(*c));
  if (c == NULL) {
    close(fd);
    return;
  }
  c->a = a;
  peer_text(sa, c->peer, sizeof(c->peer));
  c->next = a->conns;
  if (a->conns)
    a->conns->prev = c;
  a->conns = c;
  a->nconns++;
  c->fd = fd;
  byoca_buf_init(&c->out, OUT_MAX);
  c->tls = byoca_alpn_conn_new(a->tls, c);
  c->deadline = evtimer_new(a->base, on_deadline, c);
  c->wake = evtimer_new(a->base, on_wake, c);
  c->rev = event_new(a->base, fd, EV_READ | EV_PERSIST, on_readable, c);
  c->wev = event_new(a->base, fd, EV_WRITE | EV_PERSIST, on_writable, c);
  if (c->tls == NULL || c->deadline == NULL || c->rev == NULL ||
      c->wev == NULL || c->wake == NULL || evtimer_add(c->deadline, &tv) != 0 ||
      event_add(c->rev, NULL) != 0)
    conn_free(c);
}

/* ---- the solver ---- */

static int ta_supports(void *ctx, const char *type) {
  const struct alpn *a = ctx;
  /* in source mode challenges are set up where the source reads them */
  return a->source == NULL && a->asource == NULL &&
         strcmp(type, "tls-alpn-01") == 0;
}

static int ta_setup(void *ctx, const struct byoca_challenge *ch,
                    byoca_solve_cb cb, void *arg, struct byoca_err *err) {
  struct alpn *a = ctx;
  char sni[SNI_LEN];
  struct byoca_alpn_cert *cert = NULL;
  if (solve_alpn_sni(ch->ident_type, ch->identifier, sni, sizeof(sni)) != 0)
    return byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                         "tls-alpn-01 cannot answer for %s identifier"
                         " '%.100s'",
                         ch->ident_type ? ch->ident_type : "an unknown",
                         ch->identifier ? ch->identifier : "");
  int rc = byoca_alpn_cert_new(ch->ident_type, ch->identifier, ch->key_authz,
                               &cert, err);
  if (rc != 0)
    return rc;
  struct entry *e = *find(a, sni);
  if (e) {
    /* the newest challenge for a name wins, as with http-01 */
    byoca_alpn_cert_free(e->cert);
    e->cert = cert;
    e->refs++;
  } else {
    e = calloc(1, sizeof(*e));
    if (e == NULL) {
      byoca_alpn_cert_free(cert);
      return byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL,
                           "out of memory");
    }
    byoca_strlcpy(e->sni, sni, sizeof(e->sni));
    e->cert = cert;
    e->refs = 1;
    e->next = a->entries;
    a->entries = e;
  }
  cb(arg, NULL);
  return 0;
}

static int ta_cleanup(void *ctx, const struct byoca_challenge *ch,
                      byoca_solve_cb cb, void *arg, struct byoca_err *err) {
  struct alpn *a = ctx;
  char sni[SNI_LEN];
  (void)err;
  if (solve_alpn_sni(ch->ident_type, ch->identifier, sni, sizeof(sni)) == 0) {
    struct entry **pe = find(a, sni);
    struct entry *e = *pe;
    if (e && --e->refs == 0) {
      *pe = e->next;
      byoca_alpn_cert_free(e->cert);
      free(e);
    }
  }
  cb(arg, NULL);
  return 0;
}

static void ta_watch(void *ctx, const struct byoca_challenge *ch,
                     void (*seen)(void *arg), void *arg) {
  char sni[SNI_LEN];
  if (solve_alpn_sni(ch->ident_type, ch->identifier, sni, sizeof(sni)) != 0)
    return;
  struct entry *e = *find(ctx, sni);
  if (e == NULL || (seen == NULL && e->seen_arg != arg))
    return; /* gone, or watched by a newer setup of the same name */
  e->seen = seen;
  e->seen_arg = seen != NULL ? arg : NULL;
}

static void ta_free(void *ctx) {
  struct alpn *a = ctx;
  if (!a)
    return;
  while (a->conns)
    conn_free(a->conns);
  for (size_t i = 0; i < a->nlistener; i++)
    evconnlistener_free(a->listener[i]);
  while (a->entries) {
    struct entry *e = a->entries;
    a->entries = e->next;
    entry_free(e);
  }
  byoca_alpn_server_free(a->tls);
  free(a);
}

static const struct byoca_solver_ops tls_alpn_ops = {
    .supports = ta_supports,
    .setup = ta_setup,
    .cleanup = ta_cleanup,
    .watch = ta_watch,
    .free = ta_free,
};

/* Returns 0 or an errno. */
static int listen_on(struct alpn *a, const struct sockaddr *addr,
                     socklen_t alen) {
  int fd = solve_listen_fd(addr, alen);
  if (fd < 0)
    return -fd;
  struct evconnlistener *l = evconnlistener_new(
      a->base, on_accept, a,
      LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC | LEV_OPT_REUSEABLE, 0, fd);
  if (!l) {
    close(fd);
    return ENOMEM;
  }
  a->listener[a->nlistener++] = l;
  return 0;
}

/* Also [::] when no address was given; a host without IPv6 is fine. */
static void listen_v6_any(struct alpn *a, int port) {
  struct sockaddr_storage ss;
  socklen_t len;
  if (solve_addr_parse("::", port, &ss, &len) != 0)
    return;
  int e = listen_on(a, (struct sockaddr *)&ss, len);
  if (e && e != EAFNOSUPPORT && e != EADDRNOTAVAIL)
    byoca_log(BYOCA_LOG_WARN, "cannot listen on [::]:%d for tls-alpn-01: %s",
              port, strerror(e));
}

static struct byoca_solver *
responder_new(struct byoca_loop *loop, const char *addr, int port,
              byoca_alpn_source_cb source, byoca_alpn_source_async_cb asource,
              void *source_arg, struct byoca_err *err) {
  struct sockaddr_storage ss;
  socklen_t len;
  const char *shown = addr ? addr : "0.0.0.0";
  if (port == 0)
    port = 443;
  if (!loop || port < 0 || port > 65535) {
    byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                  "invalid tls-alpn-01 listen port %d", port);
    return NULL;
  }
  if (solve_addr_parse(shown, port, &ss, &len) != 0) {
    byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INPUT,
                  "invalid tls-alpn-01 listen address %.100s (need an IP"
                  " address)",
                  shown);
    return NULL;
  }
  struct alpn *a = calloc(1, sizeof(*a));
  if (!a) {
    byoca_err_set(err, BYOCA_E_NOMEM, BYOCA_CLASS_INTERNAL, "out of memory");
    return NULL;
  }
  a->base = byoca_loop_base(loop);
  a->source = source;
  a->asource = asource;
  a->source_arg = source_arg;
  if (byoca_alpn_server_new(lookup, a, &a->tls, err) != 0) {
    ta_free(a);
    return NULL;
  }
  int e = listen_on(a, (struct sockaddr *)&ss, len);
  if (e) {
    int v6 = ss.ss_family == AF_INET6;
    byoca_err_set(err, BYOCA_E_NET, BYOCA_CLASS_INPUT,
                  "cannot listen on %s%s%s:%d for tls-alpn-01: %s",
                  v6 ? "[" : "", shown, v6 ? "]" : "", port, strerror(e));
    byoca_err_native(err, BYOCA_ORIGIN_ERRNO, e);
    ta_free(a);
    return NULL;
  }
  if (!addr)
    listen_v6_any(a, port);
  return solve_new("tls-alpn", &tls_alpn_ops, a, err);
}

struct byoca_solver *byoca_solver_tls_alpn(struct byoca_loop *loop,
                                           const char *addr, int port,
                                           struct byoca_err *err) {
  return responder_new(loop, addr, port, NULL, NULL, NULL, err);
}

struct byoca_solver *byoca_solver_tls_alpn_source(struct byoca_loop *loop,
                                                  const char *addr, int port,
                                                  byoca_alpn_source_cb source,
                                                  void *arg,
                                                  struct byoca_err *err) {
  if (source == NULL) {
    byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                  "a tls-alpn-01 responder needs a source");
    return NULL;
  }
  return responder_new(loop, addr, port, source, NULL, arg, err);
}

struct byoca_solver *
byoca_solver_tls_alpn_async(struct byoca_loop *loop, const char *addr, int port,
                            byoca_alpn_source_async_cb source, void *arg,
                            struct byoca_err *err) {
  if (source == NULL) {
    byoca_err_set(err, BYOCA_E_INVAL, BYOCA_CLASS_INTERNAL,
                  "a tls-alpn-01 responder needs a source");
    return NULL;
  }
  return responder_new(loop, addr, port, NULL, source, arg, err);
}

int byoca_alpn_server_name(const char *ident_type, const char *identifier,
                           char *out, size_t outlen) {
  return solve_alpn_sni(ident_type, identifier, out, outlen);
}
