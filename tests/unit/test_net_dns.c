/* The resolver against a tiny DNS server (libevent's evdns server on
 * 127.0.0.1, same loop), and the untrusted https path end to end: a name
 * resolved by our resolver, every address judged by the policy, curl
 * pinned to the allowed ones, TLS to a server with a throwaway cert. */
#include <arpa/inet.h>
#include <netinet/in.h>
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
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/buffer.h>
#include <event2/dns.h>
#include <event2/dns_struct.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include "byoca/net.h"

struct env {
  struct byoca_loop *loop;
  struct evdns_server_port *dns;
  int dns_fd;
  char forward[64];
  int queries;
  struct byoca_resolver *res;
  /* TLS web server */
  SSL_CTX *ssl;
  struct evhttp *web;
  int web_port;
  int web_requests;
  char ca_file[64];
};

/* ---- DNS server ---- */

static void answer(struct evdns_server_request *req, const char *name,
                   int type) {
  unsigned char v4a[4] = {127, 0, 0, 1}, v4b[4] = {192, 0, 2, 7};
  unsigned char v4pub[4] = {8, 8, 8, 8}, v4priv[4] = {10, 0, 0, 1};
  struct in6_addr v6 = IN6ADDR_LOOPBACK_INIT;
  if (strcmp(name, "a.test") == 0 && type == EVDNS_TYPE_A) {
    evdns_server_request_add_a_reply(req, name, 1, v4a, 60);
    evdns_server_request_add_a_reply(req, name, 1, v4b, 60);
  } else if (strcmp(name, "a.test") == 0 && type == EVDNS_TYPE_AAAA) {
    evdns_server_request_add_aaaa_reply(req, name, 1, &v6, 60);
  } else if (strcmp(name, "v4only.test") == 0 && type == EVDNS_TYPE_A) {
    evdns_server_request_add_a_reply(req, name, 1, v4pub, 60);
  } else if (strcmp(name, "private.test") == 0 && type == EVDNS_TYPE_A) {
    evdns_server_request_add_a_reply(req, name, 1, v4priv, 60);
  } else if (strcmp(name, "txt.test") == 0 && type == EVDNS_TYPE_TXT) {
    evdns_server_request_add_reply(req, EVDNS_ANSWER_SECTION, name,
                                   EVDNS_TYPE_TXT, EVDNS_CLASS_INET, 60, 6, 0,
                                   "\005hello");
  } else if (strcmp(name, "alias.test") == 0) {
    evdns_server_request_add_cname_reply(req, name, "v4only.test", 60);
    if (type == EVDNS_TYPE_A)
      evdns_server_request_add_a_reply(req, "v4only.test", 1, v4pub, 60);
  }
}

static void on_dns(struct evdns_server_request *req, void *arg) {
  struct env *e = arg;
  e->queries++;
  if (req->nquestions != 1) {
    evdns_server_request_respond(req, DNS_ERR_FORMAT);
    return;
  }
  const char *name = req->questions[0]->name;
  int type = req->questions[0]->type;
  evdns_server_request_set_flags(req, EVDNS_FLAGS_AA);
  if (strcmp(name, "slow.test") == 0) {
    evdns_server_request_drop(req);
  } else if (strcmp(name, "fail.test") == 0) {
    evdns_server_request_respond(req, DNS_ERR_SERVERFAILED);
  } else if (strcmp(name, "nx.test") == 0) {
    evdns_server_request_respond(req, DNS_ERR_NOTEXIST);
  } else {
    answer(req, name, type);
    evdns_server_request_respond(req, DNS_ERR_NONE);
  }
}

/* ---- TLS web server with a throwaway self-signed certificate ---- */

static X509 *make_cert(EVP_PKEY *key) {
  X509 *x = X509_new();
  X509_set_version(x, 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
  X509_gmtime_adj(X509_getm_notBefore(x), -3600);
  X509_gmtime_adj(X509_getm_notAfter(x), 3600);
  X509_set_pubkey(x, key);
  X509_NAME *n = X509_get_subject_name(x);
  X509_NAME_add_entry_by_txt(n, "CN", MBSTRING_ASC,
                             (const unsigned char *)"a.test", -1, -1, 0);
  X509_set_issuer_name(x, n);
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, x, x, NULL, NULL, 0);
  X509_EXTENSION *ext =
      X509V3_EXT_conf_nid(NULL, &ctx, NID_subject_alt_name, "DNS:a.test");
  X509_add_ext(x, ext, -1);
  X509_EXTENSION_free(ext);
  X509_sign(x, key, EVP_sha256());
  return x;
}

static struct bufferevent *tls_bev(struct event_base *base, void *arg) {
  struct env *e = arg;
  return bufferevent_openssl_socket_new(base, -1, SSL_new(e->ssl),
                                        BUFFEREVENT_SSL_ACCEPTING,
                                        BEV_OPT_CLOSE_ON_FREE);
}

static void on_web(struct evhttp_request *req, void *arg) {
  struct env *e = arg;
  e->web_requests++;
  struct evbuffer *b = evbuffer_new();
  evbuffer_add_printf(b, "pinned %s", evhttp_request_get_uri(req));
  evhttp_send_reply(req, 200, "OK", b);
  evbuffer_free(b);
}

static void start_web(struct env *e) {
  EVP_PKEY *key = EVP_EC_gen("P-256");
  X509 *cert = make_cert(key);
  snprintf(e->ca_file, sizeof(e->ca_file), "/tmp/byoca-net-ca-XXXXXX");
  int fd = mkstemp(e->ca_file);
  assert_true(fd >= 0);
  FILE *f = fdopen(fd, "w");
  PEM_write_X509(f, cert);
  fclose(f);
  e->ssl = SSL_CTX_new(TLS_server_method());
  assert_int_equal(SSL_CTX_use_certificate(e->ssl, cert), 1);
  assert_int_equal(SSL_CTX_use_PrivateKey(e->ssl, key), 1);
  X509_free(cert);
  EVP_PKEY_free(key);
  e->web = evhttp_new(byoca_loop_base(e->loop));
  evhttp_set_bevcb(e->web, tls_bev, e);
  evhttp_set_gencb(e->web, on_web, e);
  struct evhttp_bound_socket *bs =
      evhttp_bind_socket_with_handle(e->web, "127.0.0.1", 0);
  assert_non_null(bs);
  struct sockaddr_in sin;
  socklen_t sl = sizeof(sin);
  getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &sl);
  e->web_port = ntohs(sin.sin_port);
}

static int setup(void **state) {
  struct env *e = calloc(1, sizeof(*e));
  e->loop = byoca_loop_new();
  e->dns_fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t sl = sizeof(sin);
  assert_int_equal(bind(e->dns_fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  assert_int_equal(getsockname(e->dns_fd, (struct sockaddr *)&sin, &sl), 0);
  e->dns = evdns_add_server_port_with_base(byoca_loop_base(e->loop), e->dns_fd,
                                           0, on_dns, e);
  assert_non_null(e->dns);
  snprintf(e->forward, sizeof(e->forward), "127.0.0.1@%d", ntohs(sin.sin_port));
  struct byoca_resolver_opts o = {.forward = e->forward};
  struct byoca_err err = {0};
  e->res = byoca_resolver_new(e->loop, &o, &err);
  if (e->res == NULL)
    fail_msg("resolver: %s", err.msg);
  start_web(e);
  *state = e;
  return 0;
}

static int teardown(void **state) {
  struct env *e = *state;
  byoca_resolver_free(e->res);
  evhttp_free(e->web);
  SSL_CTX_free(e->ssl);
  unlink(e->ca_file);
  evdns_close_server_port(e->dns);
  close(e->dns_fd);
  byoca_loop_free(e->loop);
  free(e);
  return 0;
}

/* ---- lookups ---- */

struct got {
  struct byoca_loop *loop;
  int done;
  char addrs[8][INET6_ADDRSTRLEN];
  size_t naddr;
  int rcode;
  enum byoca_dnssec dnssec;
  char canon[64];
  unsigned char rdata[64];
  size_t rdlen, nrr;
  struct byoca_err err;
};

static void on_addrs(void *arg, const struct byoca_addrs *a,
                     const struct byoca_err *err) {
  struct got *g = arg;
  g->done++;
  if (err != NULL) {
    assert_null(a);
    assert_int_equal(byoca_err_copy(&g->err, err), 0);
  } else {
    for (size_t i = 0; i < a->n && i < 8; i++) {
      const struct sockaddr *sa = (const struct sockaddr *)&a->addr[i];
      const void *p =
          sa->sa_family == AF_INET
              ? (const void *)&((const struct sockaddr_in *)(const void *)sa)
                    ->sin_addr
              : (const void *)&((const struct sockaddr_in6 *)(const void *)sa)
                    ->sin6_addr;
      inet_ntop(sa->sa_family, p, g->addrs[i], INET6_ADDRSTRLEN);
    }
    g->naddr = a->n;
  }
  byoca_loop_break(g->loop);
}

static void on_answer(void *arg, const struct byoca_dns_answer *ans,
                      const struct byoca_err *err) {
  struct got *g = arg;
  g->done++;
  if (err != NULL) {
    assert_int_equal(byoca_err_copy(&g->err, err), 0);
  } else {
    g->rcode = ans->rcode;
    g->dnssec = ans->dnssec;
    g->nrr = ans->n;
    snprintf(g->canon, sizeof(g->canon), "%s", ans->canonname);
    if (ans->n > 0 && ans->rdlen[0] <= sizeof(g->rdata)) {
      memcpy(g->rdata, ans->rdata[0], ans->rdlen[0]);
      g->rdlen = ans->rdlen[0];
    }
  }
  byoca_loop_break(g->loop);
}

static void watchdog(void *arg) {
  (void)arg;
  fail_msg("lookup did not finish");
}

static void wait_done(struct env *e, struct got *g) {
  struct byoca_timer *wd = byoca_timer_add(e->loop, 10000, watchdog, NULL);
  while (!g->done)
    byoca_loop_run(e->loop);
  byoca_timer_cancel(wd);
}

static void lookup(struct env *e, const char *host, struct got *g) {
  memset(g, 0, sizeof(*g));
  g->loop = e->loop;
  assert_int_equal(byoca_resolve_host(e->res, host, on_addrs, g), 0);
  assert_int_equal(g->done, 0);
  wait_done(e, g);
}

static void test_host(void **state) {
  struct env *e = *state;
  struct got g;
  lookup(e, "a.test", &g);
  assert_int_equal(g.err.code, 0);
  assert_int_equal(g.naddr, 3);
  int v4a = 0, v4b = 0, v6 = 0;
  for (size_t i = 0; i < g.naddr; i++) {
    v4a |= strcmp(g.addrs[i], "127.0.0.1") == 0;
    v4b |= strcmp(g.addrs[i], "192.0.2.7") == 0;
    v6 |= strcmp(g.addrs[i], "::1") == 0;
  }
  assert_true(v4a && v4b && v6);
  lookup(e, "v4only.test", &g);
  assert_int_equal(g.err.code, 0);
  assert_int_equal(g.naddr, 1);
  assert_string_equal(g.addrs[0], "8.8.8.8");
  lookup(e, "alias.test", &g);
  assert_int_equal(g.err.code, 0);
  assert_int_equal(g.naddr, 1);
  assert_string_equal(g.addrs[0], "8.8.8.8");
}

static void test_host_errors(void **state) {
  struct env *e = *state;
  struct got g;
  lookup(e, "nx.test", &g);
  assert_int_equal(g.err.code, BYOCA_E_DNS);
  assert_non_null(strstr(g.err.msg, "no address for nx.test"));
  assert_int_equal(g.err.cls, BYOCA_CLASS_CA);
  byoca_err_clear(&g.err);
  lookup(e, "fail.test", &g);
  assert_int_equal(g.err.code, BYOCA_E_DNS);
  assert_int_equal(g.err.cls, BYOCA_CLASS_RETRYABLE);
  byoca_err_clear(&g.err);
  assert_int_equal(byoca_resolve_host(e->res, "", on_addrs, &g), BYOCA_E_INVAL);
}

static void test_raw(void **state) {
  struct env *e = *state;
  struct got g = {.loop = e->loop};
  assert_int_equal(byoca_resolve(e->res, "txt.test", 16, on_answer, &g), 0);
  wait_done(e, &g);
  assert_int_equal(g.err.code, 0);
  assert_int_equal(g.rcode, 0);
  assert_int_equal(g.dnssec, BYOCA_DNSSEC_UNCHECKED);
  assert_int_equal(g.nrr, 1);
  assert_int_equal(g.rdlen, 6);
  assert_memory_equal(g.rdata, "\005hello", 6);
  assert_non_null(strstr(g.canon, "txt.test"));
  memset(&g, 0, sizeof(g));
  g.loop = e->loop;
  assert_int_equal(byoca_resolve(e->res, "nx.test", 257, on_answer, &g), 0);
  wait_done(e, &g);
  assert_int_equal(g.err.code, 0);
  assert_int_equal(g.rcode, 3);
  assert_int_equal(g.nrr, 0);
  memset(&g, 0, sizeof(g));
  g.loop = e->loop;
  assert_int_equal(byoca_resolve(e->res, "alias.test", 1, on_answer, &g), 0);
  wait_done(e, &g);
  assert_int_equal(g.nrr, 1);
  assert_non_null(strstr(g.canon, "v4only.test"));
}

static void never(void *arg, const struct byoca_addrs *a,
                  const struct byoca_err *err) {
  (void)arg;
  (void)a;
  (void)err;
  fail_msg("callback of a freed resolver ran");
}

static void never_raw(void *arg, const struct byoca_dns_answer *a,
                      const struct byoca_err *err) {
  (void)arg;
  (void)a;
  (void)err;
  fail_msg("callback of a freed resolver ran");
}

static void stop(void *arg) {
  byoca_loop_break(arg);
}

static void test_free_pending(void **state) {
  struct env *e = *state;
  assert_int_equal(byoca_resolve_host(e->res, "slow.test", never, NULL), 0);
  assert_int_equal(byoca_resolve(e->res, "slow.test", 16, never_raw, NULL), 0);
  struct byoca_timer *t = byoca_timer_add(e->loop, 50, stop, e->loop);
  (void)t;
  byoca_loop_run(e->loop);
  byoca_resolver_free(e->res);
  e->res = NULL;
  struct byoca_timer *t2 = byoca_timer_add(e->loop, 50, stop, e->loop);
  (void)t2;
  byoca_loop_run(e->loop);
}

struct killer {
  struct env *e;
  int done;
};

static void free_from_callback(void *arg, const struct byoca_addrs *a,
                               const struct byoca_err *err) {
  struct killer *k = arg;
  (void)err;
  assert_non_null(a);
  k->done = 1;
  byoca_resolver_free(k->e->res); /* inside ub_process, slow.test pending */
  k->e->res = NULL;
  byoca_loop_break(k->e->loop);
}

static void test_free_in_callback(void **state) {
  struct env *e = *state;
  struct killer k = {e, 0};
  assert_int_equal(byoca_resolve_host(e->res, "slow.test", never, NULL), 0);
  assert_int_equal(
      byoca_resolve_host(e->res, "v4only.test", free_from_callback, &k), 0);
  while (!k.done)
    byoca_loop_run(e->loop);
  assert_null(e->res);
  struct byoca_timer *t = byoca_timer_add(e->loop, 50, stop, e->loop);
  (void)t;
  byoca_loop_run(e->loop);
}

static void test_bad_forward(void **state) {
  struct env *e = *state;
  const char *bad[] = {"nonsense", "127.0.0.1@", "127.0.0.1@99999",
                       "dns.example@53", "127.0.0.1@0"};
  for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
    struct byoca_resolver_opts o = {.forward = bad[i]};
    struct byoca_err err = {0};
    assert_null(byoca_resolver_new(e->loop, &o, &err));
    assert_int_equal(err.code, BYOCA_E_INVAL);
    byoca_err_clear(&err);
  }
  byoca_resolver_free(NULL);
}

static void test_dnssec_bogus(void **state) {
  struct env *e = *state;
  /* validating with the real root key against our unsigned fake server:
     the chain of trust cannot be built, so every answer is bogus */
  struct byoca_resolver_opts o = {.forward = e->forward,
                                  .trust_anchor = "/usr/share/dns/root.key"};
  if (access(o.trust_anchor, R_OK) != 0)
    skip();
  struct byoca_err err = {0};
  struct byoca_resolver *v = byoca_resolver_new(e->loop, &o, &err);
  assert_non_null(v);
  struct got g = {.loop = e->loop};
  assert_int_equal(byoca_resolve(v, "txt.test", 16, on_answer, &g), 0);
  wait_done(e, &g);
  assert_int_equal(g.err.code, 0);
  assert_int_equal(g.dnssec, BYOCA_DNSSEC_BOGUS);
  memset(&g, 0, sizeof(g));
  g.loop = e->loop;
  assert_int_equal(byoca_resolve_host(v, "a.test", on_addrs, &g), 0);
  wait_done(e, &g);
  assert_int_equal(g.err.code, BYOCA_E_DNS);
  assert_non_null(strstr(g.err.msg, "DNSSEC validation failed for a.test"));
  byoca_err_clear(&g.err);
  byoca_resolver_free(v);
  o.trust_anchor = "/nonexistent/root.key";
  assert_null(byoca_resolver_new(e->loop, &o, &err));
  assert_int_equal(err.code, BYOCA_E_INVAL);
  byoca_err_clear(&err);
}

/* ---- the untrusted https path ---- */

struct fetch {
  struct byoca_loop *loop;
  int done;
  long status;
  char body[128];
  struct byoca_err err;
};

static void on_fetch(void *arg, const struct byoca_http_resp *resp,
                     const struct byoca_err *err) {
  struct fetch *f = arg;
  f->done++;
  if (err != NULL) {
    assert_int_equal(byoca_err_copy(&f->err, err), 0);
  } else {
    f->status = resp->status;
    snprintf(f->body, sizeof(f->body), "%s", resp->body.data);
  }
  byoca_loop_break(f->loop);
}

static void fetch(struct env *e, struct byoca_netpolicy *pol, const char *host,
                  struct fetch *f) {
  struct byoca_http_opts o = {.ca_bundle = e->ca_file,
                              .policy = pol,
                              .resolver = e->res,
                              .timeout_ms = 5000};
  struct byoca_http *h = byoca_http_new(e->loop, &o, NULL);
  char url[128];
  snprintf(url, sizeof(url), "https://%s:%d/path", host, e->web_port);
  struct byoca_http_req req = {.method = "GET", .url = url};
  memset(f, 0, sizeof(*f));
  f->loop = e->loop;
  assert_int_equal(byoca_http_send(h, &req, on_fetch, f, NULL), 0);
  struct byoca_timer *wd = byoca_timer_add(e->loop, 10000, watchdog, NULL);
  while (!f->done)
    byoca_loop_run(e->loop);
  byoca_timer_cancel(wd);
  byoca_http_free(h);
}

static void test_pinned_https(void **state) {
  struct env *e = *state;
  struct byoca_netpolicy *pol = byoca_netpolicy_new();
  struct fetch f;
  /* a.test has 127.0.0.1, 192.0.2.7 and ::1: all refused by default */
  fetch(e, pol, "a.test", &f);
  assert_int_equal(f.err.code, BYOCA_E_POLICY);
  assert_non_null(strstr(f.err.msg, "a.test has no allowed address"));
  /* the reason names the first refused address (answer order varies) */
  assert_true(strstr(f.err.msg, "127.0.0.1 is loopback") != NULL ||
              strstr(f.err.msg, "::1 is loopback") != NULL ||
              strstr(f.err.msg, "192.0.2.7 is documentation") != NULL);
  byoca_err_clear(&f.err);
  fetch(e, pol, "private.test", &f);
  assert_int_equal(f.err.code, BYOCA_E_POLICY);
  assert_non_null(strstr(f.err.msg, "10.0.0.1 is private"));
  byoca_err_clear(&f.err);
  fetch(e, pol, "nx.test", &f);
  assert_int_equal(f.err.code, BYOCA_E_DNS);
  assert_non_null(strstr(f.err.msg, "no address for nx.test"));
  byoca_err_clear(&f.err);
  assert_int_equal(e->web_requests, 0);
  /* allowing loopback: only 127.0.0.1 is pinned (192.0.2.7 stays refused,
     ::1 has no server), TLS verifies the name a.test */
  assert_int_equal(byoca_netpolicy_allow(pol, "127.0.0.0/8", NULL), 0);
  fetch(e, pol, "a.test", &f);
  if (f.err.code != 0)
    fail_msg("pinned fetch failed: %s", f.err.msg);
  assert_int_equal(f.status, 200);
  assert_string_equal(f.body, "pinned /path");
  assert_int_equal(e->web_requests, 1);
  byoca_netpolicy_free(pol);
}

static void test_dns_deadline(void **state) {
  struct env *e = *state;
  struct byoca_netpolicy *pol = byoca_netpolicy_new();
  struct byoca_http_opts o = {
      .policy = pol, .resolver = e->res, .timeout_ms = 200};
  struct byoca_http *h = byoca_http_new(e->loop, &o, NULL);
  struct byoca_http_req req = {.method = "GET", .url = "https://slow.test/"};
  struct fetch f = {.loop = e->loop};
  assert_int_equal(byoca_http_send(h, &req, on_fetch, &f, NULL), 0);
  while (!f.done)
    byoca_loop_run(e->loop);
  assert_int_equal(f.err.code, BYOCA_E_TIMEOUT);
  assert_non_null(strstr(f.err.msg, "slow.test"));
  byoca_err_clear(&f.err);
  byoca_http_free(h);
  byoca_netpolicy_free(pol);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_host, setup, teardown),
      cmocka_unit_test_setup_teardown(test_host_errors, setup, teardown),
      cmocka_unit_test_setup_teardown(test_raw, setup, teardown),
      cmocka_unit_test_setup_teardown(test_free_pending, setup, teardown),
      cmocka_unit_test_setup_teardown(test_free_in_callback, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_forward, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dnssec_bogus, setup, teardown),
      cmocka_unit_test_setup_teardown(test_pinned_https, setup, teardown),
      cmocka_unit_test_setup_teardown(test_dns_deadline, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
