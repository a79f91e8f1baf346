/* The rfc2136 solver on a real loop against a small authoritative DNS
 * server in a thread (UDP and TCP on one loopback port, zone t.test.,
 * TSIG-checked updates): one exchange (stale answers ignored, truncation
 * -> TCP, timeouts, refusal), setup/cleanup of two records of one name,
 * the propagation timeout that removes the record again, a wrong key, and
 * a solver freed while it works. The real-server test is
 * tests/integration/test_issue_rfc2136.sh (Knot). */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "byoca/net.h"
#include "byoca/solve.h"
#include "rfc2136_int.h"

#define KEY_B64 "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0LTEyMzQ="
#define WRONG_B64 "d3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmctd3Jvbmct"
#define NAME "_acme-challenge.a.t.test."
#define MAXREC 16

struct fake {
  int udp, tcp, stop[2];
  uint16_t port;
  pthread_t th;
  pthread_mutex_t mu;
  char *rec[MAXREC]; /* "name value" of the TXT records */
  size_t nrec;
  int hide;        /* TXT queries see no records */
  int trunc;       /* UDP answers to TXT queries are truncated */
  int stale_first; /* a datagram with a wrong id precedes each answer */
  int updates, tcp_queries;
};

/* ---- the fake server ---- */

static void push(ldns_pkt *p, ldns_pkt_section s, const char *fmt, ...) {
  char line[512];
  va_list ap;
  ldns_rr *rr = NULL;
  va_start(ap, fmt);
  vsnprintf(line, sizeof(line), fmt, ap);
  va_end(ap);
  if (ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL) == LDNS_STATUS_OK)
    ldns_pkt_push_rr(p, s, rr);
}

/* Applies the update RRs of q; caller holds mu. */
static void apply(struct fake *f, const ldns_pkt *q) {
  const ldns_rr_list *up = ldns_pkt_authority(q);
  for (size_t i = 0; i < ldns_rr_list_rr_count(up); i++) {
    const ldns_rr *rr = ldns_rr_list_rr(up, i);
    char *owner = ldns_rdf2str(ldns_rr_owner(rr)), rec[300];
    const ldns_rdf *rd = ldns_rr_rdf(rr, 0);
    snprintf(rec, sizeof(rec), "%s %.*s", owner, (int)ldns_rdf_size(rd) - 1,
             (const char *)ldns_rdf_data(rd) + 1);
    free(owner);
    size_t j = 0;
    while (j < f->nrec && strcmp(f->rec[j], rec) != 0)
      j++;
    if (ldns_rr_get_class(rr) == LDNS_RR_CLASS_IN && j == f->nrec &&
        f->nrec < MAXREC)
      f->rec[f->nrec++] = strdup(rec);
    else if (ldns_rr_get_class(rr) == LDNS_RR_CLASS_NONE && j < f->nrec) {
      free(f->rec[j]);
      f->rec[j] = f->rec[--f->nrec];
    }
  }
}

static void answer_update(struct fake *f, ldns_pkt *q, const uint8_t *w,
                          size_t len, ldns_pkt *r) {
  const ldns_rr *tsig = ldns_pkt_tsig(q);
  if (tsig == NULL ||
      !ldns_pkt_tsig_verify(q, w, len, "acme-key.", KEY_B64, NULL)) {
    ldns_pkt_set_rcode(r, LDNS_RCODE_NOTAUTH);
    return;
  }
  pthread_mutex_lock(&f->mu);
  f->updates++;
  apply(f, q);
  pthread_mutex_unlock(&f->mu);
  ldns_pkt_tsig_sign(r, "acme-key.", KEY_B64, 300, "hmac-sha256.",
                     ldns_rr_rdf(tsig, 3));
}

static void answer_query(struct fake *f, const char *qname, ldns_rr_type t,
                         int tcp, ldns_pkt *r) {
  const char *soa = "t.test. 60 IN SOA ns.t.test. h.t.test. 1 2 3 4 5";
  if (!r2136_in_zone(qname, "t.test.")) {
    ldns_pkt_set_rcode(r, LDNS_RCODE_REFUSED);
    return;
  }
  ldns_pkt_set_aa(r, true);
  if (t == LDNS_RR_TYPE_SOA)
    push(r,
         strcmp(qname, "t.test.") == 0 ? LDNS_SECTION_ANSWER
                                       : LDNS_SECTION_AUTHORITY,
         "%s", soa);
  if (t == LDNS_RR_TYPE_NS && strcmp(qname, "t.test.") == 0) {
    push(r, LDNS_SECTION_ANSWER, "t.test. 60 IN NS ns.t.test.");
    push(r, LDNS_SECTION_ADDITIONAL, "ns.t.test. 60 IN A 127.0.0.1");
  }
  if (t != LDNS_RR_TYPE_TXT)
    return;
  pthread_mutex_lock(&f->mu);
  if (!tcp && f->trunc)
    ldns_pkt_set_tc(r, true);
  for (size_t i = 0; i < f->nrec && !f->hide && (tcp || !f->trunc); i++) {
    size_t n = strlen(qname);
    if (strncmp(f->rec[i], qname, n) == 0 && f->rec[i][n] == ' ')
      push(r, LDNS_SECTION_ANSWER, "%s 60 IN TXT \"%s\"", qname,
           f->rec[i] + n + 1);
  }
  pthread_mutex_unlock(&f->mu);
}

static uint8_t *handle(struct fake *f, const uint8_t *w, size_t len, int tcp,
                       size_t *outlen) {
  ldns_pkt *q = NULL, *r = ldns_pkt_new();
  uint8_t *out = NULL;
  if (ldns_wire2pkt(&q, w, len) != LDNS_STATUS_OK) {
    ldns_pkt_free(r);
    return NULL;
  }
  const ldns_rr *qr = ldns_rr_list_rr(ldns_pkt_question(q), 0);
  ldns_pkt_set_id(r, ldns_pkt_id(q));
  ldns_pkt_set_qr(r, true);
  ldns_pkt_set_opcode(r, ldns_pkt_get_opcode(q));
  ldns_pkt_push_rr(r, LDNS_SECTION_QUESTION, ldns_rr_clone(qr));
  if (ldns_pkt_get_opcode(q) == LDNS_PACKET_UPDATE) {
    answer_update(f, q, w, len, r);
  } else {
    char *qname = ldns_rdf2str(ldns_rr_owner(qr));
    answer_query(f, qname, ldns_rr_get_type(qr), tcp, r);
    free(qname);
  }
  if (ldns_pkt2wire(&out, r, outlen) != LDNS_STATUS_OK)
    out = NULL;
  ldns_pkt_free(q);
  ldns_pkt_free(r);
  return out;
}

static void serve_udp(struct fake *f) {
  uint8_t buf[4096];
  struct sockaddr_storage from;
  socklen_t fl = sizeof(from);
  ssize_t n =
      recvfrom(f->udp, buf, sizeof(buf), 0, (struct sockaddr *)&from, &fl);
  size_t olen = 0;
  uint8_t *out = n >= 12 ? handle(f, buf, (size_t)n, 0, &olen) : NULL;
  if (out == NULL)
    return;
  if (f->stale_first) {
    out[0] ^= 0xff; /* another id: must be ignored */
    (void)sendto(f->udp, out, olen, 0, (struct sockaddr *)&from, fl);
    out[0] ^= 0xff;
  }
  (void)sendto(f->udp, out, olen, 0, (struct sockaddr *)&from, fl);
  free(out);
}

static int read_all(int fd, uint8_t *p, size_t n) {
  while (n > 0) {
    ssize_t r = read(fd, p, n);
    if (r <= 0)
      return -1;
    p += r;
    n -= (size_t)r;
  }
  return 0;
}

static void serve_tcp(struct fake *f) {
  int c = accept(f->tcp, NULL, NULL);
  uint8_t hdr[2], buf[4096];
  if (c < 0)
    return;
  if (read_all(c, hdr, 2) == 0) {
    size_t n = (size_t)((hdr[0] << 8) | hdr[1]), olen = 0;
    uint8_t *out = NULL;
    if (n <= sizeof(buf) && read_all(c, buf, n) == 0)
      out = handle(f, buf, n, 1, &olen);
    if (out != NULL) {
      uint8_t l[2] = {(uint8_t)(olen >> 8), (uint8_t)olen};
      pthread_mutex_lock(&f->mu);
      f->tcp_queries++;
      pthread_mutex_unlock(&f->mu);
      (void)!write(c, l, 2);
      (void)!write(c, out, olen);
    }
    free(out);
  }
  close(c);
}

static void *fake_main(void *arg) {
  struct fake *f = arg;
  for (;;) {
    struct pollfd p[3] = {{.fd = f->udp, .events = POLLIN},
                          {.fd = f->tcp, .events = POLLIN},
                          {.fd = f->stop[0], .events = POLLIN}};
    if (poll(p, 3, -1) < 0 || p[2].revents)
      break;
    if (p[0].revents)
      serve_udp(f);
    if (p[1].revents)
      serve_tcp(f);
  }
  return NULL;
}

/* Binds UDP and TCP on one free loopback port. */
static int fake_bind(struct fake *f) {
  for (int i = 0; i < 20; i++) {
    struct sockaddr_in a = {.sin_family = AF_INET};
    socklen_t al = sizeof(a);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    f->tcp = socket(AF_INET, SOCK_STREAM, 0);
    f->udp = socket(AF_INET, SOCK_DGRAM, 0);
    if (bind(f->tcp, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        getsockname(f->tcp, (struct sockaddr *)&a, &al) == 0 &&
        bind(f->udp, (struct sockaddr *)&a, sizeof(a)) == 0 &&
        listen(f->tcp, 16) == 0) {
      f->port = ntohs(a.sin_port);
      return 0;
    }
    close(f->tcp);
    close(f->udp);
  }
  return -1;
}

static int fake_start(void **state) {
  struct fake *f = calloc(1, sizeof(*f));
  if (f == NULL || fake_bind(f) != 0 || pipe(f->stop) != 0)
    return -1;
  pthread_mutex_init(&f->mu, NULL);
  if (pthread_create(&f->th, NULL, fake_main, f) != 0)
    return -1;
  *state = f;
  return 0;
}

static int fake_stop(void **state) {
  struct fake *f = *state;
  (void)!write(f->stop[1], "x", 1);
  pthread_join(f->th, NULL);
  close(f->udp);
  close(f->tcp);
  close(f->stop[0]);
  close(f->stop[1]);
  for (size_t i = 0; i < f->nrec; i++)
    free(f->rec[i]);
  pthread_mutex_destroy(&f->mu);
  free(f);
  return 0;
}

static size_t nrec(struct fake *f) {
  pthread_mutex_lock(&f->mu);
  size_t n = f->nrec;
  pthread_mutex_unlock(&f->mu);
  return n;
}

static int has(struct fake *f, const char *value) {
  char want[300];
  int found = 0;
  snprintf(want, sizeof(want), "%s %s", NAME, value);
  pthread_mutex_lock(&f->mu);
  for (size_t i = 0; i < f->nrec; i++)
    found |= strcmp(f->rec[i], want) == 0;
  pthread_mutex_unlock(&f->mu);
  return found;
}

/* ---- one exchange ---- */

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void srv_at(struct r2136_srv *s, uint16_t port) {
  char addr[32];
  snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)port);
  assert_int_equal(r2136_srv_parse(addr, s, NULL), 0);
}

/* Asks the fake for NAME's TXT; returns the number of answer records. */
static int ask_txt(struct fake *f, struct byoca_err *e) {
  struct r2136_srv s;
  struct r2136_lim lim = {.timeout_ms = 1000, .tries = 2};
  uint8_t *q = NULL, *a = NULL;
  size_t ql = 0, al = 0;
  ldns_pkt *p = NULL;
  srv_at(&s, f->port);
  assert_int_equal(
      r2136_query_wire(NAME, LDNS_RR_TYPE_TXT, 0, 4242, &q, &ql, NULL), 0);
  int rc = r2136_exchange(&s, q, ql, 0, &lim, &a, &al, e);
  free(q);
  if (rc != 0)
    return -1;
  assert_int_equal(r2136_parse(a, al, 4242, &s, &p, NULL), 0);
  int n = (int)ldns_pkt_ancount(p);
  ldns_pkt_free(p);
  free(a);
  return n;
}

static void test_exchange(void **state) {
  struct fake *f = *state;
  struct byoca_err e = {0};
  f->rec[f->nrec++] = strdup(NAME " abc");
  f->stale_first = 1;
  assert_int_equal(ask_txt(f, &e), 1); /* the stale datagram was skipped */
  f->stale_first = 0;
  f->trunc = 1;
  assert_int_equal(ask_txt(f, &e), 1); /* truncated: asked again over TCP */
  assert_int_equal(f->tcp_queries, 1);
}

static void test_exchange_fails(void **state) {
  (void)state;
  struct r2136_lim lim = {.timeout_ms = 150, .tries = 2};
  struct byoca_err e = {0};
  struct r2136_srv s;
  uint8_t q[12] = {0x12, 0x34}, *a = NULL;
  size_t al = 0;
  /* a socket that never answers: timeout after tries x timeout */
  int mute = socket(AF_INET, SOCK_DGRAM, 0);
  struct sockaddr_in sa = {.sin_family = AF_INET};
  socklen_t sl = sizeof(sa);
  sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  assert_int_equal(bind(mute, (struct sockaddr *)&sa, sizeof(sa)), 0);
  assert_int_equal(getsockname(mute, (struct sockaddr *)&sa, &sl), 0);
  srv_at(&s, ntohs(sa.sin_port));
  int64_t t0 = now_ms();
  assert_int_equal(r2136_exchange(&s, q, sizeof(q), 0, &lim, &a, &al, &e),
                   BYOCA_E_TIMEOUT);
  int64_t took = now_ms() - t0;
  assert_true(took >= 280 && took < 2000);
  assert_int_equal(e.cls, BYOCA_CLASS_RETRYABLE);
  assert_non_null(strstr(e.msg, "no answer from DNS server 127.0.0.1:"));
  /* closed port: refused */
  close(mute);
  byoca_err_clear(&e);
  assert_int_equal(r2136_exchange(&s, q, sizeof(q), 1, &lim, &a, &al, &e),
                   BYOCA_E_NET);
  assert_non_null(strstr(e.msg, "cannot reach DNS server"));
  assert_null(a);
}

/* ---- the solver ---- */

struct result {
  struct byoca_loop *loop;
  int calls;
  struct byoca_err err;
};

static void done(void *arg, const struct byoca_err *err) {
  struct result *r = arg;
  r->calls++;
  byoca_err_clear(&r->err);
  if (err != NULL)
    assert_int_equal(byoca_err_copy(&r->err, err), 0);
  byoca_loop_break(r->loop);
}

static void run_until(struct result *r, int calls) {
  while (r->calls < calls)
    assert_int_not_equal(byoca_loop_run(r->loop), -1);
}

static struct byoca_solver *solver(struct byoca_loop *loop, struct fake *f,
                                   const char *secret, int64_t wait_ms) {
  char addr[32];
  struct byoca_secret sec = {.data = (unsigned char *)secret,
                             .len = strlen(secret)};
  snprintf(addr, sizeof(addr), "127.0.0.1:%u", (unsigned)f->port);
  struct byoca_rfc2136_opts o = {.server = addr,
                                 .tsig_name = "acme-key",
                                 .secret = &sec,
                                 .propagation_timeout_ms = wait_ms,
                                 .propagation_interval_ms = 50,
                                 .query_timeout_ms = 500};
  struct byoca_solver *s = byoca_solver_rfc2136(loop, &o, NULL);
  assert_non_null(s);
  return s;
}

static struct byoca_challenge chall(const char *value, int wildcard) {
  struct byoca_challenge ch = {.type = "dns-01",
                               .ident_type = "dns",
                               .identifier = "a.t.test",
                               .wildcard = wildcard,
                               .dns_value = value,
                               .record_name = "_acme-challenge.a.t.test"};
  return ch;
}

static void test_setup_cleanup(void **state) {
  struct fake *f = *state;
  struct result r = {.loop = byoca_loop_new()};
  struct byoca_solver *s = solver(r.loop, f, KEY_B64, 5000);
  struct byoca_challenge a = chall("value-one", 0), b = chall("value-two", 1);
  f->trunc = 1; /* propagation checks fall back to TCP */
  assert_int_equal(s->ops->setup(s->ctx, &a, done, &r, NULL), 0);
  assert_int_equal(s->ops->setup(s->ctx, &b, done, &r, NULL), 0);
  run_until(&r, 2);
  assert_int_equal(r.err.code, 0);
  assert_true(has(f, "value-one") && has(f, "value-two"));
  assert_true(f->tcp_queries >= 4); /* 2 updates + 2 TXT checks at least */
  assert_int_equal(s->ops->cleanup(s->ctx, &a, done, &r, NULL), 0);
  run_until(&r, 3);
  assert_int_equal(r.err.code, 0);
  assert_false(has(f, "value-one"));
  assert_true(has(f, "value-two")); /* the other record of the name stays */
  assert_int_equal(s->ops->cleanup(s->ctx, &b, done, &r, NULL), 0);
  run_until(&r, 4);
  assert_int_equal(nrec(f), 0);
  assert_int_equal(f->updates, 4);
  /* not a dns-01 challenge, or a value that cannot be a TXT value */
  struct byoca_challenge bad = chall("value", 0);
  bad.type = "http-01";
  assert_int_not_equal(s->ops->setup(s->ctx, &bad, done, &r, NULL), 0);
  bad = chall("a value\"", 0);
  assert_int_not_equal(s->ops->setup(s->ctx, &bad, done, &r, NULL), 0);
  assert_int_equal(r.calls, 4);
  byoca_solver_free(s);
  byoca_loop_free(r.loop);
}

static void test_propagation_timeout(void **state) {
  struct fake *f = *state;
  struct result r = {.loop = byoca_loop_new()};
  struct byoca_solver *s = solver(r.loop, f, KEY_B64, 300);
  struct byoca_challenge a = chall("value-one", 0);
  f->hide = 1; /* the name server never shows the record */
  assert_int_equal(s->ops->setup(s->ctx, &a, done, &r, NULL), 0);
  run_until(&r, 1);
  assert_int_equal(r.err.code, BYOCA_E_TIMEOUT);
  assert_non_null(strstr(r.err.msg, NAME " TXT not served by every name"
                                         " server of zone t.test."));
  assert_non_null(strstr(r.err.msg, "ns.t.test. (127.0.0.1:"));
  assert_non_null(strstr(r.err.msg, "answered 0 other TXT records"));
  assert_int_equal(f->updates, 2); /* added, then removed again */
  assert_int_equal(nrec(f), 0);
  byoca_err_clear(&r.err);
  byoca_solver_free(s);
  byoca_loop_free(r.loop);
}

static void test_wrong_key(void **state) {
  struct fake *f = *state;
  struct result r = {.loop = byoca_loop_new()};
  struct byoca_solver *s = solver(r.loop, f, WRONG_B64, 5000);
  struct byoca_challenge a = chall("value-one", 0);
  assert_int_equal(s->ops->setup(s->ctx, &a, done, &r, NULL), 0);
  run_until(&r, 1);
  assert_int_equal(r.err.code, BYOCA_E_DNS);
  assert_int_equal(r.err.cls, BYOCA_CLASS_INPUT);
  assert_non_null(strstr(r.err.msg, "refused the update of zone t.test."
                                    " with key acme-key.: NOTAUTH"));
  assert_null(strstr(r.err.msg, WRONG_B64));
  assert_int_equal(nrec(f), 0);
  byoca_err_clear(&r.err);
  byoca_solver_free(s);
  byoca_loop_free(r.loop);
}

static void test_free_while_running(void **state) {
  struct fake *f = *state;
  struct result r = {.loop = byoca_loop_new()};
  struct byoca_solver *s = solver(r.loop, f, KEY_B64, 5000);
  struct byoca_challenge a = chall("value-one", 0);
  assert_int_equal(s->ops->setup(s->ctx, &a, done, &r, NULL), 0);
  byoca_solver_free(s); /* the operation keeps what it needs */
  run_until(&r, 1);
  assert_int_equal(r.err.code, 0);
  assert_true(has(f, "value-one"));
  byoca_loop_free(r.loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_exchange, fake_start, fake_stop),
      cmocka_unit_test(test_exchange_fails),
      cmocka_unit_test_setup_teardown(test_setup_cleanup, fake_start,
                                      fake_stop),
      cmocka_unit_test_setup_teardown(test_propagation_timeout, fake_start,
                                      fake_stop),
      cmocka_unit_test_setup_teardown(test_wrong_key, fake_start, fake_stop),
      cmocka_unit_test_setup_teardown(test_free_while_running, fake_start,
                                      fake_stop),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
