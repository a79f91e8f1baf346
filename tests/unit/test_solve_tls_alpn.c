/* The tls-alpn-01 responder on a real loop and socket: the server names it
 * answers (RFC 8737, RFC 8738), a real OpenSSL client on a thread (so the
 * loop keeps serving), refusals, the cap on open handshakes and their
 * deadline, and a source that answers later (the handshake waits, the
 * loop does not; a client or responder gone first). */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

#include "byoca/net.h"
#include "byoca/solve.h"
#include "solve_int.h"

#define KA                                                                     \
  "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"                                \
  ".nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ"

static void test_sni(void **state) {
  (void)state;
  static const struct {
    const char *type, *ident, *want;
  } ok[] = {
      {"dns", "Example.ORG", "example.org"},
      {"ip", "192.0.2.7", "7.2.0.192.in-addr.arpa"},
      {"ip", "127.0.0.1", "1.0.0.127.in-addr.arpa"},
      /* RFC 8738 §6 / RFC 3596 §2.5 nibble order */
      {"ip", "2001:db8::1",
       "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2."
       "ip6.arpa"},
      {"ip", "::ffff:1.2.3.4",
       "4.0.3.0.2.0.1.0.f.f.f.f.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
       "ip6.arpa"},
  };
  char out[256];
  for (size_t i = 0; i < sizeof(ok) / sizeof(*ok); i++) {
    assert_int_equal(solve_alpn_sni(ok[i].type, ok[i].ident, out, sizeof(out)),
                     0);
    assert_string_equal(out, ok[i].want);
  }
  assert_int_equal(solve_alpn_sni("ip", "example.org", out, sizeof(out)),
                   BYOCA_E_INVAL);
  assert_int_equal(solve_alpn_sni("email", "a@b", out, sizeof(out)),
                   BYOCA_E_INVAL);
  assert_int_equal(solve_alpn_sni("dns", "", out, sizeof(out)), BYOCA_E_INVAL);
  assert_int_equal(solve_alpn_sni(NULL, "x", out, sizeof(out)), BYOCA_E_INVAL);
  /* too small for the answer */
  assert_int_equal(solve_alpn_sni("ip", "2001:db8::1", out, 40), BYOCA_E_INVAL);
  assert_int_equal(solve_alpn_sni("ip", "192.0.2.7", out, 10), BYOCA_E_INVAL);
  assert_int_equal(solve_alpn_sni("dns", "example.org", out, 5), BYOCA_E_INVAL);
}

/* A port nobody listens on right now. */
static int free_port(void) {
  struct sockaddr_in a = {.sin_family = AF_INET};
  socklen_t len = sizeof(a);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&a, &len), 0);
  close(fd);
  return ntohs(a.sin_port);
}

static int tcp_connect(int port) {
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(connect(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  return fd;
}

/* ---- a TLS client on its own thread ---- */

struct client {
  int port;
  const char *sni;
  const char *alpn; /* one protocol, or NULL */
  int timeout_s;    /* the client gives up after (default 10 s) */
  int wake[2];      /* the thread writes a byte to wake[1] when done */
  struct byoca_loop *loop;
  struct byoca_watch *w;
  pthread_t t;
  int done; /* the thread woke the loop */
  /* results */
  int ok; /* the handshake completed */
  X509 *peer;
  char proto[32];
};

static void *client_run(void *arg) {
  struct client *c = arg;
  SSL_CTX *ctx = SSL_CTX_new(TLS_client_method());
  SSL *ssl = SSL_new(ctx);
  int fd = tcp_connect(c->port);
  struct timeval tv = {c->timeout_s > 0 ? c->timeout_s : 10, 0};
  setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
  SSL_set_fd(ssl, fd);
  if (c->sni)
    SSL_set_tlsext_host_name(ssl, c->sni);
  if (c->alpn) {
    unsigned char wire[64];
    size_t n = strlen(c->alpn);
    wire[0] = (unsigned char)n;
    memcpy(wire + 1, c->alpn, n);
    SSL_set_alpn_protos(ssl, wire, (unsigned)n + 1);
  }
  c->ok = SSL_connect(ssl) == 1;
  c->peer = SSL_get1_peer_certificate(ssl);
  const unsigned char *sel = NULL;
  unsigned int sellen = 0;
  SSL_get0_alpn_selected(ssl, &sel, &sellen);
  if (sellen > 0 && sellen < sizeof(c->proto))
    memcpy(c->proto, sel, sellen);
  SSL_free(ssl);
  SSL_CTX_free(ctx);
  close(fd);
  (void)!write(c->wake[1], "x", 1);
  return NULL;
}

static void on_wake(int fd, void *arg) {
  struct client *c = arg;
  char b;
  (void)!read(fd, &b, 1);
  c->done = 1;
  byoca_loop_break(c->loop);
}

/* Starts one client handshake on its thread (timeout_s 0: 10 s). */
static void client_start(struct byoca_loop *loop, int port, const char *sni,
                         const char *alpn, int timeout_s, struct client *c) {
  memset(c, 0, sizeof(*c));
  c->port = port;
  c->sni = sni;
  c->alpn = alpn;
  c->timeout_s = timeout_s;
  c->loop = loop;
  assert_int_equal(pipe(c->wake), 0);
  c->w = byoca_watch_read(loop, c->wake[0], on_wake, c);
  assert_non_null(c->w);
  assert_int_equal(pthread_create(&c->t, NULL, client_run, c), 0);
}

/* Serves until the client's thread is done. */
static void client_wait(struct client *c) {
  while (!c->done)
    byoca_loop_run(c->loop);
  assert_int_equal(pthread_join(c->t, NULL), 0);
  byoca_watch_free(c->w);
  close(c->wake[0]);
  close(c->wake[1]);
}

/* Runs one client handshake while the loop serves. */
static void client(struct byoca_loop *loop, int port, const char *sni,
                   const char *alpn, struct client *c) {
  client_start(loop, port, sni, alpn, 0, c);
  client_wait(c);
}

static int has_acme_identifier(X509 *x) {
  ASN1_OBJECT *oid = OBJ_txt2obj("1.3.6.1.5.5.7.1.31", 1);
  int at = X509_get_ext_by_OBJ(x, oid, -1);
  int crit = at >= 0 && X509_EXTENSION_get_critical(X509_get_ext(x, at));
  ASN1_OBJECT_free(oid);
  return crit;
}

static void on_solved(void *arg, const struct byoca_err *err) {
  int *calls = arg;
  assert_null(err);
  (*calls)++;
}

static void count_seen(void *arg) {
  (*(int *)arg)++;
}

static void test_serve(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  struct byoca_err err = {0};
  struct client c;
  int port = free_port(), calls = 0;
  struct byoca_solver *s = byoca_solver_tls_alpn(loop, "127.0.0.1", port, &err);
  assert_non_null(s);
  assert_string_equal(s->name, "tls-alpn");
  assert_true(byoca_solver_supports(s, "tls-alpn-01"));
  assert_false(byoca_solver_supports(s, "http-01"));
  assert_false(byoca_solver_supports(s, "dns-01"));

  /* nothing set up yet */
  client(loop, port, "live.example", "acme-tls/1", &c);
  assert_false(c.ok);
  assert_null(c.peer);

  struct byoca_challenge dns = {.type = "tls-alpn-01",
                                .ident_type = "dns",
                                .identifier = "Live.Example",
                                .token = "t",
                                .key_authz = KA};
  struct byoca_challenge ip = {.type = "tls-alpn-01",
                               .ident_type = "ip",
                               .identifier = "127.0.0.1",
                               .token = "t",
                               .key_authz = KA};
  assert_int_equal(s->ops->setup(s->ctx, &dns, on_solved, &calls, &err), 0);
  assert_int_equal(s->ops->setup(s->ctx, &ip, on_solved, &calls, &err), 0);
  assert_int_equal(calls, 2);
  /* the watcher of a name hears of acme-tls/1 handshakes for it only */
  int seen = 0;
  s->ops->watch(s->ctx, &dns, count_seen, &seen);

  client(loop, port, "live.example", "acme-tls/1", &c);
  assert_true(c.ok);
  assert_string_equal(c.proto, "acme-tls/1");
  assert_non_null(c.peer);
  assert_true(has_acme_identifier(c.peer));
  assert_int_equal(X509_check_host(c.peer, "live.example", 0, 0, NULL), 1);
  X509_free(c.peer);

  client(loop, port, "1.0.0.127.in-addr.arpa", "acme-tls/1", &c);
  assert_true(c.ok);
  assert_non_null(c.peer);
  assert_true(has_acme_identifier(c.peer));
  assert_int_equal(X509_check_ip_asc(c.peer, "127.0.0.1", 0), 1);
  X509_free(c.peer);

  /* the IP itself as SNI is not what RFC 8738 asks for */
  client(loop, port, "127.0.0.1", "acme-tls/1", &c);
  assert_false(c.ok);
  assert_null(c.peer);
  /* other protocols, or none, get no certificate */
  client(loop, port, "live.example", "h2", &c);
  assert_false(c.ok);
  assert_null(c.peer);
  client(loop, port, "live.example", NULL, &c);
  assert_false(c.ok);
  assert_null(c.peer);
  assert_int_equal(seen, 1);
  s->ops->watch(s->ctx, &dns, NULL, &seen);

  /* two setups of one name need two cleanups */
  assert_int_equal(s->ops->setup(s->ctx, &dns, on_solved, &calls, &err), 0);
  assert_int_equal(s->ops->cleanup(s->ctx, &dns, on_solved, &calls, &err), 0);
  client(loop, port, "live.example", "acme-tls/1", &c);
  assert_true(c.ok);
  X509_free(c.peer);
  assert_int_equal(s->ops->cleanup(s->ctx, &dns, on_solved, &calls, &err), 0);
  client(loop, port, "live.example", "acme-tls/1", &c);
  assert_false(c.ok);
  assert_null(c.peer);
  /* cleanup of something never set up is harmless */
  assert_int_equal(s->ops->cleanup(s->ctx, &dns, on_solved, &calls, &err), 0);
  assert_int_equal(calls, 6);

  /* a bad identifier is refused at setup */
  struct byoca_challenge bad = ip;
  bad.identifier = "not-an-ip";
  assert_int_equal(s->ops->setup(s->ctx, &bad, on_solved, &calls, &err),
                   BYOCA_E_INVAL);
  byoca_err_clear(&err);

  /* freed with the IP still set up: frees it */
  byoca_solver_free(s);
  /* the port is free again */
  s = byoca_solver_tls_alpn(loop, "127.0.0.1", port, &err);
  assert_non_null(s);
  byoca_solver_free(s);
  byoca_loop_free(loop);
}

/* ---- the cap on open handshakes, and their deadline ---- */

#define NSOCK 70
#define CAP 64

struct watch_socks {
  struct byoca_loop *loop;
  int fd[NSOCK];
  int closed[NSOCK];
  int want_closed; /* break once this many are closed */
  struct byoca_timer *t;
};

static int count_closed(struct watch_socks *w) {
  int n = 0;
  for (int i = 0; i < NSOCK; i++) {
    if (!w->closed[i]) {
      char b;
      ssize_t r = recv(w->fd[i], &b, 1, MSG_DONTWAIT);
      if (r == 0 || (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK))
        w->closed[i] = 1;
    }
    n += w->closed[i];
  }
  return n;
}

static void poll_socks(void *arg) {
  struct watch_socks *w = arg;
  w->t = NULL;
  if (count_closed(w) >= w->want_closed) {
    byoca_loop_break(w->loop);
    return;
  }
  w->t = byoca_timer_add(w->loop, 50, poll_socks, w);
}

static void on_guard(void *arg) {
  int *fired = arg;
  *fired = 1;
}

/* Serves until want sockets are closed by the responder (or a generous
 * guard passes, which fails the test). */
static void wait_closed(struct watch_socks *w, int want) {
  int fired = 0;
  struct byoca_timer *guard = byoca_timer_add(w->loop, 60000, on_guard, &fired);
  w->want_closed = want;
  w->t = byoca_timer_add(w->loop, 10, poll_socks, w);
  while (count_closed(w) < want && !fired)
    byoca_loop_run(w->loop);
  if (w->t)
    byoca_timer_cancel(w->t);
  w->t = NULL;
  if (!fired)
    byoca_timer_cancel(guard);
  assert_false(fired);
}

static void test_bounds(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  struct byoca_err err = {0};
  struct watch_socks w = {.loop = loop};
  struct client c;
  int port = free_port(), calls = 0;
  struct byoca_solver *s = byoca_solver_tls_alpn(loop, "127.0.0.1", port, &err);
  assert_non_null(s);
  struct byoca_challenge ch = {.type = "tls-alpn-01",
                               .ident_type = "dns",
                               .identifier = "bound.example",
                               .key_authz = KA};
  assert_int_equal(s->ops->setup(s->ctx, &ch, on_solved, &calls, &err), 0);

  /* NSOCK silent connections: CAP are held, the rest closed on accept */
  for (int i = 0; i < NSOCK; i++)
    w.fd[i] = tcp_connect(port);
  wait_closed(&w, NSOCK - CAP);
  assert_int_equal(count_closed(&w), NSOCK - CAP);

  /* then every held one ends at its handshake deadline */
  wait_closed(&w, NSOCK);
  for (int i = 0; i < NSOCK; i++)
    close(w.fd[i]);

  /* and the responder answers again */
  client(loop, port, "bound.example", "acme-tls/1", &c);
  assert_true(c.ok);
  assert_non_null(c.peer);
  X509_free(c.peer);
  byoca_solver_free(s);
  byoca_loop_free(loop);
}

/* Source mode: a fake source holding one key authorization per name. */
struct source {
  const char *sni[3];
  const char *ka;
  int calls;
};

static int from_source(void *arg, const char *sni, char *out, size_t outlen) {
  struct source *src = arg;
  src->calls++;
  for (size_t i = 0; i < 3; i++)
    if (src->sni[i] != NULL && strcmp(src->sni[i], sni) == 0) {
      snprintf(out, outlen, "%s", src->ka);
      return 0;
    }
  return BYOCA_E_NOTFOUND;
}

static void test_source(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  struct byoca_err err = {0};
  struct client c;
  struct source src = {{"live.example", "1.0.0.127.in-addr.arpa",
                        "1.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0."
                        "0.0.0.0.0.0.0.ip6.arpa"},
                       KA,
                       0};
  int port = free_port();
  assert_null(
      byoca_solver_tls_alpn_source(loop, "127.0.0.1", port, NULL, NULL, &err));
  byoca_err_clear(&err);
  struct byoca_solver *s = byoca_solver_tls_alpn_source(
      loop, "127.0.0.1", port, from_source, &src, &err);
  assert_non_null(s);
  /* it sets nothing up: the source's writer does */
  assert_false(byoca_solver_supports(s, "tls-alpn-01"));

  client(loop, port, "live.example", "acme-tls/1", &c);
  assert_true(c.ok);
  assert_string_equal(c.proto, "acme-tls/1");
  assert_true(has_acme_identifier(c.peer));
  assert_int_equal(X509_check_host(c.peer, "live.example", 0, 0, NULL), 1);
  X509_free(c.peer);
  client(loop, port, "1.0.0.127.in-addr.arpa", "acme-tls/1", &c);
  assert_true(c.ok);
  assert_int_equal(X509_check_ip_asc(c.peer, "127.0.0.1", 0), 1);
  X509_free(c.peer);
  client(loop, port, src.sni[2], "acme-tls/1", &c);
  assert_true(c.ok);
  assert_int_equal(X509_check_ip_asc(c.peer, "::1", 0), 1);
  X509_free(c.peer);
  int calls = src.calls;
  /* the source is asked at every acme-tls/1 handshake, never otherwise */
  client(loop, port, "live.example", "h2", &c);
  assert_false(c.ok);
  assert_null(c.peer);
  assert_int_equal(src.calls, calls);
  /* what the source no longer holds is not answered, cache or not */
  src.sni[0] = NULL;
  client(loop, port, "live.example", "acme-tls/1", &c);
  assert_false(c.ok);
  assert_null(c.peer);
  assert_int_equal(src.calls, calls + 1);
  /* reverse names that do not map back are refused before the source */
  client(loop, port, "01.0.0.127.in-addr.arpa", "acme-tls/1", &c);
  assert_false(c.ok);
  client(loop, port, "256.0.0.127.in-addr.arpa", "acme-tls/1", &c);
  assert_false(c.ok);
  assert_int_equal(src.calls, calls + 1);
  byoca_solver_free(s);
  byoca_loop_free(loop);
}

/* ---- an async source ---- */

/* "now.example" is answered at once, "inside.example" from inside the
 * call (after saying later), "later.example" (KA) and "none.example"
 * (nothing) later: from a timer after delay_ms, or, with hold, when the
 * test answers the kept query. */
struct asource {
  struct byoca_loop *loop;
  int delay_ms;
  int hold;
  struct byoca_alpn_query *held[4];
  size_t nheld;
  int calls;
};

struct pending {
  struct byoca_alpn_query *q;
  int found;
};

static void answer_later(void *arg) {
  struct pending *p = arg;
  byoca_alpn_query_answer(p->q, p->found ? 0 : BYOCA_E_NOTFOUND,
                          p->found ? KA : NULL);
  free(p);
}

static int from_async(void *arg, const char *sni, struct byoca_alpn_query *q,
                      char *out, size_t outlen) {
  struct asource *src = arg;
  src->calls++;
  if (strcmp(sni, "now.example") == 0) {
    snprintf(out, outlen, "%s", KA);
    return 0;
  }
  if (strcmp(sni, "inside.example") == 0) {
    byoca_alpn_query_answer(q, 0, KA);
    return BYOCA_ALPN_LATER;
  }
  if (strcmp(sni, "later.example") != 0 && strcmp(sni, "none.example") != 0)
    return BYOCA_E_NOTFOUND;
  if (src->hold) {
    assert_true(src->nheld < 4);
    src->held[src->nheld++] = q;
    return BYOCA_ALPN_LATER;
  }
  struct pending *p = calloc(1, sizeof(*p));
  assert_non_null(p);
  p->q = q;
  p->found = strcmp(sni, "later.example") == 0;
  assert_non_null(byoca_timer_add(src->loop, src->delay_ms, answer_later, p));
  return BYOCA_ALPN_LATER;
}

struct tick {
  struct byoca_loop *loop;
  int fired;
};

static void on_tick(void *arg) {
  struct tick *t = arg;
  t->fired = 1;
  byoca_loop_break(t->loop);
}

/* Serves for ms. */
static void serve_for(struct byoca_loop *loop, int ms) {
  struct tick t = {loop, 0};
  assert_non_null(byoca_timer_add(loop, ms, on_tick, &t));
  while (!t.fired)
    byoca_loop_run(loop);
}

/* Serves until the source holds n queries (or 5 s pass: a failure). */
static void serve_until_held(struct asource *src, size_t n) {
  for (int i = 0; i < 500 && src->nheld < n; i++)
    serve_for(src->loop, 10);
  assert_int_equal(src->nheld, n);
}

static void check_later_cert(const struct client *c) {
  assert_true(c->ok);
  assert_string_equal(c->proto, "acme-tls/1");
  assert_non_null(c->peer);
  assert_true(has_acme_identifier(c->peer));
  assert_int_equal(X509_check_host(c->peer, "later.example", 0, 0, NULL), 1);
}

static void test_source_async(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  struct byoca_err err = {0};
  struct client a, b;
  struct asource src = {.loop = loop, .delay_ms = 200};
  int port = free_port();
  assert_null(
      byoca_solver_tls_alpn_async(loop, "127.0.0.1", port, NULL, NULL, &err));
  byoca_err_clear(&err);
  struct byoca_solver *s = byoca_solver_tls_alpn_async(loop, "127.0.0.1", port,
                                                       from_async, &src, &err);
  assert_non_null(s);
  assert_false(byoca_solver_supports(s, "tls-alpn-01"));

  /* answered later from a timer: the right certificate */
  client(loop, port, "later.example", "acme-tls/1", &a);
  check_later_cert(&a);
  X509_free(a.peer);
  /* at once, and from inside the call */
  client(loop, port, "now.example", "acme-tls/1", &a);
  assert_true(a.ok);
  assert_int_equal(X509_check_host(a.peer, "now.example", 0, 0, NULL), 1);
  X509_free(a.peer);
  client(loop, port, "inside.example", "acme-tls/1", &a);
  assert_true(a.ok);
  assert_int_equal(X509_check_host(a.peer, "inside.example", 0, 0, NULL), 1);
  X509_free(a.peer);
  /* nothing, later: refused without a certificate */
  client(loop, port, "none.example", "acme-tls/1", &a);
  assert_false(a.ok);
  assert_null(a.peer);
  /* not acme-tls/1: refused before the source is asked */
  int calls = src.calls;
  client(loop, port, "later.example", "h2", &a);
  assert_false(a.ok);
  assert_int_equal(src.calls, calls);

  /* while one handshake waits for its answer, others are served */
  src.hold = 1;
  client_start(loop, port, "later.example", "acme-tls/1", 0, &a);
  serve_until_held(&src, 1);
  client(loop, port, "now.example", "acme-tls/1", &b);
  assert_true(b.ok);
  X509_free(b.peer);
  assert_false(a.done);
  byoca_alpn_query_answer(src.held[0], 0, KA);
  client_wait(&a);
  check_later_cert(&a);
  X509_free(a.peer);

  /* a client that gives up while its answer is pending: the connection
   * goes, the late answer only frees the query */
  client_start(loop, port, "later.example", "acme-tls/1", 1, &a);
  serve_until_held(&src, 2);
  client_wait(&a);
  assert_false(a.ok);
  serve_for(loop, 100); /* the responder sees the peer leave */
  byoca_alpn_query_answer(src.held[1], 0, KA);
  serve_for(loop, 50);

  /* the responder freed while an answer is pending: the same */
  client_start(loop, port, "later.example", "acme-tls/1", 0, &a);
  serve_until_held(&src, 3);
  byoca_solver_free(s);
  client_wait(&a);
  assert_false(a.ok);
  assert_null(a.peer);
  byoca_alpn_query_answer(src.held[2], BYOCA_E_CANCELLED, NULL);
  byoca_alpn_query_answer(NULL, 0, KA); /* harmless */
  byoca_loop_free(loop);
}

static void test_listen_errors(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  struct byoca_err err = {0};
  assert_null(byoca_solver_tls_alpn(loop, "example.org", 443, &err));
  assert_non_null(strstr(err.msg, "need an IP address"));
  byoca_err_clear(&err);
  assert_null(byoca_solver_tls_alpn(loop, "127.0.0.1", 70000, &err));
  byoca_err_clear(&err);
  /* a port taken by someone else is reported at once */
  int port = free_port();
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(fd, 1), 0);
  assert_null(byoca_solver_tls_alpn(loop, "127.0.0.1", port, &err));
  assert_int_equal(err.code, BYOCA_E_NET);
  assert_non_null(strstr(err.msg, "for tls-alpn-01"));
  byoca_err_clear(&err);
  close(fd);
  byoca_loop_free(loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_sni),          cmocka_unit_test(test_serve),
      cmocka_unit_test(test_bounds),       cmocka_unit_test(test_source),
      cmocka_unit_test(test_source_async), cmocka_unit_test(test_listen_errors),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
