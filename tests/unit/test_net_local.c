/* byoca_http_local without a daemon: endpoints that are refused before any
 * traffic (not loopback, malformed), arguments that are refused (a token
 * that could split headers), and a daemon that is not there (BYOCA_E_NET
 * naming the endpoint, never the token). */
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

#include "byoca/net.h"

static int local(const char *endpoint, const char *method, const char *path,
                 const char *token, struct byoca_err *err) {
  struct byoca_local_resp r = {.status = -7};
  byoca_err_clear(err);
  int rc = byoca_http_local(endpoint, method, path, token, NULL, &r, err);
  if (rc != 0)
    assert_int_equal(r.status, -7); /* out untouched on failure */
  byoca_local_resp_free(&r);
  return rc;
}

static void test_refused_endpoints(void **state) {
  (void)state;
  struct byoca_err err = {0};
  static const char *const remote[] = {"http://10.0.0.1:8555",
                                       "http://192.168.1.1",
                                       "http://example.com:80",
                                       "http://[::2]:8555",
                                       "http://[::ffff:127.0.0.1]:1",
                                       "http://127.0.0.1.nip.io:80",
                                       "http://0.0.0.0:80",
                                       "http://localhost.example:80",
                                       NULL};
  for (size_t i = 0; remote[i] != NULL; i++) {
    int rc = local(remote[i], "GET", "/v1/health", "tok", &err);
    if (rc != BYOCA_E_POLICY)
      fail_msg("%s: %d %s", remote[i], rc, err.msg);
    assert_non_null(strstr(err.msg, remote[i]));
  }
  static const char *const malformed[] = {"https://127.0.0.1:8555",
                                          "http://user@127.0.0.1:1",
                                          "http://127.0.0.1:1/v1",
                                          "http://127.0.0.1:1?x=1",
                                          "ftp://127.0.0.1",
                                          "unix:",
                                          "127.0.0.1:8555",
                                          "http://",
                                          "",
                                          NULL};
  for (size_t i = 0; malformed[i] != NULL; i++) {
    int rc = local(malformed[i], "GET", "/v1/health", NULL, &err);
    if (rc != BYOCA_E_INVAL)
      fail_msg("%s: %d %s", malformed[i], rc, err.msg);
  }
  byoca_err_clear(&err);
}

static void test_refused_arguments(void **state) {
  (void)state;
  struct byoca_err err = {0};
  const char *ep = "unix:/nonexistent/byoca.sock";
  assert_int_equal(local(ep, "get", "/x", NULL, &err), BYOCA_E_INVAL);
  assert_int_equal(local(ep, "GET /x HTTP/1.1\r\n", "/x", NULL, &err),
                   BYOCA_E_INVAL);
  assert_int_equal(local(ep, "GET", "x", NULL, &err), BYOCA_E_INVAL);
  assert_int_equal(local(ep, "GET", "/a b", NULL, &err), BYOCA_E_INVAL);
  assert_int_equal(local(ep, "GET", "/a\r\nX: 1", NULL, &err), BYOCA_E_INVAL);
  assert_int_equal(local(ep, "GET", "/a#frag", NULL, &err), BYOCA_E_INVAL);
  assert_int_equal(local(ep, "GET", "/x", "secret\r\nX-Evil: 1", &err),
                   BYOCA_E_INVAL);
  assert_null(strstr(err.msg, "secret"));
  assert_int_equal(local(ep, "GET", "/x", "", &err), BYOCA_E_INVAL);
  assert_int_equal(local(NULL, "GET", "/x", NULL, &err), BYOCA_E_INVAL);
  struct byoca_local_resp r = {0};
  assert_int_equal(byoca_http_local(ep, "GET", "/x", NULL, NULL, NULL, &err),
                   BYOCA_E_INVAL);
  byoca_local_resp_free(&r);
  byoca_local_resp_free(NULL);
  byoca_err_clear(&err);
}

/* A loopback port that nothing listens on (bound, then released). */
static int free_port(void) {
  struct sockaddr_in sin = {.sin_family = AF_INET};
  sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  socklen_t len = sizeof(sin);
  int fd = socket(AF_INET, SOCK_STREAM, 0);
  assert_true(fd >= 0);
  assert_int_equal(bind(fd, (struct sockaddr *)&sin, sizeof(sin)), 0);
  assert_int_equal(getsockname(fd, (struct sockaddr *)&sin, &len), 0);
  close(fd);
  return ntohs(sin.sin_port);
}

static void test_not_there(void **state) {
  (void)state;
  struct byoca_err err = {0};
  char dir[] = "/tmp/byoca-local-XXXXXX", ep[128];
  assert_non_null(mkdtemp(dir));
  snprintf(ep, sizeof(ep), "unix:%s/none.sock", dir);
  assert_int_equal(local(ep, "GET", "/v1/health", "s3cr3t-token", &err),
                   BYOCA_E_NET);
  assert_non_null(strstr(err.msg, ep));
  assert_null(strstr(err.msg, "s3cr3t"));
  assert_int_equal(err.origin, BYOCA_ORIGIN_CURL);
  assert_int_equal(rmdir(dir), 0);

  static const char *const hosts[] = {"127.0.0.1", "localhost", "127.0.0.9"};
  for (size_t i = 0; i < 3; i++) {
    snprintf(ep, sizeof(ep), "http://%s:%d", hosts[i], free_port());
    int rc = local(ep, "POST", "/v1/x", "s3cr3t-token", &err);
    if (rc != BYOCA_E_NET)
      fail_msg("%s: %d %s", ep, rc, err.msg);
    assert_non_null(strstr(err.msg, ep));
    assert_null(strstr(err.msg, "s3cr3t"));
  }
  byoca_err_clear(&err);
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(test_refused_endpoints),
      cmocka_unit_test(test_refused_arguments),
      cmocka_unit_test(test_not_there),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
