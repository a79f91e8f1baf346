/* The HTTP client against a small evhttp server on 127.0.0.1 (random port)
 * running on the same loop: methods, headers, size caps, redirects (and
 * their re-check by the policy), transport errors, connection reuse,
 * cancellation, and that untrusted URLs are refused before any connect. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
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
#include <event2/buffer.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "byoca/net.h"

struct env {
  struct byoca_loop *loop;
  struct evhttp *srv;
  int port;
  char base[64];
  struct byoca_netpolicy *policy;
  struct byoca_http *http;
  /* what the server saw */
  int requests, conns;
  struct evhttp_connection *seen[32];
  int nseen;
  char method[8], body[512], ua[128], accept[128], ctype[128], custom[64];
  struct evhttp_request *held;
};

/* ---- the server ---- */

static void on_conn_close(struct evhttp_connection *c, void *arg) {
  struct env *e = arg;
  for (int i = 0; i < e->nseen; i++)
    if (e->seen[i] == c)
      e->seen[i] = e->seen[--e->nseen];
}

static void count_conn(struct env *e, struct evhttp_request *req) {
  struct evhttp_connection *c = evhttp_request_get_connection(req);
  for (int i = 0; i < e->nseen; i++)
    if (e->seen[i] == c)
      return;
  if (e->nseen < 32)
    e->seen[e->nseen++] = c;
  e->conns++;
  evhttp_connection_set_closecb(c, on_conn_close, e);
}

static void copy_hdr(struct evhttp_request *req, const char *name, char *out,
                     size_t len) {
  const char *v =
      evhttp_find_header(evhttp_request_get_input_headers(req), name);
  snprintf(out, len, "%s", v != NULL ? v : "");
}

static void record(struct env *e, struct evhttp_request *req) {
  static const char *names[] = {"GET", "POST", "HEAD"};
  enum evhttp_cmd_type cmd = evhttp_request_get_command(req);
  int idx = cmd == EVHTTP_REQ_POST ? 1 : cmd == EVHTTP_REQ_HEAD ? 2 : 0;
  snprintf(e->method, sizeof(e->method), "%s", names[idx]);
  struct evbuffer *in = evhttp_request_get_input_buffer(req);
  size_t n = evbuffer_get_length(in);
  if (n >= sizeof(e->body))
    n = sizeof(e->body) - 1;
  evbuffer_copyout(in, e->body, n);
  e->body[n] = '\0';
  copy_hdr(req, "User-Agent", e->ua, sizeof(e->ua));
  copy_hdr(req, "Accept", e->accept, sizeof(e->accept));
  copy_hdr(req, "Content-Type", e->ctype, sizeof(e->ctype));
  copy_hdr(req, "X-Custom", e->custom, sizeof(e->custom));
}

static void reply(struct evhttp_request *req, int code, const char *body) {
  struct evbuffer *b = evbuffer_new();
  evbuffer_add(b, body, strlen(body));
  evhttp_send_reply(req, code, code == 200 ? "OK" : "Status", b);
  evbuffer_free(b);
}

static void redirect_to(struct evhttp_request *req, int code, const char *loc) {
  evhttp_add_header(evhttp_request_get_output_headers(req), "Location", loc);
  reply(req, code, "moved");
}

static void big_chunked(struct evhttp_request *req) {
  char chunk[1000];
  memset(chunk, 'c', sizeof(chunk));
  evhttp_send_reply_start(req, 200, "OK");
  for (int i = 0; i < 5; i++) {
    struct evbuffer *b = evbuffer_new();
    evbuffer_add(b, chunk, sizeof(chunk));
    evhttp_send_reply_chunk(req, b);
    evbuffer_free(b);
  }
  evhttp_send_reply_end(req);
}

static void serve(struct evhttp_request *req, void *arg) {
  struct env *e = arg;
  const char *uri = evhttp_request_get_uri(req);
  struct evkeyvalq *out = evhttp_request_get_output_headers(req);
  char loc[128];
  e->requests++;
  count_conn(e, req);
  record(e, req);
  if (strcmp(uri, "/hello") == 0) {
    evhttp_add_header(out, "X-Test", "  yes  ");
    evhttp_add_header(out, "Link", "</up>;rel=\"up\"");
    evhttp_add_header(out, "Link", "<alt/1>;rel=alternate, </idx>;rel=index");
    reply(req, 200, "hello world");
  } else if (strcmp(uri, "/echo") == 0) {
    char txt[600];
    snprintf(txt, sizeof(txt), "%s %s", e->method, e->body);
    reply(req, 200, txt);
  } else if (strcmp(uri, "/big") == 0) {
    char big[5001];
    memset(big, 'b', 5000);
    big[5000] = '\0';
    reply(req, 200, big);
  } else if (strcmp(uri, "/chunked-big") == 0) {
    big_chunked(req);
  } else if (strcmp(uri, "/many-headers") == 0) {
    for (int i = 0; i < 150; i++) {
      char name[32];
      snprintf(name, sizeof(name), "X-H%d", i);
      evhttp_add_header(out, name, "v");
    }
    reply(req, 200, "x");
  } else if (strcmp(uri, "/redir") == 0) {
    redirect_to(req, 302, "/hello");
  } else if (strncmp(uri, "/r30", 4) == 0) {
    redirect_to(req, (int)strtol(uri + 2, NULL, 10), "echo");
  } else if (strcmp(uri, "/loop") == 0) {
    redirect_to(req, 302, "/loop");
  } else if (strcmp(uri, "/to-untrusted") == 0) {
    snprintf(loc, sizeof(loc), "https://127.0.0.2:%d/x", e->port);
    redirect_to(req, 302, loc);
  } else if (strcmp(uri, "/to-http") == 0) {
    snprintf(loc, sizeof(loc), "http://localhost:%d/hello", e->port);
    redirect_to(req, 301, loc);
  } else if (strcmp(uri, "/hang") == 0) {
    e->held = req; /* never answered; freed with the server */
  } else {
    reply(req, 404, "not here");
  }
}

static int setup(void **state) {
  struct env *e = calloc(1, sizeof(*e));
  e->loop = byoca_loop_new();
  e->srv = evhttp_new(byoca_loop_base(e->loop));
  struct evhttp_bound_socket *bs =
      evhttp_bind_socket_with_handle(e->srv, "127.0.0.1", 0);
  assert_non_null(bs);
  struct sockaddr_in sin;
  socklen_t sl = sizeof(sin);
  assert_int_equal(
      getsockname(evhttp_bound_socket_get_fd(bs), (struct sockaddr *)&sin, &sl),
      0);
  e->port = ntohs(sin.sin_port);
  snprintf(e->base, sizeof(e->base), "http://127.0.0.1:%d", e->port);
  evhttp_set_gencb(e->srv, serve, e);
  e->policy = byoca_netpolicy_new();
  struct byoca_http_opts o = {
      .max_body = 1000, .timeout_ms = 5000, .policy = e->policy};
  struct byoca_err err = {0};
  e->http = byoca_http_new(e->loop, &o, &err);
  assert_non_null(e->http);
  assert_int_equal(byoca_http_trust_url(e->http, e->base), 0);
  *state = e;
  return 0;
}

static int teardown(void **state) {
  struct env *e = *state;
  byoca_http_free(e->http);
  evhttp_free(e->srv);
  byoca_loop_free(e->loop);
  byoca_netpolicy_free(e->policy);
  free(e);
  return 0;
}

/* ---- the client side ---- */

struct result {
  struct byoca_loop *loop;
  int done, in_send;
  long status;
  char body[6000];
  size_t body_len;
  char xtest[32], clen[32], url[256];
  size_t nalt, nup;
  char alt[256];
  struct byoca_err err;
};

static void on_resp(void *arg, const struct byoca_http_resp *resp,
                    const struct byoca_err *err) {
  struct result *r = arg;
  assert_false(r->in_send);
  r->done++;
  if (err != NULL) {
    assert_null(resp);
    assert_int_equal(byoca_err_copy(&r->err, err), 0);
  } else {
    r->status = resp->status;
    assert_non_null(resp->body.data);
    assert_int_equal(resp->body.data[resp->body.len], '\0');
    r->body_len = resp->body.len;
    snprintf(r->body, sizeof(r->body), "%s", resp->body.data);
    const char *x = byoca_http_header(resp, "x-test");
    snprintf(r->xtest, sizeof(r->xtest), "%s", x != NULL ? x : "");
    x = byoca_http_header(resp, "Content-Length");
    snprintf(r->clen, sizeof(r->clen), "%s", x != NULL ? x : "");
    snprintf(r->url, sizeof(r->url), "%s", resp->url);
    char **v;
    size_t n;
    assert_int_equal(byoca_http_links(resp, "alternate", &v, &n), 0);
    r->nalt = n;
    if (n > 0)
      snprintf(r->alt, sizeof(r->alt), "%s", v[0]);
    byoca_http_links_free(v, n);
    assert_int_equal(byoca_http_links(resp, "up", &v, &n), 0);
    r->nup = n;
    byoca_http_links_free(v, n);
  }
  byoca_loop_break(r->loop);
}

static void watchdog(void *arg) {
  (void)arg;
  fail_msg("request did not finish");
}

static void run(struct env *e, struct byoca_http *http,
                const struct byoca_http_req *req, struct result *r) {
  struct byoca_err err = {0};
  memset(r, 0, sizeof(*r));
  r->loop = e->loop;
  r->in_send = 1;
  assert_int_equal(byoca_http_send(http, req, on_resp, r, &err), 0);
  r->in_send = 0;
  struct byoca_timer *wd = byoca_timer_add(e->loop, 10000, watchdog, NULL);
  while (!r->done)
    byoca_loop_run(e->loop);
  byoca_timer_cancel(wd);
  assert_int_equal(r->done, 1);
}

static void get(struct env *e, const char *method, const char *path, int follow,
                struct result *r) {
  char url[256];
  snprintf(url, sizeof(url), "%s%s", e->base, path);
  struct byoca_http_req req = {
      .method = method, .url = url, .follow_redirects = follow};
  run(e, e->http, &req, r);
}

static void expect_err(const struct result *r, int code, const char *text) {
  if (r->err.code != code)
    fail_msg("want error %d, got %d: %s", code, r->err.code, r->err.msg);
  if (text != NULL && strstr(r->err.msg, text) == NULL)
    fail_msg("error '%s' lacks '%s'", r->err.msg, text);
}

static void test_get(void **state) {
  struct env *e = *state;
  struct result r;
  get(e, "GET", "/hello", 0, &r);
  assert_int_equal(r.err.code, 0);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "hello world");
  assert_int_equal(r.body_len, 11);
  assert_string_equal(r.xtest, "yes");
  assert_string_equal(r.clen, "11");
  assert_int_equal(r.nup, 1);
  assert_int_equal(r.nalt, 1);
  char want[128];
  snprintf(want, sizeof(want), "%s/alt/1", e->base);
  assert_string_equal(r.alt, want);
  assert_string_equal(e->method, "GET");
  assert_string_equal(e->ua, "byoca/" BYOCA_VERSION);
  get(e, "GET", "/nothing", 0, &r);
  assert_int_equal(r.err.code, 0);
  assert_int_equal(r.status, 404);
  assert_string_equal(r.body, "not here");
}

static void test_post_and_headers(void **state) {
  struct env *e = *state;
  struct result r;
  char url[128];
  snprintf(url, sizeof(url), "%s/echo", e->base);
  const char *hdrs[] = {"Accept: application/json", "X-Custom: 42", NULL};
  char body[300];
  memset(body, 'p', sizeof(body) - 1);
  body[sizeof(body) - 1] = '\0';
  struct byoca_http_req req = {.method = "POST",
                               .url = url,
                               .content_type = "application/jose+json",
                               .body = body,
                               .body_len = strlen(body),
                               .headers = hdrs};
  run(e, e->http, &req, &r);
  assert_int_equal(r.err.code, 0);
  assert_int_equal(r.status, 200);
  assert_string_equal(e->method, "POST");
  assert_string_equal(e->body, body);
  assert_string_equal(e->ctype, "application/jose+json");
  assert_string_equal(e->accept, "application/json");
  assert_string_equal(e->custom, "42");
  assert_int_equal(strncmp(r.body, "POST ppp", 8), 0);
  /* an empty POST (POST-as-GET in ACME) */
  req.body = NULL;
  req.body_len = 0;
  run(e, e->http, &req, &r);
  assert_int_equal(r.err.code, 0);
  assert_string_equal(r.body, "POST ");
}

static void test_head(void **state) {
  struct env *e = *state;
  struct result r;
  get(e, "HEAD", "/hello", 0, &r);
  assert_int_equal(r.err.code, 0);
  assert_int_equal(r.status, 200);
  assert_int_equal(r.body_len, 0);
  assert_string_equal(r.body, "");
  assert_string_equal(r.xtest, "yes");
  assert_string_equal(e->method, "HEAD");
}

static void test_caps(void **state) {
  struct env *e = *state;
  struct result r;
  get(e, "GET", "/big", 0, &r);
  expect_err(&r, BYOCA_E_TOOBIG, "exceeds 1000 bytes");
  assert_non_null(strstr(r.err.msg, "/big"));
  byoca_err_clear(&r.err);
  get(e, "GET", "/chunked-big", 0, &r);
  expect_err(&r, BYOCA_E_TOOBIG, "exceeds 1000 bytes");
  byoca_err_clear(&r.err);
  get(e, "GET", "/many-headers", 0, &r);
  expect_err(&r, BYOCA_E_TOOBIG, "headers");
  byoca_err_clear(&r.err);
  /* HEAD of a big resource is fine: no body comes */
  get(e, "HEAD", "/big", 0, &r);
  assert_int_equal(r.err.code, 0);
  assert_int_equal(r.status, 200);
}

static void test_redirects(void **state) {
  struct env *e = *state;
  struct result r;
  char want[128];
  get(e, "GET", "/redir", 1, &r);
  assert_int_equal(r.err.code, 0);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, "hello world");
  snprintf(want, sizeof(want), "%s/hello", e->base);
  assert_string_equal(r.url, want);
  /* not followed unless asked */
  get(e, "GET", "/redir", 0, &r);
  assert_int_equal(r.status, 302);
  snprintf(want, sizeof(want), "%s/redir", e->base);
  assert_string_equal(r.url, want);
  /* loops end after max_redirects */
  get(e, "GET", "/loop", 1, &r);
  expect_err(&r, BYOCA_E_PROTO, "too many redirects");
  assert_int_equal(r.err.cls, BYOCA_CLASS_CA);
  byoca_err_clear(&r.err);
}

static void post_redirect(struct env *e, const char *path, const char *want) {
  struct result r;
  char url[128];
  snprintf(url, sizeof(url), "%s%s", e->base, path);
  struct byoca_http_req req = {.method = "POST",
                               .url = url,
                               .content_type = "text/plain",
                               .body = "data",
                               .body_len = 4,
                               .follow_redirects = 1};
  run(e, e->http, &req, &r);
  assert_int_equal(r.err.code, 0);
  assert_int_equal(r.status, 200);
  assert_string_equal(r.body, want);
}

static void test_redirect_methods(void **state) {
  struct env *e = *state;
  post_redirect(e, "/r307", "POST data");
  post_redirect(e, "/r308", "POST data");
  post_redirect(e, "/r303", "GET ");
  post_redirect(e, "/r302", "GET ");
  post_redirect(e, "/r301", "GET ");
}

static void test_redirect_rechecked(void **state) {
  struct env *e = *state;
  struct result r;
  int before = e->requests;
  get(e, "GET", "/to-untrusted", 1, &r);
  expect_err(&r, BYOCA_E_POLICY, "127.0.0.2 is loopback");
  assert_int_equal(r.err.cls, BYOCA_CLASS_CA);
  byoca_err_clear(&r.err);
  get(e, "GET", "/to-http", 1, &r);
  expect_err(&r, BYOCA_E_POLICY, "refusing http:// URL");
  byoca_err_clear(&r.err);
  assert_int_equal(e->requests, before + 2); /* the hops never reached us */
}

static int closed_port(void) {
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t sl = sizeof(sin);
  assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &sl), 0);
  close(fd);
  return ntohs(sin.sin_port);
}

static void test_refused_and_timeout(void **state) {
  struct env *e = *state;
  struct result r;
  char url[128];
  snprintf(url, sizeof(url), "http://127.0.0.1:%d/x", closed_port());
  assert_int_equal(byoca_http_trust_url(e->http, url), 0);
  struct byoca_http_req req = {.method = "GET", .url = url};
  run(e, e->http, &req, &r);
  expect_err(&r, BYOCA_E_NET, url);
  assert_int_equal(r.err.cls, BYOCA_CLASS_CA);
  assert_int_equal(r.err.origin, BYOCA_ORIGIN_CURL);
  byoca_err_clear(&r.err);

  struct byoca_http_opts o = {.timeout_ms = 300, .policy = e->policy};
  struct byoca_http *quick = byoca_http_new(e->loop, &o, NULL);
  assert_int_equal(byoca_http_trust_url(quick, e->base), 0);
  snprintf(url, sizeof(url), "%s/hang", e->base);
  req.url = url;
  run(e, quick, &req, &r);
  expect_err(&r, BYOCA_E_TIMEOUT, "/hang");
  byoca_err_clear(&r.err);
  byoca_http_free(quick);
}

static void test_reuse(void **state) {
  struct env *e = *state;
  struct result r;
  get(e, "GET", "/hello", 0, &r);
  get(e, "GET", "/hello", 0, &r);
  get(e, "HEAD", "/hello", 0, &r);
  assert_int_equal(e->requests, 3);
  assert_int_equal(e->conns, 1);
}

static void test_untrusted_refused(void **state) {
  struct env *e = *state;
  struct result r;
  /* a bare listener: any connect would show up as a pending accept */
  int lfd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
  struct sockaddr_in sin = {.sin_family = AF_INET};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t sl = sizeof(sin);
  assert_int_equal(bind(lfd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  assert_int_equal(listen(lfd, 8), 0);
  assert_int_equal(getsockname(lfd, (struct sockaddr *)&sin, &sl), 0);
  int port = ntohs(sin.sin_port);
  char url[128];
  const char *forms[] = {
      "https://127.0.0.1", "https://127.1",    "https://[::ffff:127.0.0.1]",
      "https://localhost", "http://127.0.0.1", "https://name.example",
      "ftp://127.0.0.1"};
  const char *why[] = {"127.0.0.1 is loopback", "numeric-host trick",
                       "IPv4-mapped loopback",  "loopback",
                       "refusing http:// URL",  "no resolver",
                       "only http(s)"};
  for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
    snprintf(url, sizeof(url), "%s:%d/x", forms[i], port);
    struct byoca_http_req req = {.method = "GET", .url = url};
    run(e, e->http, &req, &r);
    expect_err(&r, BYOCA_E_POLICY, why[i]);
    assert_int_equal(r.err.cls, BYOCA_CLASS_CA);
    byoca_err_clear(&r.err);
  }
  assert_int_equal(accept(lfd, NULL, NULL), -1);
  assert_true(errno == EAGAIN || errno == EWOULDBLOCK);
  close(lfd);
  /* a client without a policy refuses every untrusted URL */
  struct byoca_http *none = byoca_http_new(e->loop, NULL, NULL);
  struct byoca_http_req req = {.method = "GET", .url = "https://8.8.8.8/"};
  run(e, none, &req, &r);
  expect_err(&r, BYOCA_E_POLICY, "no address policy");
  byoca_err_clear(&r.err);
  byoca_http_free(none);
}

static void test_bad_requests(void **state) {
  struct env *e = *state;
  struct result r = {0};
  struct byoca_err err = {0};
  struct byoca_http_req req = {.method = "PUT", .url = e->base};
  assert_int_equal(byoca_http_send(e->http, &req, on_resp, &r, &err),
                   BYOCA_E_INVAL);
  byoca_err_clear(&err);
  req.method = "GET";
  req.url = NULL;
  assert_int_equal(byoca_http_send(e->http, &req, on_resp, &r, NULL),
                   BYOCA_E_INVAL);
  req.url = "not a url";
  run(e, e->http, &req, &r);
  expect_err(&r, BYOCA_E_PROTO, "invalid URL");
  byoca_err_clear(&r.err);
  assert_int_equal(byoca_http_trust_url(e->http, "nonsense"), BYOCA_E_INVAL);
  assert_int_equal(byoca_http_trust_url(e->http, "ftp://a/"), BYOCA_E_INVAL);
  byoca_http_free(NULL);
}

static void not_called(void *arg, const struct byoca_http_resp *resp,
                       const struct byoca_err *err) {
  (void)arg;
  (void)resp;
  (void)err;
  fail_msg("callback of a cancelled request ran");
}

struct freer {
  struct byoca_http **http;
  struct byoca_loop *loop;
  int done;
};

static void free_inside(void *arg, const struct byoca_http_resp *resp,
                        const struct byoca_err *err) {
  struct freer *f = arg;
  (void)err;
  assert_non_null(resp);
  f->done = 1;
  byoca_http_free(*f->http); /* with another request still in flight */
  *f->http = NULL;
  byoca_loop_break(f->loop);
}

static void stop(void *arg) {
  byoca_loop_break(arg);
}

static void test_cancel(void **state) {
  struct env *e = *state;
  char hang[128], hello[128];
  snprintf(hang, sizeof(hang), "%s/hang", e->base);
  snprintf(hello, sizeof(hello), "%s/hello", e->base);
  struct byoca_http_req rh = {.method = "GET", .url = hang};
  struct byoca_http_req rp = {.method = "GET", .url = "https://10.0.0.1/"};
  /* freed before the loop ever ran: neither callback runs */
  assert_int_equal(byoca_http_send(e->http, &rh, not_called, NULL, NULL), 0);
  assert_int_equal(byoca_http_send(e->http, &rp, not_called, NULL, NULL), 0);
  byoca_http_free(e->http);
  struct byoca_http_opts o = {.policy = e->policy};
  e->http = byoca_http_new(e->loop, &o, NULL);
  assert_int_equal(byoca_http_trust_url(e->http, e->base), 0);
  /* in flight at the server, then freed from another request's callback */
  struct byoca_http_req rq = {.method = "GET", .url = hello};
  struct freer f = {&e->http, e->loop, 0};
  assert_int_equal(byoca_http_send(e->http, &rh, not_called, NULL, NULL), 0);
  struct byoca_timer *t = byoca_timer_add(e->loop, 100, stop, e->loop);
  byoca_loop_run(e->loop); /* lets /hang reach the server */
  (void)t;
  assert_int_equal(byoca_http_send(e->http, &rq, free_inside, &f, NULL), 0);
  while (!f.done)
    byoca_loop_run(e->loop);
  assert_null(e->http);
  struct byoca_timer *t2 = byoca_timer_add(e->loop, 50, stop, e->loop);
  byoca_loop_run(e->loop); /* nothing more may call back */
  (void)t2;
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(test_get, setup, teardown),
      cmocka_unit_test_setup_teardown(test_post_and_headers, setup, teardown),
      cmocka_unit_test_setup_teardown(test_head, setup, teardown),
      cmocka_unit_test_setup_teardown(test_caps, setup, teardown),
      cmocka_unit_test_setup_teardown(test_redirects, setup, teardown),
      cmocka_unit_test_setup_teardown(test_redirect_methods, setup, teardown),
      cmocka_unit_test_setup_teardown(test_redirect_rechecked, setup, teardown),
      cmocka_unit_test_setup_teardown(test_refused_and_timeout, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(test_reuse, setup, teardown),
      cmocka_unit_test_setup_teardown(test_untrusted_refused, setup, teardown),
      cmocka_unit_test_setup_teardown(test_bad_requests, setup, teardown),
      cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
