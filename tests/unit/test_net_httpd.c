/* The HTTP server against real clients: the loop runs in the main thread,
 * a client thread talks to it with byoca_http_local (and raw sockets where
 * the exact bytes matter), then wakes the loop through a pipe. Covers the
 * request accessors, the server's own 400/413/500 answers, the headers of
 * every answer, unix sockets (mode, is_local, replace, unlink), the
 * connection cap and deferred answers. */
#include <arpa/inet.h>
#include <errno.h>
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
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "byoca/net.h"

#define BIG_BODY (17u * 1024 * 1024)

struct fixture {
  struct byoca_loop *loop;
  struct byoca_httpd *h;
  char endpoint[300];
  int port;
  int pipefd[2];
  int timed_out;
  int handler_calls;
  int held; /* a client socket left open past the client's end */
  struct byoca_httpd_req *later[8]; /* deferred, answered by a timer */
  int nlater;
  void (*client)(struct fixture *);
  char failures[4096]; /* written by the client thread only */
};

/* ---- client-side checks (no cmocka asserts off the main thread) ---- */

static void failf(struct fixture *fx, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void failf(struct fixture *fx, int line, const char *fmt, ...) {
  size_t n = strlen(fx->failures);
  if (n + 1 >= sizeof(fx->failures))
    return;
  n += (size_t)snprintf(fx->failures + n, sizeof(fx->failures) - n,
                        "line %d: ", line);
  va_list ap;
  va_start(ap, fmt);
  if (n < sizeof(fx->failures))
    n += (size_t)vsnprintf(fx->failures + n, sizeof(fx->failures) - n, fmt, ap);
  va_end(ap);
  if (n + 1 < sizeof(fx->failures))
    strcat(fx->failures, "\n");
}

#define CHECK(fx, cond)                                                        \
  do {                                                                         \
    if (!(cond))                                                               \
      failf(fx, __LINE__, "%s", #cond);                                        \
  } while (0)

/* One call; returns the status, or the error code (negative). */
static long call(struct fixture *fx, const char *method, const char *path,
                 const char *token, const char *body,
                 struct byoca_local_resp *out) {
  struct byoca_err err = {0};
  memset(out, 0, sizeof(*out));
  int rc = byoca_http_local(fx->endpoint, method, path, token, body, out, &err);
  byoca_err_clear(&err);
  return rc != 0 ? rc : out->status;
}

static int body_has(const struct byoca_local_resp *r, const char *s) {
  return r->body.data != NULL && strstr(r->body.data, s) != NULL;
}

static int tcp_connect(int port) {
  struct sockaddr_in sin = {.sin_family = AF_INET,
                            .sin_port = htons((uint16_t)port)};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd >= 0 && connect(fd, (struct sockaddr *)&sin, sizeof(sin)) != 0) {
    close(fd);
    fd = -1;
  }
  return fd;
}

/* Sends req over a fresh TCP connection and reads until EOF (5 s max). */
static void raw(int port, const char *req, char *out, size_t outlen) {
  size_t n = 0;
  out[0] = '\0';
  int fd = tcp_connect(port);
  if (fd < 0)
    return;
  if (write(fd, req, strlen(req)) == (ssize_t)strlen(req)) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (n + 1 < outlen && poll(&p, 1, 5000) == 1) {
      ssize_t r = read(fd, out + n, outlen - 1 - n);
      if (r <= 0)
        break;
      n += (size_t)r;
    }
  }
  out[n] = '\0';
  close(fd);
}

/* ---- the handler ---- */

static void respond_echo(struct byoca_httpd_req *r) {
  size_t len;
  const char *body = byoca_httpd_body(r, &len);
  const char *x = byoca_httpd_query(r, "x"), *y = byoca_httpd_query(r, "y");
  const char *auth = byoca_httpd_header(r, "authorization");
  const char *ct = byoca_httpd_header(r, "CONTENT-TYPE");
  char out[1024];
  int n = snprintf(out, sizeof(out),
                   "method=%s\npath=%s\nx=%s\ny=%s\nX=%s\nauth=%s\nctype=%s\n"
                   "local=%d\nlen=%zu\nnul=%d\nbody=%s\n",
                   byoca_httpd_method(r), byoca_httpd_path(r), x ? x : "-",
                   y ? y : "-", byoca_httpd_query(r, "X") ? "set" : "-",
                   auth ? auth : "-", ct ? ct : "-", byoca_httpd_is_local(r),
                   len, body[len] == '\0', body);
  byoca_httpd_respond(r, 200, "text/plain", out, (size_t)n, NULL);
}

/* Answers the oldest deferred request, as a store lookup's callback
 * would. */
static void answer_later(void *arg) {
  struct fixture *fx = arg;
  if (fx->nlater == 0)
    return;
  struct byoca_httpd_req *d = fx->later[0];
  memmove(fx->later, fx->later + 1, --fx->nlater * sizeof(*fx->later));
  respond_echo(d); /* path, query and body moved over; frees d */
}

static void handler(void *arg, struct byoca_httpd_req *r) {
  struct fixture *fx = arg;
  const char *p = byoca_httpd_path(r);
  fx->handler_calls++;
  if (strcmp(p, "/forget") == 0)
    return;
  if (strncmp(p, "/later", 6) == 0) {
    struct byoca_httpd_req *d = fx->nlater < 8 ? byoca_httpd_defer(r) : NULL;
    if (d == NULL ||
        byoca_timer_add(fx->loop, strcmp(p, "/later/gone") == 0 ? 300 : 20,
                        answer_later, fx) == NULL) {
      byoca_httpd_respond(d != NULL ? d : r, 500, NULL, NULL, 0, NULL);
      return;
    }
    fx->later[fx->nlater++] = d;
    return;
  }
  if (strcmp(p, "/twice") == 0) {
    byoca_httpd_respond(r, 200, "text/plain", "one", 3, NULL);
    byoca_httpd_respond(r, 201, "text/plain", "two", 3, NULL);
  } else if (strcmp(p, "/hdr") == 0) {
    const char *const hdrs[] = {"Location: /x", "X-Bad\r\nInjected: 1",
                                "Content-Length: 99", NULL};
    byoca_httpd_respond(r, 201, "text/plain", "ok", 2, hdrs);
  } else if (strcmp(p, "/big") == 0) {
    char *big = malloc(BIG_BODY);
    if (big != NULL)
      memset(big, 'a', BIG_BODY);
    byoca_httpd_respond(r, big ? 200 : 500, "text/plain", big,
                        big ? BIG_BODY : 0, NULL);
    free(big);
  } else if (strcmp(p, "/nocontent") == 0) {
    byoca_httpd_respond(r, 204, NULL, NULL, 0, NULL);
  } else if (strncmp(p, "/echo", 5) == 0) {
    respond_echo(r);
  } else {
    static const char nf[] = "{\"status\":404}";
    byoca_httpd_respond(r, 404, "application/problem+json", nf, sizeof(nf) - 1,
                        NULL);
  }
}

/* ---- running a client against the loop ---- */

static void on_done(int fd, void *arg) {
  (void)fd;
  byoca_loop_break(((struct fixture *)arg)->loop);
}

static void on_deadline(void *arg) {
  struct fixture *fx = arg;
  fx->timed_out = 1;
  byoca_loop_break(fx->loop);
}

static void *client_main(void *arg) {
  struct fixture *fx = arg;
  fx->client(fx);
  ssize_t n = write(fx->pipefd[1], "x", 1);
  (void)n;
  return NULL;
}

static void run_client(struct fixture *fx, void (*client)(struct fixture *)) {
  fx->client = client;
  fx->failures[0] = '\0';
  assert_int_equal(pipe(fx->pipefd), 0);
  struct byoca_watch *w =
      byoca_watch_read(fx->loop, fx->pipefd[0], on_done, fx);
  struct byoca_timer *t = byoca_timer_add(fx->loop, 60000, on_deadline, fx);
  assert_non_null(w);
  assert_non_null(t);
  pthread_t th;
  assert_int_equal(pthread_create(&th, NULL, client_main, fx), 0);
  byoca_loop_run(fx->loop);
  if (fx->timed_out)
    t = NULL; /* fired and freed */
  pthread_join(th, NULL);
  byoca_timer_cancel(t);
  byoca_watch_free(w);
  close(fx->pipefd[0]);
  close(fx->pipefd[1]);
  assert_false(fx->timed_out);
  if (fx->failures[0] != '\0')
    fail_msg("client checks failed:\n%s", fx->failures);
}

static void start(struct fixture *fx, const struct byoca_httpd_opts *o,
                  const char *spec) {
  struct byoca_err err = {0};
  memset(fx, 0, sizeof(*fx));
  fx->loop = byoca_loop_new();
  assert_non_null(fx->loop);
  fx->h = byoca_httpd_new(fx->loop, o, handler, fx, &err);
  assert_non_null(fx->h);
  assert_int_equal(byoca_httpd_port(fx->h), 0);
  if (byoca_httpd_listen(fx->h, spec, &err) != 0)
    fail_msg("listen %s: %s", spec, err.msg);
  fx->port = byoca_httpd_port(fx->h);
  if (strncmp(spec, "unix:", 5) == 0)
    snprintf(fx->endpoint, sizeof(fx->endpoint), "%s", spec);
  else
    snprintf(fx->endpoint, sizeof(fx->endpoint), "http://127.0.0.1:%d",
             fx->port);
}

static void stop(struct fixture *fx) {
  byoca_httpd_free(fx->h);
  byoca_loop_free(fx->loop);
}

/* ---- TCP: accessors and answers ---- */

static void client_basic(struct fixture *fx) {
  struct byoca_local_resp r;
  CHECK(fx, call(fx, "GET", "/echo/a%20b%2Fc%25?x=1&y=hello%20world+x",
                 "tok123", NULL, &r) == 200);
  CHECK(fx, r.content_type && strcmp(r.content_type, "text/plain") == 0);
  CHECK(fx, body_has(&r, "method=GET\npath=/echo/a b/c%\nx=1\n"
                         "y=hello world x\nX=-\nauth=Bearer tok123\n"));
  CHECK(fx, body_has(&r, "local=0\nlen=0\nnul=1\n"));
  byoca_local_resp_free(&r);

  CHECK(fx, call(fx, "POST", "/echo", NULL, "{\"a\":1}", &r) == 200);
  CHECK(fx, body_has(&r, "method=POST\n"));
  CHECK(fx, body_has(&r, "auth=-\nctype=application/json\n"));
  CHECK(fx, body_has(&r, "len=7\nnul=1\nbody={\"a\":1}\n"));
  byoca_local_resp_free(&r);

  CHECK(fx, call(fx, "PUT", "/echo", NULL, "{}", &r) == 200);
  CHECK(fx, body_has(&r, "method=PUT\n"));
  byoca_local_resp_free(&r);
  CHECK(fx, call(fx, "DELETE", "/echo?x=", NULL, NULL, &r) == 200);
  CHECK(fx, body_has(&r, "method=DELETE\npath=/echo\nx=\n"));
  byoca_local_resp_free(&r);
  CHECK(fx, call(fx, "HEAD", "/echo", NULL, NULL, &r) == 200);
  CHECK(fx, r.body.len == 0);
  byoca_local_resp_free(&r);

  CHECK(fx, call(fx, "GET", "/missing", NULL, NULL, &r) == 404);
  CHECK(fx, r.content_type &&
                strcmp(r.content_type, "application/problem+json") == 0);
  byoca_local_resp_free(&r);
}

static void client_errors(struct fixture *fx) {
  struct byoca_local_resp r;
  char big[4096];
  memset(big, 'x', sizeof(big) - 1);
  big[sizeof(big) - 1] = '\0';
  CHECK(fx, call(fx, "POST", "/echo", NULL, big, &r) == 413);
  byoca_local_resp_free(&r);
  /* an encoded NUL in the path, a query without "=": 400 from the server */
  CHECK(fx, call(fx, "GET", "/echo%00x", NULL, NULL, &r) == 400);
  CHECK(fx, r.content_type &&
                strcmp(r.content_type, "application/problem+json") == 0);
  CHECK(fx, body_has(&r, "urn:byoca:error:badRequest"));
  byoca_local_resp_free(&r);
  CHECK(fx, call(fx, "GET", "/echo?flag", NULL, NULL, &r) == 400);
  byoca_local_resp_free(&r);
  CHECK(fx, call(fx, "GET", "/echo?x=a%00b", NULL, NULL, &r) == 400);
  byoca_local_resp_free(&r);
  /* handler forgot to answer: 500; answered twice: the first one counts */
  CHECK(fx, call(fx, "GET", "/forget", NULL, NULL, &r) == 500);
  byoca_local_resp_free(&r);
  CHECK(fx, call(fx, "GET", "/twice", NULL, NULL, &r) == 200);
  CHECK(fx, r.body.len == 3 && strcmp(r.body.data, "one") == 0);
  byoca_local_resp_free(&r);
  /* an answer over the client's 16 MiB cap */
  CHECK(fx, call(fx, "GET", "/big", NULL, NULL, &r) == BYOCA_E_TOOBIG);
}

static void client_raw(struct fixture *fx) {
  static char out[8192];
  raw(fx->port, "GET /hdr HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      out, sizeof(out));
  CHECK(fx, strncmp(out, "HTTP/1.1 201 ", 13) == 0);
  CHECK(fx, strstr(out, "\r\nLocation: /x\r\n") != NULL);
  CHECK(fx, strstr(out, "\r\nContent-Type: text/plain\r\n") != NULL);
  CHECK(fx, strstr(out, "\r\nContent-Length: 2\r\n") != NULL);
  CHECK(fx, strstr(out, "\r\nCache-Control: no-store\r\n") != NULL);
  CHECK(fx, strstr(out, "\r\nX-Content-Type-Options: nosniff\r\n") != NULL);
  CHECK(fx, strstr(out, "Injected") == NULL && strstr(out, "99") == NULL);
  CHECK(fx, strstr(out, "\r\n\r\nok") != NULL);

  /* HEAD: the length GET would have, no body */
  raw(fx->port, "HEAD /hdr HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      out, sizeof(out));
  CHECK(fx, strncmp(out, "HTTP/1.1 201 ", 13) == 0);
  CHECK(fx, strstr(out, "\r\nContent-Length: 2\r\n") != NULL);
  CHECK(fx,
        strstr(out, "\r\n\r\n") != NULL && strstr(out, "\r\n\r\n")[4] == '\0');

  raw(fx->port,
      "GET /nocontent HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", out,
      sizeof(out));
  CHECK(fx, strncmp(out, "HTTP/1.1 204 ", 13) == 0);
  CHECK(fx, strstr(out, "Content-Length") == NULL);

  /* a request target that is not an absolute path */
  raw(fx->port, "GET echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      out, sizeof(out));
  CHECK(fx, strncmp(out, "HTTP/1.1 400 ", 13) == 0);
  /* PATCH reaches the handler (which may answer 405); TRACE never does */
  raw(fx->port, "PATCH /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      out, sizeof(out));
  CHECK(fx, strstr(out, "method=PATCH") != NULL);
  raw(fx->port, "TRACE /echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n",
      out, sizeof(out));
  CHECK(fx, strncmp(out, "HTTP/1.1 ", 9) == 0 &&
                strncmp(out, "HTTP/1.1 2", 10) != 0);
  /* headers over max_headers */
  static char huge[6000];
  int n = snprintf(huge, sizeof(huge), "GET /echo HTTP/1.1\r\nX-Pad: ");
  memset(huge + n, 'p', 5000);
  memcpy(huge + n + 5000, "\r\n\r\n", 5);
  raw(fx->port, huge, out, sizeof(out));
  CHECK(fx, strncmp(out, "HTTP/1.1 2", 10) != 0);
}

static void test_tcp(void **state) {
  (void)state;
  struct fixture *fx = calloc(1, sizeof(*fx));
  struct byoca_httpd_opts o = {.max_body = 1024, .max_headers = 4096};
  start(fx, &o, "127.0.0.1:0");
  assert_true(fx->port > 0);
  run_client(fx, client_basic);
  assert_int_equal(fx->handler_calls, 6);
  fx->handler_calls = 0;
  run_client(fx, client_errors);
  /* 413 and the 400s never reached the handler */
  assert_int_equal(fx->handler_calls, 3);
  fx->handler_calls = 0;
  run_client(fx, client_raw);
  assert_int_equal(fx->handler_calls, 4); /* PATCH included */
  stop(fx);
  free(fx);
}

/* ---- unix sockets ---- */

/* A request from a client whose own socket is bound to a path (a long
 * peer address, which evhttp must cope with). */
static void raw_unix_bound(const char *spec, char *out, size_t outlen) {
  struct sockaddr_un me = {.sun_family = AF_UNIX}, srv = me;
  size_t n = 0;
  out[0] = '\0';
  snprintf(srv.sun_path, sizeof(srv.sun_path), "%s", spec + 5);
  snprintf(me.sun_path, sizeof(me.sun_path), "%s.client", spec + 5);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0)
    return;
  static const char req[] = "GET /echo HTTP/1.0\r\n\r\n";
  if (bind(fd, (struct sockaddr *)&me, sizeof(me)) == 0 &&
      connect(fd, (struct sockaddr *)&srv, sizeof(srv)) == 0 &&
      write(fd, req, sizeof(req) - 1) == (ssize_t)sizeof(req) - 1) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (n + 1 < outlen && poll(&p, 1, 5000) == 1) {
      ssize_t r = read(fd, out + n, outlen - 1 - n);
      if (r <= 0)
        break;
      n += (size_t)r;
    }
  }
  out[n] = '\0';
  close(fd);
  unlink(me.sun_path);
}

static void client_unix(struct fixture *fx) {
  struct byoca_local_resp r;
  static char out[4096];
  raw_unix_bound(fx->endpoint, out, sizeof(out));
  CHECK(fx, strncmp(out, "HTTP/1.0 200 ", 13) == 0);
  CHECK(fx, strstr(out, "local=1\n") != NULL);
  CHECK(fx, call(fx, "GET", "/echo?x=u", "t", NULL, &r) == 200);
  CHECK(fx, body_has(&r, "x=u\n"));
  CHECK(fx, body_has(&r, "local=1\n"));
  byoca_local_resp_free(&r);
  CHECK(fx, call(fx, "POST", "/echo", NULL, "[1,2]", &r) == 200);
  CHECK(fx, body_has(&r, "body=[1,2]\n"));
  byoca_local_resp_free(&r);
}

/* Leaves a socket file behind, as a crashed daemon would. */
static void stale_socket(const char *path) {
  struct sockaddr_un sun = {.sun_family = AF_UNIX};
  assert_true(strlen(path) < sizeof(sun.sun_path));
  memcpy(sun.sun_path, path, strlen(path) + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&sun, sizeof(sun)), 0);
  close(fd);
}

static void test_unix(void **state) {
  (void)state;
  char dir[] = "/tmp/byoca-httpd-XXXXXX", spec[160], path[128], file[128];
  assert_non_null(mkdtemp(dir));
  snprintf(path, sizeof(path), "%s/api.sock", dir);
  snprintf(spec, sizeof(spec), "unix:%s", path);
  snprintf(file, sizeof(file), "%s/regular", dir);
  stale_socket(path);
  struct fixture *fx = calloc(1, sizeof(*fx));
  start(fx, NULL, spec); /* replaces the stale socket */
  struct stat st;
  assert_int_equal(lstat(path, &st), 0);
  assert_true(S_ISSOCK(st.st_mode));
  assert_int_equal(st.st_mode & 07777, 0660);
  assert_int_equal(byoca_httpd_port(fx->h), 0);

  /* a file that is not a socket is never removed */
  FILE *f = fopen(file, "w");
  assert_non_null(f);
  fclose(f);
  struct byoca_err err = {0};
  char fspec[160];
  snprintf(fspec, sizeof(fspec), "unix:%s", file);
  assert_int_equal(byoca_httpd_listen(fx->h, fspec, &err), BYOCA_E_IO);
  assert_non_null(strstr(err.msg, "not a socket"));
  assert_int_equal(lstat(file, &st), 0);

  /* a socket a running server listens on is not taken over */
  struct byoca_httpd *other =
      byoca_httpd_new(fx->loop, NULL, handler, fx, &err);
  assert_non_null(other);
  assert_int_equal(byoca_httpd_listen(other, spec, &err), BYOCA_E_IO);
  assert_non_null(strstr(err.msg, "in use"));
  byoca_httpd_free(other);
  assert_int_equal(lstat(path, &st), 0);

  run_client(fx, client_unix);
  assert_int_equal(fx->handler_calls, 3);
  stop(fx);
  free(fx);
  assert_int_equal(lstat(path, &st), -1);
  assert_int_equal(errno, ENOENT);
  unlink(file);
  assert_int_equal(rmdir(dir), 0);
}

/* ---- listen specs ---- */

static void test_listen_specs(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  struct byoca_err err = {0};
  struct byoca_httpd *a = byoca_httpd_new(loop, NULL, handler, NULL, &err);
  struct byoca_httpd *b = byoca_httpd_new(loop, NULL, handler, NULL, &err);
  assert_non_null(a);
  assert_non_null(b);
  assert_int_equal(byoca_httpd_listen(a, "tcp:127.0.0.1:0", &err), 0);
  int port = byoca_httpd_port(a);
  assert_true(port > 0);
  char spec[64];
  snprintf(spec, sizeof(spec), "127.0.0.1:%d", port);
  assert_int_equal(byoca_httpd_listen(b, spec, &err), BYOCA_E_NET);
  assert_non_null(strstr(err.msg, spec));
  assert_non_null(strstr(err.msg, "in use"));
  byoca_err_clear(&err);

  static const char *const bad[] = {
      "nonsense",     "127.0.0.1",      "127.0.0.1:99999",
      "::1:80",       "127.0.0.1:x",    "tcp:example.com:80",
      ":80",          "[::1]80",        "unix:",
      "127.0.0.1:-1", "[127.0.0.1]:80", NULL};
  for (size_t i = 0; bad[i] != NULL; i++) {
    int rc = byoca_httpd_listen(b, bad[i], &err);
    if (rc != BYOCA_E_INVAL)
      fail_msg("%s: %d %s", bad[i], rc, err.msg);
    byoca_err_clear(&err);
  }
  assert_int_equal(byoca_httpd_port(b), 0);
  /* the reason names the bad part (byoca_hostport_parse, shared with the
   * responders' listen specs and the RFC 2136 server) */
  assert_int_equal(byoca_httpd_listen(b, "tcp:127.0.0.1:99999", &err),
                   BYOCA_E_INVAL);
  assert_non_null(strstr(err.msg, "'99999' is not a port number"));
  byoca_err_clear(&err);
  assert_int_equal(byoca_httpd_listen(b, "::1:80", &err), BYOCA_E_INVAL);
  assert_non_null(strstr(err.msg, "IPv6 address needs brackets"));
  byoca_err_clear(&err);

  /* IPv6 loopback, where the machine has it */
  int rc = byoca_httpd_listen(b, "[::1]:0", &err);
  if (rc == 0)
    assert_true(byoca_httpd_port(b) > 0);
  else
    assert_int_equal(rc, BYOCA_E_NET);
  byoca_err_clear(&err);
  byoca_httpd_free(a);
  byoca_httpd_free(b);
  byoca_httpd_free(NULL);
  assert_null(byoca_httpd_new(loop, NULL, NULL, NULL, &err));
  assert_int_equal(err.code, BYOCA_E_INVAL);
  byoca_loop_free(loop);
}

/* ---- the connection cap ---- */

static int closed_by_peer(int fd) {
  struct pollfd p = {.fd = fd, .events = POLLIN};
  char c;
  if (poll(&p, 1, 3000) != 1)
    return 0;
  return read(fd, &c, 1) <= 0;
}

static void client_cap(struct fixture *fx) {
  struct byoca_local_resp r;
  int a = tcp_connect(fx->port), b = tcp_connect(fx->port);
  CHECK(fx, a >= 0 && b >= 0);
  usleep(200000); /* let the server accept both */
  int c = tcp_connect(fx->port);
  CHECK(fx, c >= 0);
  CHECK(fx, c >= 0 && closed_by_peer(c));
  CHECK(fx, call(fx, "GET", "/echo", NULL, NULL, &r) == BYOCA_E_NET);
  close(c);
  close(a);
  long st = -1;
  for (int i = 0; i < 60 && st != 200; i++) {
    usleep(50000);
    st = call(fx, "GET", "/echo", NULL, NULL, &r);
    byoca_local_resp_free(&r);
  }
  CHECK(fx, st == 200);
  close(b);
  /* both slots free again: two held connections and a request still fit */
  a = tcp_connect(fx->port);
  st = -1;
  for (int i = 0; i < 60 && st != 200; i++) {
    usleep(50000);
    st = call(fx, "GET", "/echo", NULL, NULL, &r);
    byoca_local_resp_free(&r);
  }
  CHECK(fx, st == 200);
  close(a);
}

static void test_max_connections(void **state) {
  (void)state;
  struct fixture *fx = calloc(1, sizeof(*fx));
  struct byoca_httpd_opts o = {.max_connections = 2};
  start(fx, &o, "127.0.0.1:0");
  run_client(fx, client_cap);
  assert_true(fx->handler_calls >= 2);
  stop(fx);
  free(fx);
}

/* An idle connection is closed after timeout_ms. */
static void client_idle(struct fixture *fx) {
  int a = tcp_connect(fx->port);
  CHECK(fx, a >= 0);
  CHECK(fx, a >= 0 && closed_by_peer(a));
  if (a >= 0)
    close(a);
}

static void test_idle_timeout(void **state) {
  (void)state;
  struct fixture *fx = calloc(1, sizeof(*fx));
  struct byoca_httpd_opts o = {.timeout_ms = 300};
  start(fx, &o, "127.0.0.1:0");
  run_client(fx, client_idle);
  assert_int_equal(fx->handler_calls, 0);
  stop(fx);
  free(fx);
}

/* A deferred answer: the handler returns, a timer answers later with
 * what the request held; a client gone before its answer costs nothing
 * (the answer is dropped, the request freed). */
static void client_later(struct fixture *fx) {
  struct byoca_local_resp r;
  static char out[4096];
  CHECK(fx, call(fx, "POST", "/later/a?x=1", "t", "{\"b\":2}", &r) == 200);
  CHECK(fx, body_has(&r, "method=POST\npath=/later/a\nx=1\n"));
  CHECK(fx, body_has(&r, "auth=Bearer t\n"));
  CHECK(fx, body_has(&r, "len=7\nnul=1\nbody={\"b\":2}\n"));
  byoca_local_resp_free(&r);
  int a = tcp_connect(fx->port);
  static const char req[] = "GET /later/gone HTTP/1.1\r\nHost: x\r\n\r\n";
  CHECK(fx, a >= 0 && write(a, req, sizeof(req) - 1) == sizeof(req) - 1);
  usleep(50000); /* read by the server, waiting for its answer */
  if (a >= 0)
    close(a);
  usleep(400000); /* its answer came, for no one */
  raw(fx->port, "GET /later/b HTTP/1.0\r\n\r\n", out, sizeof(out));
  CHECK(fx, strncmp(out, "HTTP/1.0 200 ", 13) == 0);
  CHECK(fx, strstr(out, "path=/later/b\n") != NULL);
}

static void test_deferred(void **state) {
  (void)state;
  struct fixture *fx = calloc(1, sizeof(*fx));
  start(fx, NULL, "127.0.0.1:0");
  run_client(fx, client_later);
  assert_int_equal(fx->handler_calls, 3);
  assert_int_equal(fx->nlater, 0);
  stop(fx);
  free(fx);
}

/* Freeing a server with connections still open closes them, leak-free. */
static void client_hold(struct fixture *fx) {
  struct byoca_local_resp r;
  int a = tcp_connect(fx->port);
  CHECK(fx, a >= 0);
  CHECK(fx, call(fx, "GET", "/echo", NULL, NULL, &r) == 200);
  byoca_local_resp_free(&r);
  fx->held = a;
}

static void test_free_with_open_connections(void **state) {
  (void)state;
  struct fixture *fx = calloc(1, sizeof(*fx));
  start(fx, NULL, "127.0.0.1:0");
  run_client(fx, client_hold);
  stop(fx);
  if (fx->held >= 0)
    close(fx->held);
  free(fx);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_tcp),
      cmocka_unit_test(test_unix),
      cmocka_unit_test(test_listen_specs),
      cmocka_unit_test(test_max_connections),
      cmocka_unit_test(test_idle_timeout),
      cmocka_unit_test(test_free_with_open_connections),
      cmocka_unit_test(test_deferred),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
