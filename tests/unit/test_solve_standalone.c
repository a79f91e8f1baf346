/* The http-01 standalone responder, fetched with curl run through
 * byoca_proc_run while the loop serves. */
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
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "byoca/net.h"
#include "byoca/solve.h"

#define TOKEN "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
#define KA TOKEN ".nP1qzpXGymHBrUEepNY9HCsQk7K8KhOypzEt62jcerQ"

struct fetch {
  struct byoca_loop *loop;
  int done;
  char out[4097];
};

static void on_fetched(void *arg, int st, const char *out) {
  struct fetch *f = arg;
  assert_true(WIFEXITED(st));
  f->done = 1;
  snprintf(f->out, sizeof(f->out), "%s", out);
  byoca_loop_break(f->loop);
}

/* Fetches url with curl; returns body followed by the status code. */
static const char *curl(struct byoca_loop *loop, struct fetch *f,
                        const char *method, const char *url) {
  char *argv[20];
  int n = 0;
  struct byoca_err err = {0};
  argv[n++] = "/usr/bin/curl";
  argv[n++] = "-s";
  argv[n++] = "-m";
  argv[n++] = "5";
  argv[n++] = "--noproxy";
  argv[n++] = "*";
  argv[n++] = "-w";
  argv[n++] = "%{http_code}";
  if (strcmp(method, "HEAD") == 0) {
    argv[n++] = "-I";
    argv[n++] = "-o";
    argv[n++] = "/dev/null";
  } else {
    argv[n++] = "-o";
    argv[n++] = "-";
    argv[n++] = "-X";
    argv[n++] = (char *)method;
  }
  argv[n++] = (char *)url;
  argv[n] = NULL;
  memset(f, 0, sizeof(*f));
  f->loop = loop;
  assert_int_equal(byoca_proc_run(loop, argv, NULL, 10000, on_fetched, f, &err),
                   0);
  while (!f->done)
    byoca_loop_run(loop);
  return f->out;
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

static void on_solved(void *arg, const struct byoca_err *err) {
  int *calls = arg;
  assert_null(err);
  (*calls)++;
}

static struct byoca_challenge chal(const char *token, const char *ka) {
  struct byoca_challenge ch = {.type = "http-01",
                               .ident_type = "dns",
                               .identifier = "example.org",
                               .token = token,
                               .key_authz = ka};
  return ch;
}

static void test_serve(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  struct byoca_err err = {0};
  struct fetch f;
  char url[256], other[256], bad[256];
  int port = free_port(), calls = 0;
  struct byoca_solver *s =
      byoca_solver_http_standalone(loop, "127.0.0.1", port, &err);
  assert_non_null(s);
  assert_string_equal(s->name, "standalone");
  assert_true(byoca_solver_supports(s, "http-01"));
  assert_false(byoca_solver_supports(s, "dns-01"));
  assert_false(byoca_solver_supports(s, "tls-alpn-01"));
  snprintf(url, sizeof(url),
           "http://127.0.0.1:%d/.well-known/acme-challenge/" TOKEN, port);
  snprintf(other, sizeof(other),
           "http://127.0.0.1:%d/.well-known/acme-challenge/other", port);
  snprintf(bad, sizeof(bad), "http://127.0.0.1:%d/" TOKEN, port);

  assert_string_equal(curl(loop, &f, "GET", url), "404");
  struct byoca_challenge ch = chal(TOKEN, KA);
  assert_int_equal(s->ops->setup(s->ctx, &ch, on_solved, &calls, &err), 0);
  assert_int_equal(calls, 1);
  assert_string_equal(curl(loop, &f, "GET", url), KA "200");
  assert_string_equal(curl(loop, &f, "HEAD", url), "200");
  assert_string_equal(curl(loop, &f, "GET", other), "404");
  assert_string_equal(curl(loop, &f, "GET", bad), "404");
  /* other methods are refused by evhttp itself */
  const char *post = curl(loop, &f, "POST", url);
  assert_string_equal(post + strlen(post) - 3, "501");
  assert_int_equal(s->ops->cleanup(s->ctx, &ch, on_solved, &calls, &err), 0);
  assert_int_equal(calls, 2);
  assert_string_equal(curl(loop, &f, "GET", url), "404");
  /* cleanup of something never set up is harmless */
  assert_int_equal(s->ops->cleanup(s->ctx, &ch, on_solved, &calls, &err), 0);

  byoca_solver_free(s);
  /* the port is free again */
  s = byoca_solver_http_standalone(loop, "127.0.0.1", port, &err);
  assert_non_null(s);
  byoca_solver_free(s);
  byoca_loop_free(loop);
}

static void count_seen(void *arg) {
  (*(int *)arg)++;
}

/* The watcher hears of each fetch of its token (what makes byoca poll
 * once the CA validates), not of other requests, and nothing after it
 * stopped watching; a stale unwatch does not silence a newer watcher. */
static void test_watch(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  struct byoca_err err = {0};
  struct fetch f;
  char url[256], other[256];
  int port = free_port(), calls = 0, seen = 0, seen2 = 0;
  struct byoca_solver *s =
      byoca_solver_http_standalone(loop, "127.0.0.1", port, &err);
  assert_non_null(s);
  assert_non_null(s->ops->watch);
  snprintf(url, sizeof(url),
           "http://127.0.0.1:%d/.well-known/acme-challenge/" TOKEN, port);
  snprintf(other, sizeof(other),
           "http://127.0.0.1:%d/.well-known/acme-challenge/other", port);
  struct byoca_challenge ch = chal(TOKEN, KA);
  s->ops->watch(s->ctx, &ch, count_seen, &seen); /* not set up: ignored */
  assert_int_equal(s->ops->setup(s->ctx, &ch, on_solved, &calls, &err), 0);
  assert_string_equal(curl(loop, &f, "GET", url), KA "200");
  assert_int_equal(seen, 0);
  s->ops->watch(s->ctx, &ch, count_seen, &seen);
  assert_string_equal(curl(loop, &f, "GET", url), KA "200");
  assert_string_equal(curl(loop, &f, "GET", url), KA "200");
  assert_string_equal(curl(loop, &f, "GET", other), "404");
  assert_int_equal(seen, 2);
  /* a second setup of the token takes the watch over */
  assert_int_equal(s->ops->setup(s->ctx, &ch, on_solved, &calls, &err), 0);
  s->ops->watch(s->ctx, &ch, count_seen, &seen2);
  s->ops->watch(s->ctx, &ch, NULL, &seen); /* the first one's unwatch */
  assert_string_equal(curl(loop, &f, "GET", url), KA "200");
  assert_int_equal(seen, 2);
  assert_int_equal(seen2, 1);
  s->ops->watch(s->ctx, &ch, NULL, &seen2);
  assert_string_equal(curl(loop, &f, "GET", url), KA "200");
  assert_int_equal(seen2, 1);
  assert_int_equal(s->ops->cleanup(s->ctx, &ch, on_solved, &calls, &err), 0);
  assert_int_equal(s->ops->cleanup(s->ctx, &ch, on_solved, &calls, &err), 0);
  byoca_solver_free(s);
  byoca_loop_free(loop);
}

static void test_many_tokens(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  struct byoca_err err = {0};
  struct fetch f;
  char tok[64], ka[128], url[256], want[160];
  int port = free_port(), calls = 0;
  struct byoca_solver *s =
      byoca_solver_http_standalone(loop, "127.0.0.1", port, &err);
  assert_non_null(s);
  for (int i = 0; i < 600; i++) {
    snprintf(tok, sizeof(tok), "tok-%d", i);
    snprintf(ka, sizeof(ka), "tok-%d.thumb", i);
    struct byoca_challenge ch = chal(tok, ka);
    assert_int_equal(s->ops->setup(s->ctx, &ch, on_solved, &calls, &err), 0);
  }
  /* the same token twice needs two cleanups */
  struct byoca_challenge dup = chal("tok-7", "tok-7.thumb");
  assert_int_equal(s->ops->setup(s->ctx, &dup, on_solved, &calls, &err), 0);
  for (int i = 0; i < 600; i += 2) {
    snprintf(tok, sizeof(tok), "tok-%d", i);
    struct byoca_challenge ch = chal(tok, NULL);
    assert_int_equal(s->ops->cleanup(s->ctx, &ch, on_solved, &calls, &err), 0);
  }
  assert_int_equal(calls, 901);
  static const int probe[] = {0, 1, 2, 7, 8, 599};
  for (size_t i = 0; i < sizeof(probe) / sizeof(probe[0]); i++) {
    int n = probe[i];
    snprintf(url, sizeof(url),
             "http://127.0.0.1:%d/.well-known/acme-challenge/tok-%d", port, n);
    if (n % 2 == 1)
      snprintf(want, sizeof(want), "tok-%d.thumb200", n);
    else
      snprintf(want, sizeof(want), "404");
    assert_string_equal(curl(loop, &f, "GET", url), want);
  }
  /* freeing with tokens still set up frees them */
  byoca_solver_free(s);
  byoca_loop_free(loop);
}

static void test_refuses(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  struct byoca_err err = {0};
  int calls = 0;
  int port = free_port();
  struct sockaddr_in a = {.sin_family = AF_INET,
                          .sin_port = htons((uint16_t)port)};
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&a, sizeof(a)), 0);
  assert_int_equal(listen(fd, 1), 0);

  struct byoca_solver *s =
      byoca_solver_http_standalone(loop, "127.0.0.1", port, &err);
  assert_null(s);
  assert_int_equal(err.cls, BYOCA_CLASS_INPUT);
  char want[64];
  snprintf(want, sizeof(want), "cannot listen on 127.0.0.1:%d for http-01",
           port);
  assert_non_null(strstr(err.msg, want));
  assert_non_null(strstr(err.msg, "in use"));
  byoca_err_clear(&err);
  close(fd);

  assert_null(byoca_solver_http_standalone(loop, "localhost", port, &err));
  assert_int_equal(err.code, BYOCA_E_INVAL);
  byoca_err_clear(&err);
  assert_null(byoca_solver_http_standalone(loop, "127.0.0.1", 70000, &err));
  assert_int_equal(err.code, BYOCA_E_INVAL);
  byoca_err_clear(&err);

  s = byoca_solver_http_standalone(loop, "127.0.0.1", port, &err);
  assert_non_null(s);
  struct byoca_challenge ch = chal("../x", "k");
  assert_int_not_equal(s->ops->setup(s->ctx, &ch, on_solved, &calls, &err), 0);
  assert_int_equal(calls, 0);
  byoca_err_clear(&err);
  byoca_solver_free(s);
  byoca_solver_free(NULL);
  assert_false(byoca_solver_supports(NULL, "http-01"));
  byoca_loop_free(loop);
}

/* No address: all IPv4 addresses, and IPv6 too when the host has it. */
static void test_any_address(void **state) {
  (void)state;
  struct byoca_loop *loop = byoca_loop_new();
  struct byoca_err err = {0};
  struct fetch f;
  char url[256];
  int port = free_port(), calls = 0;
  struct byoca_solver *s = byoca_solver_http_standalone(loop, NULL, port, &err);
  assert_non_null(s);
  struct byoca_challenge ch = chal(TOKEN, KA);
  assert_int_equal(s->ops->setup(s->ctx, &ch, on_solved, &calls, &err), 0);
  snprintf(url, sizeof(url),
           "http://127.0.0.1:%d/.well-known/acme-challenge/" TOKEN, port);
  assert_string_equal(curl(loop, &f, "GET", url), KA "200");
  int v6 = socket(AF_INET6, SOCK_STREAM, 0);
  struct sockaddr_in6 a6 = {.sin6_family = AF_INET6,
                            .sin6_addr = in6addr_loopback};
  if (v6 >= 0 && bind(v6, (struct sockaddr *)&a6, sizeof(a6)) == 0) {
    snprintf(url, sizeof(url),
             "http://[::1]:%d/.well-known/acme-challenge/" TOKEN, port);
    assert_string_equal(curl(loop, &f, "GET", url), KA "200");
  }
  if (v6 >= 0)
    close(v6);
  byoca_solver_free(s);
  byoca_loop_free(loop);
}

/* The responders' "[ADDR:]PORT" listen specs (byoca_hostport_parse). */
static void test_listen_spec(void **state) {
  (void)state;
  char addr[64];
  int port = 0;
  assert_int_equal(byoca_listen_spec_parse("8443", addr, sizeof(addr), &port),
                   0);
  assert_string_equal(addr, "");
  assert_int_equal(port, 8443);
  assert_int_equal(
      byoca_listen_spec_parse("[::1]:443", addr, sizeof(addr), &port), 0);
  assert_string_equal(addr, "::1");
  assert_int_equal(port, 443);
  assert_int_equal(
      byoca_listen_spec_parse("127.0.0.2:444", addr, sizeof(addr), &port), 0);
  assert_string_equal(addr, "127.0.0.2");
  static const char *const bad[] = {"0",      "65536",       "::1:443",
                                    "[::1]",  "127.0.0.1",   "[::1]443",
                                    "host:1", "127.0.0.1:0", NULL};
  for (size_t i = 0; bad[i] != NULL; i++)
    if (byoca_listen_spec_parse(bad[i], addr, sizeof(addr), &port) != -1)
      fail_msg("%s accepted", bad[i]);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_serve),       cmocka_unit_test(test_watch),
      cmocka_unit_test(test_many_tokens), cmocka_unit_test(test_refuses),
      cmocka_unit_test(test_any_address), cmocka_unit_test(test_listen_spec),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
