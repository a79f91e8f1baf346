/* The SSRF guard end to end: untrusted URLs that point at internal
 * addresses fail with BYOCA_E_POLICY and never reach the network. Run in
 * an empty network namespace (tests/CMakeLists.txt: unshare -n), so even
 * a broken guard could not reach anything. Named guard_*.c so that the
 * test_*.c glob does not also run it outside the namespace. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "byoca/net.h"

struct result {
  struct byoca_loop *loop;
  int done;
  struct byoca_err err;
};

static void on_resp(void *arg, const struct byoca_http_resp *resp,
                    const struct byoca_err *err) {
  struct result *r = arg;
  r->done++;
  if (err != NULL)
    assert_int_equal(byoca_err_copy(&r->err, err), 0);
  else
    fail_msg("request to an internal address got an HTTP %ld", resp->status);
  byoca_loop_break(r->loop);
}

static void test_guard(void **state) {
  (void)state;
  static const char *urls[] = {
      "https://10.0.0.1/",
      "https://169.254.169.254/latest",
      "https://[::ffff:127.0.0.1]/",
      "https://[fd00::1]/",
      "https://127.1/",
      "https://2130706433/",
      "https://0x7f000001/",
      "https://017700000001/",
      "https://[::1]:8443/",
      "https://localhost/",
      "https://[64:ff9b::a9fe:a9fe]/",
      "https://[2002:a00:1::]/",
      "https://100.100.100.200/",
      "http://93.184.216.34/",
  };
  struct byoca_loop *loop = byoca_loop_new();
  struct byoca_netpolicy *pol = byoca_netpolicy_new();
  struct byoca_resolver_opts ro = {.forward = "127.0.0.1@9"};
  struct byoca_resolver *res = byoca_resolver_new(loop, &ro, NULL);
  struct byoca_http_opts o = {
      .policy = pol, .resolver = res, .timeout_ms = 3000};
  struct byoca_http *http = byoca_http_new(loop, &o, NULL);
  assert_non_null(http);
  for (size_t i = 0; i < sizeof(urls) / sizeof(urls[0]); i++) {
    struct result r = {.loop = loop};
    struct byoca_http_req req = {.method = "GET", .url = urls[i]};
    assert_int_equal(byoca_http_send(http, &req, on_resp, &r, NULL), 0);
    while (!r.done)
      byoca_loop_run(loop);
    if (r.err.code != BYOCA_E_POLICY)
      fail_msg("%s: want BYOCA_E_POLICY, got %d (%s)", urls[i], r.err.code,
               r.err.msg);
    byoca_err_clear(&r.err);
  }
  byoca_http_free(http);
  byoca_resolver_free(res);
  byoca_netpolicy_free(pol);
  byoca_loop_free(loop);
}

int main(void) {
  const struct CMUnitTest tests[] = {cmocka_unit_test(test_guard)};
  return cmocka_run_group_tests(tests, NULL, NULL);
}
